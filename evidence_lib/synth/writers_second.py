"""Write Fabrikam (evidence_lib.synth.second) in its vendors' export formats.

BambooHR for the roster, Google Workspace for identity, GitLab for code, Jira Cloud for change
tickets, an LMS and a screening vendor that know people by e-mail only. The AWS credential
reports, the generic accounts CSV, the access review, the service-account registry, the
aliases, ServiceNow and the deploy log are written as the first company's are.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import yaml

from evidence_lib.synth.company import Company
from evidence_lib.synth.populations import POPULATION_COLUMNS, POPULATION_FILE, Exports, expected_populations
from evidence_lib.synth.second import DECIDED_BY, DECIDED_ON, DOMAIN, NAME, SCOPE, SecondCompany
from evidence_lib.synth.writers import (
    EXPECTED_FILE,
    NEAR_MISS_FILE,
    _aliases,
    _asset_inventory,
    _aws,
    _billing,
    _deploy_log,
    _iso,
    _jira_time,
    _registry,
    _reviews,
    _tenable,
    _write_csv,
    _write_json_list,
)

SET_ASIDE_FILE = "planted_not_shown.csv"
CASE_COLUMNS = ["control", "rule", "system", "record_key"]


# What Fabrikam's exports show of the company, where a rule's population depends on it.
EXPORTS = Exports(
    unrecorded={"google": frozenset({"created_at", "disabled_at"}),
                "gitlab": frozenset({"created_at", "last_login_at", "disabled_at"}),
                "aws-prod": frozenset({"disabled_at"}), "aws-dev": frozenset({"disabled_at"})},
    scoped_out=frozenset(SCOPE),
    leave_shown_active=True,  # BambooHR's Status is the employee record's: someone on leave is Active
)


def _us_day(value: date | None) -> str:
    return value.strftime("%m/%d/%Y") if value else "0000-00-00"  # BambooHR's "no date"


def write_second_company(second: SecondCompany, out: Path) -> list[dict]:
    """Write every export, evidence.yaml and the answer keys; returns the declared files."""
    company = second.company
    out.mkdir(parents=True, exist_ok=True)
    by_system: dict[str, list] = {}
    for account in company.accounts:
        by_system.setdefault(account.system, []).append(account)
    declared = [
        _bamboohr(company, out / "hr" / "bamboohr_employees.csv"),
        _google(company, by_system["google"], out / "accounts" / "google_workspace_users.csv"),
        _aws(by_system["aws-prod"], out / "accounts" / "aws_prod_credential_report.csv", "aws-prod"),
        _aws(by_system["aws-dev"], out / "accounts" / "aws_dev_credential_report.csv", "aws-dev"),
        _gitlab_members(by_system["gitlab"], out / "accounts" / "gitlab_accounts.csv"),
        _billing(by_system["billing-db"], out / "accounts" / "billing_db_accounts.csv"),
        _registry(company, out / "accounts" / "service_account_registry.csv"),
        _aliases(company, out / "accounts" / "gitlab_aliases.csv"),
        _reviews(company, out / "access_review" / "q_access_review.csv"),
        _jira_cloud(company, out / "changes" / "jira_cloud_changes.csv"),
        _servicenow_labels(company, out / "changes" / "servicenow_change_request.csv"),
        _merge_requests(company, out / "changes" / "gitlab_merged_mrs.json"),
        _deploy_log(company, out / "changes" / "infra_deploy_log.csv"),
        _training(company, out / "people" / "lms_completions.csv"),
        _screening(company, out / "people" / "screening_results.csv"),
        _tenable(company, out / "vulnerabilities" / "tenable_findings.csv"),
        _findings_csv(company, out / "vulnerabilities" / "dependency_findings.csv"),
        _asset_inventory(company, out / "vulnerabilities" / "asset_inventory.csv"),
    ]
    for entry in declared:
        entry["path"] = Path(entry["path"]).relative_to(out).as_posix()
    declaration = {
        "company": NAME,
        "period": company.period.label,
        "exported_at": _iso(company.exported_at),
        "ignore": [EXPECTED_FILE, NEAR_MISS_FILE, SET_ASIDE_FILE, POPULATION_FILE, "README.md"],
        "domains": [DOMAIN],
        "files": declared,
        # What Fabrikam decided its evidence cannot show, each with a reason and an owner.
        "scope": [{"rule": rule, "system": system, "reason": reason, "decided_by": DECIDED_BY,
                   "decided_on": DECIDED_ON} for (rule, system), reason in SCOPE.items()],
    }
    (out / "evidence.yaml").write_text(
        "# The second sample company's exports for one audit period (written by evidence_lib.synth --vendors "
        "second).\n" + yaml.safe_dump(declaration, sort_keys=False, allow_unicode=True), encoding="utf-8")
    _write_csv(out / EXPECTED_FILE, CASE_COLUMNS, company.expected)
    _write_csv(out / NEAR_MISS_FILE, CASE_COLUMNS, company.near_misses)
    # Planted cases Fabrikam's exports cannot show: never silently dropped.
    _write_csv(out / SET_ASIDE_FILE, [*CASE_COLUMNS, "planted_as", "why"], second.set_aside)
    _write_csv(out / POPULATION_FILE, POPULATION_COLUMNS, expected_populations(company, EXPORTS))
    return declared


def _bamboohr(company: Company, path: Path) -> dict:
    kinds = {"employee": "Full-Time", "contractor": "Contractor"}
    # BambooHR's Status is the employee record's (Active/Inactive): someone on leave is Active.
    rows = [[p.employee_id, p.first, p.last, "", p.email, kinds[p.worker_type],
             "Inactive" if p.status == "terminated" else "Active", _us_day(p.hire_date),
             _us_day(p.termination_date), p.department, p.title] for p in company.people]
    _write_csv(path, ["Employee #", "First Name", "Last Name", "Preferred Name", "Work Email", "Employment Status",
                      "Status", "Hire Date", "Termination Date", "Department", "Job Title"], rows)
    return {"path": str(path), "type": "hr_roster", "format": "bamboohr_employees_csv"}


def _sign_in(value: datetime | None) -> str:
    return value.strftime("%Y/%m/%d %H:%M:%S UTC") if value else "Never logged in"


def _google(company: Company, accounts, path: Path) -> dict:
    people = {p.employee_id: p for p in company.people}
    rows = []
    for a in accounts:
        person = people.get(a.owner)
        first, last = (person.first, person.last) if person else ((a.display_name or a.account_id.split("@")[0]), "")
        unit = f"/{person.department}" if person else "/"
        rows.append([first, last, a.account_id, "****", "", unit, "", "", "", "", person.employee_id if person else "",
                     person.title if person else "", person.department if person else "", "False", "",
                     "Active" if a.enabled else "Suspended", _sign_in(a.last_login_at),
                     "True" if a.mfa else "False", "True" if a.mfa else "False"])
    _write_csv(path, ["First Name [Required]", "Last Name [Required]", "Email Address [Required]",
                      "Password [Required]",
                      "Password Hash Function [UPLOAD ONLY]", "Org Unit Path [Required]",
                      "New Primary Email [UPLOAD ONLY]", "Recovery Email", "Work Phone", "Mobile Phone", "Employee ID",
                      "Employee Title", "Department", "Change Password at Next Sign-In", "New Status [UPLOAD ONLY]",
                      "Status [READ ONLY]", "Last Sign In [READ ONLY]", "2sv Enrolled [READ ONLY]",
                      "2sv Enforced [READ ONLY]"], rows)
    return {"path": str(path), "type": "accounts", "system": "google", "format": "google_workspace_users_csv"}


def _gitlab_members(accounts, path: Path) -> dict:
    # A GitLab group's members as a plain accounts listing: no e-mail, creation or sign-in times.
    rows = [[a.account_id, a.account_id, a.display_name, "active" if a.enabled else "disabled",
             "true" if a.mfa else "false", "owner" if a.is_admin else "developer"] for a in accounts]
    _write_csv(path, ["account_id", "username", "display_name", "status", "mfa", "role"], rows)
    return {"path": str(path), "type": "accounts", "system": "gitlab", "format": "generic_accounts_csv"}


def _jira_cloud(company: Company, path: Path) -> dict:
    names = {p.email: p.name for p in company.people}
    kinds = {"standard": "Standard", "normal": "Normal", "emergency": "Emergency"}

    def who(email: str | None, messy: str | None = None) -> str:
        name = names.get(email, email or "")
        return name.upper() if messy else name  # Jira Cloud writes display names, as each user set theirs

    rows = []
    for n, t in enumerate(x for x in company.tickets if x.tracker == "jira"):
        rows.append([t.title, t.ticket_id, str(20000 + n), "Change", "Done" if t.resolved_at else "To Do", "ENG",
                     "Engineering", "Medium", "Done" if t.resolved_at else "", who(t.implementer),
                     who(t.author, t.author_as_exported), who(t.author), _jira_time(t.created_at),
                     _jira_time(t.resolved_at or t.created_at), "", _jira_time(t.resolved_at), "change", "soc2",
                     kinds[t.change_type], who(t.approver, t.approver_as_exported), _jira_time(t.approved_at),
                     t.testing_evidence, ""])
    _write_csv(path, ["Summary", "Issue key", "Issue id", "Issue Type", "Status", "Project key", "Project name",
                      "Priority", "Resolution", "Assignee", "Reporter", "Creator", "Created", "Updated", "Last Viewed",
                      "Resolved", "Labels", "Labels", "Custom field (Change type)", "Custom field (Approvers)",
                      "Custom field (Approved)", "Custom field (Test evidence)", "Description"], rows)
    return {"path": str(path), "type": "change_tickets", "format": "jira_cloud_csv"}


def _servicenow_labels(company: Company, path: Path) -> dict:
    def stamp(value):
        return value.strftime("%Y-%m-%d %H:%M:%S") if value else ""

    rows = [[t.ticket_id, t.title, t.change_type.title(), "Closed" if t.resolved_at else "New", t.author,
             t.implementer, t.approver or "", stamp(t.approved_at), stamp(t.created_at), stamp(t.resolved_at),
             t.testing_evidence] for t in company.tickets if t.tracker == "servicenow"]
    # Exported from the list view with column labels as headers.
    _write_csv(path, ["Number", "Short description", "Type", "State", "Requested by", "Assigned to", "Approved by",
                      "Approval set", "Created", "Closed", "Test plan"], rows)
    return {"path": str(path), "type": "change_tickets", "format": "servicenow_change_request_csv"}


def _gitlab_time(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _merge_requests(company: Company, path: Path) -> dict:
    records = []
    for d in company.deployments:
        if d.source != "gitlab":
            continue
        project, iid = d.deploy_id.split("!")
        user = {"id": 7000 + sum(map(ord, d.author)) % 1000, "username": d.author, "state": "active"}
        merger = {"id": 7000 + sum(map(ord, d.deployed_by)) % 1000, "username": d.deployed_by, "state": "active"}
        records.append({
            "id": 900000 + int(iid), "iid": int(iid), "project_id": 41 if project.endswith("api") else 42,
            "title": d.title, "description": d.body or None, "state": "merged",
            "merged_by": merger, "merge_user": merger, "merged_at": _gitlab_time(d.deployed_at),
            "target_branch": "main", "source_branch": d.branch, "author": user,
            "references": {"short": f"!{iid}", "relative": f"!{iid}", "full": d.deploy_id},
            "web_url": f"https://gitlab.example/{project}/-/merge_requests/{iid}",
        })
    _write_json_list(path, records)
    return {"path": str(path), "type": "deployments", "format": "gitlab_merge_requests_json"}


def _training(company: Company, path: Path) -> dict:
    names = {p.employee_id: p.name for p in company.people}
    rows = [[names[t["employee_id"]], t["email"], t["course"], t["completed_at"].strftime("%m/%d/%Y %H:%M"),
             t["status"]] for t in company.training]
    _write_csv(path, ["Learner Name", "Learner Email", "Course Title", "Completion Date", "Status"], rows)
    return {"path": str(path), "type": "training", "format": "lms_completions_by_email_csv"}


def _screening(company: Company, path: Path) -> dict:
    people = {p.employee_id: p for p in company.people}
    words = {"clear": ("complete", "clear"), "consider": ("complete", "consider"), "pending": ("pending", "")}
    rows = []
    for b in company.background:
        status, result = words[b["status"]]
        done = f"{b['completed_at'].isoformat()}T16:05:00Z" if b["completed_at"] else ""
        person = people[b["employee_id"]]
        rows.append([person.name, person.email, "tasker_standard", status, result, done,
                     f"{int(b['employee_id'][1:]):024x}"])
    _write_csv(path, ["Candidate Name", "Candidate Email", "Package", "Status", "Result", "Completed At", "Report ID"],
               rows)
    return {"path": str(path), "type": "background_checks", "format": "screening_by_email_csv"}


def _findings_csv(company: Company, path: Path) -> dict:
    """Fabrikam's dependency alerts, kept in its security tracker and exported as a plain CSV."""
    words = {"open": "open", "fixed": "resolved", "dismissed": "dismissed"}
    rows = [[f.finding_id, f.asset, f.title, f.package, f.severity, words[f.state], _iso(f.first_seen),
             _iso(f.fixed_at), _iso(f.dismissed_at), f.dismissed_reason]
            for f in company.vulnerabilities if f.source == "dependabot"]
    _write_csv(path, ["finding_id", "asset", "title", "package", "severity", "state", "detected_at", "resolved_at",
                      "dismissed_at", "dismissed_reason"], rows)
    return {"path": str(path), "type": "vulnerability_findings", "format": "generic_vulnerability_findings_csv"}


__all__ = ["EXPORTS", "SET_ASIDE_FILE", "write_second_company"]
