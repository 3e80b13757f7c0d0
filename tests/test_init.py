"""`evidence init`: exports recognised by their header, evidence.yaml proposed (evidence_lib/sources/detect.py).

Expected values come from the committed sample declaration (read here with yaml.safe_load), from
the canonical schemas, or from files written inline by the test, never from init's own output.
"""

import csv
import io
import json
import shutil
from pathlib import Path

import pytest
import yaml

from evidence_lib.sources import declaration as declaration_module
from evidence_lib.sources.detect import FilePlacement, Unplaced, propose
from evidence_lib.sources.folder import load_folder
from evidence_lib.sources.schemas import SCHEMAS
from tests.conftest import ROOT, SAMPLE

# the sample's answer keys, not exports
NOT_EVIDENCE = ("expected_exceptions.csv", "near_misses.csv", "expected_populations.csv")
OKTA_HEADER = ["Okta Username", "User Fullname", "Primary Email", "Okta User Status", "Created Date",
               "Last Login Date", "Status Change Date", "MFA Enrolled", "Admin Roles"]
OKTA_ROW = ["ann@corp.example", "Ann Lee", "ann@corp.example", "ACTIVE", "2026-01-05T10:00:00+00:00",
            "2026-09-30T10:00:00+00:00", "2026-01-05T10:00:00+00:00", "true", ""]


@pytest.fixture
def undeclared_sample(sample_copy) -> Path:
    """The sample folder with its evidence.yaml removed."""
    (sample_copy / "evidence.yaml").unlink()
    return sample_copy


def committed_declaration() -> dict[str, tuple]:
    spec = yaml.safe_load((SAMPLE / "evidence.yaml").read_text(encoding="utf-8"))
    return {f["path"]: (f["type"], f["format"], f.get("system")) for f in spec["files"]}


def write_csv(path: Path, rows: list[list[str]], preamble: tuple[str, ...] = (), delimiter: str = ",",
              encoding: str = "utf-8") -> Path:
    buffer = io.StringIO()
    for line in preamble:
        buffer.write(line + "\n")
    csv.writer(buffer, delimiter=delimiter, lineterminator="\n").writerows(rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


def required_of(evidence_type: str) -> set[str]:
    """Required canonical columns a file must carry (not those evidence.yaml declares)."""
    schema = SCHEMAS[evidence_type]
    return {c.name for c in schema.columns if c.required and c.name not in schema.declared}


def test_init_proposes_the_committed_declaration_of_the_sample(undeclared_sample, run_cli):
    result = run_cli("init", undeclared_sample, *[a for name in NOT_EVIDENCE for a in ("--ignore", name)])
    assert result.exit_code == 0, result.output
    proposed = yaml.safe_load(result.stdout)
    found = {f["path"]: (f["type"], f["format"], f.get("system")) for f in proposed["files"]}
    assert found == committed_declaration()
    assert set(NOT_EVIDENCE) <= set(proposed["ignore"])
    # Every system here is in its file's name: none may be marked as a guess.
    assert "guess: the file name" not in result.stdout


def test_init_finds_the_workday_title_row_below_a_cover_sheet(undeclared_sample):
    proposal = propose(undeclared_sample, ignore=NOT_EVIDENCE)
    workday = next(p for p in proposal.files if p.path == "hr/workday_workers.xlsx")
    # The workbook: sheet 1 'Report Info' (a cover), sheet 2 'Workers' with a title row above the header.
    assert (workday.sheet, workday.header_row) == ("Workers", 2)
    # The format itself reads sheet Workers below one title row: nothing to override.
    assert workday.overrides == {}
    assert "header on row 2 of sheet 'Workers'" in proposal.to_yaml()


def test_sample_answer_keys_are_unplaced_not_chosen_and_exit_2(undeclared_sample, run_cli):
    result = run_cli("init", undeclared_sample)
    assert result.exit_code == 2
    for name in NOT_EVIDENCE:
        assert f"not placed: {undeclared_sample / name}:" in result.stderr
    proposed = yaml.safe_load(result.stdout)
    assert not {f["path"] for f in proposed["files"]} & set(NOT_EVIDENCE)


def test_an_unknown_file_is_named_with_its_closest_format_and_missing_columns(tmp_path, run_cli):
    write_csv(tmp_path / "accounts" / "okta_users.csv", [OKTA_HEADER, OKTA_ROW])
    # Okta's export without its status column: 'enabled' (required) cannot be read.
    without_status = [[c for i, c in enumerate(r) if i != OKTA_HEADER.index("Okta User Status")]
                      for r in (OKTA_HEADER, OKTA_ROW)]
    write_csv(tmp_path / "accounts" / "okta_partial.csv", without_status)
    write_csv(tmp_path / "inventory.csv", [["widget", "colour", "size"], ["bolt", "red", "M4"]])

    proposal = propose(tmp_path)
    unplaced = {u.path: u for u in proposal.unplaced}
    assert [p.path for p in proposal.files] == ["accounts/okta_users.csv"]
    assert set(unplaced) == {"accounts/okta_partial.csv", "inventory.csv"}
    partial = unplaced["accounts/okta_partial.csv"]
    assert partial.closest_format == "okta_users_csv" and partial.missing == ("enabled",)
    assert partial.reason.startswith("is this okta_users_csv (accounts)?") and "Okta User Status" in partial.reason
    assert 0 < partial.score < 2
    mystery = unplaced["inventory.csv"]
    assert mystery.closest_format is not None and mystery.score == 0
    evidence_type = yaml.safe_load(
        (ROOT / "evidence_lib" / "sources" / "mappings" / f"{mystery.closest_format}.yaml").read_text())["evidence"]
    assert set(mystery.missing) == required_of(evidence_type)  # nothing of it is there

    result = run_cli("init", tmp_path)
    assert result.exit_code == 2
    assert f"not placed: {tmp_path / 'inventory.csv'}: no built-in format knows its columns" in result.stderr
    assert f"closest by name: {mystery.closest_format}" in result.stderr
    assert "is this okta_users_csv (accounts)? these columns are missing: enabled" in result.stderr


def test_write_gives_an_evidence_yaml_that_loads_and_never_overwrites_it(undeclared_sample, run_cli):
    args = ["init", undeclared_sample, "--write", "--period", "2026-q3", "--company", "Northwind Analytics"]
    first = run_cli(*args, *[a for name in NOT_EVIDENCE for a in ("--ignore", name)])
    assert first.exit_code == 0, first.output
    declared = undeclared_sample / "evidence.yaml"
    assert f"proposal written to {declared}" in first.stdout
    evidence = load_folder(undeclared_sample)
    assert evidence.ok, [str(p) for p in evidence.problems]
    assert evidence.declaration.period == "2026-Q3"
    assert evidence.declaration.company == "Northwind Analytics"
    assert set(NOT_EVIDENCE) <= set(evidence.declaration.ignore)
    assert {d.path for d in evidence.declaration.files} == set(committed_declaration())

    written = declared.read_bytes()
    second = run_cli("init", undeclared_sample, "--write")
    assert declared.read_bytes() == written
    assert (undeclared_sample / "evidence.yaml.proposed").is_file()
    assert "evidence.yaml.proposed (evidence.yaml exists and was left as it is)" in second.stdout


def test_write_leaves_unplaced_files_undeclared_so_the_load_names_them(undeclared_sample, run_cli):
    result = run_cli("init", undeclared_sample, "--write")
    assert result.exit_code == 2
    evidence = load_folder(undeclared_sample)
    assert sorted(evidence.undeclared) == sorted(NOT_EVIDENCE)  # not ignored behind the user's back
    assert all(o.ok for o in evidence.outcomes)
    text = (undeclared_sample / "evidence.yaml").read_text(encoding="utf-8")
    assert "# Not placed" in text and "near_misses.csv" in text


def test_a_csv_preamble_gives_header_row_4_and_the_file_loads_with_it(tmp_path, run_cli):
    rows = [["account_id", "username", "email", "display_name", "status", "mfa", "role", "created_at",
             "last_login_at", "disabled_at"],
            ["ann", "ann", "ann@corp.example", "Ann Lé", "active", "yes", "admin", "2025-01-01T00:00:00Z",
             "2026-09-01T00:00:00Z", ""]]
    write_csv(tmp_path / "ledger_accounts.csv", rows, delimiter=";", encoding="cp1252",
              preamble=("Ledger user listing", "Exported by: admin", ""))
    proposal = propose(tmp_path)
    [placement] = proposal.files
    assert isinstance(placement, FilePlacement)
    assert (placement.format, placement.system, placement.header_row) == ("generic_accounts_csv", "ledger", 4)
    assert placement.overrides == {"header_row": 4, "encoding": "cp1252", "delimiter": ";"}

    assert run_cli("init", tmp_path, "--write").exit_code == 0
    entry = yaml.safe_load((tmp_path / "evidence.yaml").read_text(encoding="utf-8"))["files"][0]
    assert entry["header_row"] == 4
    if "header_row" not in declaration_module.FILE_KEYS:
        pytest.skip("evidence.yaml does not accept `header_row:` yet (mapping engine)")
    evidence = load_folder(tmp_path)
    assert evidence.ok, [str(p) for p in evidence.problems]
    frame = evidence.frame("accounts")
    assert list(frame["account_id"]) == ["ann"] and list(frame["display_name"]) == ["Ann Lé"]


def test_a_system_not_in_the_file_name_is_marked_as_a_guess(tmp_path, run_cli):
    write_csv(tmp_path / "users.csv", [OKTA_HEADER, OKTA_ROW])
    [placement] = propose(tmp_path).files
    assert (placement.system, placement.system_guessed) == ("okta", True)
    result = run_cli("init", tmp_path)
    assert "system: okta   # guess: the file name does not say which system; confirm" in result.stdout


def test_a_csv_with_an_xlsx_formats_columns_is_not_placed_under_it(tmp_path):
    header = ["Employee ID", "Worker", "Primary Work Email", "Worker Type", "Worker Status", "Hire Date",
              "Termination Date", "Supervisory Organization", "Business Title", "Manager Employee ID"]
    write_csv(tmp_path / "workers.csv", [header, ["E1", "Ann", "ann@corp.example", "Regular", "Active",
                                                  "01/05/2026", "", "Eng", "Engineer", ""]])
    [unplaced] = propose(tmp_path).unplaced
    assert isinstance(unplaced, Unplaced)
    assert "which reads xlsx, but this file is csv" in unplaced.reason


def test_json_records_under_a_key_and_links_out_of_the_folder(tmp_path):
    members = [{"login": "ann", "role": "admin", "two_factor_authentication": True}]
    (tmp_path / "github_members.json").write_text(json.dumps(members), encoding="utf-8")
    (tmp_path / "wrapped.json").write_text(json.dumps({"members": members}), encoding="utf-8")
    outside = tmp_path.parent / f"{tmp_path.name}-outside.csv"
    shutil.copy(tmp_path / "github_members.json", outside)
    (tmp_path / "linked.json").symlink_to(outside)
    (tmp_path / "README.md").write_text("notes", encoding="utf-8")

    proposal = propose(tmp_path)
    assert [(p.path, p.format, p.system) for p in proposal.files] == [
        ("github_members.json", "github_org_members_json", "github")]
    unplaced = {u.path: u.reason for u in proposal.unplaced}
    assert unplaced["linked.json"] == "a symbolic link leading outside the folder: not read"
    assert "records under 'members' match format github_org_members_json" in unplaced["wrapped.json"]
    assert proposal.ignored == ("README.md",)


def test_required_columns_alone_are_a_question_not_a_placement(tmp_path, run_cli):
    # generic_accounts_csv needs account_id and status (for 'enabled') and names 8 more columns.
    write_csv(tmp_path / "app_accounts.csv", [["account_id", "status"], ["ann", "active"]])
    proposal = propose(tmp_path)
    assert proposal.files == ()
    [question] = proposal.unplaced
    assert question.closest_format == "generic_accounts_csv" and question.missing == ()
    assert question.reason.startswith("is this generic_accounts_csv (accounts)? its required columns are present, "
                                      "but only 2 of the 10 columns it names")
    assert run_cli("init", tmp_path).exit_code == 2
