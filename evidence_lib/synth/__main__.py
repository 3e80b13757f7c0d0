"""python -m evidence_lib.synth --people 200 --out data/samples/2026-Q3"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from evidence_lib.errors import EvidenceError
from evidence_lib.period import parse_period
from evidence_lib.synth.company import build_company
from evidence_lib.synth.writers import write_company


@click.command()
@click.option("--people", default=180, show_default=True, help="How many people the company has employed.")
@click.option("--out", type=click.Path(path_type=Path), required=True, help="Folder to write the evidence to.")
@click.option("--period", default="2026-Q3", show_default=True, help="The audit period (a quarter or a month).")
@click.option("--seed", default=7, show_default=True, help="Random seed: the same seed writes the same company.")
def main(people: int, out: Path, period: str, seed: int) -> None:
    """Write a synthetic company's evidence folder, with expected_exceptions.csv.

    Example: python -m evidence_lib.synth --people 100000 --out /tmp/big-company
    """
    started = time.perf_counter()
    try:
        company = build_company(people, parse_period(period), seed=seed)
    except (ValueError, EvidenceError) as exc:
        raise click.ClickException(str(exc)) from None
    write_company(company, out)
    click.echo(f"wrote {len(company.people)} people, {len(company.accounts)} accounts, {len(company.tickets)} "
               f"tickets, {len(company.deployments)} deployments and {len(company.expected)} planted exceptions "
               f"to {out} in {time.perf_counter() - started:.1f}s", err=False)


if __name__ == "__main__":
    sys.exit(main())
