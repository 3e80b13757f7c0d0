"""python -m evidence_lib.synth --people 200 --out data/samples/2026-Q3

python -m evidence_lib.synth --periods 2026-Q1..2026-Q4 --out /tmp/window (one company, one folder a period)"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from evidence_lib.errors import EvidenceError
from evidence_lib.period import parse_period
from evidence_lib.synth.areas import add_control_areas
from evidence_lib.synth.company import build_company
from evidence_lib.synth.second import SEED as SECOND_SEED
from evidence_lib.synth.second import build_second_company
from evidence_lib.synth.window import build_window, period_range, write_window
from evidence_lib.synth.writers import write_company
from evidence_lib.synth.writers_second import write_second_company

FIRST_SEED = 7


@click.command()
@click.option("--people", default=180, show_default=True, help="How many people the company has employed.")
@click.option("--out", type=click.Path(path_type=Path), required=True, help="Folder to write the evidence to.")
@click.option("--period", default="2026-Q3", show_default=True, help="The audit period (a quarter or a month).")
@click.option("--seed", type=int, default=None,
              help=f"Random seed: the same seed writes the same company [default: {FIRST_SEED} for the first "
                   f"vendor set, {SECOND_SEED} for the second].")
@click.option("--vendors", type=click.Choice(["first", "second"]), default="first", show_default=True,
              help="first: Northwind (Workday, Okta, GitHub, Jira Server); second: Fabrikam (BambooHR, Google "
                   "Workspace, GitLab, Jira Cloud, people keyed by e-mail).")
@click.option("--periods", default=None, metavar="FIRST..LAST",
              help="A Type 2 window (2026-Q1..2026-Q4): the same company over every period, one folder each "
                   "(<out>/<period>), with expected_window.csv; replaces --period.")
@click.option("--missing", default=None, metavar="PERIOD",
              help="With --periods: the period whose evidence is missing [default: the last].")
def main(people: int, out: Path, period: str, seed: int | None, vendors: str, periods: str | None,
         missing: str | None) -> None:
    """Write a synthetic company's evidence folder, with expected_exceptions.csv.

    Example: python -m evidence_lib.synth --people 100000 --out /tmp/big-company

    Example: python -m evidence_lib.synth --vendors second --out data/samples/fabrikam-2026-Q3

    Example: python -m evidence_lib.synth --periods 2026-Q1..2026-Q4 --out /tmp/window
    """
    started = time.perf_counter()
    if periods is not None:
        _window(people, out, periods, seed, vendors, missing, started)
        return
    try:
        if vendors == "second":
            second = build_second_company(people, parse_period(period), seed=SECOND_SEED if seed is None else seed)
            company = second.company
        else:
            company = build_company(people, parse_period(period), seed=FIRST_SEED if seed is None else seed)
    except (ValueError, EvidenceError) as exc:
        raise click.ClickException(str(exc)) from None
    if vendors == "second":
        write_second_company(second, out)
    else:
        write_company(company, out)
    # Availability is in the first company's audit scope; the second scopes A1.2 and A1.3 out.
    add_control_areas(out, company.period, availability_in_scope=vendors == "first")
    click.echo(f"wrote {len(company.people)} people, {len(company.accounts)} accounts, {len(company.tickets)} "
               f"tickets, {len(company.deployments)} deployments and {len(company.expected)} planted exceptions "
               f"to {out} in {time.perf_counter() - started:.1f}s", err=False)


def _window(people: int, out: Path, periods: str, seed: int | None, vendors: str, missing: str | None,
            started: float) -> None:
    try:
        if vendors != "first":
            raise EvidenceError("--periods writes the first vendor set's company (Northwind) only")
        window = build_window(people, period_range(periods), seed=FIRST_SEED if seed is None else seed,
                              missing=missing)
    except (ValueError, EvidenceError) as exc:
        raise click.ClickException(str(exc)) from None
    write_window(window, out)
    click.echo(f"wrote {len(window.companies)} periods of one company ({', '.join(window.companies)}; "
               f"{window.missing} missing) and {len(window.planted)} planted exception keys to {out} in "
               f"{time.perf_counter() - started:.1f}s")


if __name__ == "__main__":
    sys.exit(main())
