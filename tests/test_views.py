"""Views on tiny frames built inline: each fact a rule relies on, computed right at its edges."""

import pandas as pd

from evidence_lib.period import parse_period
from evidence_lib.sources.apply import empty_frame
from evidence_lib.sources.schemas import SCHEMAS
from evidence_lib.views import account_view, change_view, deployment_view, new_hire_view, staff_view

Q3 = parse_period("2026-Q3")
AS_OF = pd.Timestamp("2026-10-01 06:00", tz="UTC")


def utc(text):
    return pd.Timestamp(text, tz="UTC") if text else pd.NaT


def frame(evidence_type, rows):
    """A canonical frame of the schema's dtypes with the given rows (other columns empty)."""
    empty = empty_frame(SCHEMAS[evidence_type]).reset_index(drop=True)
    data = pd.DataFrame(rows)
    out = pd.DataFrame({c: pd.Series([None] * len(data), dtype=empty[c].dtype) for c in empty.columns})
    for column in data:
        out[column] = data[column].astype(empty[column].dtype) if column in empty else data[column]
    return out


ROSTER = frame("hr_roster", [
    {"employee_id": "E1", "name": "Ana", "email": "ana@x.io", "worker_type": "employee", "status": "active",
     "hire_date": pd.Timestamp("2026-07-10")},
    {"employee_id": "E2", "name": "Bo", "email": "bo@x.io", "worker_type": "employee", "status": "active",
     "hire_date": pd.Timestamp("2020-01-01"), "termination_date": pd.Timestamp("2026-08-14")},
    {"employee_id": "E3", "name": "Cy", "email": "cy@x.io", "worker_type": "contractor", "status": "leave",
     "hire_date": pd.Timestamp("2021-01-01")},
])


def accounts(*rows):
    return frame("accounts", [{"system": "okta", "enabled": True, "builtin": False, **r} for r in rows])


def view(accts, reviews=None, registry=None):
    return account_view(accts, ROSTER, frame("identity_aliases", []), registry if registry is not None else
                        frame("service_accounts", []), reviews if reviews is not None else
                        frame("access_reviews", []), period=Q3, as_of=AS_OF).set_index("account_id")


def test_termination_date_decides_employment_status_on_the_export_date():
    # HR still says "active", but the termination date has passed: the account's owner is terminated.
    v = view(accounts({"account_id": "bo@x.io", "email": "bo@x.io", "enabled": False,
                       "disabled_at": utc("2026-08-15 23:30")}))
    assert v.loc["bo@x.io", "owner_status"] == "terminated"
    assert bool(v.loc["bo@x.io", "terminated_in_period"])
    assert v.loc["bo@x.io", "deprovision_lag_days"] == 1  # calendar days, UTC


def test_unresolved_owner_and_registered_service_account():
    registry = frame("service_accounts", [{"system": "OKTA", "account_id": "SVC-1", "owner": "ana@x.io",
                                           "purpose": "ci"}])
    v = view(accounts({"account_id": "svc-1"}, {"account_id": "ghost@y.io", "email": "ghost@y.io"}),
             registry=registry)
    assert bool(v.loc["svc-1", "is_service"]) and not bool(v.loc["ghost@y.io", "is_service"])
    assert v.loc["ghost@y.io", "owner_status"] == "unresolved" and not bool(v.loc["ghost@y.io", "has_owner"])


def test_account_created_before_hire_counts_days_before():
    v = view(accounts({"account_id": "a1", "email": "ana@x.io", "created_at": utc("2026-07-05 14:00")},
                      {"account_id": "a2", "email": "ana@x.io", "created_at": utc("2026-07-10 00:30")}))
    assert v.loc["a1", "created_days_before_hire"] == 5 and v.loc["a2", "created_days_before_hire"] == 0


def test_dormancy_counts_from_last_login_or_creation_and_has_nothing_to_count_without_either():
    v = view(accounts({"account_id": "used", "last_login_at": utc("2026-07-03 10:00")},
                      {"account_id": "never", "created_at": utc("2026-03-15 06:00")},
                      {"account_id": "gh", "system": "github"}))
    assert v.loc["used", "days_since_login"] == 89 and v.loc["never", "days_since_login"] == 200
    assert pd.isna(v.loc["gh", "days_since_login"])  # not exempt: the rule's not-null check fails it


def test_review_scope_stops_at_sign_off_and_unreviewed_systems_are_in_scope():
    reviews = frame("access_reviews", [
        {"system": "okta", "period": "2026-Q3", "account_id": "old", "reviewer": "r@x.io", "decision": "revoke",
         "signed_off_at": utc("2026-09-26 17:00")},
        {"system": "okta", "period": "2026-Q2", "account_id": "older", "reviewer": "r@x.io", "decision": "approve",
         "signed_off_at": utc("2026-06-26 17:00")},
    ])
    v = view(accounts({"account_id": "old", "created_at": utc("2025-01-01")},
                      {"account_id": "older", "created_at": utc("2025-01-01")},
                      {"account_id": "new", "created_at": utc("2026-09-29")},
                      {"account_id": "db", "system": "billing-db", "created_at": utc("2025-01-01")}), reviews)
    assert v.loc["old", "review_decision"] == "revoke" and bool(v.loc["old", "in_review_scope"])
    assert v.loc["older", "review_decision"] == "missing"  # last quarter's review does not count
    assert not bool(v.loc["new", "in_review_scope"])  # created after the sign-off
    # a system the review left out is not exempt: its accounts are unreviewed
    assert bool(v.loc["db", "in_review_scope"]) and v.loc["db", "review_decision"] == "missing"


def test_root_use_in_period():
    v = view(accounts({"account_id": "<root_account>", "builtin": True, "enabled": False,
                       "last_login_at": utc("2026-08-03 03:12")}))
    assert bool(v.loc["<root_account>", "used_in_period"]) and v.loc["<root_account>", "local_name"] == "<root_account>"


TICKETS = frame("change_tickets", [
    {"ticket_id": "ENG-7", "change_type": "normal", "author": "a@x.io", "implementer": "b@x.io",
     "approver": " A@X.IO ", "approved_at": utc("2026-07-02 10:00"), "created_at": utc("2026-07-01"),
     "testing_evidence": "  "},
    {"ticket_id": "CHG0030001", "change_type": "emergency", "author": "a@x.io", "implementer": "b@x.io",
     "approver": "c@x.io", "approved_at": utc("2026-07-05 10:00"), "created_at": utc("2026-07-01"),
     "testing_evidence": "tested"},
])
DEPLOYS = frame("deployments", [
    {"deploy_id": "d1", "deployed_at": utc("2026-07-02 09:00"), "ticket_ref": "Retry feature/eng-7-retries"},
    {"deploy_id": "d2", "deployed_at": utc("2026-07-03 10:00"), "ticket_ref": "CHG0030001"},
    {"deploy_id": "d3", "deployed_at": utc("2026-07-04 10:00"), "ticket_ref": "lib-0 bump, fixes ENG-999"},
    {"deploy_id": "d4", "deployed_at": utc("2026-06-30 23:59"), "ticket_ref": "no ticket, before the period"},
])


def test_deployments_find_existing_ticket_keys_in_any_case_and_stay_in_period():
    v = deployment_view(DEPLOYS, TICKETS, period=Q3).set_index("deploy_id")
    assert list(v.index) == ["d1", "d2", "d3"]
    assert v.loc["d1", "ticket_id"] == "ENG-7" and v.loc["d2", "ticket_id"] == "CHG0030001"
    assert not bool(v.loc["d3", "ticket_found"])  # keys that exist nowhere do not count


def test_a_deployment_naming_two_tickets_links_both():
    deploys = DEPLOYS.assign(ticket_ref=DEPLOYS["ticket_ref"].where(DEPLOYS["deploy_id"] != "d1",
                                                                    "Follow-up to eng-7; CHG0030001 too"))
    v = deployment_view(deploys, TICKETS, period=Q3).set_index("deploy_id")
    assert v.loc["d1", "ticket_ids"] == "ENG-7 CHG0030001"
    changes = change_view(deploys, TICKETS, period=Q3).set_index("ticket_id")
    assert changes.loc["CHG0030001", "deployments"] == 2
    assert changes.loc["CHG0030001", "first_deployed_at"] == utc("2026-07-02 09:00")


PEOPLE = frame("hr_roster", [
    {"employee_id": f"E{i}", "name": name, "email": email, "worker_type": "employee", "status": "active",
     "hire_date": pd.Timestamp("2020-01-01")}
    for i, (name, email) in enumerate([("Ana Ruiz", "a@x.io"), ("Bo Li", "b@x.io"), ("Cy Oh", "c@x.io")])
])


def _approved_by(approver):
    tickets = TICKETS.assign(approver=[approver, "c@x.io"])
    return change_view(DEPLOYS, tickets, period=Q3, roster=PEOPLE).set_index("ticket_id")


def test_approver_independence_is_judged_on_people_however_they_are_written():
    assert bool(_approved_by("c@x.io").loc["ENG-7", "approver_independent"])
    for same_as_author in ("ana ruiz", "a+approvals@x.io", " A@X.IO", "Ana  Ruiz"):
        assert not bool(_approved_by(same_as_author).loc["ENG-7", "approver_independent"]), same_as_author
    for nobody in ("n/a", "zed@x.io", "zed@elsewhere.example"):
        assert not bool(_approved_by(nobody).loc["ENG-7", "approver_independent"]), nobody
    assert not bool(change_view(DEPLOYS, TICKETS, period=Q3).set_index("ticket_id")
                    .loc["CHG0030001", "approver_independent"])  # without a roster nobody can be shown independent


def test_change_view_times_approval_against_first_deployment():
    v = change_view(DEPLOYS, TICKETS, period=Q3, roster=PEOPLE).set_index("ticket_id")
    assert v.loc["ENG-7", "approval_after_deploy_days"] == 1 / 24  # approved an hour after deploying
    assert v.loc["CHG0030001", "approval_after_deploy_days"] == 2.0
    assert not bool(v.loc["ENG-7", "approver_independent"])  # approver is the author, in capitals
    assert bool(v.loc["CHG0030001", "approver_independent"])
    assert pd.isna(v.loc["ENG-7", "testing_evidence"]) and v.loc["CHG0030001", "testing_evidence"] == "tested"


def test_new_hire_training_counts_elapsed_days_until_trained():
    hires = frame("hr_roster", [
        {"employee_id": "N1", "name": "n1", "email": "n1@x.io", "worker_type": "employee", "status": "active",
         "hire_date": pd.Timestamp("2026-07-01")},
        {"employee_id": "N2", "name": "n2", "email": "n2@x.io", "worker_type": "employee", "status": "active",
         "hire_date": pd.Timestamp("2026-09-29")},
    ])
    training = frame("training", [{"employee_id": "N1", "course": " security awareness TRAINING ",
                                   "completed_at": utc("2026-07-31 16:00"), "status": "completed"},
                                  {"employee_id": "N1", "course": "Security Awareness Training",
                                   "completed_at": utc("2026-07-20 16:00"), "status": "failed"}])
    checks = frame("background_checks", [{"employee_id": "N1", "status": "clear",
                                          "completed_at": pd.Timestamp("2026-07-01")}])
    v = new_hire_view(hires, checks, training, period=Q3, as_of=AS_OF,
                      training_course="Security Awareness Training").set_index("employee_id")
    assert v.loc["N1", "training_days_after_hire"] == 30 and v.loc["N2", "training_days_after_hire"] == 2
    assert v.loc["N1", "check_days_after_hire"] == 0 and v.loc["N2", "check_status"] == "missing"


def test_staff_view_keeps_active_people_hired_before_the_period():
    training = frame("training", [{"employee_id": "E3", "course": "Security Awareness Training",
                                   "completed_at": utc("2025-10-02 09:00"), "status": "completed"},
                                  {"employee_id": "E3", "course": "Security Awareness Training",
                                   "completed_at": utc("2026-09-02 09:00"), "status": "in_progress"}])
    v = staff_view(ROSTER, training, period=Q3, as_of=AS_OF, training_course="Security Awareness Training")
    assert list(v["employee_id"]) == []  # E1 hired in the period, E2 terminated, E3 on leave
    roster = ROSTER.assign(status=["active", "active", "active"])
    v = staff_view(roster, training, period=Q3, as_of=AS_OF, training_course="Security Awareness Training")
    assert list(v["employee_id"]) == ["E3"] and v["days_since_training"].iloc[0] == 364


def test_several_approvers_are_independent_when_one_is_someone_else():
    assert bool(_approved_by("a@x.io; c@x.io").loc["ENG-7", "approver_independent"])
    assert not bool(_approved_by("a@x.io; Ana Ruiz").loc["ENG-7", "approver_independent"])
    assert not bool(_approved_by("a@x.io; nobody@x.io").loc["ENG-7", "approver_independent"])


def test_an_account_reviewed_twice_keeps_its_first_decision_and_an_id_listed_twice_its_first_row():
    roster = pd.concat([ROSTER, frame("hr_roster", [
        {"employee_id": "E3", "name": "Cy again", "email": "cy2@x.io", "worker_type": "employee",
         "status": "terminated", "hire_date": pd.Timestamp("2019-01-01")}])], ignore_index=True)
    reviews = frame("access_reviews", [
        {"system": "okta", "period": "2026-Q3", "account_id": account, "reviewer": reviewer, "decision": decision,
         "signed_off_at": utc("2026-09-26 17:00")}
        for account, reviewer, decision in [("cy", "r1@x.io", "revoke"), ("cy", "r2@x.io", "approve"),
                                            ("other", "r1@x.io", "approve")]])
    v = account_view(accounts({"account_id": "cy", "email": "cy@x.io"}, {"account_id": "Other", "system": "OKTA"}),
                     roster, frame("identity_aliases", []), frame("service_accounts", []), reviews, period=Q3,
                     as_of=AS_OF).set_index("account_id")
    assert v.loc["cy", "review_decision"] == "revoke" and v.loc["cy", "reviewer"] == "r1@x.io"
    assert v.loc["cy", "owner_name"] == "Cy" and v.loc["cy", "owner_status"] == "leave"
    assert v.loc["Other", "review_decision"] == "missing"  # a review names the account as its system writes it
