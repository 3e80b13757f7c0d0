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

import openpyxl
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


def count_rows(path: Path) -> int:
    """Rows of an export, counted independently of the loader (csv, openpyxl, json)."""
    if path.suffix == ".json":
        document = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(document, dict):  # records under the export's one list (AWS's BackupJobs, Drata's data)
            (document,) = [value for value in document.values() if isinstance(value, list)]
        return len(document)
    if path.suffix == ".xlsx":
        sheet = openpyxl.load_workbook(path, read_only=True)["Workers"]
        return sum(1 for row in list(sheet.iter_rows(values_only=True))[2:] if any(row))
    text = path.read_bytes().decode("utf-8-sig") if "billing" not in path.name else path.read_bytes().decode("latin-1")
    return sum(1 for row in list(csv.reader(io.StringIO(text)))[1:] if any(cell.strip() for cell in row))


class PlantedRecords:
    """The records of a loaded company that an answer file's row (control, rule, system, record_key) may name:
    found independently of the rules, from the exports' own keys."""

    def __init__(self, evidence):
        frame = evidence.frame
        people = set(frame("hr_roster")["employee_id"])
        accounts = set(map(tuple, frame("accounts")[["system", "account_id"]].values))
        risks = set(map(tuple, frame("risks")[["system", "risk_id"]].values))
        self._people, self._policies = people, set(frame("policies")["policy_id"])
        self._by_system = {"CC3.2": risks}
        self._default_system = accounts
        self._by_control = {
            "CC8.1": set(frame("change_tickets")["ticket_id"]) | set(frame("deployments")["deploy_id"]),
            "CC7.1": set(frame("vulnerability_findings")["finding_id"]) | set(frame("assets")["asset"]),
            "CC6.8": set(frame("devices")["device_id"]) | people,  # coverage exceptions name the employee
            "CC9.2": set(frame("vendors")["vendor_id"]) | set(frame("vendor_reviews")["review_id"]),
            "CC3.4": {system for system, _ in risks} | set(frame("risk_register_reviews")["system"]),
            "A1.2": set(frame("backup_resources")["resource_arn"]),
            "A1.3": set(frame("restore_tests")["restore_id"]),
        }

    def __contains__(self, row) -> bool:
        if row.system:
            return (row.system, row.record_key) in self._by_system.get(row.control, self._default_system)
        if row.control == "CC1.1":  # a person's acknowledgement of a policy (person:policy), or a policy
            person, _, policy = row.record_key.rpartition(":")
            return policy in self._policies and (not person or person in self._people)
        return row.record_key in self._by_control.get(row.control, self._people)


def write_generated_company(folder: Path, period, vendors: str = "first") -> None:
    """A company of 150 people (the fewest the generator plants its own exceptions among) from the first vendor
    set's generator (Workday, Okta, …) or the second's (BambooHR, people keyed by e-mail)."""
    from evidence_lib.synth.company import build_company
    from evidence_lib.synth.second import build_second_company
    from evidence_lib.synth.writers import write_company
    from evidence_lib.synth.writers_second import write_second_company

    if vendors == "first":
        write_company(build_company(150, period, seed=7), folder)
    else:
        write_second_company(build_second_company(150, period), folder)


def company_with_area(folder: Path, period, make_evidence, add_to_folder, controls: tuple[str, ...],
                      vendors: str = "first"):
    """A generated company with one later control area's exports added by its generator, validated in-process on
    `controls` only: (what the generator planted, the validation)."""
    from evidence_lib.sources.folder import load_folder
    from evidence_lib.validate import validate

    write_generated_company(folder, period, vendors)
    planted = make_evidence(folder, period)
    add_to_folder(folder, planted)
    return planted, validate(load_folder(folder), period, controls=controls)
