"""Write a synthetic company in the vendors' own export formats, with their quirks."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from datetime import date, datetime, timedelta
from pathlib import Path

import yaml

from evidence_lib.synth.company import DOMAIN, TRAINING_COURSE, Company
from evidence_lib.synth.populations import POPULATION_COLUMNS, POPULATION_FILE, Exports, expected_populations
from evidence_lib.synth.xlsx import write_xlsx

EXPECTED_FILE = "expected_exceptions.csv"
NEAR_MISS_FILE = "near_misses.csv"


def _iso(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S+00:00") if value else ""


def _day(value: date | None) -> str:
    return value.isoformat() if value else ""


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _jira_time(value: datetime | None) -> str:
    # Jira's export: 24/Nov/26 3:15 PM — day first, abbreviated month, 12-hour clock.
    if not value:
        return ""
    return f"{value.day:02d}/{_MONTHS[value.month - 1]}/{value.year % 100:02d} {value.hour % 12 or 12}:" \
           f"{value.minute:02d} {'AM' if value.hour < 12 else 'PM'}"


def _write_json_list(path: Path, records: list[dict]) -> None:
    # One record a line: readable in a diff, and json's C encoder (indent= would force the slow one).
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("[\n" + ",\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\n]\n",
                    encoding="utf-8")


def _write_csv(path: Path, header: list[str], rows, *, encoding="utf-8", bom=False, trailing_blank=0):
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    for _ in range(trailing_blank):
        writer.writerow([""] * len(header))
    data = buffer.getvalue().encode(encoding)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)


# What the sample company decided its evidence cannot show, each with a reason and an owner:
# shown as such in every output, never silently.
def _decided(system: str, reason: str, *rules: str) -> list[dict]:
    return [{"rule": rule, "system": system, "reason": reason, "decided_by": f"ciso@{DOMAIN}",
             "decided_on": "2026-07-01"} for rule in rules]


SCOPE_DECISIONS = [
    *_decided("aws-dev", "development account without customer data; outside the system description",
              "account_in_access_review", "admin_roles_approved"),
    *_decided("aws-prod", "the IAM credential report carries no roles; administrator access to AWS is granted "
                          "through IAM Identity Center from Okta groups, whose admin roles are tested",
              "admin_roles_approved"),
    *_decided("billing-db", "reviewed in the Finance quarterly access certification, tested separately",
              "account_in_access_review", "admin_roles_approved"),
    *_decided("github", "GitHub's organization member list carries no creation times; accounts are created "
                        "through Okta provisioning, whose creation times are tested", "no_account_before_hire"),
    *_decided("github", "GitHub's organization member list carries no login times; dormancy is judged on Okta, "
                        "through which every GitHub sign-in passes (SAML SSO)", "no_dormant_accounts"),
]


# What Northwind's exports show of the company, where a rule's population depends on it.
EXPORTS = Exports(
    unrecorded={"github": frozenset({"created_at", "last_login_at", "disabled_at"}),
                "aws-prod": frozenset({"disabled_at"}), "aws-dev": frozenset({"disabled_at"})},
    scoped_out=frozenset((d["rule"], d["system"]) for d in SCOPE_DECISIONS),
    status_change_systems=frozenset({"okta"}),
)


# Where each export came from and who took it: what an auditor asks of information produced by the entity.
EXTRACTED = {
    "hr/workday_workers.xlsx": {"source": "Workday custom report 'All Workers' (XLSX)",
                                "extracted_by": "People Ops (integration-user)"},
    "accounts/okta_users.csv": {"source": "Okta admin console: Reports > Users (CSV)", "extracted_by": "IT operations"},
    "accounts/aws_prod_credential_report.csv": {"source": "aws iam get-credential-report (account prod)",
                                                "extracted_by": "Cloud platform team"},
    "accounts/aws_dev_credential_report.csv": {"source": "aws iam get-credential-report (account dev)",
                                               "extracted_by": "Cloud platform team"},
    "accounts/github_org_members.json": {"source": "GitHub REST GET /orgs/{org}/members with role",
                                         "extracted_by": "Engineering productivity"},
    "accounts/billing_db_accounts.csv": {"source": "SQL query on billing-db pg_roles (saved as billing_users.sql)",
                                         "extracted_by": "Database administration"},
    "changes/jira_changes.csv": {"source": "Jira filter 'CHG deployed' export (CSV, all fields)",
                                 "extracted_by": "Engineering productivity"},
    "changes/servicenow_change_request.csv": {"source": "ServiceNow change_request list export (CSV)",
                                              "extracted_by": "IT operations"},
    "changes/github_merged_prs.json": {"source": "GitHub REST GET /repos/{owner}/{repo}/pulls?state=closed",
                                       "extracted_by": "Engineering productivity"},
    "people/lms_completions.csv": {"source": "LMS completions report (CSV)", "extracted_by": "People Ops"},
    "people/screening_results.csv": {"source": "Screening vendor portal: completed reports (CSV)",
                                     "extracted_by": "People Ops"},
    "vulnerabilities/dependabot_alerts.json": {"source": "GitHub REST GET /orgs/{org}/dependabot/alerts (every state)",
                                               "extracted_by": "Security engineering"},
    "vulnerabilities/tenable_findings.csv": {"source": "Tenable Vulnerability Management: Findings export (CSV, "
                                                       "all states)", "extracted_by": "Security engineering"},
}


def _responses(company: Company, path: Path) -> None:
    """Management's responses to three planted exceptions: one in force, one expired before the export
    (open again), and one to an exception that is not there (stale): what a reviewer must see."""
    def first(rule: str) -> tuple[str, str, str, str]:
        return next(row for row in company.expected if row[1] == rule)

    def entry(row, **fields) -> dict:
        control, rule, system, key = row
        return {"control": control, "rule": rule, **({"system": system} if system else {}), "key": key, **fields}

    exported = company.exported_at.date()
    mfa, dormant, leaver = first("mfa_enabled"), first("no_dormant_accounts"), first("terminated_accounts_disabled")
    responses = [
        entry(mfa, classification="execution", response="MFA enrolment was not enforced for this account; "
              "enforced by sign-on policy since the export", remediation="SEC-4411", approved_by="CISO",
              approved_at=(exported - timedelta(days=3)).isoformat()),
        entry(dormant, classification="timing", response="Account kept for a leave of absence; review on return",
              remediation="IT-2290", approved_by="IT manager", approved_at=(exported - timedelta(days=80)).isoformat(),
              expires=(exported - timedelta(days=10)).isoformat()),
        entry(leaver, key="not-an-exception@" + DOMAIN, classification="not an exception",
              response="Contractor account transferred to a new owner", approved_by="IT manager",
              approved_at=(exported - timedelta(days=2)).isoformat()),
    ]
    path.write_text("# Management's responses to exceptions (written by evidence_lib.synth).\n"
                    + yaml.safe_dump({"responses": responses}, sort_keys=False, allow_unicode=True), encoding="utf-8")


def write_company(company: Company, out: Path) -> list[dict]:
    """Write every export and evidence.yaml; returns the declared files."""
    out.mkdir(parents=True, exist_ok=True)
    declared = [
        _workday_roster(company, out / "hr" / "workday_workers.xlsx"),
        *_accounts(company, out / "accounts"),
        _registry(company, out / "accounts" / "service_account_registry.csv"),
        _aliases(company, out / "accounts" / "github_aliases.csv"),
        _reviews(company, out / "access_review" / "q_access_review.csv"),
        _jira(company, out / "changes" / "jira_changes.csv"),
        _servicenow(company, out / "changes" / "servicenow_change_request.csv"),
        _pull_requests(company, out / "changes" / "github_merged_prs.json"),
        _deploy_log(company, out / "changes" / "infra_deploy_log.csv"),
        _training(company, out / "people" / "lms_completions.csv"),
        _background(company, out / "people" / "screening_results.csv"),
        _dependabot(company, out / "vulnerabilities" / "dependabot_alerts.json"),
        _tenable(company, out / "vulnerabilities" / "tenable_findings.csv"),
        _asset_inventory(company, out / "vulnerabilities" / "asset_inventory.csv"),
    ]
    for entry in declared:
        entry["path"] = Path(entry["path"]).relative_to(out).as_posix()
        entry.update(EXTRACTED.get(entry["path"], {}))
    # The HR headcount screen counts people independently of the report: the roster reconciles to it.
    declared[0]["control_total"] = {"count": len(company.people),
                                    "source": "Workday headcount dashboard on the export date"}
    declaration = {
        "company": "Northwind Analytics (synthetic)",
        "period": company.period.label,
        "exported_at": _iso(company.exported_at),
        "ignore": [EXPECTED_FILE, NEAR_MISS_FILE, POPULATION_FILE, "README.md"],
        "domains": [DOMAIN],
        "files": declared,
        "scope": SCOPE_DECISIONS,
    }
    _responses(company, out / "responses.yaml")
    (out / "evidence.yaml").write_text(
        "# The sample company's exports for one audit period (written by evidence_lib.synth).\n"
        + yaml.safe_dump(declaration, sort_keys=False, allow_unicode=True), encoding="utf-8")
    _write_csv(out / EXPECTED_FILE, ["control", "rule", "system", "record_key"], company.expected)
    _write_csv(out / NEAR_MISS_FILE, ["control", "rule", "system", "record_key"], company.near_misses)
    _write_csv(out / POPULATION_FILE, POPULATION_COLUMNS, expected_populations(company, EXPORTS))
    return declared


def _workday_roster(company: Company, path: Path) -> dict:
    info = [["All Workers"], ["Run by", "integration-user"], ["Run at", _iso(company.exported_at)]]
    header = ["Employee ID", "Worker", "Primary Work Email", "Worker Type", "Worker Status", "Hire Date",
              "Termination Date", "Supervisory Organization", "Business Title", "Manager Employee ID"]
    statuses = {"active": "Active", "leave": "On Leave", "terminated": "Terminated"}
    workers = [[f"All Workers — as of {company.exported_at.date().isoformat()}"], header] + [
        [p.employee_id, p.name, p.email, "Contingent Worker" if p.worker_type == "contractor" else "Regular",
         statuses[p.status], p.hire_date, p.termination_date, p.department, p.title, p.manager_id or None]
        for p in company.people
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    write_xlsx(path, {"Report Info": info, "Workers": workers})
    return {"path": str(path), "type": "hr_roster", "format": "workday_workers_xlsx"}


def _accounts(company: Company, folder: Path) -> list[dict]:
    by_system: dict[str, list] = {}
    for account in company.accounts:
        by_system.setdefault(account.system, []).append(account)
    return [
        _okta(by_system["okta"], folder / "okta_users.csv"),
        _aws(by_system["aws-prod"], folder / "aws_prod_credential_report.csv", "aws-prod"),
        _aws(by_system["aws-dev"], folder / "aws_dev_credential_report.csv", "aws-dev"),
        _github_members(by_system["github"], folder / "github_org_members.json"),
        _billing(by_system["billing-db"], folder / "billing_db_accounts.csv"),
    ]


def _okta(accounts, path: Path) -> dict:
    rows = []
    for a in accounts:
        status = (
            "ACTIVE" if a.enabled else ("DEPROVISIONED" if a.disabled_at and a.disabled_at.day % 2 else "SUSPENDED")
        )
        rows.append([a.account_id, a.display_name, a.email_as_exported or a.email or "", status, _iso(a.created_at),
                     _iso(a.last_login_at), _iso(a.disabled_at or a.created_at),
                     "true" if a.mfa else "false", "Super Administrator" if a.is_admin else ""])
    # Okta's report opens in Excel with a UTF-8 byte-order mark.
    _write_csv(path, ["Okta Username", "User Fullname", "Primary Email", "Okta User Status", "Created Date",
                      "Last Login Date", "Status Change Date", "MFA Enrolled", "Admin Roles"], rows, bom=True)
    return {"path": str(path), "type": "accounts", "system": "okta", "format": "okta_users_csv"}


def _aws(accounts, path: Path, system: str) -> dict:
    header = ["user", "arn", "user_creation_time", "password_enabled", "password_last_used",
              "password_last_changed", "password_next_rotation", "mfa_active", "access_key_1_active",
              "access_key_1_last_rotated", "access_key_1_last_used_date", "access_key_1_last_used_region",
              "access_key_1_last_used_service", "access_key_2_active", "access_key_2_last_rotated",
              "access_key_2_last_used_date", "access_key_2_last_used_region", "access_key_2_last_used_service",
              "cert_1_active", "cert_1_last_rotated", "cert_2_active", "cert_2_last_rotated"]
    account_number = "111122223333" if system == "aws-prod" else "444455556666"
    rows = []
    for a in accounts:
        if a.builtin:
            rows.append([a.account_id, f"arn:aws:iam::{account_number}:root", _iso(a.created_at), "not_supported",
                         _iso(a.last_login_at), "not_supported", "not_supported", "true" if a.mfa else "false",
                         "false", "N/A", "N/A", "N/A", "N/A", "false", "N/A", "N/A", "N/A", "N/A",
                         "false", "N/A", "false", "N/A"])
            continue
        machine = a.service
        password = "false" if machine else ("true" if a.enabled else "false")
        key = "true" if (machine and a.enabled) else "false"
        used = _iso(a.last_login_at) if a.last_login_at else ("N/A" if machine else "no_information")
        rows.append([a.account_id, f"arn:aws:iam::{account_number}:user/{a.account_id}", _iso(a.created_at),
                     password, "N/A" if machine else used, _iso(a.created_at) if not machine else "N/A",
                     "N/A", "true" if a.mfa else "false", key, _iso(a.created_at) if machine else "N/A",
                     used if machine else "N/A", "eu-west-1" if machine and a.last_login_at else "N/A",
                     "s3" if machine and a.last_login_at else "N/A", "false", "N/A", "N/A", "N/A", "N/A",
                     "false", "N/A", "false", "N/A"])
    _write_csv(path, header, rows)
    return {"path": str(path), "type": "accounts", "system": system, "format": "aws_iam_credential_report_csv"}


def _github_members(accounts, path: Path) -> dict:
    members = [
        {"login": a.account_id, "id": 5000000 + n, "node_id": f"MDQ6VXNlcj{5000000 + n}",
         "type": "Bot" if a.service else "User", "site_admin": False,
         "role": "admin" if a.is_admin else "member", "two_factor_authentication": a.mfa}
        for n, a in enumerate(accounts)
    ]
    _write_json_list(path, members)
    return {"path": str(path), "type": "accounts", "system": "github", "format": "github_org_members_json"}


def _billing(accounts, path: Path) -> dict:
    rows = [[a.account_id, a.account_id, a.email or "", a.display_name,
             "active" if a.enabled else "disabled", "yes" if a.mfa else "no",
             "admin" if a.is_admin else "analyst", _iso(a.created_at), _iso(a.last_login_at), _iso(a.disabled_at)]
            for a in accounts]
    # An old database tool: Latin-1 bytes, padded headers, blank rows at the end.
    _write_csv(path, [" account_id", "username ", "email", "display_name", " status", "mfa", "role",
                      "created_at", "last_login_at", "disabled_at"], rows, encoding="latin-1", trailing_blank=2)
    return {"path": str(path), "type": "accounts", "system": "billing-db", "format": "generic_accounts_csv",
            "encoding": "latin-1"}


def _registry(company: Company, path: Path) -> dict:
    rows = [[r["system"], r["account_id"], r["owner_email"], r["purpose"], r["approved_by"], _day(r["approved_at"])]
            for r in company.service_registry]
    _write_csv(path, ["system", "account_id", "owner_email", "purpose", "approved_by", "approved_at"], rows)
    return {"path": str(path), "type": "service_accounts", "format": "service_account_registry_csv"}


def _aliases(company: Company, path: Path) -> dict:
    _write_csv(path, ["system", "account_id", "email"], [[a["system"], a["account_id"], a["email"]]
                                                          for a in company.aliases])
    return {"path": str(path), "type": "identity_aliases", "format": "identity_aliases_csv"}


def _reviews(company: Company, path: Path) -> dict:
    words = {"approve": "Keep", "revoke": "Revoke", "modify": "Modify"}
    rows = [[r["system"], r["period"], r["account_id"], r["reviewer"], words[r["decision"]], _iso(r["decided_at"]),
             _iso(r["signed_off_at"]), r["role"]] for r in company.reviews]
    _write_csv(path, ["system", "period", "account_id", "reviewer", "decision", "decided_at", "signed_off_at",
                      "role"], rows)
    return {"path": str(path), "type": "access_reviews", "format": "access_review_csv"}


def _jira(company: Company, path: Path) -> dict:
    kinds = {"standard": "Standard change", "normal": "Normal change", "emergency": "Emergency change"}
    rows = []
    for n, t in enumerate(x for x in company.tickets if x.tracker == "jira"):
        rows.append([t.title, t.ticket_id, str(20000 + n), "Change", "Done" if t.resolved_at else "To Do", "Medium",
                     t.author_as_exported or t.author, t.implementer, _jira_time(t.created_at),
                     _jira_time(t.resolved_at or t.created_at), _jira_time(t.resolved_at), kinds[t.change_type],
                     t.approver_as_exported or t.approver or "", _jira_time(t.approved_at), t.testing_evidence,
                     "change", "soc2"])
    # Jira repeats a column for every value of a multi-valued field (Labels, Labels).
    _write_csv(path, ["Summary", "Issue key", "Issue id", "Issue Type", "Status", "Priority", "Reporter",
                      "Assignee", "Created", "Updated", "Resolved", "Custom field (Change type)",
                      "Custom field (Approver)", "Custom field (Approved)", "Custom field (Test evidence)",
                      "Labels", "Labels"], rows, trailing_blank=2)
    return {"path": str(path), "type": "change_tickets", "format": "jira_issues_csv"}


def _servicenow(company: Company, path: Path) -> dict:
    def stamp(value):
        return value.strftime("%Y-%m-%d %H:%M:%S") if value else ""

    rows = [[t.ticket_id, t.title, t.change_type.title(), "Closed" if t.resolved_at else "New",
             "approved" if t.approver else "requested", t.author, t.implementer, t.approver or "",
             stamp(t.approved_at), stamp(t.created_at), stamp(t.resolved_at), t.testing_evidence]
            for t in company.tickets if t.tracker == "servicenow"]
    _write_csv(path, ["number", "short_description", "type", "state", "approval", "requested_by", "assigned_to",
                      "u_approved_by", "approval_set", "sys_created_on", "closed_at", "test_plan"], rows)
    return {"path": str(path), "type": "change_tickets", "format": "servicenow_change_request_csv"}


def _pull_requests(company: Company, path: Path) -> dict:
    pulls = []
    for d in company.deployments:
        if d.source != "github":
            continue
        repo = {"full_name": d.repository, "private": True}
        pulls.append({
            "number": d.number, "state": "closed", "title": d.title, "body": d.body or None,
            "user": {"login": d.author, "type": "User"},
            "merged_at": d.deployed_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "merged_by": {"login": d.deployed_by},
            "head": {"ref": d.branch}, "base": {"ref": "main", "repo": repo},
            "html_url": f"https://github.example/{d.repository}/pull/{d.number}",
        })
    _write_json_list(path, pulls)
    return {"path": str(path), "type": "deployments", "format": "github_pull_requests_json"}


def _deploy_log(company: Company, path: Path) -> dict:
    rows = [
        [
            d.deploy_id,
            _iso(d.deployed_at),
            d.repository,
            d.deployed_by,
            d.author,
            d.ticket,
            "production",
            hashlib.sha1(d.deploy_id.encode()).hexdigest()[:12],
        ]
        for d in company.deployments
        if d.source == "deploylog"
    ]
    _write_csv(path, ["deploy_id", "deployed_at", "service", "deployed_by", "author", "ticket", "environment",
                      "commit_sha"], rows)
    return {"path": str(path), "type": "deployments", "format": "generic_deploy_log_csv"}


def _training(company: Company, path: Path) -> dict:
    rows = [[t["employee_id"], t["email"], t["name"], t["course"], t["completed_at"].strftime("%m/%d/%Y %H:%M"),
             t["status"]] for t in company.training]
    _write_csv(path, ["Employee ID", "Learner Email", "Learner Name", "Course Title", "Completion Date", "Status"],
               rows)
    return {"path": str(path), "type": "training", "format": "lms_completions_csv"}


def _background(company: Company, path: Path) -> dict:
    words = {"clear": "Complete - Clear", "pending": "Pending", "consider": "Consider"}
    rows = [[b["employee_id"], b["name"], "Standard Employment", words[b["status"]], _day(b["completed_at"]),
             f"RPT-{b['employee_id'][1:]}"] for b in company.background]
    _write_csv(path, ["Candidate ID", "Candidate Name", "Package", "Report Status", "Completed On", "Report ID"],
               rows)
    return {"path": str(path), "type": "background_checks", "format": "screening_vendor_csv"}


def _zulu(value: datetime | None) -> str | None:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value else None


def _dependabot(company: Company, path: Path) -> dict:
    """GitHub's organization listing of Dependabot alerts: the alert objects, each with its repository."""
    alerts = []
    for f in company.vulnerabilities:
        if f.source != "dependabot":
            continue
        owner, name = f.asset.split("/")
        state = f.state
        advisory = {"ghsa_id": f"GHSA-{hashlib.sha1(f.finding_id.encode()).hexdigest()[:4]}-xxxx-xxxx",
                    "summary": f.title, "severity": "moderate" if f.severity == "medium" else f.severity}
        alerts.append({
            "number": f.number, "state": state,
            "dependency": {"package": {"ecosystem": "npm", "name": f.package}, "manifest_path": "package-lock.json",
                           "scope": "runtime"},
            "security_advisory": advisory,
            "security_vulnerability": {"package": {"ecosystem": "npm", "name": f.package}, "severity": f.severity},
            "url": f"https://api.github.com/repos/{owner}/{name}/dependabot/alerts/{f.number}",
            "html_url": f.finding_id, "created_at": _zulu(f.first_seen),
            "updated_at": _zulu(f.closed_at or f.first_seen),
            "dismissed_at": _zulu(f.dismissed_at),
            "dismissed_reason": f.dismissed_reason or None, "fixed_at": _zulu(f.fixed_at),
            "auto_dismissed_at": None,
            "repository": {"name": name, "full_name": f.asset, "private": True},
        })
    _write_json_list(path, alerts)
    return {"path": str(path), "type": "vulnerability_findings", "format": "github_dependabot_alerts_json"}


def _tenable(company: Company, path: Path) -> dict:
    def stamp(value):
        return value.strftime("%Y-%m-%dT%H:%M:%S.000Z") if value else ""

    states = {"open": "Active", "fixed": "Fixed"}
    rows = [[f.finding_id, hashlib.sha1(f.asset.encode()).hexdigest()[:8] + "-asset", f.asset,
             f"10.0.0.{int(hashlib.sha1(f.asset.encode()).hexdigest()[:2], 16)}", str(100000 + len(f.title) * 997),
             f.title, f.severity.title(), states[f.state], stamp(f.first_seen),
             stamp(f.closed_at or company.exported_at), stamp(f.fixed_at)]
            for f in company.vulnerabilities if f.source == "scanner"]
    _write_csv(path, ["Finding ID", "Asset UUID", "Host Name", "IP Address", "Plugin ID", "Plugin Name", "Severity",
                      "Vulnerability State", "First Seen", "Last Seen", "Last Fixed"], rows)
    return {"path": str(path), "type": "vulnerability_findings", "format": "tenable_vm_findings_csv"}


def _asset_inventory(company: Company, path: Path) -> dict:
    rows = [[a.asset, a.asset_type, "yes" if a.in_scope else "no", a.owner, _iso(a.last_scanned_at)]
            for a in company.assets]
    _write_csv(path, ["asset", "asset_type", "in_scope", "owner", "last_scanned_at"], rows)
    return {"path": str(path), "type": "assets", "format": "generic_asset_inventory_csv"}


__all__ = ["EXPECTED_FILE", "EXPORTS", "NEAR_MISS_FILE", "POPULATION_FILE", "TRAINING_COURSE", "write_company"]
