"""Helpers for the red-team corpus: small, named mutations of a copy of the sample company.

Every corpus case copies `data/samples/2026-Q3` (the `sample_copy` fixture), changes one thing
with these helpers, and asserts the documented outcome. The helpers edit files as a person with
a text editor or a spreadsheet would: by column name and by a row's key, never by line number.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pandas as pd
import yaml

from tests.conftest import PERIOD

# Encodings the sample is written in (the generator's realistic mess).
ENCODINGS = {"okta_users.csv": "utf-8-sig", "billing_db_accounts.csv": "latin-1"}


def declaration(folder: Path) -> dict:
    return yaml.safe_load((folder / "evidence.yaml").read_text(encoding="utf-8"))


def declare(folder: Path, spec: dict) -> None:
    (folder / "evidence.yaml").write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")


def redeclare(folder: Path, path: str, **changes) -> None:
    """Change the evidence.yaml entry of the file declared at `path`."""
    spec = declaration(folder)
    entry = next(f for f in spec["files"] if f["path"] == path)
    entry.update(changes)
    declare(folder, spec)


def read_csv(path: Path) -> tuple[list[str], list[list[str]], str]:
    encoding = ENCODINGS.get(path.name, "utf-8")
    rows = list(csv.reader(io.StringIO(path.read_text(encoding=encoding))))
    return rows[0], rows[1:], encoding


def write_csv(path: Path, header: list[str], rows: list[list[str]], encoding: str) -> None:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows([header, *rows])
    path.write_text(buffer.getvalue(), encoding=encoding)


def edit_csv(path: Path, column: str, value: str, *, where: dict[str, str] | None = None) -> int:
    """Set `column` to `value` on every row whose cells equal `where` (all rows if None); returns rows changed."""
    header, rows, encoding = read_csv(path)
    target = header.index(column)
    tests = {header.index(c): v for c, v in (where or {}).items()}
    changed = 0
    for row in rows:
        if row and all(row[i] == v for i, v in tests.items()):
            row[target] = value
            changed += 1
    write_csv(path, header, rows, encoding)
    return changed


def drop_csv_rows(path: Path, where: dict[str, str]) -> int:
    header, rows, encoding = read_csv(path)
    tests = {header.index(c): v for c, v in where.items()}
    kept = [row for row in rows if not (row and all(row[i] == v for i, v in tests.items()))]
    write_csv(path, header, kept, encoding)
    return len(rows) - len(kept)


def edit_json(path: Path, transform) -> None:
    """Apply transform(records) -> records to a JSON list export."""
    records = json.loads(path.read_text(encoding="utf-8"))
    path.write_text(json.dumps(transform(records), indent=1), encoding="utf-8")


def check(folder: Path, period: str = PERIOD, *, rules: tuple[str, ...] = (), **options):
    """Load and validate in-process, as `evidence check --period` does: (evidence, validation).

    With `rules`, only the controls of those rules are judged (with the integrity checks of their
    evidence): the same verdicts, in a fraction of the time.
    """
    from evidence_lib.controls import load_catalog
    from evidence_lib.period import parse_period
    from evidence_lib.sources.folder import load_folder
    from evidence_lib.validate import validate

    if rules:
        options["controls"] = tuple({r.control_id for r in load_catalog().rules if r.rule_id in rules})
    evidence = load_folder(folder)
    return evidence, validate(evidence, parse_period(period), **options)


def expected_exceptions(folder: Path) -> pd.DataFrame:
    return pd.read_csv(folder / "expected_exceptions.csv", dtype=str, keep_default_na=False)


def rule_status(validation, rule_id: str) -> str:
    return next(r for r in validation.rules if r.rule.rule_id == rule_id).status


def found_keys(validation, rule_id: str) -> set[tuple[str, str]]:
    keys = validation.exception_keys()
    keys = keys[keys["rule"] == rule_id]
    return set(zip(keys["system"], keys["record_key"]))
