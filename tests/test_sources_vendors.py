"""Every built-in vendor mapping on a tiny export written inline, in that vendor's own shape."""

import io
import json

import openpyxl
import pandas as pd
import pytest

from evidence_lib.errors import LoadError, MappingError
from evidence_lib.sources.load import load_file
from evidence_lib.sources.mapping import builtin_mappings, load_mapping


def load(tmp_path, fmt, content, name="export.csv", **kwargs):
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return load_file(path, load_mapping(builtin_mappings()[fmt]), **kwargs)


def utc(text):
    return pd.Timestamp(text, tz="UTC")


@pytest.mark.parametrize("name", sorted(builtin_mappings()))
def test_every_builtin_mapping_is_valid(name):
    mapping = load_mapping(builtin_mappings()[name])
    assert mapping.name == name and mapping.description


def test_generic_hris_csv(tmp_path):
    loaded = load(tmp_path, "generic_hris_csv",
                  "employee_id,full_name,work_email,worker_type,employment_status,hire_date,termination_date,"
                  "department,job_title,manager_id\n"
                  "E1,Ana Díaz, Ana.Diaz@Example.COM ,Full-Time,Active,2024-01-02,,Eng,Dev,E9\n"
                  "E2,Bo Li,bo.li@example.com,Contingent,inactive,2023-05-06,2026-07-31,Ops,Ops,\n")
    frame = loaded.frame
    assert frame["email"].tolist() == ["ana.diaz@example.com", "bo.li@example.com"]
    assert frame["worker_type"].tolist() == ["employee", "contractor"]
    assert frame["status"].tolist() == ["active", "terminated"]
    assert frame.loc[3, "termination_date"] == pd.Timestamp("2026-07-31")
    assert pd.isna(frame.loc[2, "termination_date"])
    assert frame.index.tolist() == [2, 3]  # source rows: the header is row 1


def test_bamboohr_joins_names_and_reads_us_dates(tmp_path):
    loaded = load(tmp_path, "bamboohr_employees_csv",
                  "Employee #,First Name,Last Name,Work Email,Employment Status,Status,Hire Date,Termination Date,"
                  "Department,Job Title\n"
                  "101,Zoë,Ng,zoe@example.com,Full-Time,Active,03/04/2025,0000-00-00,Sales,AE\n")
    row = loaded.frame.iloc[0]
    assert row["name"] == "Zoë Ng" and row["hire_date"] == pd.Timestamp("2025-03-04")
    assert pd.isna(row["termination_date"])  # BambooHR's 0000-00-00 means "no date"


def test_workday_xlsx_title_row_and_excel_dates(tmp_path):
    book = openpyxl.Workbook()
    book.active.title = "Workers"
    sheet = book["Workers"]
    sheet.append(["All Workers"])
    sheet.append(["Employee ID", "Worker", "Primary Work Email", "Worker Type", "Worker Status", "Hire Date",
                  "Termination Date", "Supervisory Organization", "Business Title", "Manager Employee ID"])
    sheet.append([1001, "Ada Lovelace", "ada@example.com", "Regular", "Terminated", pd.Timestamp("2020-02-03"),
                  "08/15/2026", "R&D", "Engineer", None])
    buffer = io.BytesIO()
    book.save(buffer)
    loaded = load(tmp_path, "workday_workers_xlsx", buffer.getvalue(), name="w.xlsx")
    row = loaded.frame.loc[3]
    assert row["employee_id"] == "1001"  # a number cell read as the id it is, not 1001.0
    assert row["hire_date"] == pd.Timestamp("2020-02-03")
    assert row["termination_date"] == pd.Timestamp("2026-08-15")
    assert loaded.provenance.sheet == "Workers"


OKTA_HEADER = ("Okta Username,User Fullname,Primary Email,Okta User Status,Created Date,Last Login Date,"
               "Status Change Date,MFA Enrolled,Admin Roles\n")


def test_okta_statuses_admin_roles_and_disable_time(tmp_path):
    loaded = load(tmp_path, "okta_users_csv", "\ufeff" + OKTA_HEADER +
                  "a@x.io,A,A@X.io,ACTIVE,2026-01-01T10:00:00+00:00,2026-09-01T10:00:00+00:00,"
                  "2026-01-02T00:00:00+00:00,true,\n"
                  "b@x.io,B,b@x.io,DEPROVISIONED,2025-01-01T10:00:00+00:00,,2026-08-02T07:00:00+02:00,false,"
                  "Super Administrator\n", system="okta")
    frame = loaded.frame.reset_index(drop=True)
    assert frame["enabled"].tolist() == [True, False]
    assert frame["is_admin"].tolist() == [False, True]
    assert frame["roles"].isna().tolist() == [True, False]
    # The status change of an active user is not a disable time; offsets are stored as UTC.
    assert pd.isna(frame.loc[0, "disabled_at"]) and frame.loc[1, "disabled_at"] == utc("2026-08-02 05:00")
    assert frame.loc[0, "email"] == "a@x.io"


def test_okta_unknown_status_is_an_error(tmp_path):
    with pytest.raises(LoadError) as error:
        load(tmp_path, "okta_users_csv", OKTA_HEADER + "a@x.io,A,a@x.io,FROZEN,,,,true,\n", system="okta")
    assert "row 2:column 'Okta User Status': cannot read 'FROZEN' as enabled (bool)" in str(error.value)


AWS_HEADER = ("user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,"
              "password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,"
              "access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,"
              "access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,"
              "access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,"
              "cert_2_active,cert_2_last_rotated\n")


def test_aws_credential_report_sentinels_root_and_key_use(tmp_path):
    loaded = load(tmp_path, "aws_iam_credential_report_csv", AWS_HEADER +
                  "<root_account>,arn:aws:iam::1:root,2019-01-01T00:00:00+00:00,not_supported,"
                  "2026-08-03T03:12:00+00:00,not_supported,not_supported,true,false,N/A,N/A,N/A,N/A,false,N/A,"
                  "N/A,N/A,N/A,false,N/A,false,N/A\n"
                  "ci,arn:aws:iam::1:user/ci,2020-01-01T00:00:00+00:00,false,N/A,N/A,N/A,false,true,"
                  "2020-01-01T00:00:00+00:00,2026-09-20T10:00:00+00:00,eu-west-1,s3,true,"
                  "2021-01-01T00:00:00+00:00,2026-09-25T10:00:00+00:00,us-east-1,ec2,false,N/A,false,N/A\n"
                  "jo,arn:aws:iam::1:user/jo,2020-01-01T00:00:00+00:00,true,no_information,N/A,N/A,true,false,"
                  "N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A\n", system="aws")
    frame = loaded.frame.set_index("account_id")
    assert frame.loc["<root_account>", "builtin"] == True  # noqa: E712
    assert frame.loc["ci", "builtin"] == False  # noqa: E712
    assert frame["enabled"].tolist() == [False, True, True]
    assert frame.loc["ci", "last_login_at"] == utc("2026-09-25 10:00")  # the latest of both keys
    assert pd.isna(frame.loc["jo", "last_login_at"])  # no_information: never used
    assert frame.loc["<root_account>", "last_login_at"] == utc("2026-08-03 03:12")


def test_aws_never_leaves_a_cell_blank_so_a_blank_one_is_a_located_problem(tmp_path):
    """AWS writes N/A or no_information where there is no value: a blank last use is an edit, not "never
    used" (which would drop the root account out of the root-in-use rule without a word)."""
    with pytest.raises(LoadError) as raised:
        load(tmp_path, "aws_iam_credential_report_csv", AWS_HEADER +
             "<root_account>,arn:aws:iam::1:root,2019-01-01T00:00:00+00:00,not_supported,"
             ",not_supported,not_supported,true,false,N/A,N/A,N/A,N/A,false,N/A,"
             "N/A,N/A,N/A,false,N/A,false,N/A\n", system="aws")
    [problem] = [p for p in raised.value.problems if "blank cell" in p.message]
    assert problem.column == "password_last_used" and problem.row == 2
    with pytest.raises(LoadError, match="'n/a' in 'password_last_used'"):  # AWS writes N/A, never n/a
        load(tmp_path, "aws_iam_credential_report_csv", AWS_HEADER +
             "<root_account>,arn:aws:iam::1:root,2019-01-01T00:00:00+00:00,not_supported,"
             "n/a,not_supported,not_supported,true,false,N/A,N/A,N/A,N/A,false,N/A,"
             "N/A,N/A,N/A,false,N/A,false,N/A\n", system="aws")


def test_github_members_json(tmp_path):
    members = [{"login": "octo", "id": 1, "type": "User", "site_admin": False, "role": "admin",
                "two_factor_authentication": True},
               {"login": "kit", "id": 2, "type": "User", "site_admin": False, "role": "member",
                "two_factor_authentication": False}]
    loaded = load(tmp_path, "github_org_members_json", json.dumps(members), name="m.json", system="github")
    frame = loaded.frame
    assert frame["system"].tolist() == ["github", "github"]
    assert frame["enabled"].tolist() == [True, True]
    assert frame["is_admin"].tolist() == [True, False]
    assert frame["mfa_enabled"].tolist() == [True, False]
    assert frame.index.tolist() == [1, 2]  # records, counted from 1


def test_accounts_need_a_declared_system(tmp_path):
    with pytest.raises(LoadError) as error:
        load(tmp_path, "github_org_members_json", '[{"login": "a", "role": "member", '
                                                  '"two_factor_authentication": true}]', name="m.json")
    assert "declare `system:` for this file in evidence.yaml" in str(error.value)


def test_generic_accounts_with_padded_headers(tmp_path):
    loaded = load(tmp_path, "generic_accounts_csv",
                  " account_id ,username, email,display_name,status ,mfa,role,created_at,last_login_at,disabled_at\n"
                  "db1,db1,x@y.z,X,active,yes,DBA,2026-01-01T00:00:00Z,,\n", system="db")
    row = loaded.frame.iloc[0]
    assert row["is_admin"] == True and row["mfa_enabled"] == True  # noqa: E712


JIRA_HEADER = ("Summary,Issue key,Issue id,Issue Type,Status,Priority,Reporter,Assignee,Created,Updated,Resolved,"
               "Custom field (Change type),Custom field (Approver),Custom field (Approved),"
               "Custom field (Test evidence),Labels,Labels\n")


def test_jira_dates_and_repeated_label_columns(tmp_path):
    loaded = load(tmp_path, "jira_issues_csv", JIRA_HEADER +
                  "Fix,ENG-7,1,Change,Done,High,a@x.io,b@x.io,24/Nov/26 3:15 PM,24/Nov/26 3:15 PM,"
                  "25/Nov/26 12:05 AM,Emergency change,c@x.io,01/Dec/26 12:00 PM,CI green,x,y\n"
                  ",,,,,,,,,,,,,,,,\n")
    row = loaded.frame.iloc[0]
    assert row["created_at"] == utc("2026-11-24 15:15")
    assert row["resolved_at"] == utc("2026-11-25 00:05")
    assert row["approved_at"] == utc("2026-12-01 12:00")
    assert row["change_type"] == "emergency"
    assert loaded.provenance.blank_rows == 1 and loaded.provenance.rows_read == 1


def test_servicenow_change_request(tmp_path):
    loaded = load(tmp_path, "servicenow_change_request_csv",
                  "number,short_description,type,state,approval,requested_by,assigned_to,u_approved_by,"
                  "approval_set,sys_created_on,closed_at,test_plan\n"
                  "CHG0030001,Patch,Normal,Closed,approved,a@x.io,b@x.io,c@x.io,2026-07-02 10:00:00,"
                  "2026-07-01 09:00:00,2026-07-03 11:00:00,Tested\n")
    row = loaded.frame.iloc[0]
    assert row["change_type"] == "normal" and row["approved_at"] == utc("2026-07-02 10:00")


def test_github_pull_requests_build_ids_and_ticket_text(tmp_path):
    pulls = [{"number": 12, "title": "ENG-1: fix", "body": None, "user": {"login": "octo"},
              "merged_at": "2026-07-04T10:00:00Z", "merged_by": {"login": "kit"}, "head": {"ref": "feature/x"},
              "base": {"ref": "main", "repo": {"full_name": "acme/api"}}}]
    row = load(tmp_path, "github_pull_requests_json", json.dumps(pulls), name="p.json").frame.iloc[0]
    assert row["deploy_id"] == "acme/api#12"
    assert row["ticket_ref"] == "ENG-1: fix feature/x"
    assert row["deployed_at"] == utc("2026-07-04 10:00") and row["environment"] == "production"


def test_generic_deploy_log(tmp_path):
    row = load(tmp_path, "generic_deploy_log_csv",
               "deploy_id,deployed_at,service,deployed_by,author,ticket,environment,commit_sha\n"
               "D1,2026-07-04T10:00:00Z,infra,a@x.io,a@x.io,CHG0030001,production,abc\n").frame.iloc[0]
    assert row["ticket_ref"] == "CHG0030001"


def test_lms_screening_review_registry_aliases(tmp_path):
    training = load(tmp_path, "lms_completions_csv",
                    "Employee ID,Learner Email,Learner Name,Course Title,Completion Date,Status\n"
                    "E1,a@x.io,A,Security Awareness Training,07/14/2026 16:00,Completed\n"
                    "E1,a@x.io,A,Security Awareness Training,07/15/2026,Completed\n").frame
    assert training["completed_at"].tolist() == [utc("2026-07-14 16:00"), utc("2026-07-15")]
    checks = load(tmp_path, "screening_vendor_csv",
                  "Candidate ID,Candidate Name,Package,Report Status,Completed On,Report ID\n"
                  "E1,A,Std,Complete - Clear,2026-07-01,R1\nE2,B,Std,Pending,,R2\n").frame
    assert checks["status"].tolist() == ["clear", "pending"]
    review = load(tmp_path, "access_review_csv",
                  "system,period,account_id,reviewer,decision,decided_at,signed_off_at,role\n"
                  "okta,2026-Q3,a@x.io,r@x.io,Keep,2026-09-20T10:00:00Z,2026-09-26T17:00:00Z,user\n"
                  "okta,2026-Q3,b@x.io,r@x.io,Revoke,2026-09-20T10:00:00Z,2026-09-26T17:00:00Z,admin\n").frame
    assert review["decision"].tolist() == ["approve", "revoke"]
    registry = load(tmp_path, "service_account_registry_csv",
                    "system,account_id,owner_email,purpose,approved_by,approved_at\n"
                    "aws,svc-ci,Owner@X.io,deploys,boss@x.io,2025-01-01\n").frame
    assert registry.iloc[0]["owner"] == "owner@x.io"
    aliases = load(tmp_path, "identity_aliases_csv", "system,account_id,email\ngithub,octo,o@x.io\n").frame
    assert aliases.iloc[0]["email"] == "o@x.io"


def test_a_users_own_mapping_file(tmp_path):
    mapping = tmp_path / "legacy.yaml"
    mapping.write_text(
        "name: legacy_app\nevidence: accounts\nread: {format: csv, delimiter: ';'}\nsentinels: ['-']\n"
        "columns:\n  account_id: Login\n  email: {from: E-Mail}\n"
        "  enabled: {from: State, values: {Aktiv: true, Gesperrt: false}}\n"
        "  created_at: {from: Created, formats: ['%d.%m.%Y %H:%M'], tz: Europe/Berlin}\n"
        "  disabled_at: {from: Changed, when: {State: [Gesperrt]}, formats: ['%d.%m.%Y %H:%M'], tz: Europe/Berlin}\n",
        encoding="utf-8")
    export = tmp_path / "legacy.csv"
    export.write_bytes("Login;E-Mail;State;Created;Changed\nmüller;M@x.de;Aktiv;01.07.2026 09:00;-\n"
                       "lee;-;Gesperrt;01.01.2026 09:00;02.07.2026 10:30\n".encode("cp1252"))
    loaded = load_file(export, load_mapping(mapping), system="legacy", read_overrides={"encoding": "cp1252"})
    frame = loaded.frame.reset_index(drop=True)
    assert frame["account_id"].tolist() == ["müller", "lee"]
    assert frame.loc[0, "created_at"] == utc("2026-07-01 07:00")  # Berlin summer time, stored as UTC
    assert pd.isna(frame.loc[1, "email"]) and frame.loc[1, "disabled_at"] == utc("2026-07-02 08:30")
    assert pd.isna(frame.loc[0, "disabled_at"])
    assert loaded.provenance.mapping == "legacy_app" and len(loaded.provenance.mapping_sha256) == 64


@pytest.mark.parametrize("text, message", [
    ("evidence: acounts\ncolumns: {}\n", "`evidence: acounts` is not an evidence type"),
    ("evidence: accounts\ncolumns: {account_id: id}\n", "required column 'enabled' is not mapped"),
    ("evidence: accounts\ncolumns: {account_id: id, enabled: {from: a, constant: true}}\n",
     "needs exactly one of from, any_true, latest, concat, constant"),
    ("evidence: accounts\ncolumns: {acount_id: id, enabled: {constant: true}}\n",
     "column 'acount_id': not a column of accounts (did you mean 'account_id'?)"),
    ("evidence: accounts\ncolumns: {account_id: id, enabled: {from: a, valuez: {}}}\n", "unknown key(s) ['valuez']"),
    ("evidence: [unclosed\n", "not valid YAML"),
])
def test_broken_mapping_files_are_explained(tmp_path, text, message):
    path = tmp_path / "m.yaml"
    path.write_text(text)
    with pytest.raises(MappingError) as error:
        load_mapping(path)
    assert message in str(error.value)


def test_utf16_export_with_bom_is_read(tmp_path):
    text = "system,account_id,email\ngithub,octo,Ö@x.io\n"
    loaded = load(tmp_path, "identity_aliases_csv", text.encode("utf-16"))
    assert loaded.frame.iloc[0]["email"] == "ö@x.io"


def test_unquoted_delimiter_inside_a_value(tmp_path):
    with pytest.raises(LoadError) as error:
        load(tmp_path, "identity_aliases_csv", "system,account_id,email\ngithub,octo,o@x.io\ngithub,a,b,c\n")
    assert "row 3: 4 fields where the header has 3" in str(error.value)


def test_provenance_hashes_the_bytes(tmp_path):
    import hashlib

    content = "system,account_id,email\ngithub,octo,o@x.io\n"
    loaded = load(tmp_path, "identity_aliases_csv", content, exported_at="2026-10-01T06:00:00Z")
    p = loaded.provenance
    assert p.sha256 == hashlib.sha256(content.encode()).hexdigest() and p.bytes == len(content)
    assert (p.rows_read, p.rows_kept, p.rows_rejected, p.blank_rows) == (1, 1, 0, 0)
    assert p.exported_at == "2026-10-01T06:00:00Z" and p.mapping == "identity_aliases_csv"


def test_an_empty_required_value_names_row_and_column(tmp_path):
    with pytest.raises(LoadError) as error:
        load(tmp_path, "identity_aliases_csv", "system,account_id,email\ngithub,octo,o@x.io\ngithub,,p@x.io\n")
    assert str(error.value) == ("export.csv:row 3:column 'account_id': no value for required 'account_id' — "
                                "every row needs one: complete it in the source system and re-export").join(
        [str(tmp_path) + "/", ""])
