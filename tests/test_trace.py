"""Every exception row names its export, its row there and the vendor's own cells: read back here
with the csv, json and openpyxl modules, not with the workbench's readers."""

import csv
import io
import json

import openpyxl
import pytest

from tests.conftest import SAMPLE
from tests.corpus import ENCODINGS, check

FABRIKAM = SAMPLE.parent / "fabrikam-2026-Q3"
KEYS = {"accounts": "account_id", "changes": "ticket_id", "new_hires": "employee_id", "staff": "employee_id",
        "vulnerabilities": "finding_id", "assets": "asset", "devices": "device_id", "device_coverage": "employee_id",
        "vendors": "vendor_id", "vendor_reviews": "review_id", "risks": "risk_id", "policies": "policy_id",
        "policy_acknowledgements": "employee_id", "backup_coverage": "resource_arn",
        "backup_restore_tests": "restore_id",
        # a register's verdict cites its latest review, in a file declared as the register's: the row names the reviewer
        "risk_registers": "reviewer"}


def rows_of(path, sheet: str | None = None) -> dict[int, list[str]]:
    """Row number as a person opening the file sees it (header = 1; JSON record 1 = first object) -> cells."""
    if path.suffix == ".json":
        def cells(record, prefix=""):
            for name, value in record.items():
                if isinstance(value, dict):
                    yield from cells(value, f"{prefix}{name}.")
                else:
                    yield "" if value is None else str(value)
        records = json.loads(path.read_text())
        if isinstance(records, dict):  # the records under the export's one list (AWS's BackupJobs, Drata's data)
            (records,) = [value for value in records.values() if isinstance(value, list)]
        return {n: list(cells(record)) for n, record in enumerate(records, start=1)}
    if path.suffix == ".xlsx":
        values = openpyxl.load_workbook(path, read_only=True)[sheet].values
        return {n: ["" if v is None else str(v).removesuffix(" 00:00:00") for v in row]
                for n, row in enumerate(values, start=1)}
    text = path.read_bytes().decode(ENCODINGS.get(path.name, "utf-8-sig"))
    return dict(enumerate(csv.reader(io.StringIO(text)), start=1))


@pytest.mark.parametrize("folder", [SAMPLE, FABRIKAM], ids=["northwind", "fabrikam"])
def test_every_control_exception_points_at_the_row_of_the_export_that_holds_it(folder):
    _evidence, validation = check(folder)
    files, checked = {}, 0
    for result in validation.controls:
        for rule in result.rules:
            if not rule.exception_count:
                continue
            rows = rule.exceptions
            assert rows["source_file"].notna().all() and (rows["source_file"] != "").all(), rule.rule.rule_id
            key = KEYS.get(rule.rule.view)
            for file, row, values, record in zip(rows["source_file"], rows["source_row"], rows["source_values"],
                                                 rows[key] if key else rows["deploy_id"]):
                sheet = values.split("]")[0].removeprefix("[sheet ") if values.startswith("[sheet ") else None
                cells = files.setdefault(file, rows_of(folder / file, sheet))[int(row)]
                folded = {c.strip().casefold() for c in cells}
                wanted = str(record).rsplit("#", 1)[-1] if not key else str(record)
                assert wanted.strip().casefold() in folded, (rule.rule.rule_id, file, row, record, cells)
                assert values, (rule.rule.rule_id, file, row)
                checked += 1
    assert checked == sum(r.exception_count for c in validation.controls for r in c.rules) > 50


def test_the_vendor_values_are_the_cells_of_that_row(sample_copy):
    _, validation = check(SAMPLE, rules=("mfa_enabled",))
    rows = next(r for r in validation.rules if r.rule.rule_id == "mfa_enabled").exceptions
    okta = rows[rows["source_file"] == "accounts/okta_users.csv"].iloc[0]
    header, *_ = csv.reader(io.StringIO((SAMPLE / okta["source_file"]).read_text(encoding="utf-8-sig")))
    cells = dict(zip(header, rows_of(SAMPLE / okta["source_file"])[int(okta["source_row"])]))
    assert okta["source_values"] == (f"Okta User Status: {cells['Okta User Status']}; "
                                     f"MFA Enrolled: {cells['MFA Enrolled']}")
