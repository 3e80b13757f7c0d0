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
def check(folder: Path) -> None:
    """Load every export declared in FOLDER/evidence.yaml and report what was read.

    Prints one line per file (type, system, format, rows read and kept, sha256, problems),
    then every problem with its file, row and column. Exits 0 when all evidence loaded,
    2 when anything is missing, unreadable, undeclared or of the wrong shape.

    Example: evidence check data/samples/2026-Q3
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
        sys.exit(EXIT_ERROR)
    rows = int(table["rows_kept"].sum())
    click.echo(f"\n{len(table)} files, {rows} rows loaded, no problems.")


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
