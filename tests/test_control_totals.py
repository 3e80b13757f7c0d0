"""Where each export came from, and its rows reconciled to an independent control total.

The expected counts come from reading the sample's CSV exports with the csv module, not from
the loader: a control total is compared with the data rows in the file (`rows_read`).
"""

from __future__ import annotations

import csv

import pytest

from evidence_lib.inventory import COLUMNS, inventory
from evidence_lib.sources.folder import load_folder
from tests.corpus import declaration, declare, drop_csv_rows, redeclare

OKTA = "accounts/okta_users.csv"
SCREENING = "people/screening_results.csv"
HINT = "re-export, or correct control_total with its source"


@pytest.fixture
def folder(sample_copy):
    """The sample's copy with two exports only (the Okta users, the screening results): loads fast."""
    spec = declaration(sample_copy)
    for entry in spec["files"]:
        if entry["path"] not in (OKTA, SCREENING):
            (sample_copy / entry["path"]).unlink()
    spec["files"] = [f for f in spec["files"] if f["path"] in (OKTA, SCREENING)]
    spec.pop("scope", None)
    declare(sample_copy, spec)
    return sample_copy


def data_rows(path) -> int:
    """Hand count: the rows under the header that hold any value."""
    with open(path, newline="", encoding="utf-8-sig") as handle:
        return sum(1 for row in list(csv.reader(handle))[1:] if any(cell.strip() for cell in row))


def line(evidence, path: str) -> dict:
    return inventory(evidence).set_index("file").loc[path].to_dict()


def test_a_matching_control_total_reconciles_and_is_no_problem(folder):
    count = data_rows(folder / OKTA)
    redeclare(folder, OKTA, control_total={"count": count, "source": "Okta admin console user count"})
    evidence = load_folder(folder)
    assert evidence.control_total_gaps() == {} and evidence.ok
    row = line(evidence, OKTA)
    assert (row["control_total"], row["reconciled"], row["problems"]) == (count, f"{count} = {count}", "ok")


def test_a_control_total_above_the_rows_read_names_the_file_and_the_missing_rows(folder):
    count = data_rows(folder / OKTA)
    redeclare(folder, OKTA, control_total={"count": count + 1, "source": "Okta admin console user count"})
    evidence = load_folder(folder)
    gap = (f"{OKTA} has {count} data rows but its control total (Okta admin console user count) says "
           f"{count + 1}: 1 row missing — {HINT}")
    assert evidence.control_total_gaps() == {OKTA: gap}
    assert evidence.control_total_gaps("accounts") == {OKTA: gap} and evidence.control_total_gaps("hr_roster") == {}
    assert [str(p) for p in evidence.problems] == [f"{folder / OKTA}: {gap.removeprefix(OKTA + ' ')}"]
    row = line(evidence, OKTA)
    assert row["reconciled"] == f"{count} ≠ {count + 1} (1 missing)"
    assert row["problems"].startswith(f"has {count} data rows but its control total")


def test_a_row_lost_from_the_export_is_caught_by_the_control_total(folder):
    count = data_rows(folder / SCREENING)
    assert drop_csv_rows(folder / SCREENING, {"Candidate ID": "E10002"}) == 1
    redeclare(folder, SCREENING, control_total=count)
    evidence = load_folder(folder)
    assert evidence.control_total_gaps("background_checks") == {
        SCREENING: f"{SCREENING} has {count - 1} data rows but its control total says {count}: 1 row missing — {HINT}"}
    # The rows still load (nothing is hidden); the rules using them are made errors by validation.
    outcome = next(o for o in evidence.outcomes if o.declared.path == SCREENING)
    assert outcome.ok and len(outcome.loaded.frame) == count - 1 and evidence.failed("background_checks") == []


def test_more_rows_than_the_control_total_is_a_gap_too(folder):
    count = data_rows(folder / SCREENING)
    redeclare(folder, SCREENING, control_total=count - 3)
    evidence = load_folder(folder)
    assert evidence.control_total_gaps()[SCREENING] == (
        f"{SCREENING} has {count} data rows but its control total says {count - 3}: "
        f"3 rows more than the control total counts — {HINT}")
    assert line(evidence, SCREENING)["reconciled"] == f"{count} ≠ {count - 3} (3 extra)"


def test_a_file_that_did_not_load_is_not_reconciled_its_load_problem_stands(folder):
    (folder / SCREENING).write_text("not,the,screening,header\n1,2,3,4\n", encoding="utf-8")
    redeclare(folder, SCREENING, control_total=179)
    evidence = load_folder(folder)
    assert evidence.control_total_gaps() == {} and evidence.failed("background_checks")
    row = line(evidence, SCREENING)
    assert row["reconciled"] == "" and row["control_total"] == 179 and not row["problems"].startswith("ok")


def test_the_inventory_shows_where_each_export_came_from(folder):
    for path in (SCREENING, OKTA):  # the sample says where its exports came from: start from none
        spec = declaration(folder)
        entry = next(f for f in spec["files"] if f["path"] == path)
        for key in ("source", "extracted_by", "control_total"):
            entry.pop(key, None)
        declare(folder, spec)
    redeclare(folder, OKTA, source="Okta admin console: Reports > User export (CSV)",
              extracted_by="it-ops@northwind.example", extracted_at="2026-10-01T06:05:00Z")
    (folder / "notes.txt").write_text("not evidence", encoding="utf-8")
    table = inventory(load_folder(folder)).set_index("file")
    assert COLUMNS[:8] == ["file", "type", "system", "format", "rows_read", "rows_kept", "sha256", "problems"]
    assert list(table.reset_index().columns) == COLUMNS
    okta = table.loc[OKTA]
    assert (okta["source"], okta["extracted_by"], okta["exported_at"]) == (
        "Okta admin console: Reports > User export (CSV)", "it-ops@northwind.example", "2026-10-01T06:05:00Z")
    assert table.loc[SCREENING, "exported_at"] == "2026-10-01T06:00:00+00:00"  # the top level's time
    assert table.loc[SCREENING, "source"] == "" and table.loc[SCREENING, "reconciled"] == ""
    assert table["control_total"].isna().all()
    undeclared = table.loc["notes.txt"]
    assert (undeclared["source"], undeclared["extracted_by"], undeclared["exported_at"]) == ("", "", "")


def test_a_control_total_that_does_not_reconcile_makes_every_rule_using_the_file_an_error(sample_copy):
    from tests.corpus import check

    rows = data_rows(sample_copy / OKTA)
    redeclare(sample_copy, OKTA, control_total={"count": rows + 1, "source": "Okta admin console user count"})
    _, validation = check(sample_copy, rules=("mfa_enabled", "background_check_before_hire"))
    mfa = next(r for r in validation.rules if r.rule.rule_id == "mfa_enabled")
    assert mfa.status == "error" and mfa.exception_count > 0  # the exceptions found so far stay listed
    assert (f"{OKTA} has {rows} data rows but its control total (Okta admin console user count) says {rows + 1}: "
            "1 row missing") in mfa.reason
    screening = next(r for r in validation.rules if r.rule.rule_id == "background_check_before_hire")
    assert "control total" not in screening.reason  # a rule that does not use the file is not affected
