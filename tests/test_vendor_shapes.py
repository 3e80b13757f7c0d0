"""Vendor export shapes written from each vendor's own documentation (tests/fixtures/vendors/).

Each fixture is a small export in the vendor's documented columns, order and formats, with some
realistic mess; each test states the canonical values row by row, written by hand from the
fixture, never taken from the loader's output.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from evidence_lib.errors import LoadError
from evidence_lib.sources.load import load_file
from evidence_lib.sources.mapping import DEFAULT_PLACEHOLDERS, builtin_mappings, load_mapping

FIXTURES = Path(__file__).parent / "fixtures" / "vendors"
CITED = ("github_pull_requests_rest_json", "github_pr_list_cli_json", "gitlab_merge_requests_json",
         "gitlab_members_json", "jira_cloud_csv", "servicenow_change_request_csv", "okta_users_csv",
         "okta_users_api_json", "entra_id_users_csv",
         "google_workspace_users_csv", "bamboohr_employees_csv", "screening_by_email_csv")
# Shapes with no vendor page behind them: the comment and the description say so.
UNCITED = ("workday_custom_report_xlsx", "lms_completions_by_email_csv")


def load(fmt: str, fixture: str, **kwargs):
    return load_file(FIXTURES / fixture, load_mapping(builtin_mappings()[fmt]), **kwargs)


def utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def day(text: str) -> pd.Timestamp:
    return pd.Timestamp(text)


def column(frame: pd.DataFrame, name: str) -> list:
    """A column's values with every kind of missing as None, so lists compare plainly."""
    return [None if pd.isna(v) else v for v in frame[name].tolist()]


@pytest.mark.parametrize("name", CITED)
def test_each_shape_is_a_valid_mapping_citing_its_source(name):
    path = builtin_mappings()[name]
    mapping = load_mapping(path)
    assert mapping.name == name and mapping.description
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# Source:") and "http" in mapping.description  # the citation, twice
    assert "\nsource: {url:" in text


@pytest.mark.parametrize("name", UNCITED)
def test_shapes_without_vendor_documentation_say_so(name):
    path = builtin_mappings()[name]
    mapping = load_mapping(path)
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# Source:") and "GUESS" in text and "found: false" in text
    assert "guessed" in mapping.description


# --- deployments ------------------------------------------------------------------------------


UNMERGED = "closed without being merged (merged_at null): not a deployment"


def test_github_rest_list_a_closed_unmerged_pull_is_left_out_and_counted():
    loaded = load("github_pull_requests_rest_json", "github_pull_requests_rest.json")
    frame, provenance = loaded.frame, loaded.provenance
    # Record 3 (#1350) was closed without merging: merged_at is null, so it deployed nothing.
    assert frame.index.tolist() == [1, 2, 4]  # the frame index stays the source record number
    assert (provenance.rows_read, provenance.rows_kept, provenance.rows_filtered) == (4, 3, 1)
    assert provenance.filtered == {UNMERGED: (3,)}
    assert provenance.rows_rejected == 0 and loaded.rejected.empty
    assert column(frame, "deploy_id") == ["acme/api#1347", "acme/api#1348", "acme/web#88"]
    assert column(frame, "deployed_at") == [utc("2026-07-02 16:29:58"), utc("2026-07-03 08:14:59"),
                                            utc("2026-07-07 09:00:00")]
    assert column(frame, "repository") == ["acme/api", "acme/api", "acme/web"]
    assert column(frame, "author") == ["octocat", "dependabot[bot]", "octocat"]
    assert column(frame, "ticket_ref") == ["ENG-101: rotate signing keys Implements ENG-101. eng-101-keys",
                                           "Bump lodash dependabot/npm/lodash-4.17.21",
                                           "Fix checkout totals Fixes ENG-204 and OPS-9 fix/totals"]
    assert column(frame, "environment") == ["production"] * 3
    # The list endpoint has no merged_by: recorded as absent, never guessed.
    assert column(frame, "deployed_by") == [None] * 3
    assert "deployed_by" in loaded.provenance.absent_columns


def test_a_merged_pull_without_its_required_values_still_fails(tmp_path):
    """Leaving out unmerged rows must not let a merged one with an unreadable merge time through."""
    export = tmp_path / "pulls.json"
    export.write_text('[{"number": 1, "merged_at": "yesterday", "user": {"login": "a"}, "title": "t", "body": "", '
                      '"head": {"ref": "x"}, "base": {"repo": {"full_name": "acme/api"}}}, '
                      '{"number": 2, "merged_at": null, "user": {"login": "b"}, "title": "u", "body": "", '
                      '"head": {"ref": "y"}, "base": {"repo": {"full_name": "acme/api"}}}]', encoding="utf-8")
    with pytest.raises(LoadError) as error:
        load_file(export, load_mapping(builtin_mappings()["github_pull_requests_rest_json"]))
    assert "row 1:column 'merged_at': cannot read 'yesterday' as deployed_at (datetime)" in str(error.value)
    assert "row 2:" not in str(error.value)


def test_an_export_of_unmerged_pulls_only_is_no_population(tmp_path):
    import json

    unmerged = [r for r in json.loads((FIXTURES / "github_pull_requests_rest.json").read_text()) if r["number"] == 1350]
    export = tmp_path / "pulls.json"
    export.write_text(json.dumps(unmerged), encoding="utf-8")
    with pytest.raises(LoadError) as error:
        load_file(export, load_mapping(builtin_mappings()["github_pull_requests_rest_json"]))
    assert f"no row of the export is deployments evidence: every row is left out by format " \
           f"github_pull_requests_rest_json (1: {UNMERGED})" in str(error.value)


def test_gh_pr_list_state_closed_leaves_out_the_unmerged():
    # `gh pr list --state closed --json ...,state`: #1402 was CLOSED, mergedAt null.
    loaded = load("github_pr_list_cli_json", "github_pr_list_cli_closed.json")
    assert loaded.frame.index.tolist() == [1, 3]
    assert column(loaded.frame, "deploy_id") == ["https://github.com/acme/api/pull/1401",
                                                 "https://github.com/acme/api/pull/1403"]
    assert column(loaded.frame, "deployed_at") == [utc("2026-09-01 10:15:00"), utc("2026-09-03 16:45:30")]
    assert column(loaded.frame, "deployed_by") == ["kit", "octocat"]
    assert loaded.provenance.filtered == {"not merged (mergedAt null): not a deployment": (2,)}
    assert loaded.provenance.rows_filtered == 1


GITLAB_NOT_MERGED = "not merged (state opened, closed or locked): not a deployment"


def test_gitlab_merge_requests_of_every_state_keep_the_merged():
    loaded = load("gitlab_merge_requests_json", "gitlab_merge_requests_all_states.json")
    frame = loaded.frame
    # !22 closed, !23 opened, !24 locked: documented states of a merge request that merged nothing.
    assert frame.index.tolist() == [1, 5]
    assert column(frame, "deploy_id") == ["my-group/my-project!21", "my-group/my-project!25"]
    assert column(frame, "deployed_at") == [utc("2026-08-10 09:00"), utc("2026-08-15 12:30")]
    assert column(frame, "deployed_by") == ["ana.diaz", "bo.li"]
    assert loaded.provenance.filtered == {GITLAB_NOT_MERGED: (2, 3, 4)}
    assert (loaded.provenance.rows_read, loaded.provenance.rows_kept, loaded.provenance.rows_filtered) == (5, 2, 3)


def test_gitlab_a_state_neither_kept_nor_left_out_is_a_located_error(tmp_path):
    export = tmp_path / "mrs.json"
    export.write_text('[{"state": "merged", "merged_at": "2026-08-10T09:00:00Z", "references": {"full": "g/p!1"}},'
                      ' {"state": "archived", "merged_at": null, "references": {"full": "g/p!2"}}]', encoding="utf-8")
    with pytest.raises(LoadError) as error:
        load_file(export, load_mapping(builtin_mappings()["gitlab_merge_requests_json"]))
    assert "row 2:column 'state': cannot tell whether this row is evidence: state is 'archived'" in str(error.value)
    # Set aside when the analyst asks for it, like any unreadable row: still shown, not left out.
    loaded = load_file(export, load_mapping(builtin_mappings()["gitlab_merge_requests_json"]), bad_rows="quarantine")
    assert loaded.rejected.index.tolist() == [2] and loaded.provenance.rows_filtered == 0


def test_gitlab_an_export_without_the_state_column_is_an_error(tmp_path):
    export = tmp_path / "mrs.json"
    export.write_text('[{"merged_at": "2026-08-10T09:00:00Z", "references": {"full": "g/p!1"}}]', encoding="utf-8")
    with pytest.raises(LoadError) as error:
        load_file(export, load_mapping(builtin_mappings()["gitlab_merge_requests_json"]))
    assert "format gitlab_merge_requests_json tells its evidence rows by 'state', and the export has no such " \
           "column" in str(error.value)


def test_gh_pr_list_json():
    loaded = load("github_pr_list_cli_json", "github_pr_list_cli.json")
    frame = loaded.frame
    assert frame.index.tolist() == [1, 2, 3, 4]
    assert column(frame, "deploy_id") == ["https://github.com/acme/api/pull/1347",
                                          "https://github.com/acme/api/pull/1348",
                                          "https://github.com/acme/api/pull/1351",
                                          "https://github.com/acme/web/pull/88"]
    assert column(frame, "deployed_at") == [utc("2026-07-02 16:29:58"), utc("2026-07-03 08:14:59"),
                                            utc("2026-07-05 23:59:59"), utc("2026-07-07 09:00:00")]
    assert column(frame, "author") == ["octocat", "app/dependabot", "kit", "octocat"]
    assert column(frame, "deployed_by") == ["kit", "octocat", None, "kit"]  # mergedBy null: no merger named
    assert column(frame, "ticket_ref") == ["ENG-101: rotate signing keys Implements ENG-101. eng-101-keys",
                                           "Bump lodash dependabot/npm/lodash-4.17.21",
                                           "OPS-9 DNS TTLs Merged by the merge queue ops-9-dns",
                                           "Fix checkout totals Fixes ENG-204 fix/totals"]
    assert column(frame, "repository") == [None] * 4  # gh pr list names no repository
    assert loaded.provenance.columns_used["deployed_by"] == "mergedBy.login"


def test_gitlab_merge_requests_json():
    loaded = load("gitlab_merge_requests_json", "gitlab_merge_requests.json")
    frame = loaded.frame
    assert column(frame, "deploy_id") == ["my-group/my-project!12", "my-group/my-project!13", "my-group/infra!4"]
    assert column(frame, "deployed_at") == [utc("2026-08-03 11:16:17.520"), utc("2026-08-04 05:00:00"),
                                            utc("2026-08-05 16:20:00")]
    assert column(frame, "author") == ["admin", "ana.diaz", "bo.li"]
    assert column(frame, "deployed_by") == ["DouweM", "ana.diaz", None]
    assert column(frame, "ticket_ref") == ["CHG-7: enable WAF rules Change ticket CHG-7 chg-7-waf",
                                           "Update README docs", "Pin base image See CHG-9 pin-image"]
    assert loaded.provenance.columns_used["deployed_by"] == "merge_user.username"  # the current field first


# --- change tickets ---------------------------------------------------------------------------


def test_jira_cloud_all_fields_csv():
    loaded = load("jira_cloud_csv", "jira_cloud_all_fields.csv", placeholders=DEFAULT_PLACEHOLDERS)
    frame = loaded.frame
    assert frame.index.tolist() == [2, 3, 4, 5]
    assert column(frame, "ticket_id") == ["CHG-101", "CHG-102", "CHG-103", "CHG-104"]
    assert column(frame, "title") == [
        "Rotate signing keys",
        "Hotfix checkout totals",
        "Bump lodash",
        "Enable WAF rules",
    ]
    assert column(frame, "change_type") == ["normal", "emergency", "standard", "normal"]
    assert column(frame, "status") == ["Done", "Done", "Done", "In Progress"]
    # Jira Cloud writes display names; people columns compare without case.
    assert column(frame, "author") == ["ana díaz", "kit ray", "ana díaz", "ana díaz"]
    assert column(frame, "implementer") == ["kit ray", "kit ray", None, "bo li"]
    assert column(frame, "approver") == ["bo li", None, None, "kit ray"]
    assert column(frame, "approved_at") == [utc("2026-07-01 15:15"), None, None, utc("2026-08-13 09:30")]
    assert column(frame, "created_at") == [utc("2026-07-01 09:00"), utc("2026-07-06 23:58"), utc("2026-07-03 08:00"),
                                           utc("2026-08-12 10:00")]
    assert column(frame, "resolved_at") == [utc("2026-07-02 16:30"), utc("2026-07-07 00:20"), utc("2026-07-03 08:15"),
                                            None]
    assert column(frame, "testing_evidence") == ["CI run 5521 green", None, None, None]  # "n/a" is no evidence
    assert loaded.provenance.columns_used["change_type"] == "Custom field (Change type)"


def test_jira_cloud_current_fields_csv_reads_the_change_type_from_issue_type():
    loaded = load("jira_cloud_csv", "jira_cloud_current_fields.csv")
    frame = loaded.frame
    assert column(frame, "ticket_id") == ["OPS-7", "OPS-8", "OPS-9"]
    assert column(frame, "change_type") == ["standard", "emergency", "normal"]
    assert column(frame, "status") == ["Done", "Done", "Open"]
    assert column(frame, "author") == ["bo li", "bo li", "ana díaz"]
    assert column(frame, "implementer") == ["kit ray", "bo li", None]
    assert column(frame, "created_at") == [utc("2026-09-04 14:05"), utc("2026-09-05 01:10"), utc("2026-09-06 09:00")]
    assert column(frame, "resolved_at") == [utc("2026-09-04 14:35"), utc("2026-09-05 01:25"), None]
    assert loaded.provenance.columns_used["change_type"] == "Issue Type"
    assert set(loaded.provenance.absent_columns) == {"approver", "approved_at", "testing_evidence"}


def test_jira_a_24_hour_date_as_in_a_real_export_reads(tmp_path):
    # Header and date style of a real Jira export quoted in streamthoughts/kafka-connect-file-pulse#106.
    export = tmp_path / "jira.csv"
    export.write_text("Issue Type,Issue key,Issue id,Summary,Assignee,Reporter,Priority,Status,"
                      "Custom field (Epic Link),Resolution,Created,Updated,Due Date,Sprint,Sprint,Labels\n"
                      "Normal change,CHG-1,570394,Rotate keys,Kit Ray,Bo Li,High,Done,,Done,3/Nov/20 12:17,"
                      "28/Jan/21 17:11,,Sprint 53,Sprint 54,\n", encoding="utf-8")
    frame = load_file(export, load_mapping(builtin_mappings()["jira_cloud_csv"])).frame
    assert column(frame, "created_at") == [utc("2020-11-03 12:17")]
    assert column(frame, "change_type") == ["normal"] and column(frame, "author") == ["bo li"]


def test_jira_an_issue_type_that_is_no_kind_of_change_is_an_error(tmp_path):
    export = tmp_path / "jira.csv"
    export.write_text("Issue Type,Issue key,Summary,Assignee,Reporter,Status,Created,Resolved\n"
                      "Bug,OPS-1,Crash,,Bo Li,Open,04/Sep/26 2:05 PM,\n", encoding="utf-8")
    with pytest.raises(LoadError) as error:
        load_file(export, load_mapping(builtin_mappings()["jira_cloud_csv"]))
    assert "row 2:column 'Issue Type': cannot read 'Bug' as change_type (enum)" in str(error.value)


def test_servicenow_change_request_csv_by_field_names():
    loaded = load("servicenow_change_request_csv", "servicenow_change_request.csv")
    frame = loaded.frame
    assert column(frame, "ticket_id") == ["CHG0030001", "CHG0030002", "CHG0030003", "CHG0030004"]
    assert column(frame, "change_type") == ["normal", "emergency", "standard", "normal"]
    assert column(frame, "status") == ["Closed", "Closed", "Closed", "Implement"]
    assert column(frame, "author") == ["ana.diaz@northwind.example", "kit.ray@northwind.example",
                                       "bo.li@northwind.example", "ana.diaz@northwind.example"]
    assert column(frame, "implementer") == ["kit.ray@northwind.example", "kit.ray@northwind.example", None,
                                            "bo.li@northwind.example"]
    assert column(frame, "approver") == ["bo.li@northwind.example", None, None, None]
    assert column(frame, "approved_at") == [utc("2026-07-02 10:00"), utc("2026-07-05 02:10"), None, None]
    assert column(frame, "created_at") == [utc("2026-07-01 09:00"), utc("2026-07-05 02:05"), utc("2026-07-08 13:00"),
                                           utc("2026-07-15 16:45:10")]
    assert column(frame, "resolved_at") == [utc("2026-07-03 11:00"), utc("2026-07-05 02:40"), utc("2026-07-08 13:30"),
                                            None]
    assert column(frame, "testing_evidence") == ["Run the smoke suite", None, "Cert checker", "Load test in staging"]


def test_servicenow_change_request_csv_by_labels():
    loaded = load("servicenow_change_request_csv", "servicenow_change_request_labels.csv")
    frame = loaded.frame
    assert column(frame, "ticket_id") == ["CHG0030101", "CHG0030102"]
    assert column(frame, "title") == ["Rotate API keys", "Scale web tier"]
    assert column(frame, "change_type") == ["normal", "standard"]
    assert column(frame, "status") == ["Closed", "Scheduled"]
    assert column(frame, "author") == ["ana.diaz@northwind.example", "kit.ray@northwind.example"]
    assert column(frame, "implementer") == ["kit.ray@northwind.example", None]
    assert column(frame, "approved_at") == [utc("2026-09-01 09:30"), None]
    assert column(frame, "created_at") == [utc("2026-09-01 08:00"), utc("2026-09-02 10:00")]
    assert column(frame, "resolved_at") == [utc("2026-09-01 12:00"), None]
    assert column(frame, "testing_evidence") == ["Key check", None]
    assert loaded.provenance.absent_columns == ("approver",)
    assert loaded.provenance.columns_used["ticket_id"] == "Number"


# --- accounts ---------------------------------------------------------------------------------


def test_okta_user_accounts_report_csv():
    loaded = load("okta_users_csv", "okta_users.csv", system="Okta")
    frame = loaded.frame
    assert frame.index.tolist() == [2, 3, 4, 5, 6, 7]
    assert column(frame, "system") == ["okta"] * 6
    assert column(frame, "account_id") == ["ana.diaz@northwind.example", "bo.li@northwind.example",
                                           "kit.ray@northwind.example", "lee.chan@northwind.example",
                                           "new.hire@northwind.example", "svc-scim@northwind.example"]
    assert column(frame, "email") == ["ana.diaz@northwind.example", "bo.li@northwind.example",
                                      "kit.ray@northwind.example", None, "new.hire@northwind.example", None]
    assert column(frame, "display_name") == ["Ana Díaz", "Bo Li", "Kit Ray", "Lee Chan", "New Hire", "SCIM Service"]
    # "Active" and "Pending user action" are the Admin Console's labels of ACTIVE and PROVISIONED.
    assert column(frame, "enabled") == [True, True, False, False, True, True]
    assert column(frame, "mfa_enabled") == [True, True, False, False, False, False]
    assert column(frame, "is_admin") == [True, False, False, False, False, True]
    assert column(frame, "roles") == ["Super Administrator", None, None, None, None, "Read-only Administrator"]
    assert column(frame, "created_at") == [utc("2025-01-06 15:02:11"), utc("2025-03-01 09:00"),
                                           utc("2024-11-12 10:00"), utc("2024-02-01 10:00"),
                                           utc("2026-09-29 13:00"), utc("2023-05-05 05:05:05")]
    assert column(frame, "last_login_at") == [utc("2026-09-28 08:15"), utc("2026-09-30 17:45:12"),
                                              utc("2026-06-01 07:30"), None, None, utc("2026-09-01 00:00")]
    assert column(frame, "disabled_at") == [None, None, utc("2026-07-15 09:00"), utc("2026-08-01 12:00"), None, None]


def test_okta_users_api_json():
    loaded = load("okta_users_api_json", "okta_users_api.json", system="okta")
    frame = loaded.frame
    assert frame.index.tolist() == [1, 2, 3, 4, 5]
    assert column(frame, "account_id") == ["ana.diaz@northwind.example", "kit.ray@northwind.example",
                                           "lee.chan@northwind.example", "new.hire@northwind.example",
                                           "bo.li@northwind.example"]
    assert column(frame, "email") == ["ana.diaz@northwind.example", "kit.ray@northwind.example",
                                      "lee.chan@northwind.example", "new.hire@northwind.example",
                                      "bo.li@northwind.example"]
    assert column(frame, "display_name") == ["Ana Díaz", "Kit Ray", "Lee Chan", "New Hire", "Bo Li"]
    # ACTIVE, SUSPENDED, DEPROVISIONED, STAGED, PASSWORD_EXPIRED
    assert column(frame, "enabled") == [True, False, False, False, True]
    assert column(frame, "created_at") == [utc("2025-01-06 15:02:11"), utc("2024-11-12 10:00"),
                                           utc("2024-02-01 10:00"), utc("2026-09-29 13:00"), utc("2025-03-01 09:00")]
    assert column(frame, "last_login_at") == [utc("2026-09-28 08:15"), utc("2026-06-01 07:30"), None, None,
                                              utc("2026-09-19 18:00")]
    assert column(frame, "disabled_at") == [None, utc("2026-07-15 09:00"), utc("2026-08-01 12:00"), None, None]
    assert column(frame, "mfa_enabled") == [None] * 5 and column(frame, "is_admin") == [None] * 5


def test_okta_users_api_unknown_status_is_an_error(tmp_path):
    export = tmp_path / "users.json"
    export.write_text('[{"status": "FROZEN", "profile": {"login": "a@x.io", "email": "a@x.io"}}]', encoding="utf-8")
    with pytest.raises(LoadError) as error:
        load_file(export, load_mapping(builtin_mappings()["okta_users_api_json"]), system="okta")
    assert "row 1:column 'status': cannot read 'FROZEN' as enabled (bool)" in str(error.value)


def test_entra_id_download_users_csv():
    loaded = load("entra_id_users_csv", "entra_id_users.csv", system="entra")
    frame = loaded.frame
    assert column(frame, "account_id") == ["ana.diaz@northwind.example", "bo.li@northwind.example",
                                           "partner_contoso.com#EXT#@northwind.onmicrosoft.com",
                                           "svc-backup@northwind.onmicrosoft.com", "kit.ray@northwind.example"]
    assert column(frame, "email") == ["ana.diaz@northwind.example", "bo.li@northwind.example", "partner@contoso.com",
                                      None, "kit.ray@northwind.example"]
    assert column(frame, "display_name") == ["Ana Díaz", "Bo Li", "Partner (Contoso)", "Backup Service", "Kit Ray"]
    assert column(frame, "enabled") == [True, False, True, True, False]  # True, False, TRUE, true, FALSE
    # Documented: the download has no sign-in, creation, MFA or role columns.
    for name in ("last_login_at", "created_at", "mfa_enabled", "is_admin"):
        assert column(frame, name) == [None] * 5


def test_google_workspace_download_users_csv():
    loaded = load("google_workspace_users_csv", "google_workspace_users.csv", system="google")
    frame = loaded.frame
    assert column(frame, "account_id") == ["ana.diaz@northwind.example", "Bo.Li@northwind.example",
                                           "kit.ray@northwind.example", "new.hire@northwind.example",
                                           "shared-ops@northwind.example"]
    assert column(frame, "email") == ["ana.diaz@northwind.example", "bo.li@northwind.example",
                                      "kit.ray@northwind.example", "new.hire@northwind.example",
                                      "shared-ops@northwind.example"]
    assert column(frame, "display_name") == ["Ana Díaz", "Bo Li", "Kit Ray", "New Hire", None]
    assert column(frame, "enabled") == [True, False, True, True, True]  # Active, Suspended, ACTIVE, ...
    assert column(frame, "mfa_enabled") == [True, False, True, False, False]
    assert column(frame, "last_login_at") == [utc("2026-09-28 08:15"), utc("2026-06-01 10:00"),
                                              utc("2026-09-30 23:59:59"), None, utc("2026-09-15 12:00")]
    assert loaded.provenance.columns_used["enabled"] == "Status [READ ONLY]"


def test_google_workspace_plain_headers_are_candidates(tmp_path):
    export = tmp_path / "users.csv"
    export.write_text("First Name,Last Name,Email Address,Status,Last Sign In,2sv Enrolled\n"
                      "Ana,Díaz,ana@x.io,Suspended,2026/09/28 08:15:00,False\n", encoding="utf-8")
    frame = load_file(export, load_mapping(builtin_mappings()["google_workspace_users_csv"]), system="g").frame
    assert column(frame, "enabled") == [False] and column(frame, "display_name") == ["Ana Díaz"]
    assert column(frame, "last_login_at") == [utc("2026-09-28 08:15")]


def test_gitlab_project_members_all_json():
    loaded = load("gitlab_members_json", "gitlab_project_members_all.json", system="GitLab")
    frame = loaded.frame
    assert frame.index.tolist() == [1, 2, 3, 4, 5, 6]
    assert column(frame, "system") == ["gitlab"] * 6
    assert column(frame, "account_id") == ["ana.diaz", "kit.ray", "lee.chan", "bo.li", "project_42_bot_3f9a",
                                           "new.hire"]
    assert column(frame, "display_name") == ["Ana Díaz", "Kit Ray", "Lee Chan", "Bo Li", "deploy-token", "New Hire"]
    # email is shown only to group owners for enterprise users: present for one member here.
    assert column(frame, "email") == ["ana.diaz@northwind.example", None, None, None, None, None]
    # active, active, blocked, deactivated (signs back in to reactivate), active, blocked_pending_approval
    assert column(frame, "enabled") == [True, True, False, True, True, False]
    # access_level 50 Owner, 30 Developer, 40 Maintainer, 20 Reporter, 40 Maintainer, 10 Guest
    assert column(frame, "roles") == ["Owner", "Developer", "Maintainer", "Reporter", "Maintainer", "Guest"]
    assert column(frame, "is_admin") == [True, False, True, False, True, False]
    assert column(frame, "created_at") == [utc("2025-01-06 15:02:11"), utc("2025-03-01 09:00"),
                                           utc("2024-02-01 10:00"), utc("2024-11-12 10:00"),
                                           utc("2026-05-05 03:05:05"), utc("2026-09-29 13:00")]
    # Documented: the members API has no sign-in time and no two-factor status.
    assert column(frame, "last_login_at") == [None] * 6 and column(frame, "mfa_enabled") == [None] * 6


def test_gitlab_an_unknown_access_level_is_an_error(tmp_path):
    export = tmp_path / "members.json"
    export.write_text('[{"username": "a", "name": "A", "state": "active", "access_level": 45}]', encoding="utf-8")
    with pytest.raises(LoadError) as error:
        load_file(export, load_mapping(builtin_mappings()["gitlab_members_json"]), system="gitlab")
    assert "row 1:column 'access_level': cannot read '45' as is_admin (bool)" in str(error.value)


# --- HR roster --------------------------------------------------------------------------------


def test_bamboohr_employee_report_csv():
    loaded = load("bamboohr_employees_csv", "bamboohr_employees.csv")
    frame = loaded.frame
    assert column(frame, "employee_id") == ["101", "102", "103", "104", "105"]
    assert column(frame, "name") == ["Zoë Ng", "Omar Haddad", "Lee Chan", "Ada Park", "Sam Okoro"]
    assert column(frame, "email") == ["zoe.ng@northwind.example", "omar.haddad@northwind.example",
                                      "lee.chan@northwind.example", "ada.park@northwind.example",
                                      "sam.okoro@northwind.example"]
    assert column(frame, "worker_type") == ["employee", "employee", "contractor", "employee", "contractor"]
    assert column(frame, "status") == ["active", "active", "terminated", "active", "terminated"]
    assert column(frame, "hire_date") == [day("2025-03-04"), day("2024-11-15"), day("2024-01-02"), day("2026-09-28"),
                                          day("2025-06-01")]
    assert column(frame, "termination_date") == [None, None, day("2026-08-01"), None, day("2026-06-30")]
    assert column(frame, "department") == ["Sales", "Support", "Engineering", "Finance", None]
    assert column(frame, "title") == ["Account Executive", "Support Engineer", "Contract Developer", "Controller",
                                      "Security Consultant"]


def test_workday_custom_report_xlsx_without_a_title_row():
    loaded = load("workday_custom_report_xlsx", "workday_custom_report.xlsx")
    frame = loaded.frame
    assert frame.index.tolist() == [2, 3, 4, 5]  # the header is row 1
    assert loaded.provenance.sheet == "Workers_for_Audit"  # the report's own sheet name, read as the first sheet
    assert column(frame, "employee_id") == ["1001", "1002", "C-77", "1004"]
    assert column(frame, "name") == ["Ada Lovelace", "Grace Hopper", "Alan Turing", "Katherine Johnson"]
    assert column(frame, "email") == ["ada.lovelace@northwind.example", "grace.hopper@northwind.example",
                                      "alan.turing@northwind.example", "katherine.johnson@northwind.example"]
    assert column(frame, "worker_type") == ["employee", "employee", "contractor", "employee"]
    assert column(frame, "status") == ["active", "leave", "terminated", "active"]
    assert column(frame, "hire_date") == [day("2020-02-03"), day("2019-07-01"), day("2026-03-01"), day("2026-09-28")]
    assert column(frame, "termination_date") == [None, None, day("2026-08-15"), None]
    assert column(frame, "department") == ["R&D", "R&D", "Security", "Finance"]
    assert column(frame, "title") == ["Principal Engineer", "Engineering Manager", "Contract Cryptographer", "Analyst"]
    assert column(frame, "manager_id") == ["1000", "1000", "1002", None]


# --- training and background checks keyed by e-mail ------------------------------------------


def test_lms_completions_by_email_csv():
    loaded = load("lms_completions_by_email_csv", "lms_completions_by_email.csv")
    frame = loaded.frame
    assert column(frame, "employee_id") == [None] * 5  # the LMS knows no employee ids
    assert column(frame, "email") == ["zoe.ng@northwind.example", "omar.haddad@northwind.example",
                                      "lee.chan@northwind.example", "lee.chan@northwind.example",
                                      "ada.park@northwind.example"]
    assert column(frame, "course") == ["Security Awareness Training 2026"] * 5
    assert column(frame, "completed_at") == [utc("2026-07-14 16:00"), utc("2026-07-20"), utc("2026-07-22 09:30"),
                                             utc("2026-07-23 10:15"), utc("2026-09-30")]
    assert column(frame, "status") == ["completed", "completed", "failed", "completed", "in_progress"]


def test_lms_an_in_progress_learner_without_a_date_cannot_load(tmp_path):
    """The schema requires completed_at on every row, even where the LMS has no completion to date."""
    export = tmp_path / "lms.csv"
    export.write_text("Learner Email,Course Title,Completion Date,Status\n"
                      "ada.park@northwind.example,Security Awareness Training 2026,,Not Started\n", encoding="utf-8")
    with pytest.raises(LoadError) as error:
        load_file(export, load_mapping(builtin_mappings()["lms_completions_by_email_csv"]))
    assert "row 2:column 'Completion Date': no value for required 'completed_at'" in str(error.value)


def test_screening_by_email_csv_reads_status_and_result_together():
    loaded = load("screening_by_email_csv", "screening_by_email.csv")
    frame = loaded.frame
    assert column(frame, "employee_id") == [None] * 5
    assert column(frame, "email") == ["zoe.ng@northwind.example", "omar.haddad@northwind.example",
                                      "ada.park@northwind.example", "sam.okoro@northwind.example",
                                      "lee.chan@northwind.example"]
    assert column(frame, "name") == ["Zoë Ng", "Omar Haddad", "Ada Park", "Sam Okoro", "Lee Chan"]
    # complete+clear, complete+consider, pending, CANCELED, suspended (waiting on the candidate)
    assert column(frame, "status") == ["clear", "consider", "pending", "cancelled", "pending"]
    assert column(frame, "completed_at") == [day("2025-02-24"), day("2024-11-06"), None, None, None]
    assert column(frame, "package") == ["tasker_standard", "tasker_standard", "driver_pro", "tasker_standard",
                                        "tasker_standard"]
    assert column(frame, "report_id") == ["4722c07dd9a10c3985ae432a", "5f1e2d3c4b5a69788796a5b4",
                                          "6a7b8c9d0e1f2a3b4c5d6e7f", "7b8c9d0e1f2a3b4c5d6e7f80",
                                          "8c9d0e1f2a3b4c5d6e7f8091"]


def test_screening_a_complete_report_without_a_result_is_an_error(tmp_path):
    export = tmp_path / "screening.csv"
    export.write_text("Candidate Email,Status,Result\nzoe.ng@northwind.example,complete,\n", encoding="utf-8")
    with pytest.raises(LoadError) as error:
        load_file(export, load_mapping(builtin_mappings()["screening_by_email_csv"]))
    assert "row 2:column 'Status+Result': cannot read 'complete' as status (enum)" in str(error.value)


# --- through an evidence folder ---------------------------------------------------------------

FOLDER_FILES = {  # fixture -> (type, format, system, rows)
    "bamboohr_employees.csv": ("hr_roster", "bamboohr_employees_csv", None, 5),
    "lms_completions_by_email.csv": ("training", "lms_completions_by_email_csv", None, 5),
    "screening_by_email.csv": ("background_checks", "screening_by_email_csv", None, 5),
    "okta_users_api.json": ("accounts", "okta_users_api_json", "okta", 5),
    "entra_id_users.csv": ("accounts", "entra_id_users_csv", "entra", 5),
    "gitlab_merge_requests.json": ("deployments", "gitlab_merge_requests_json", None, 3),
    "jira_cloud_all_fields.csv": ("change_tickets", "jira_cloud_csv", None, 4),
}


def test_the_shapes_load_together_from_an_evidence_folder(tmp_path):
    from evidence_lib.sources.folder import load_folder

    lines = ["company: Northwind Analytics", "period: 2026-Q3", "exported_at: 2026-10-01T06:00:00Z", "files:"]
    for name, (kind, fmt, system, _) in FOLDER_FILES.items():
        (tmp_path / name).write_bytes((FIXTURES / name).read_bytes())
        lines.append(f"  - {{path: {name}, type: {kind}, format: {fmt}" + (f", system: {system}}}" if system else "}"))
    (tmp_path / "evidence.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    outcomes = {o.declared.path: o for o in load_folder(tmp_path).outcomes}
    for name, (_, fmt, _, rows) in FOLDER_FILES.items():
        outcome = outcomes[name]
        assert outcome.ok, "\n".join(map(str, outcome.problems))
        assert outcome.loaded.provenance.mapping == fmt and outcome.loaded.provenance.rows_kept == rows
    # The folder's default placeholders apply: Jira's "n/a" test evidence is no evidence.
    jira = outcomes["jira_cloud_all_fields.csv"].loaded.frame
    assert column(jira, "testing_evidence") == ["CI run 5521 green", None, None, None]
