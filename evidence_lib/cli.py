"""The `evidence` command: a thin shell over library functions."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from evidence_lib.errors import EvidenceError, ProblemsError

EXIT_OK, EXIT_EXCEPTIONS, EXIT_ERROR = 0, 1, 2
PROBLEMS_SHOWN_PER_FILE = 20


@click.group()
@click.version_option(package_name="evidence-workbench")
def main() -> None:
    """Evidence Workbench: SOC 2 evidence from exports, tested and packaged for auditors."""


@main.command()
@click.argument("folder", type=click.Path(path_type=Path))
@click.option("--period", help="Also test the controls for this period: a quarter (2026-Q3) or a month (2026-08).")
@click.option("--as-of", help="The date the evidence describes (default: the declared export time).")
@click.option("--param", "params", multiple=True, metavar="NAME=VALUE",
              help="Override a control parameter, e.g. --param deprovision_sla_days=3 (repeatable).")
@click.option("--json", "json_path", type=click.Path(path_type=Path), help="Write the full results to this file.")
def check(folder: Path, period: str | None, as_of: str | None, params: tuple[str, ...], json_path: Path | None) -> None:
    """Load every export declared in FOLDER/evidence.yaml and report what was read.

    Prints one line per file (type, system, format, rows read and kept, sha256, problems),
    then every problem with its file, row and column. With --period, also runs the control
    suites and prints one line per rule (control, rule, population, exceptions, status).

    Exit codes: 0 all evidence loaded (and every control passed), 1 exceptions found,
    2 errors (evidence missing, unreadable, undeclared or of the wrong shape).

    Example: evidence check data/samples/2026-Q3 --period 2026-Q3 --json results.json
    """
    from evidence_lib.inventory import format_table, inventory
    from evidence_lib.sources.folder import load_folder

    try:
        evidence = load_folder(folder)
    except ProblemsError as exc:
        _fail(exc)
    table = inventory(evidence)
    table["sha256"] = table["sha256"].str[:12]
    click.echo(format_table(table, widths={"problems": 60, "file": 48}))
    problems = evidence.problems
    if problems:
        click.echo(f"\n{len(problems)} problem(s):", err=True)
        for line in _capped_per_file(problems, PROBLEMS_SHOWN_PER_FILE):
            click.echo(f"  {line}", err=True)
    else:
        click.echo(f"\n{len(table)} files, {int(table['rows_kept'].sum())} rows loaded, no problems.")
    code = EXIT_ERROR if problems else EXIT_OK
    if period:
        code = max(code, _check_controls(evidence, period, as_of, params, json_path))
    sys.exit(code)


def _check_controls(evidence, period_text, as_of, params, json_path) -> int:
    import pandas as pd

    from evidence_lib.inventory import format_table
    from evidence_lib.package import write_json_atomically
    from evidence_lib.period import parse_period
    from evidence_lib.validate import ERROR, EXCEPTIONS, validate

    try:
        period = parse_period(period_text)
        overrides = dict(_parse_param(p) for p in params)
        validation = validate(evidence, period, as_of=pd.Timestamp(as_of, tz="UTC") if as_of else None,
                              parameters=overrides)
    except (EvidenceError, ValueError) as exc:
        _fail(exc if isinstance(exc, EvidenceError) else EvidenceError(str(exc)))
    summary = validation.summary()
    click.echo(f"\nControls for {period.label} (as of {validation.as_of:%Y-%m-%d %H:%M} UTC):")
    click.echo(format_table(summary, widths={"reason": 70}))
    counts = summary["status"].value_counts()
    click.echo(f"\n{len(summary)} rules: {counts.get('pass', 0)} pass, {counts.get(EXCEPTIONS, 0)} with "
               f"{int(summary['exceptions'].sum())} exception(s), {counts.get(ERROR, 0)} error(s).")
    if json_path:
        write_json_atomically(json_path, {"inventory": [o.loaded.provenance.as_dict() for o in evidence.outcomes
                                                        if o.loaded], **validation.as_dict()})
        click.echo(f"results written to {json_path}")
    return {ERROR: EXIT_ERROR, EXCEPTIONS: EXIT_EXCEPTIONS}.get(validation.status, EXIT_OK)


def _parse_param(text: str) -> tuple[str, object]:
    name, sep, value = text.partition("=")
    if not sep:
        raise EvidenceError(f"--param {text!r}: write NAME=VALUE, e.g. deprovision_sla_days=3")
    try:
        return name.strip(), int(value)
    except ValueError:
        return name.strip(), value


def _capped_per_file(problems, shown: int):
    """Every problem of a file up to `shown`, then how many more: a broken export can have
    a problem on each of its rows, and the first few tell the analyst what to fix."""
    counts: dict[str, int] = {}
    for problem in problems:
        counts[problem.path] = counts.get(problem.path, 0) + 1
        if counts[problem.path] <= shown:
            yield str(problem)
    for path, count in counts.items():
        if count > shown:
            yield f"{path}: ... and {count - shown} more problem(s) in this file"


def _fail(exc: EvidenceError) -> None:
    problems = getattr(exc, "problems", None)
    for line in (map(str, problems) if problems else [str(exc)]):
        click.echo(f"error: {line}", err=True)
    sys.exit(EXIT_ERROR)


if __name__ == "__main__":
    main()
