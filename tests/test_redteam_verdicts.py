"""Red-team corpus, verdicts: evidence changed carelessly or on purpose must never turn a rule to pass.

Each case is one small mutation of a copy of the sample company (see tests/corpus.py) and the
outcome it must have: the planted exception still reported, the rule an error naming why, or an
integrity exception naming the row. Cases on loading, containment and resources are in
test_redteam_sources.py; on the run and its package in test_redteam_run.py.
"""

import openpyxl
import pytest

from evidence_lib.sources.folder import load_folder
from evidence_lib.validate import ERROR, EXCEPTIONS, OUT_OF_SCOPE, PASS, ScopeError
from tests.corpus import (
    check,
    declaration,
    declare,
    drop_csv_rows,
    edit_csv,
    edit_json,
    found_keys,
    read_csv,
    redeclare,
    rule_status,
    write_csv,
)

OKTA = "accounts/okta_users.csv"
ROSTER = "hr/workday_workers.xlsx"
LMS = "people/lms_completions.csv"
REVIEW = "access_review/q_access_review.csv"
JIRA = "changes/jira_changes.csv"


def _result(validation, rule_id):
    return next(r for r in validation.rules if r.rule.rule_id == rule_id)


def _integrity_rows(validation, rule_id):
    return _result(validation, rule_id).exceptions


def _edit_roster(folder, employee_id, column, value):
    path = folder / ROSTER
    book = openpyxl.load_workbook(path)
    sheet = book["Workers"]
    header = [c.value for c in sheet[2]]
    for row in sheet.iter_rows(min_row=3):
        if row[header.index("Employee ID")].value == employee_id:
            row[header.index(column)].value = value
            break
    else:
        raise AssertionError(employee_id)
    book.save(path)


# -- quarantine never hides ---------------------------------------------------------------------

def test_quarantined_rows_make_the_rule_an_error_not_a_pass(sample_copy):
    for account in ("sven.okafor@northwind.example",):
        edit_csv(sample_copy / OKTA, "Created Date", "not-a-date", where={"Okta Username": account})
    redeclare(sample_copy, OKTA, bad_rows="quarantine")
    evidence, validation = check(sample_copy, rules=('terminated_accounts_disabled',))
    result = _result(validation, "terminated_accounts_disabled")
    assert result.status == ERROR
    assert "set aside" in result.reason and "okta_users.csv" in result.reason
    okta = next(o for o in evidence.outcomes if o.declared.path == OKTA).loaded
    assert okta.provenance.rows_rejected == 1 and okta.provenance.rows_read == 182


def test_quarantining_a_whole_system_cannot_hide_its_findings(sample_copy):
    edit_csv(sample_copy / OKTA, "Okta User Status", "???")
    redeclare(sample_copy, OKTA, bad_rows="quarantine")
    _, validation = check(
        sample_copy,
        rules=(
            "account_in_access_review",
            "admin_roles_approved",
            "deprovisioned_within_sla",
            "mfa_enabled",
            "no_dormant_accounts",
            "no_orphan_accounts",
        ),
    )
    for rule_id in ("mfa_enabled", "no_orphan_accounts", "deprovisioned_within_sla", "no_dormant_accounts",
                    "account_in_access_review", "admin_roles_approved"):
        assert rule_status(validation, rule_id) == ERROR, rule_id


def test_quarantined_roster_rows_make_screening_an_error(sample_copy):
    for employee in ("E10010", "E10014", "E10166"):
        _edit_roster(sample_copy, employee, "Hire Date", "soon")
    redeclare(sample_copy, ROSTER, bad_rows="quarantine")
    _, validation = check(sample_copy, rules=('background_check_before_hire',))
    assert rule_status(validation, "background_check_before_hire") == ERROR


def test_quarantined_deployments_make_change_rules_errors(sample_copy):
    edit_csv(sample_copy / "changes/infra_deploy_log.csv", "deployed_at", "yesterday")
    redeclare(sample_copy, "changes/infra_deploy_log.csv", bad_rows="quarantine")
    _, validation = check(
        sample_copy,
        rules=("approved_before_deploy", "approver_independent", "deployment_has_ticket", "testing_evidence"),
    )
    for rule_id in ("deployment_has_ticket", "approver_independent", "approved_before_deploy", "testing_evidence"):
        assert rule_status(validation, rule_id) == ERROR, rule_id


# -- implausible values -------------------------------------------------------------------------

def test_last_login_in_the_far_future_is_an_integrity_exception_and_dormancy_an_error(sample_copy):
    edit_csv(sample_copy / OKTA, "Last Login Date", "2099-01-01T00:00:00+00:00",
             where={"Okta Username": "maya.eriksen@northwind.example"})
    _, validation = check(sample_copy, rules=('no_dormant_accounts',))
    rows = _integrity_rows(validation, "dates_plausible")
    assert list(zip(rows["file"], rows["column"])) == [(OKTA, "last_login_at")]
    assert rule_status(validation, "no_dormant_accounts") == ERROR
    assert "accounts.last_login_at failed the integrity rule dates_plausible" in \
        _result(validation, "no_dormant_accounts").reason


def _set_latest_training(folder, employee, completed):
    """Give the person's latest security training record another completion time."""
    header, rows, encoding = read_csv(folder / LMS)
    who, course, when = header.index("Employee ID"), header.index("Course Title"), header.index("Completion Date")
    mine = [r for r in rows if r[who] == employee and r[course] == "Security Awareness Training"]
    latest = max(mine, key=lambda r: (r[when][6:10], r[when][:5]))
    latest[when] = completed
    write_csv(folder / LMS, header, rows, encoding)


@pytest.mark.parametrize("completed", ["01/01/2099 09:00", "01/01/1900 09:00"])
def test_training_dated_in_2099_or_1900_cannot_count(sample_copy, completed):
    _set_latest_training(sample_copy, "E10005", completed)
    _set_latest_training(sample_copy, "E10001", completed)
    _, validation = check(sample_copy, rules=('annual_training_current', 'training_within_due_days'))
    assert set(_integrity_rows(validation, "dates_plausible")["column"]) == {"completed_at"}
    assert rule_status(validation, "annual_training_current") == ERROR
    assert rule_status(validation, "training_within_due_days") == ERROR


def test_failed_training_is_not_a_completion(sample_copy):
    """E10002, long employed and trained on time, has every attempt recorded as failed."""
    edit_csv(sample_copy / LMS, "Status", "Failed",
             where={"Employee ID": "E10002", "Course Title": "Security Awareness Training"})
    _, validation = check(sample_copy, rules=('annual_training_current',))
    assert ("", "E10002") in found_keys(validation, "annual_training_current")
    assert rule_status(validation, "annual_training_current") == EXCEPTIONS


def test_unknown_training_status_is_a_located_load_error(sample_copy):
    edit_csv(sample_copy / LMS, "Status", "Done-ish", where={"Employee ID": "E10005"})
    evidence, validation = check(sample_copy, rules=('annual_training_current',))
    problems = [str(p) for p in evidence.problems]
    assert any("lms_completions.csv:row" in p and "'Status'" in p and "Done-ish" in p for p in problems), problems
    assert rule_status(validation, "annual_training_current") == ERROR


def test_blank_training_status_is_an_integrity_exception(sample_copy):
    edit_csv(sample_copy / LMS, "Status", "", where={"Employee ID": "E10005"})
    _, validation = check(sample_copy, rules=('annual_training_current',))
    rows = _integrity_rows(validation, "training_status_read")
    assert set(rows["employee_id"]) == {"E10005"}
    assert rule_status(validation, "annual_training_current") == ERROR


def test_hire_date_in_2099_is_implausible(sample_copy):
    _edit_roster(sample_copy, "E10010", "Hire Date", "2099-01-01")
    _, validation = check(sample_copy, rules=('background_check_before_hire',))
    rows = _integrity_rows(validation, "dates_plausible")
    assert list(zip(rows["file"], rows["column"])) == [(ROSTER, "hire_date")]
    assert rule_status(validation, "background_check_before_hire") == ERROR


def test_terminated_without_a_termination_date_is_an_integrity_exception(sample_copy):
    evidence, before = check(sample_copy, rules=('deprovisioned_within_sla',))
    leaver = sorted(k for _, k in found_keys(before, "deprovisioned_within_sla"))[0]
    accounts = evidence.frame("accounts")
    email = accounts.loc[accounts["account_id"] == leaver, "email"].iloc[0]
    roster = evidence.frame("hr_roster")
    employee = roster.loc[roster["email"] == email, "employee_id"].iloc[0]
    _edit_roster(sample_copy, employee, "Termination Date", None)
    _, validation = check(sample_copy, rules=('deprovisioned_within_sla',))
    assert set(_integrity_rows(validation, "terminated_has_date")["employee_id"]) == {employee}
    assert rule_status(validation, "deprovisioned_within_sla") == ERROR


def test_termination_before_hire_is_an_integrity_exception(sample_copy):
    _edit_roster(sample_copy, "E10002", "Termination Date", "2001-01-01")
    _edit_roster(sample_copy, "E10002", "Worker Status", "Terminated")
    _, validation = check(sample_copy, rules=('terminated_accounts_disabled',))
    assert set(_integrity_rows(validation, "hire_before_termination")["employee_id"]) == {"E10002"}
    assert rule_status(validation, "terminated_accounts_disabled") == ERROR


def test_epoch_zero_creation_date_is_implausible(sample_copy):
    edit_csv(sample_copy / OKTA, "Created Date", "1970-01-01T00:00:00+00:00",
             where={"Okta Username": "ada.brooks@northwind.example"})
    _, validation = check(sample_copy, rules=('no_account_before_hire',))
    assert rule_status(validation, "no_account_before_hire") == ERROR


# -- missing parts of a population --------------------------------------------------------------

def test_a_system_without_any_login_times_is_not_exempt_from_dormancy(sample_copy):
    edit_csv(sample_copy / OKTA, "Last Login Date", "")
    _, validation = check(sample_copy, rules=('no_dormant_accounts',))
    rows = _integrity_rows(validation, "system_dates_present")
    assert list(zip(rows["system"], rows["column"])) == [("okta", "last_login_at")]
    assert rule_status(validation, "no_dormant_accounts") == ERROR


def test_a_system_without_creation_times_cannot_pass_account_before_hire(sample_copy):
    edit_csv(sample_copy / OKTA, "Created Date", "")
    _, validation = check(sample_copy, rules=('no_account_before_hire',))
    rows = _integrity_rows(validation, "system_dates_present")
    assert ("okta", "created_at") in set(zip(rows["system"], rows["column"]))
    assert rule_status(validation, "no_account_before_hire") == ERROR


def test_systems_left_out_of_the_access_review_are_exceptions_not_out_of_scope(sample_copy):
    _, before = check(sample_copy, rules=('account_in_access_review',))
    drop_csv_rows(sample_copy / REVIEW, {"system": "okta"})
    drop_csv_rows(sample_copy / REVIEW, {"system": "aws-prod"})
    _, validation = check(sample_copy, rules=('account_in_access_review',))
    flagged = found_keys(validation, "account_in_access_review")
    assert found_keys(before, "account_in_access_review") <= flagged
    assert {s for s, _ in flagged} >= {"okta", "aws-prod"} and len(flagged) > 100


@pytest.mark.parametrize("column,value", [("system", "Okta"), ("system", " OKTA "), ("period", "2026-q3")])
def test_case_and_space_variants_in_the_review_change_nothing(sample_copy, column, value):
    _, before = check(
        sample_copy, rules=("account_in_access_review", "admin_roles_approved", "revoked_accounts_disabled")
    )
    where = {"system": "okta"} if column == "system" else None
    edit_csv(sample_copy / REVIEW, column, value, where=where)
    _, after = check(
        sample_copy, rules=("account_in_access_review", "admin_roles_approved", "revoked_accounts_disabled")
    )
    for rule_id in ("account_in_access_review", "revoked_accounts_disabled", "admin_roles_approved"):
        assert found_keys(after, rule_id) == found_keys(before, rule_id), rule_id


def test_review_without_sign_off_time_cannot_pass(sample_copy):
    edit_csv(sample_copy / REVIEW, "signed_off_at", "")
    _, validation = check(sample_copy, rules=('account_in_access_review', 'admin_roles_approved'))
    assert len(_integrity_rows(validation, "review_signed_off")) > 0
    for rule_id in ("account_in_access_review", "admin_roles_approved"):
        assert rule_status(validation, rule_id) == ERROR, rule_id


def test_review_of_another_period_leaves_every_account_unreviewed(sample_copy):
    edit_csv(sample_copy / REVIEW, "period", "2026-Q2")
    _, validation = check(sample_copy, rules=('account_in_access_review',))
    result = _result(validation, "account_in_access_review")
    assert result.status == EXCEPTIONS and result.exception_count == result.population > 250


# -- placeholders and identities ----------------------------------------------------------------

@pytest.mark.parametrize("placeholder", ["N/A", "none", "-", "TBD", "  "])
def test_placeholder_testing_evidence_is_no_evidence(sample_copy, placeholder):
    edit_csv(sample_copy / JIRA, "Custom field (Test evidence)", placeholder, where={"Issue key": "ENG-101"})
    _, validation = check(sample_copy, rules=('testing_evidence',))
    assert ("", "ENG-101") in found_keys(validation, "testing_evidence")


def _jira_row(folder, key):
    header, rows, _ = read_csv(folder / JIRA)
    return dict(zip(header, next(r for r in rows if r[header.index("Issue key")] == key)))


def _roster_name(folder, email):
    roster = load_folder(folder).frame("hr_roster")
    return roster.loc[roster["email"] == email, "name"].iloc[0]


@pytest.mark.parametrize("approver", ["display name", "plus address", "n/a", "nobody", "upper case"])
def test_approver_who_is_the_author_or_nobody_is_not_independent(sample_copy, approver):
    ticket = _jira_row(sample_copy, "ENG-101")
    author = ticket["Reporter"]
    value = {"display name": lambda: _roster_name(sample_copy, author),
             "plus address": lambda: author.replace("@", "+approvals@"),
             "n/a": lambda: "n/a",
             "nobody": lambda: "someone.else@northwind.example",
             "upper case": lambda: f"  {author.upper()} "}[approver]()
    edit_csv(sample_copy / JIRA, "Custom field (Approver)", value, where={"Issue key": "ENG-101"})
    _, validation = check(sample_copy, rules=('approver_independent',))
    assert ("", "ENG-101") in found_keys(validation, "approver_independent")


def test_foreign_domain_account_is_an_orphan_not_the_employee_with_that_local_part(sample_copy):
    header, rows, encoding = read_csv(sample_copy / OKTA)
    template = dict(zip(header, rows[0]))
    template.update({"Okta Username": "noah.garcia@evil.example", "Primary Email": "noah.garcia@evil.example",
                     "User Fullname": "Noah Garcia", "Okta User Status": "ACTIVE", "MFA Enrolled": "true"})
    rows.append([template[h] for h in header])
    write_csv(sample_copy / OKTA, header, rows, encoding)
    _, validation = check(sample_copy, rules=('no_orphan_accounts',))
    assert ("okta", "noah.garcia@evil.example") in found_keys(validation, "no_orphan_accounts")


def test_every_ticket_a_deployment_names_is_judged(sample_copy):
    """A self-approved change linked only as the second key of a pull request's title."""
    header, rows, encoding = read_csv(sample_copy / JIRA)
    base = dict(zip(header, rows[0]))
    base.update({"Issue key": "ENG-999", "Issue id": "29999", "Summary": "Hotfix",
                 "Custom field (Approver)": base["Reporter"]})
    rows.append([base[h] for h in header])
    write_csv(sample_copy / JIRA, header, rows, encoding)

    def follow_up(records):
        records[0]["title"] = records[0]["title"] + "; follow-up ENG-999"
        return records

    edit_json(sample_copy / "changes/github_merged_prs.json", follow_up)
    _, validation = check(sample_copy, rules=('approver_independent',))
    assert ("", "ENG-999") in found_keys(validation, "approver_independent")


# -- scope decisions ----------------------------------------------------------------------------

def _scope(folder, *entries):
    spec = declaration(folder)
    spec["scope"] = [*spec.get("scope", []), *entries]
    declare(folder, spec)


DECIDED = {"reason": "not in the system description", "decided_by": "ciso@northwind.example",
           "decided_on": "2026-07-01"}


def test_scope_naming_an_unknown_rule_is_an_error(sample_copy):
    _scope(sample_copy, {"rule": "no_such_rule", **DECIDED})
    with pytest.raises(ScopeError, match="unknown rule 'no_such_rule'"):
        check(sample_copy)


def test_scope_naming_an_undeclared_system_is_an_error(sample_copy):
    _scope(sample_copy, {"rule": "mfa_enabled", "system": "mainframe", **DECIDED})
    with pytest.raises(ScopeError, match="system 'mainframe' is not declared"):
        check(sample_copy, rules=('mfa_enabled',))


def test_removing_a_scope_decision_brings_the_gap_back(sample_copy):
    spec = declaration(sample_copy)
    spec["scope"] = [s for s in spec["scope"] if s["rule"] != "no_dormant_accounts"]
    declare(sample_copy, spec)
    _, validation = check(sample_copy, rules=('no_dormant_accounts',))
    rows = _integrity_rows(validation, "system_dates_present")
    assert ("github", "last_login_at") in set(zip(rows["system"], rows["column"]))
    assert rule_status(validation, "no_dormant_accounts") == ERROR


def test_a_whole_rule_scoped_out_is_shown_as_out_of_scope_with_its_reason(sample_copy):
    _scope(sample_copy, {"rule": "testing_evidence", **DECIDED})
    _, validation = check(sample_copy, rules=('testing_evidence',))
    result = _result(validation, "testing_evidence")
    assert result.status == OUT_OF_SCOPE and "not in the system description" in result.reason
    assert "ciso@northwind.example" in result.reason
    assert next(c for c in validation.controls if c.control_id == "CC8.1").status == EXCEPTIONS


def test_a_system_scoped_out_leaves_the_rule_population_with_the_reason(sample_copy):
    _, before = check(sample_copy, rules=('mfa_enabled',))
    _scope(sample_copy, {"rule": "mfa_enabled", "system": "github", **DECIDED})
    _, after = check(sample_copy, rules=('mfa_enabled',))
    was, now = _result(before, "mfa_enabled"), _result(after, "mfa_enabled")
    assert now.population < was.population and "github scoped out" in now.reason
    assert found_keys(after, "mfa_enabled") == {k for k in found_keys(before, "mfa_enabled") if k[0] != "github"}


def test_the_sample_passes_integrity(sample_copy):
    _, validation = check(sample_copy)
    assert validation.integrity.status == PASS, validation.summary()


# -- columns an export lacks --------------------------------------------------------------------

def _drop_column(path, column):
    header, rows, encoding = read_csv(path)
    index = header.index(column)
    write_csv(path, [h for i, h in enumerate(header) if i != index],
              [[c for i, c in enumerate(r) if i != index] for r in rows], encoding)


@pytest.mark.parametrize("column,rule_id", [("MFA Enrolled", "mfa_enabled"), ("Admin Roles", "admin_roles_approved")])
def test_an_export_without_a_column_a_rule_needs_makes_the_rule_an_error(sample_copy, column, rule_id):
    _drop_column(sample_copy / OKTA, column)
    evidence, validation = check(sample_copy, rules=(rule_id,))
    assert evidence.problems == []  # the column is optional to load ...
    result = _result(validation, rule_id)
    assert result.status == ERROR and f"{OKTA} (okta) has no column for" in result.reason  # ... not to judge


def test_scoping_the_system_out_accepts_the_missing_column(sample_copy):
    _drop_column(sample_copy / OKTA, "MFA Enrolled")
    _scope(sample_copy, {"rule": "mfa_enabled", "system": "okta", **DECIDED})
    _, validation = check(sample_copy, rules=('mfa_enabled',))
    result = _result(validation, "mfa_enabled")
    assert result.status == EXCEPTIONS and "okta scoped out" in result.reason
    assert all(system != "okta" for system, _ in found_keys(validation, "mfa_enabled"))
