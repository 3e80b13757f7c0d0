"""Adding one control area's generated exports to a company's evidence folder.

Each area generator (synth_devices, synth_vendors, …) writes its exports from its own seeded stream,
off the roster already in the folder, so every other export stays byte-identical. This module
declares what it wrote in evidence.yaml and appends its ground truth to the answer files.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Protocol

import yaml


class AreaEvidence(Protocol):
    files: list[dict]  # evidence.yaml declarations of the exports written
    expected: list[tuple]  # rows of expected_exceptions.csv
    near_misses: list[tuple]
    populations: list[tuple]

    @property
    def date_values(self) -> int: ...  # dates the exports carry, which dates_plausible tests


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence]) -> None:
    """An export as vendors write them: CRLF line ends, blanks for missing values."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([["" if v is None else v for v in row] for row in rows])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buffer.getvalue().encode("utf-8"))


def add_area(folder: Path, result: AreaEvidence, *, dates_described: str, scope: Sequence[dict] = ()) -> None:
    """Declare the area's exports (replacing earlier declarations of the same paths) and its scope decisions in
    evidence.yaml, and append its planted exceptions, near-misses and populations to the answer files.

    dates_described names the dates the exports add to dates_plausible's population, as the answer file says it.
    """
    folder = Path(folder)
    path = folder / "evidence.yaml"
    text = path.read_text(encoding="utf-8")
    head = "".join(line for line in text.splitlines(keepends=True) if line.startswith("#"))
    declaration = yaml.safe_load(text)
    written = {f["path"] for f in result.files}
    declaration["files"] = [f for f in declaration["files"] if f["path"] not in written] + result.files
    if scope:
        decided = {(d.get("control"), d.get("rule")) for d in scope}
        kept = [d for d in declaration.get("scope") or () if (d.get("control"), d.get("rule")) not in decided]
        declaration["scope"] = kept + list(scope)
    path.write_text(head + yaml.safe_dump(declaration, sort_keys=False, allow_unicode=True), encoding="utf-8")
    if result.date_values:
        _count_dates(folder / "expected_populations.csv", result.date_values, dates_described)
    for name, rows in (("expected_exceptions.csv", result.expected), ("near_misses.csv", result.near_misses),
                       ("expected_populations.csv", result.populations)):
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\r\n").writerows(rows)
        with (folder / name).open("a", encoding="utf-8", newline="") as handle:
            handle.write(buffer.getvalue())


def _count_dates(path: Path, dates: int, described: str) -> None:
    """dates_plausible tests every date of every export: its expected population gains the area's dates."""
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    for row in rows:
        if row[:2] == ["IPE", "dates_plausible"]:
            row[2] = str(int(row[2]) + dates)
            row[3] = row[3].removesuffix(")") + f", {described})"
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    path.write_bytes(buffer.getvalue().encode("utf-8"))
