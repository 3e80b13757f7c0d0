"""Each rule's expected population, counted from the generator's own ground truth.

The independent oracle beside expected_exceptions.csv: how many records each rule applies to,
counted from the people, accounts, reviews, tickets and deployments the builder made, the
period and export time it chose, and what each of its exports can show (a system whose export
carries no creation times, an HR export that writes someone on leave as Active, the scope
decisions it declares). Nothing here calls the views or the suites under test.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import timedelta

from evidence_lib.synth.company import Account, Company, Person
from evidence_lib.synth.vulnerabilities import in_population

POPULATION_FILE = "expected_populations.csv"
POPULATION_COLUMNS = ["control", "rule", "population", "basis"]
INTEGRITY = "IPE"
ACCOUNT_DATES = ("created_at", "last_login_at", "disabled_at")


@dataclass(frozen=True)
class Exports:
    """What a company's exports show of its ground truth, where a population depends on it."""

    # system -> the account facts its export does not carry (created_at, last_login_at, disabled_at)
    unrecorded: dict[str, frozenset[str]]
    # (rule, system) pairs evidence.yaml scopes out of a rule
    scoped_out: frozenset[tuple[str, str]]
    # the HR export writes someone on leave as Active (BambooHR's employee status)
    leave_shown_active: bool = False
    # the export writes disabled_at only for disabled accounts, else the creation time (Okta's
    # "Status Change Date", read as a disabling time only when the status says disabled)
    status_change_systems: frozenset[str] = frozenset()


def _shown(account: Account, fact: str, exports: Exports):
    """An account's date as its export shows it (None where the export does not carry it)."""
    if fact in exports.unrecorded.get(account.system, frozenset()):
        return None
    if fact == "disabled_at" and account.system in exports.status_change_systems:
        return None if account.enabled else (account.disabled_at or account.created_at)
    return getattr(account, fact)


def expected_populations(company: Company, exports: Exports) -> list[tuple[str, str, int, str]]:
    """(control, rule, population, basis) for every rule the workbench judges."""
    period, export_day = company.period, company.exported_at.date()
    end = period.end + timedelta(days=1)  # the period's end, exclusive, as a date
    people = {p.employee_id: p for p in company.people}

    def owner(account: Account) -> Person | None:
        return people.get(account.owner) if account.owner else None

    def left(person: Person | None) -> bool:
        return person is not None and person.termination_date is not None and person.termination_date <= export_day

    def count(rule: str, accounts) -> int:
        return sum(1 for a in accounts if (rule, a.system) not in exports.scoped_out)

    accounts = company.accounts
    human = [a for a in accounts if a.enabled and not a.builtin and not a.service]
    enabled = [a for a in accounts if a.enabled]
    reviewed = {(r["system"], r["account_id"]): r for r in company.reviews if r["period"] == period.label}
    signed_off = {r["system"]: r["signed_off_at"] for r in company.reviews if r["period"] == period.label}

    def existed_at_sign_off(account: Account) -> bool:
        created, signed = _shown(account, "created_at", exports), signed_off.get(account.system)
        return created is None or signed is None or created <= signed

    in_review = [a for a in enabled if existed_at_sign_off(a)]
    records_creation = {a.system for a in accounts if _shown(a, "created_at", exports) is not None}
    revoked = [a for a in accounts if reviewed.get((a.system, a.account_id), {}).get("decision") == "revoke"]

    in_period = [d for d in company.deployments if period.start <= d.deployed_at.date() < end]
    tickets = {t.ticket_id: t for t in company.tickets}
    deployed = [tickets[i] for i in dict.fromkeys(d.ships for d in in_period) if i in tickets]
    hires = [p for p in company.people if period.start <= p.hire_date <= period.end]
    active = {"active", "leave"} if exports.leave_shown_active else {"active"}
    staff = [p for p in company.people if p.status in active and not left(p) and p.hire_date < period.start]
    shown_status = Counter("active" if p.status == "leave" and exports.leave_shown_active else p.status
                           for p in company.people)
    with_enabled = sorted({a.system for a in enabled})
    system_checks = [(s, rule) for s in with_enabled for rule in ("no_dormant_accounts", "no_account_before_hire")
                     if (rule, s) not in exports.scoped_out]

    findings = [f for f in company.vulnerabilities if in_population(f, period)]

    return [
        (INTEGRITY, "dates_plausible", _dates(company, exports),
         "date values in every export (hire, termination, account, ticket, deployment, training, screening, "
         "review, registry, vulnerability finding and asset scan dates)"),
        (INTEGRITY, "hire_before_termination", sum(p.termination_date is not None for p in company.people),
         "people in the HR roster with a termination date"),
        (INTEGRITY, "terminated_has_date", shown_status["terminated"],
         "people the HR roster shows as terminated"),
        (INTEGRITY, "training_status_read", len(company.training), "training records"),
        (INTEGRITY, "training_not_before_hire",
         sum(t["employee_id"] in people for t in company.training), "training records of people in the roster"),
        (INTEGRITY, "people_records_resolved", len(company.training) + len(company.background),
         "training and screening records"),
        (INTEGRITY, "system_dates_present", len(system_checks),
         "systems with enabled accounts, times the login and creation columns judged on them (less scoped out)"),
        (INTEGRITY, "review_signed_off", len(company.reviews), "access review decisions"),
        ("CC1.4", "background_check_before_hire", len(hires), "people hired in the period"),
        ("CC2.2", "training_within_due_days", len(hires), "people hired in the period"),
        ("CC2.2", "annual_training_current", len(staff),
         "people the HR roster shows active, not terminated by the export date, hired before the period"),
        ("CC6.1", "mfa_enabled", count("mfa_enabled", human),
         "enabled accounts, less built-in and registered service accounts"),
        ("CC6.1", "account_id_unique", count("account_id_unique", accounts), "accounts in every export"),
        ("CC6.1", "no_generic_accounts", count("no_generic_accounts", human + [a for a in accounts if a.builtin]),
         "enabled accounts less built-in and registered service accounts, and the built-in root accounts"),
        ("CC6.2", "no_orphan_accounts", count("no_orphan_accounts", human),
         "enabled accounts, less built-in and registered service accounts"),
        ("CC6.2", "no_account_before_hire",
         count("no_account_before_hire", [a for a in accounts if owner(a) and a.system in records_creation]),
         "accounts of people, on systems whose export records creation times (less scoped out)"),
        ("CC6.2", "terminated_accounts_disabled", count("terminated_accounts_disabled",
                                                        [a for a in accounts if left(owner(a))]),
         "accounts of people terminated on or before the export date"),
        ("CC6.2", "deprovisioned_within_sla", count("deprovisioned_within_sla", [
            a for a in accounts if not a.enabled and (p := owner(a)) and p.termination_date
            and period.start <= p.termination_date <= period.end]),
         "disabled accounts of people terminated in the period (less scoped out)"),
        ("CC6.3", "account_in_access_review", count("account_in_access_review", in_review),
         "enabled accounts that existed at the review's sign-off, on systems in review scope"),
        ("CC6.3", "revoked_accounts_disabled", count("revoked_accounts_disabled", revoked),
         "accounts the reviewer marked revoke"),
        ("CC6.3", "admin_roles_approved", count("admin_roles_approved", [a for a in in_review if a.is_admin]),
         "enabled admin accounts that existed at sign-off, on systems whose admin roles are in scope"),
        ("CC6.3", "no_dormant_accounts", count("no_dormant_accounts", enabled),
         "enabled accounts, on systems judged for dormancy"),
        ("CC8.1", "deployment_has_ticket", len(in_period), "production deployments in the period"),
        ("CC8.1", "approver_independent", len(deployed), "tickets deployed in the period"),
        ("CC8.1", "approved_before_deploy", sum(t.change_type != "emergency" for t in deployed),
         "standard and normal tickets deployed in the period"),
        ("CC8.1", "emergency_retro_approval", sum(t.change_type == "emergency" for t in deployed),
         "emergency tickets deployed in the period"),
        ("CC8.1", "testing_evidence", len(deployed), "tickets deployed in the period"),
        ("CC7.1", "vulnerabilities_remediated_within_sla", sum(f.state != "open" for f in findings),
         "critical and high findings open at any time in the period, fixed or dismissed by the export"),
        ("CC7.1", "no_vulnerability_open_past_sla", sum(f.state == "open" for f in findings),
         "critical and high findings open at any time in the period, still open at the export"),
        ("CC7.1", "finding_on_asset_in_scope", len(findings),
         "critical and high findings open at any time in the period"),
        ("CC7.1", "assets_scanned_within_interval", sum(a.in_scope for a in company.assets),
         "assets of the inventory in scope"),
    ]


def _dates(company: Company, exports: Exports) -> int:
    """Every date value the exports carry: what the integrity rule dates_plausible looks at."""
    people = sum(1 + (p.termination_date is not None) for p in company.people)
    accounts = sum(_shown(a, fact, exports) is not None for a in company.accounts for fact in ACCOUNT_DATES)
    tickets = sum(v is not None for t in company.tickets for v in (t.created_at, t.approved_at, t.resolved_at))
    return (people + accounts + tickets + len(company.deployments) + len(company.training)
            + sum(b["completed_at"] is not None for b in company.background)
            + 2 * len(company.reviews) + len(company.service_registry)
            + sum(1 + (f.fixed_at is not None) + (f.dismissed_at is not None) for f in company.vulnerabilities)
            + sum(a.last_scanned_at is not None for a in company.assets))


__all__ = ["POPULATION_COLUMNS", "POPULATION_FILE", "Exports", "expected_populations"]
