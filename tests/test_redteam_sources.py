"""Red team of the sources: hostile or careless evidence fails closed, located, without a traceback.

Each case mutates a copy of the sample company (the `sample_copy` fixture) in one way and
asserts the documented outcome: the error class, the file/row/column the message names, that
nothing outside the folder is read or echoed, and for the resource cases that the load is quick.
"""

from __future__ import annotations

import io
import os
import shutil
import time
import zipfile
from pathlib import Path

import openpyxl
import pytest

from evidence_lib.errors import DeclarationError, LoadError, ProblemsError
from evidence_lib.inventory import set_aside_rows
from evidence_lib.sources import limits
from evidence_lib.sources.folder import load_folder
from evidence_lib.sources.mapping import BUILTIN_DIR
from tests.corpus import declaration, declare, edit_csv, edit_json, read_csv, write_csv

SECRET = "root:$6$TOP-SECRET-HASH:19000:0:99999:7:::"


@pytest.fixture
def secret(tmp_path) -> Path:
    """A file outside the evidence folder whose contents must never appear anywhere."""
    path = tmp_path / "shadow"
    path.write_text(SECRET + "\nsecond:line\n")
    return path


def outcome_of(folder: Path) -> tuple[type, str]:
    """(error class or EvidenceSet's problems' source, every message) of loading the folder in-process."""
    try:
        evidence = load_folder(folder)
    except ProblemsError as error:
        return type(error), str(error)
    return type(None), "\n".join(str(p) for p in evidence.problems)


def problems_of(folder: Path, path: str, also: tuple[str, ...] = ()) -> str:
    """The problems of one file, loading only it (and `also`): the other files' outcomes do not matter here."""
    spec = declaration(folder)
    spec["files"] = [f for f in spec["files"] if f["path"] in (path, *also)]
    declare(folder, spec)
    evidence = load_folder(folder)
    return "\n".join(str(p) for o in evidence.outcomes if o.declared.path == path for p in o.problems)


def redeclare(folder: Path, declared_path: str, **changes) -> None:
    """corpus.redeclare, that can also change the entry's `path:`."""
    spec = declaration(folder)
    next(f for f in spec["files"] if f["path"] == declared_path).update(changes)
    declare(folder, spec)


def add_file(folder: Path, **entry) -> None:
    spec = declaration(folder)
    spec["files"].append(entry)
    declare(folder, spec)


# --- containment ---------------------------------------------------------------------------


def test_dotdot_path_outside_the_folder_is_refused_unread(sample_copy, secret):
    redeclare(sample_copy, "people/screening_results.csv", path="../shadow")
    kind, text = outcome_of(sample_copy)
    assert kind is DeclarationError
    assert "evidence.yaml: files[15] (../shadow): '..' leads outside the evidence folder" in text
    assert SECRET not in text and "TOP-SECRET" not in text


def test_absolute_path_is_refused(sample_copy, secret):
    redeclare(sample_copy, "people/screening_results.csv", path=str(secret))
    kind, text = outcome_of(sample_copy)
    assert kind is DeclarationError and "an absolute path" in text and "TOP-SECRET" not in text


def test_symlinked_file_leading_outside_is_refused(sample_copy, secret):
    (sample_copy / "people" / "link.csv").symlink_to(secret)
    redeclare(sample_copy, "people/screening_results.csv", path="people/link.csv")
    kind, text = outcome_of(sample_copy)
    assert kind is DeclarationError
    assert "files[15] (people/link.csv): a symbolic link leads outside the evidence folder" in text
    assert "TOP-SECRET" not in text


def test_symlinked_parent_folder_leading_outside_is_refused(sample_copy, secret):
    (sample_copy / "outside").symlink_to(secret.parent, target_is_directory=True)
    redeclare(sample_copy, "people/screening_results.csv", path="outside/shadow")
    kind, text = outcome_of(sample_copy)
    assert kind is DeclarationError and "symbolic link leads outside" in text and "TOP-SECRET" not in text


def test_declaration_itself_symlinked_outside_is_refused(sample_copy, secret):
    (sample_copy / "evidence.yaml").unlink()
    (sample_copy / "evidence.yaml").symlink_to(secret)
    kind, text = outcome_of(sample_copy)
    assert kind is DeclarationError and "outside the evidence folder" in text and "TOP-SECRET" not in text


def test_mapping_outside_the_folder_is_refused(sample_copy, secret, tmp_path):
    (tmp_path / "evil.yaml").write_text(f"evidence: accounts\nname: {SECRET}\n")
    redeclare(sample_copy, "accounts/okta_users.csv", format="../evil.yaml")
    kind, text = outcome_of(sample_copy)
    assert kind is DeclarationError
    assert "files[2] (accounts/okta_users.csv): format: '..' leads outside the evidence folder" in text
    assert "TOP-SECRET" not in text


def test_mapping_symlinked_outside_is_refused(sample_copy, tmp_path):
    (tmp_path / "evil.yaml").write_text("evidence: accounts\n")
    (sample_copy / "okta.yaml").symlink_to(tmp_path / "evil.yaml")
    redeclare(sample_copy, "accounts/okta_users.csv", format="okta.yaml")
    kind, text = outcome_of(sample_copy)
    assert kind is DeclarationError and "format: a symbolic link leads outside" in text


def test_fifo_is_refused_without_hanging(sample_copy):
    os.mkfifo(sample_copy / "people" / "pipe.csv")
    redeclare(sample_copy, "people/screening_results.csv", path="people/pipe.csv")
    started = time.perf_counter()
    text = problems_of(sample_copy, "people/pipe.csv")
    assert time.perf_counter() - started < 10
    assert "people/pipe.csv: is a FIFO (pipe), not an exported file — declare the exported file itself" in text


def test_dev_zero_cannot_be_read(sample_copy, tmp_path):
    (sample_copy / "people" / "zero.csv").symlink_to("/dev/zero")
    redeclare(sample_copy, "people/screening_results.csv", path="people/zero.csv")
    kind, text = outcome_of(sample_copy)
    assert kind is DeclarationError and "symbolic link leads outside" in text
    with pytest.raises(LoadError, match="is a character device"):
        limits.read_regular_file(Path("/dev/zero"), "/dev/zero")


def test_a_folder_declared_as_a_file_is_refused(sample_copy):
    redeclare(sample_copy, "people/screening_results.csv", path="people")
    assert "people: is a folder, not an exported file" in problems_of(sample_copy, "people")


def test_one_file_declared_twice_under_two_spellings(sample_copy):
    add_file(sample_copy, path="./people/screening_results.csv", type="background_checks",
             format="screening_vendor_csv")
    kind, text = outcome_of(sample_copy)
    assert kind is DeclarationError
    assert "'./people/screening_results.csv' is declared more than once (as 'people/screening_results.csv')" in text


def test_two_files_with_the_same_bytes(sample_copy):
    shutil.copy(sample_copy / "people" / "screening_results.csv", sample_copy / "people" / "screening_copy.csv")
    add_file(sample_copy, path="people/screening_copy.csv", type="background_checks", format="screening_vendor_csv")
    text = problems_of(sample_copy, "people/screening_copy.csv", also=("people/screening_results.csv",))
    assert "screening_copy.csv: has the same bytes as 'people/screening_results.csv'" in text


def test_one_ticket_in_two_change_files_names_both(sample_copy):
    header, rows, encoding = read_csv(sample_copy / "changes" / "jira_changes.csv")
    write_csv(sample_copy / "changes" / "jira_more.csv", header, [rows[4]], encoding)
    add_file(sample_copy, path="changes/jira_more.csv", type="change_tickets", format="jira_issues_csv")
    evidence = load_folder(sample_copy)
    text = "\n".join(map(str, evidence.problems))
    ticket = rows[4][header.index("Issue key")]
    assert (f"changes/jira_more.csv:row 2:column 'ticket_id': duplicate key ticket_id={ticket}: "
            f"also in 'changes/jira_changes.csv' row 6") in text
    assert [o.declared.path for o in evidence.failed("change_tickets")] == ["changes/jira_more.csv"]


def test_one_employee_in_two_roster_files(sample_copy):
    header = ["employee_id", "full_name", "work_email", "worker_type", "employment_status", "hire_date",
              "termination_date", "department", "job_title", "manager_id"]
    roster = load_folder(sample_copy).frame("hr_roster")
    first = roster.iloc[0]
    write_csv(sample_copy / "hr" / "contractors.csv", header,
              [[first["employee_id"], "X", "x@northwind.example", "Contingent", "Active", "2026-01-01", "",
                "", "", ""]], "utf-8")
    add_file(sample_copy, path="hr/contractors.csv", type="hr_roster", format="generic_hris_csv")
    text = problems_of(sample_copy, "hr/contractors.csv", also=("hr/workday_workers.xlsx",))
    assert f"duplicate key employee_id={first['employee_id']}: also in 'hr/workday_workers.xlsx' row " in text


def test_accounts_repeated_across_files_are_a_finding_not_a_load_problem(sample_copy):
    header, rows, encoding = read_csv(sample_copy / "accounts" / "okta_users.csv")
    write_csv(sample_copy / "accounts" / "okta_extra.csv", header, rows[:3], encoding)
    add_file(sample_copy, path="accounts/okta_extra.csv", type="accounts", system="okta", format="okta_users_csv")
    assert load_folder(sample_copy).ok


def test_custom_mapping_is_hashed_and_named(sample_copy):
    import hashlib

    mapping = sample_copy / "mappings" / "aliases.yaml"
    mapping.parent.mkdir()
    shutil.copy(BUILTIN_DIR / "identity_aliases_csv.yaml", mapping)
    redeclare(sample_copy, "accounts/github_aliases.csv", format="mappings/aliases.yaml")
    evidence = load_folder(sample_copy)
    assert evidence.ok, evidence.problems
    read = evidence.files_read()
    expected = {"evidence.yaml", "responses.yaml", "mappings/aliases.yaml",
                *(f["path"] for f in declaration(sample_copy)["files"])}
    assert set(read) == expected
    for name, digest in read.items():
        assert digest == hashlib.sha256((sample_copy / name).read_bytes()).hexdigest(), name
    provenance = {o.declared.path: o.loaded.provenance for o in evidence.outcomes}
    assert provenance["accounts/github_aliases.csv"].mapping_path == "mappings/aliases.yaml"
    assert provenance["accounts/okta_users.csv"].mapping_path == "builtin:okta_users_csv"


# --- bounded resources ---------------------------------------------------------------------


def _xlsx(sheet_xml: str) -> bytes:
    """A minimal workbook written by hand: one sheet 'Workers' with the given XML."""
    parts = {
        "[Content_Types].xml": '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
                               'content-types"><Default Extension="xml" ContentType="application/xml"/></Types>',
        "xl/workbook.xml": '<workbook xmlns:r="r"><sheets><sheet name="Workers" sheetId="1" r:id="rId1"/>'
                           '</sheets></workbook>',
        "xl/_rels/workbook.xml.rels": '<Relationships><Relationship Id="rId1" Target="worksheets/sheet1.xml"/>'
                                      '</Relationships>',
        "xl/worksheets/sheet1.xml": sheet_xml,
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as book:
        for name, text in parts.items():
            book.writestr(name, text)
    return buffer.getvalue()


def test_xlsx_declaring_the_whole_grid_is_refused_before_calamine(sample_copy):
    sheet = ('<worksheet><dimension ref="A1:XFD1048576"/><sheetData><row r="1048576">'
             '<c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row></sheetData></worksheet>')
    data = _xlsx(sheet + " " * 14_000)
    assert len(data) < 16_000
    (sample_copy / "hr" / "workday_workers.xlsx").write_bytes(data)
    started = time.perf_counter()
    text = problems_of(sample_copy, "hr/workday_workers.xlsx")
    assert time.perf_counter() - started < 5
    assert ("hr/workday_workers.xlsx: sheet 'Workers' has 1,048,576 rows × 16,384 columns, more than the "
            "10,000,000 cells one evidence file may have") in text


def test_xlsx_far_cell_without_dimension_is_refused(sample_copy):
    sheet = '<worksheet><sheetData><row r="2"><c r="ZZ600000"><v>1</v></c></row></sheetData></worksheet>'
    (sample_copy / "hr" / "workday_workers.xlsx").write_bytes(_xlsx(sheet))
    assert "600,000 rows × 702 columns" in problems_of(sample_copy, "hr/workday_workers.xlsx")


def test_xlsx_zip_bomb_stops_at_the_inflated_cap(sample_copy, monkeypatch):
    # The real cap is 512 MB; a smaller one keeps the test quick, the mechanism is the same.
    monkeypatch.setattr(limits, "MAX_XLSX_INFLATED_BYTES", 8 * 1024**2)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as book, book.open("xl/sharedStrings.xml", "w") as part:
        for _ in range(32):
            part.write(b"\0" * 1024**2)
    assert len(buffer.getvalue()) < 100_000
    (sample_copy / "hr" / "workday_workers.xlsx").write_bytes(buffer.getvalue())
    text = problems_of(sample_copy, "hr/workday_workers.xlsx")
    assert "the workbook inflates to more than 8,388,608 bytes (a zip bomb" in text


def test_xlsx_with_a_lying_header_is_not_a_traceback(sample_copy):
    (sample_copy / "hr" / "workday_workers.xlsx").write_bytes(b"PK\x05\x06" + b"\0" * 18)
    assert "not a readable XLSX workbook" in problems_of(sample_copy, "hr/workday_workers.xlsx")


def test_json_nested_100000_deep_is_a_located_error(sample_copy):
    (sample_copy / "accounts" / "github_org_members.json").write_text("[" * 100_000 + "]" * 100_000)
    started = time.perf_counter()
    text = problems_of(sample_copy, "accounts/github_org_members.json")
    assert time.perf_counter() - started < 5
    assert "github_org_members.json:row 1: the JSON nests deeper than 64 levels" in text


def test_json_brackets_inside_strings_do_not_count(sample_copy):
    edit_json(sample_copy / "accounts" / "github_org_members.json",
              lambda records: [{**r, "note": "[" * 500} for r in records])
    assert load_folder(sample_copy).ok


def test_json_giant_integer_is_a_located_error(sample_copy):
    (sample_copy / "accounts" / "github_org_members.json").write_text('[{"login": "a", "id": ' + "9" * 5000 + "}]")
    assert "not readable JSON (ValueError" in problems_of(sample_copy, "accounts/github_org_members.json")


BILLION_LAUGHS = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(8))


def test_billion_laughs_in_the_declaration_is_refused_quickly(sample_copy):
    text = (sample_copy / "evidence.yaml").read_text()
    (sample_copy / "evidence.yaml").write_text(BILLION_LAUGHS + text)
    started = time.perf_counter()
    kind, message = outcome_of(sample_copy)
    assert time.perf_counter() - started < 5
    assert kind is DeclarationError
    assert "evidence.yaml:row 1: not valid YAML: anchors and aliases (& and *) are not allowed" in message


def test_billion_laughs_in_a_mapping_is_refused_quickly(sample_copy):
    (sample_copy / "aliases.yaml").write_text(BILLION_LAUGHS + "evidence: identity_aliases\n")
    redeclare(sample_copy, "accounts/github_aliases.csv", format="aliases.yaml")
    text = problems_of(sample_copy, "accounts/github_aliases.csv")
    assert "aliases.yaml:row 1: not valid YAML: anchors and aliases" in text


def test_oversized_file_is_refused_before_reading(sample_copy, monkeypatch):
    monkeypatch.setattr(limits, "MAX_FILE_BYTES", 1000)
    text = problems_of(sample_copy, "people/screening_results.csv")
    assert "screening_results.csv: the file has 14,123 bytes, more than the 1,000 one evidence file may have" in text


def test_a_10mb_bad_value_is_echoed_cut_to_120_characters(sample_copy):
    path = sample_copy / "changes" / "servicenow_change_request.csv"
    header, rows, _ = read_csv(path)
    number = rows[2][header.index("number")]
    edit_csv(path, "sys_created_on", "9" * 10_000_000, where={"number": number})
    text = problems_of(sample_copy, "changes/servicenow_change_request.csv")
    line = next(line for line in text.splitlines() if "cannot read" in line)
    assert "servicenow_change_request.csv:row 4:column 'sys_created_on': cannot read '" + "9" * 119 + "…'" in line
    assert len(line) < 600


def test_a_huge_header_is_cut_in_messages(sample_copy):
    path = sample_copy / "people" / "screening_results.csv"
    header, rows, encoding = read_csv(path)
    status = header.index("Report Status")  # a required column's source: its absence is an error
    header[status] = "Report Status" + "x" * 1_000_000
    write_csv(path, header, rows, encoding)
    text = problems_of(sample_copy, "people/screening_results.csv")
    assert "missing column 'Report Status'" in text and len(text) < 5000


# --- the declaration ------------------------------------------------------------------------


def test_unknown_top_level_key_is_an_error(sample_copy):
    spec = declaration(sample_copy)
    spec["exportedAt"] = spec.pop("exported_at")
    declare(sample_copy, spec)
    kind, text = outcome_of(sample_copy)
    assert kind is DeclarationError
    assert "evidence.yaml: evidence.yaml: unknown key 'exportedAt' — did you mean `exported_at`?" in text


def test_unreadable_export_time_is_an_error(sample_copy):
    redeclare(sample_copy, "accounts/okta_users.csv", exported_at="yesterday at noon")
    kind, text = outcome_of(sample_copy)
    assert kind is DeclarationError
    assert "files[2] (accounts/okta_users.csv): exported_at: 'yesterday at noon' is not a date and time" in text


# --- normalisation, headers, JSON gaps, time zones, placeholders -----------------------------


def test_system_names_and_review_periods_are_normalised(sample_copy):
    redeclare(sample_copy, "accounts/okta_users.csv", system=" Okta ")
    path = sample_copy / "access_review" / "q_access_review.csv"
    edit_csv(path, "system", "OKTA", where={"system": "okta"})
    edit_csv(path, "period", "2026-q3")
    evidence = load_folder(sample_copy)
    assert evidence.ok, evidence.problems
    assert set(evidence.frame("accounts")["system"]) >= {"okta"} and "Okta" not in set(
        evidence.frame("accounts")["system"])
    reviews = evidence.frame("access_reviews")
    assert "okta" in set(reviews["system"]) and set(reviews["period"]) == {"2026-Q3"}


@pytest.mark.parametrize("second", ["Primary Email", "primary  email"])
def test_two_csv_columns_headed_alike_are_ambiguous(sample_copy, second):
    path = sample_copy / "accounts" / "okta_users.csv"
    header, rows, encoding = read_csv(path)
    write_csv(path, header + [second], [row + ["someone.else@northwind.example"] for row in rows], encoding)
    text = problems_of(sample_copy, "accounts/okta_users.csv")
    assert "okta_users.csv:row 1:column 'Primary Email': 2 columns are headed 'Primary Email': " in text
    assert "rename or remove one" in text


def test_two_xlsx_columns_headed_alike_are_ambiguous_not_a_traceback(sample_copy):
    path = sample_copy / "hr" / "workday_workers.xlsx"
    book = openpyxl.load_workbook(path)
    sheet = book["Workers"]
    sheet.cell(row=2, column=sheet.max_column + 1, value="Employee ID")
    book.save(path)
    text = problems_of(sample_copy, "hr/workday_workers.xlsx")
    assert "workday_workers.xlsx:row 2:column 'Employee ID': 2 columns are headed 'Employee ID'" in text


def test_json_keys_differing_only_in_case_or_repeated_are_ambiguous(sample_copy):
    path = sample_copy / "accounts" / "github_org_members.json"
    ambiguous = "github_org_members.json:row 1:column 'login': 2 columns are headed 'login'"
    edit_json(path, lambda records: [{**r, "Login": "someone-else"} for r in records])
    assert ambiguous in problems_of(sample_copy, "accounts/github_org_members.json")
    path.write_text('[{"login": "a", "login": "b", "role": "member", "two_factor_authentication": true}]')
    assert ambiguous in problems_of(sample_copy, "accounts/github_org_members.json")


def test_json_missing_keys_are_blank_never_nan(sample_copy):
    evidence = load_folder(sample_copy)
    refs = evidence.frame("deployments")["ticket_ref"].dropna()
    assert not refs.str.contains(r"\bnan\b|\bNone\b").any()
    path = sample_copy / "changes" / "github_merged_prs.json"
    edit_json(path, lambda records: [{k: v for k, v in r.items() if k != "merged_at" or i != 3}
                                     for i, r in enumerate(records)])
    # a pull request without a merge time is not a deployment: left out by the mapping, counted and
    # named (population walk, inventory), never dropped silently
    loaded = next(o.loaded for o in load_folder(sample_copy).outcomes
                  if o.declared.path == "changes/github_merged_prs.json")
    assert loaded.provenance.rows_filtered == 1 and list(loaded.provenance.filtered.values()) == [(4,)]
    assert "merged_at" in next(iter(loaded.provenance.filtered))


def test_declared_tz_applies_to_naive_values_beside_offset_values(sample_copy):
    import pandas as pd

    mapping = (BUILTIN_DIR / "generic_deploy_log_csv.yaml").read_text()
    mapping = mapping.replace("name: generic_deploy_log_csv", "name: deploy_log_berlin")
    (sample_copy / "deploys_berlin.yaml").write_text(mapping.replace(
        "deployed_at: deployed_at", "deployed_at: {from: deployed_at, tz: Europe/Berlin}"))
    assert "Europe/Berlin" in (sample_copy / "deploys_berlin.yaml").read_text()
    path = sample_copy / "changes" / "infra_deploy_log.csv"
    header, rows, encoding = read_csv(path)
    rows[0][header.index("deployed_at")] = "2026-08-01 12:00:00"
    rows[1][header.index("deployed_at")] = "2026-08-01T12:00:00+00:00"
    write_csv(path, header, rows, encoding)
    redeclare(sample_copy, "changes/infra_deploy_log.csv", format="deploys_berlin.yaml")
    evidence = load_folder(sample_copy)
    assert evidence.ok, evidence.problems
    frame = next(o.loaded.frame for o in evidence.outcomes if o.declared.path == "changes/infra_deploy_log.csv")
    assert frame.loc[2, "deployed_at"] == pd.Timestamp("2026-08-01 10:00", tz="UTC")  # Berlin summer time
    assert frame.loc[3, "deployed_at"] == pd.Timestamp("2026-08-01 12:00", tz="UTC")


def test_placeholders_read_as_missing(sample_copy):
    path = sample_copy / "accounts" / "okta_users.csv"
    _, rows, _ = read_csv(path)
    user = rows[5][0]
    edit_csv(path, "Last Login Date", " N/A ", where={"Okta Username": user})
    evidence = load_folder(sample_copy)
    assert evidence.ok, evidence.problems
    accounts = evidence.frame("accounts").set_index(["system", "account_id"])
    assert accounts.loc[("okta", user), "last_login_at"] is pd_nat()
    edit_csv(path, "Okta Username", "TBD", where={"Okta Username": user})
    text = problems_of(sample_copy, "accounts/okta_users.csv")
    assert "okta_users.csv:row 7:column 'Okta Username': no value for required 'account_id'" in text


def pd_nat():
    import pandas as pd

    return pd.NaT


def test_placeholders_off_makes_a_placeholder_an_unreadable_value(sample_copy):
    spec = declaration(sample_copy)
    spec["placeholders"] = []
    declare(sample_copy, spec)
    edit_csv(sample_copy / "accounts" / "okta_users.csv", "Last Login Date", "n/a",
             where={"Okta Username": read_csv(sample_copy / "accounts" / "okta_users.csv")[1][5][0]})
    text = problems_of(sample_copy, "accounts/okta_users.csv")
    assert "okta_users.csv:row 7:column 'Last Login Date': cannot read 'n/a' as last_login_at (datetime)" in text


def test_a_mapping_value_for_a_placeholder_word_wins(sample_copy):
    mapping = (BUILTIN_DIR / "okta_users_csv.yaml").read_text().replace("name: okta_users_csv", "name: okta_unknown")
    (sample_copy / "okta.yaml").write_text(mapping.replace("STAGED: false,", "STAGED: false, unknown: false,"))
    path = sample_copy / "accounts" / "okta_users.csv"
    user = read_csv(path)[1][5][0]
    edit_csv(path, "Okta User Status", "Unknown", where={"Okta Username": user})
    redeclare(sample_copy, "accounts/okta_users.csv", format="okta.yaml")
    evidence = load_folder(sample_copy)
    assert evidence.ok, evidence.problems
    accounts = evidence.frame("accounts").set_index(["system", "account_id"])
    assert accounts.loc[("okta", user), "enabled"] == False  # noqa: E712


def test_quarantined_rows_keep_row_problem_and_raw_cells(sample_copy):
    path = sample_copy / "accounts" / "okta_users.csv"
    user = read_csv(path)[1][5][0]
    edit_csv(path, "Okta User Status", "FROZEN", where={"Okta Username": user})
    redeclare(sample_copy, "accounts/okta_users.csv", bad_rows="quarantine")
    evidence = load_folder(sample_copy)
    assert evidence.ok, evidence.problems
    okta = next(o.loaded for o in evidence.outcomes if o.declared.system == "okta")
    assert okta.rejected.index.tolist() == [7] and okta.rejected.loc[7, "Okta Username"] == user
    assert okta.rejected.loc[7, "Okta User Status"] == "FROZEN"
    aside = set_aside_rows(evidence)
    assert aside.to_dict("records") == [{"file": "accounts/okta_users.csv", "row": 7,
                                         "problem": okta.rejected.loc[7, "problem"]}]
    assert "cannot read 'FROZEN' as enabled" in aside.loc[0, "problem"]


def test_an_unknown_time_zone_in_a_mapping_is_a_mapping_error(sample_copy):
    mapping = (BUILTIN_DIR / "generic_deploy_log_csv.yaml").read_text()
    (sample_copy / "d.yaml").write_text(mapping.replace("deployed_at: deployed_at",
                                                        "deployed_at: {from: deployed_at, tz: Mars/Olympus}"))
    redeclare(sample_copy, "changes/infra_deploy_log.csv", format="d.yaml")
    evidence = load_folder(sample_copy)
    outcome = next(o for o in evidence.outcomes if o.declared.path == "changes/infra_deploy_log.csv")
    assert "d.yaml: column 'deployed_at': unknown time zone 'Mars/Olympus'" in str(outcome.problems[0])
