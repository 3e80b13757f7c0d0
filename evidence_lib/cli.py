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
        evidence = load_folder(folder, progress=sys.stderr.isatty())
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


@main.command()
@click.option("--period", help="A quarter (2026-Q3), a month (2026-08) or dates (2026-07-15..2026-09-30).")
@click.option("--start", help="First day of the period (YYYY-MM-DD), with --end instead of --period.")
@click.option("--end", help="Last day of the period (YYYY-MM-DD), inclusive.")
@click.option("--evidence-dir", type=click.Path(path_type=Path), default=None,
              help="Folder of exports with its evidence.yaml (default: data/samples/<period>).")
@click.option("--out", type=click.Path(path_type=Path), default=Path("out"), show_default=True,
              help="Packages go to OUT/<period>/<run-id>/.")
@click.option("--only", multiple=True, metavar="CONTROL", help="Run only the notebooks testing this control (repeatable).")
@click.option("--jobs", type=click.IntRange(1), default=2, show_default=True, help="Notebooks executed at once.")
@click.option("--mask-pii", is_flag=True, help="Mask names and e-mail addresses (stable pseudonyms) in the package.")
@click.option("--with-code", is_flag=True, help="Show the notebooks' code in the HTML reports.")
@click.option("--as-of", help="The date the evidence describes (default: the declared export time).")
@click.option("--param", "params", multiple=True, metavar="NAME=VALUE", help="Override a control parameter (repeatable).")
def run(period, start, end, evidence_dir, out, only, jobs, mask_pii, with_code, as_of, params) -> None:
    """Execute every notebook for PERIOD and write the evidence package.

    Writes OUT/<period>/<run-id>/ with index.html, manifest.json and, per notebook, executed.ipynb,
    report.html, results.json and exceptions.csv. A finished run is never overwritten.

    Exit codes: 0 every control passed, 1 exceptions found, 2 errors (missing or bad evidence,
    a notebook that failed).

    Example: evidence run --period 2026-Q3 --jobs 2
    """
    from evidence_lib.period import parse_period
    from evidence_lib.project import SAMPLES_DIR
    from evidence_lib.run import run_period

    try:
        if not period and not (start and end):
            raise EvidenceError("give --period (2026-Q3, 2026-08) or both --start and --end (YYYY-MM-DD)")
        period = parse_period(period or "", start, end).label
        evidence_dir = evidence_dir or SAMPLES_DIR / period
        result = run_period(period, evidence_dir=evidence_dir, out=out, only=tuple(only), jobs=jobs,
                            mask_pii=mask_pii, with_code=with_code, as_of=as_of,
                            parameters=dict(_parse_param(p) for p in params))
    except (EvidenceError, ValueError, FileNotFoundError, FileExistsError) as exc:
        _fail(exc if isinstance(exc, EvidenceError) else EvidenceError(str(exc)))
    for outcome in result.outcomes:
        click.echo(f"{outcome.name:<24} {outcome.status:<10} {outcome.seconds:6.1f}s  {outcome.error}")
    click.echo(f"\n{result.status}: package written in {result.seconds:.1f}s")
    click.echo(f"open {result.run_dir / 'index.html'}")
    sys.exit(result.exit_code)


@main.command()
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option("--evidence", "evidence_dir", type=click.Path(path_type=Path, file_okay=False, exists=True),
              help="Check this evidence folder against the evidence the run read, instead of the package.")
def verify(run_dir: Path, evidence_dir: Path | None) -> None:
    """Re-hash every file of a finished package against its manifest.json.

    Names every file changed, added or missing; exit code 0 when the package is intact, 1 when not,
    2 when RUN_DIR is not a package. With --evidence DIR, checks DIR against the hashes of the
    evidence the run tested.

    Example: evidence verify out/2026-Q3/20261125T101500Z-1a2b3c --evidence data/samples/2026-Q3
    """
    from evidence_lib.package import verify as verify_package

    try:
        verification = verify_package(run_dir, evidence_dir)
    except (FileNotFoundError, ValueError, KeyError) as exc:
        _fail(EvidenceError(str(exc)))
    for line in verification.lines():
        click.echo(line)
    checked = f"{evidence_dir} (evidence of {run_dir})" if evidence_dir else str(run_dir)
    if verification.ok:
        click.echo(f"{checked}: every file matches manifest.json")
        sys.exit(EXIT_OK)
    click.echo(f"{checked}: {len(verification.lines())} file(s) differ from manifest.json", err=True)
    sys.exit(EXIT_EXCEPTIONS)


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
