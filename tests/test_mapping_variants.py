"""Real exports that differ from a built-in format: candidate columns, absent optional columns,
per-file overrides in evidence.yaml, header-only evidence that may be empty, finding the header row.

Every case edits a copy of the sample company as a person would (rename a header, drop a
column, add a title row) and loads it in-process; expected values come from the sample file itself.
"""

from __future__ import annotations

import pytest
import yaml

from evidence_lib.sources.folder import load_folder
from tests.corpus import declaration, declare, read_csv, redeclare, write_csv

OKTA = "accounts/okta_users.csv"
OKTA_MAPPING = "evidence_lib/sources/mappings/okta_users_csv.yaml"


def outcome(folder, path):
    return next(o for o in load_folder(folder).outcomes if o.declared.path == path)


def loaded(folder, path):
    found = outcome(folder, path)
    assert found.ok, "\n".join(map(str, found.problems))
    return found.loaded


def problems(folder, path) -> str:
    found = outcome(folder, path)
    assert not found.ok, f"{path} loaded"
    return "\n".join(map(str, found.problems))


def rename_column(path, old, new):
    header, rows, encoding = read_csv(path)
    header[header.index(old)] = new
    write_csv(path, header, rows, encoding)


def drop_column(path, name):
    header, rows, encoding = read_csv(path)
    at = header.index(name)
    write_csv(path, header[:at] + header[at + 1:], [r[:at] + r[at + 1:] for r in rows], encoding)


def column_values(path, name) -> list[str]:
    header, rows, _ = read_csv(path)
    return [r[header.index(name)] for r in rows if r]


def own_okta_mapping(folder, **columns) -> None:
    """The built-in Okta mapping with some columns changed, as a mapping of the company's own."""
    from tests.conftest import ROOT

    spec = yaml.safe_load((ROOT / OKTA_MAPPING).read_text())
    spec["columns"].update(columns)
    (folder / "okta_own.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    redeclare(folder, OKTA, format="okta_own.yaml")


# --- candidate source columns ---------------------------------------------------------------


@pytest.mark.parametrize("written", [{"from": ["Primary Email", "Email", "Work Email"]},
                                     ["Primary Email", "Email", "Work Email"]])
def test_the_first_candidate_present_wins_and_is_recorded(sample_copy, written):
    emails = [e.strip().lower() for e in column_values(sample_copy / OKTA, "Primary Email")]  # blank: none
    rename_column(sample_copy / OKTA, "Primary Email", "Email")
    own_okta_mapping(sample_copy, email=written)
    okta = loaded(sample_copy, OKTA)
    assert okta.frame["email"].fillna("").tolist() == emails
    assert okta.provenance.columns_used["email"] == "Email"
    assert okta.provenance.absent_columns == ()


def test_an_earlier_candidate_wins_over_a_later_one(sample_copy):
    header, rows, encoding = read_csv(sample_copy / OKTA)
    write_csv(sample_copy / OKTA, header + ["Work Email"], [r + ["other@elsewhere.example"] for r in rows], encoding)
    own_okta_mapping(sample_copy, email=["Work Email", "Primary Email"])
    okta = loaded(sample_copy, OKTA)
    assert set(okta.frame["email"]) == {"other@elsewhere.example"}
    assert okta.provenance.columns_used["email"] == "Work Email"


def test_every_column_used_is_recorded(sample_copy):
    used = loaded(sample_copy, OKTA).provenance.columns_used
    assert used["account_id"] == "Okta Username" and used["email"] == "Primary Email"
    assert used["system"] == "declared"
    aws = loaded(sample_copy, "accounts/aws_prod_credential_report.csv").provenance.columns_used
    assert aws["enabled"] == "password_enabled+access_key_1_active+access_key_2_active"
    github = loaded(sample_copy, "accounts/github_org_members.json").provenance.columns_used
    assert github["enabled"] == "constant"


def test_no_candidate_present_names_every_candidate_and_the_closest_header(sample_copy):
    rename_column(sample_copy / OKTA, "Okta Username", "Okta User-name")
    own_okta_mapping(sample_copy, account_id=["Okta Username", "Username", "Login"], username="Okta User-name")
    text = problems(sample_copy, OKTA)
    assert ("okta_users.csv:row 1:column 'Okta Username | Username | Login': no column for 'account_id' "
            "(format okta_users_csv): none of 'Okta Username', 'Username', 'Login' is present — "
            "closest present: 'Okta User-name'") in text


# --- required and optional columns ----------------------------------------------------------


def test_absent_optional_columns_load_empty_and_are_recorded(sample_copy):
    for name in ("MFA Enrolled", "Last Login Date"):
        drop_column(sample_copy / OKTA, name)
    okta = loaded(sample_copy, OKTA)
    assert okta.provenance.absent_columns == ("mfa_enabled", "last_login_at")
    assert okta.frame["mfa_enabled"].isna().all() and okta.frame["last_login_at"].isna().all()
    assert "mfa_enabled" not in okta.provenance.columns_used
    assert len(okta.frame) == len(column_values(sample_copy / OKTA, "Okta Username"))


def test_absent_columns_are_shown_in_the_inventory(sample_copy):
    from evidence_lib.inventory import inventory

    for name in ("MFA Enrolled", "Last Login Date"):
        drop_column(sample_copy / OKTA, name)
    table = inventory(load_folder(sample_copy)).set_index("file")
    assert table.loc[OKTA, "problems"] == "ok (no column for: mfa_enabled, last_login_at)"
    assert table.loc["accounts/okta_users.csv", "rows_kept"] == len(column_values(sample_copy / OKTA, "Okta Username"))


def test_an_absent_column_takes_the_schemas_unmapped_value(sample_copy):
    # builtin: the schema says an export without the column has no platform-made accounts
    header, rows, encoding = read_csv(sample_copy / "accounts/aws_prod_credential_report.csv")
    write_csv(sample_copy / "accounts/aws_prod_credential_report.csv", ["login" if h == "user" else h for h in header],
              rows, encoding)
    spec = declaration(sample_copy)
    entry = next(f for f in spec["files"] if f["path"] == "accounts/aws_prod_credential_report.csv")
    entry["columns"] = {"account_id": "login", "username": "login"}
    declare(sample_copy, spec)
    aws = loaded(sample_copy, "accounts/aws_prod_credential_report.csv")
    assert aws.provenance.absent_columns == ("builtin",)
    assert not aws.frame["builtin"].any()


def test_a_when_source_absent_makes_its_optional_column_absent(sample_copy):
    own_okta_mapping(sample_copy, disabled_at={"from": "Status Change Date", "when": {"Lifecycle": ["SUSPENDED"]}})
    okta = loaded(sample_copy, OKTA)
    assert okta.provenance.absent_columns == ("disabled_at",) and okta.frame["disabled_at"].isna().all()


def test_optional_true_keeps_working(sample_copy):
    drop_column(sample_copy / OKTA, "MFA Enrolled")
    own_okta_mapping(sample_copy, mfa_enabled={"from": "MFA Enrolled", "optional": True})
    assert loaded(sample_copy, OKTA).provenance.absent_columns == ("mfa_enabled",)


def test_a_required_columns_absent_source_is_a_located_error(sample_copy):
    drop_column(sample_copy / OKTA, "Okta User Status")
    text = problems(sample_copy, OKTA)
    assert ("okta_users.csv:row 1:column 'Okta User Status': missing column 'Okta User Status' (needed for "
            "'enabled', format okta_users_csv)") in text


def test_a_combiner_missing_one_of_its_sources_is_an_error_even_when_optional(sample_copy):
    path = "accounts/aws_prod_credential_report.csv"
    drop_column(sample_copy / path, "access_key_2_last_used_date")
    assert ("aws_prod_credential_report.csv:row 1:column 'access_key_2_last_used_date': missing column "
            "'access_key_2_last_used_date' (needed for 'last_login_at'") in problems(sample_copy, path)


# --- per-file overrides in evidence.yaml ----------------------------------------------------


ROSTER = "hr/workday_workers.xlsx"


def workday_rows(folder, title_rows: int):
    """Replace the Workday report's title row by `title_rows` rows of preamble; the header and data are kept."""
    import openpyxl

    path = folder / ROSTER
    book = openpyxl.load_workbook(path)
    sheet = book["Workers"]
    sheet.delete_rows(1)
    if title_rows:
        sheet.insert_rows(1, title_rows)
        for row in range(1, title_rows + 1):
            sheet.cell(row=row, column=1, value=f"All Workers — preamble line {row}")
    book.save(path)
    ids = [r[0] for r in sheet.iter_rows(min_row=title_rows + 2, values_only=True) if r and r[0]]
    return ids


@pytest.mark.parametrize("title_rows", [0, 3])
def test_header_row_reads_a_workday_report_without_or_with_more_title_rows(sample_copy, title_rows):
    ids = workday_rows(sample_copy, title_rows)
    assert "missing column" in problems(sample_copy, ROSTER)  # the format expects one title row
    redeclare(sample_copy, ROSTER, header_row=title_rows + 1)
    roster = loaded(sample_copy, ROSTER)
    assert roster.frame["employee_id"].tolist() == ids
    assert roster.frame.index[0] == title_rows + 2  # the row a person sees in the sheet
    assert roster.provenance.overrides == {"header_row": title_rows + 1}


def test_header_row_below_a_csv_preamble_keeps_row_numbers_as_seen(sample_copy):
    path = sample_copy / "people/screening_results.csv"
    header, rows, encoding = read_csv(path)
    rows[4][header.index("Completed On")] = "2026-99-99"  # file row 6 before the preamble, row 8 after
    write_csv(path, header, rows, encoding)
    path.write_text("Screening report\nGenerated 2026-10-01 by screening vendor\n" + path.read_text(encoding=encoding),
                    encoding=encoding)
    redeclare(sample_copy, "people/screening_results.csv", header_row=3)
    text = problems(sample_copy, "people/screening_results.csv")
    assert "screening_results.csv:row 8:column 'Completed On': cannot read '2026-99-99'" in text


def test_a_header_row_that_is_not_a_row_number_is_refused(sample_copy):
    from evidence_lib.errors import DeclarationError

    redeclare(sample_copy, ROSTER, header_row=0)
    with pytest.raises(DeclarationError) as error:
        load_folder(sample_copy)
    assert "files[1] (hr/workday_workers.xlsx): header_row '0' is not a row number" in str(error.value)


def test_columns_override_names_this_exports_column_and_keeps_the_rule(sample_copy):
    emails = [e.strip().lower() for e in column_values(sample_copy / OKTA, "Primary Email")]
    rename_column(sample_copy / OKTA, "Primary Email", "E-mail Address")
    rename_column(sample_copy / OKTA, "Okta User Status", "Status")
    redeclare(sample_copy, OKTA, columns={"email": "E-mail Address", "enabled": ["Okta User Status", "Status"]})
    okta = loaded(sample_copy, OKTA)
    assert okta.frame["email"].fillna("").tolist() == emails
    statuses = column_values(sample_copy / OKTA, "Status")
    assert okta.frame["enabled"].tolist() == [s not in ("SUSPENDED", "DEPROVISIONED", "STAGED") for s in statuses]
    assert okta.provenance.columns_used["email"] == "E-mail Address"
    assert okta.provenance.columns_used["enabled"] == "Status"
    assert okta.provenance.overrides == {"columns": {"email": ["E-mail Address"],
                                                     "enabled": ["Okta User Status", "Status"]}}


def test_values_override_is_merged_over_the_formats_value_map(sample_copy):
    path = sample_copy / OKTA
    header, rows, encoding = read_csv(path)
    status = header.index("Okta User Status")
    active = next(i for i, r in enumerate(rows) if r[status] == "ACTIVE")
    rows[active][status] = "AWAITING_HR_APPROVAL"
    write_csv(path, header, rows, encoding)
    assert "cannot read 'AWAITING_HR_APPROVAL' as enabled" in problems(sample_copy, OKTA)
    redeclare(sample_copy, OKTA, values={"enabled": {"AWAITING_HR_APPROVAL": True}})
    okta = loaded(sample_copy, OKTA)
    assert okta.frame.loc[active + 2, "enabled"] == True  # noqa: E712 - a pandas boolean
    assert okta.frame["enabled"].sum() == sum(r[status] in ("ACTIVE", "PASSWORD_EXPIRED", "LOCKED_OUT", "RECOVERY",
                                                            "PROVISIONED", "AWAITING_HR_APPROVAL") for r in rows)
    assert okta.provenance.overrides == {"values": {"enabled": {"AWAITING_HR_APPROVAL": True}}}


@pytest.mark.parametrize("key, value, message", [
    ("columns", {"emial": "Email"}, "columns: 'emial' is not a column of accounts (did you mean 'email'?)"),
    ("values", {"enabeld": {"x": True}}, "values: 'enabeld' is not a column of accounts (did you mean 'enabled'?)"),
    ("columns", {"email": []}, "columns: 'email' needs the export's column name or a list of candidate names"),
    ("values", {"enabled": "yes"}, "values: 'enabled' needs a map of vendor values"),
])
def test_an_override_of_an_unknown_column_is_a_located_declaration_error(sample_copy, key, value, message):
    from evidence_lib.errors import DeclarationError

    redeclare(sample_copy, OKTA, **{key: value})
    with pytest.raises(DeclarationError) as error:
        load_folder(sample_copy)
    assert f"evidence.yaml: files[2] (accounts/okta_users.csv): {message}" in str(error.value)


def test_values_for_a_column_the_format_does_not_map_asks_for_its_column(sample_copy):
    path = "accounts/github_org_members.json"
    redeclare(sample_copy, path, values={"display_name": {"x": "y"}})
    assert ("evidence.yaml: 'accounts/github_org_members.json': values: format github_org_members_json does not "
            "map 'display_name' — name its column too") in problems(sample_copy, path)


# --- evidence that may rightly be empty -----------------------------------------------------


@pytest.mark.parametrize("path", ["accounts/github_aliases.csv", "accounts/service_account_registry.csv"])
def test_a_header_only_file_of_evidence_that_may_be_empty_loads_with_no_rows(sample_copy, path):
    from evidence_lib.inventory import inventory

    header, _, encoding = read_csv(sample_copy / path)
    write_csv(sample_copy / path, header, [], encoding)
    empty = loaded(sample_copy, path)
    assert len(empty.frame) == 0 and empty.provenance.rows_read == 0
    table = inventory(load_folder(sample_copy)).set_index("file")
    assert table.loc[path, "problems"] == "ok (0 rows (header only))"


def test_a_header_only_roster_is_still_an_error(sample_copy):
    import openpyxl

    path = sample_copy / ROSTER
    book = openpyxl.load_workbook(path)
    sheet = book["Workers"]
    sheet.delete_rows(3, sheet.max_row)
    book.save(path)
    assert "the file has a header but no data rows" in problems(sample_copy, ROSTER)


# --- finding the header row (for `evidence init`) -------------------------------------------


def header_search(path, fmt, known, **read):
    from evidence_lib.sources.readers import ReadOptions, find_header_row

    return find_header_row(path.read_bytes(), str(path), ReadOptions(format=fmt, **read), set(known))


SCREENING_HEADERS = {"Candidate ID", "Candidate Name", "Report Status", "Completed On", "Package", "Report ID"}


def test_find_header_row_below_a_csv_preamble(sample_copy):
    path = sample_copy / "people/screening_results.csv"
    header, _, encoding = read_csv(path)
    # A preamble line sharing one word with the header is not taken for it.
    path.write_text("Report ID,generated 2026-10-01\n\nScreening report for Northwind\n" + path.read_text(encoding),
                    encoding=encoding)
    assert header_search(path, "csv", {" candidate id", "REPORT STATUS", "Package", "Report ID"}) == (4, header)


def test_find_header_row_reads_the_declared_delimiter_and_encoding(tmp_path):
    path = tmp_path / "legacy.csv"
    path.write_bytes("Exported by Müller\nLogin;E-Mail;Zustand\nmüller;m@x.de;Aktiv\n".encode("cp1252"))
    found = header_search(path, "csv", {"Login", "E-Mail"}, delimiter=";", encoding="cp1252")
    assert found == (2, ["Login", "E-Mail", "Zustand"])


def test_find_header_row_without_known_headers_takes_the_first_non_empty_row(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("\n\nid,name\n1,a\n")
    assert header_search(path, "csv", {"nothing", "known"}) == (3, ["id", "name"])


def test_find_header_row_below_an_xlsx_cover_title(sample_copy):
    import openpyxl

    path = sample_copy / ROSTER
    sheet = openpyxl.load_workbook(path, read_only=True)["Workers"]
    header = [c for c in next(sheet.iter_rows(min_row=2, max_row=2, values_only=True)) if c is not None]
    number, cells = header_search(path, "xlsx", {"Employee ID", "Worker", "Hire Date"}, sheet="Workers")
    assert (number, cells) == (2, header)


def test_find_header_row_of_json_is_the_first_records_dotted_keys(sample_copy):
    path = sample_copy / "changes/github_merged_prs.json"
    number, keys = header_search(path, "json", {"number"})
    # The sample's first pull request, flattened by hand (json_normalize's order: plain keys first).
    assert number == 0 and sorted(keys) == sorted([
        "number", "state", "title", "body", "user.login", "user.type", "merged_at", "merged_by.login", "head.ref",
        "base.ref", "base.repo.full_name", "base.repo.private", "html_url"])


# -- repeated headers -----------------------------------------------------------------------------

JIRA_CLOUD = (
    "Summary,Issue key,Issue Type,Status,Reporter,Assignee,Created,Resolved,Custom field (Change type),"
    "Custom field (Approvers),Custom field (Approvers),Custom field (Approved),Custom field (Test evidence)\n"
    "Rotate keys,CHG-1,Change,Done,ana@x.io,kit@x.io,01/Jul/26 9:00 AM,,Normal,ana@x.io,bo@x.io,"
    "01/Jul/26 3:15 PM,CI green\n"
    "Fix typo,CHG-2,Change,Done,ana@x.io,kit@x.io,01/Jul/26 9:00 AM,,Normal,,cy@x.io,01/Jul/26 3:15 PM,CI green\n"
)


def _jira_export(sample_copy, text, mapping="jira_cloud_csv"):
    (sample_copy / "changes" / "jira_cloud.csv").write_text(text)
    spec = declaration(sample_copy)
    spec["files"] = [f for f in spec["files"] if f["path"] != "changes/jira_changes.csv"]
    spec["ignore"].append("changes/jira_changes.csv")
    spec["files"].append({"path": "changes/jira_cloud.csv", "type": "change_tickets", "format": mapping})
    declare(sample_copy, spec)


def test_a_header_jira_repeats_per_value_is_read_whole_where_the_mapping_allows_it(sample_copy):
    _jira_export(sample_copy, JIRA_CLOUD)
    frame = loaded(sample_copy, "changes/jira_cloud.csv").frame
    assert list(frame["approver"]) == ["ana@x.io; bo@x.io", "cy@x.io"]


def test_a_repeated_header_the_mapping_does_not_join_stays_ambiguous(sample_copy):
    _jira_export(sample_copy, JIRA_CLOUD.replace("Custom field (Approvers),Custom field (Approvers)",
                                                 "Custom field (Approvers),custom field (approvers)"))
    assert "2 columns are headed 'Custom field (Approvers)'" in problems(sample_copy, "changes/jira_cloud.csv")


# --- keep_rows: which rows of an export are the evidence ------------------------------------

KEEP_ROWS_MAPPING = """\
name: own_deploys
evidence: deployments
read: {format: csv}
keep_rows:
%s
columns:
  deploy_id: id
  deployed_at: at
"""


def own_deploy_mapping(tmp_path, keep_rows: str):
    from evidence_lib.sources.mapping import load_mapping

    path = tmp_path / "own.yaml"
    path.write_text(KEEP_ROWS_MAPPING % keep_rows, encoding="utf-8")
    return load_mapping(path)


@pytest.mark.parametrize("entry, message", [
    ("  - {column: state, keep: [done], reason: r}", "give either `not_empty: true`, or `keep:` and `drop:`"),
    ("  - {column: state, not_empty: true}", "`reason:` is required"),
    ("  - {column: state, keep: [done], drop: [done], reason: r}", "each value in one of them"),
    ("  - {state: done, reason: r}", "unknown key(s) ['state']"),
])
def test_a_keep_rows_entry_that_could_drop_rows_silently_is_refused(tmp_path, entry, message):
    from evidence_lib.errors import MappingError

    with pytest.raises(MappingError) as error:
        own_deploy_mapping(tmp_path, entry)
    assert "own.yaml: keep_rows entry 1: " in str(error.value) and message in str(error.value)


def test_keep_rows_counts_by_reason_and_keeps_source_row_numbers(tmp_path):
    from evidence_lib.sources.load import load_file

    mapping = own_deploy_mapping(tmp_path, "  - {column: [Env, environment], keep: [prod], drop: [dev, test], "
                                           "reason: not production}\n"
                                           "  - {column: at, not_empty: true, reason: never deployed}")
    export = tmp_path / "deploys.csv"
    export.write_text("id,at,environment\nd1,2026-07-01T10:00:00Z,prod\nd2,2026-07-01T11:00:00Z,dev\n"
                      "d3,,PROD\nd4,2026-07-02T10:00:00Z,Prod\nd5,,test\n", encoding="utf-8")
    loaded = load_file(export, mapping)
    assert loaded.frame["deploy_id"].tolist() == ["d1", "d4"]
    assert loaded.frame.index.tolist() == [2, 5]  # rows as numbered in the file (header = row 1)
    # d5 is left out by the first rule that drops it, once.
    assert loaded.provenance.filtered == {"not production": (3, 6), "never deployed": (4,)}
    assert (loaded.provenance.rows_read, loaded.provenance.rows_kept, loaded.provenance.rows_filtered) == (5, 2, 3)
