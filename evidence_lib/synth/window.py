"""One synthetic company over a Type 2 window: drawn once, then cut into each period's exports.

`build_company` draws a company for one period, and its random stream depends on the period's
length: two periods drawn apart are two unrelated companies. Here the company is drawn once for the
whole window (people with hire and termination dates over it, accounts with creation and disabling
times, tickets, deployments, training), clean by construction; each period's exports are then cut
from that timeline as of the period's export time (people hired by then, accounts created by then,
enabled unless disabled by then, last logins as seen then, deployments and tickets done by then).

Exceptions are planted on keys that persist, so the same key can recur, be remediated (still in the
rule's population in the next period, no longer an exception) or appear new; one period of the window
gets no evidence at all. What was planted is the ground truth of the window: each period's folder
carries its expected_exceptions.csv, and the window's folder carries EXPECTED_WINDOW_FILE, written
from the plan (never from running anything on the exports):

    kind,control,rule,system,record_key,from_period,to_period
    recurring|remediated|new  an exception between two consecutive periods that both have evidence
    gap                       a period without evidence (from_period = to_period = the period)
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from itertools import pairwise
from pathlib import Path

from evidence_lib.errors import EvidenceError
from evidence_lib.period import Period, parse_period
from evidence_lib.synth.company import DOMAIN, Account, Company, Person, _Builder, _Pools, at
from evidence_lib.synth.vulnerabilities import SCAN_INTERVAL_DAYS, Asset, _Findings
from evidence_lib.synth.writers import _write_csv, write_company

EXPECTED_WINDOW_FILE = "expected_window.csv"
EXPECTED_WINDOW_COLUMNS = ["kind", "control", "rule", "system", "record_key", "from_period", "to_period"]
RECURRING, REMEDIATED, NEW, GAP = "recurring", "remediated", "new", "gap"
DORMANT_DAYS = 90  # the catalog's dormant_days default, written here independently
TECHNICAL = ("Engineering", "IT")


def period_range(text: str) -> list[Period]:
    """2026-Q1..2026-Q4 (or 2026-01..2026-06): every quarter (month) from the first to the last."""
    match = re.fullmatch(r"\s*(\S+?)\.\.(\S+?)\s*", str(text))
    first, last = (parse_period(match[1]), parse_period(match[2])) if match else (None, None)
    kind = _kind(first) if first else None
    if kind is None or _kind(last) != kind or last.start < first.start:
        raise EvidenceError(f"--periods {text!r}: give the first and last quarter (2026-Q1..2026-Q4) or month "
                            "(2026-01..2026-06) of the window, the first not after the last")
    periods, day = [], first.start
    while day <= last.end:
        period = parse_period(f"{day.year}-Q{(day.month - 1) // 3 + 1}" if kind == "quarter"
                              else f"{day.year}-{day.month:02d}")
        periods.append(period)
        day = period.end + timedelta(days=1)
    return periods


def _kind(period: Period) -> str | None:
    return "quarter" if "Q" in period.label else "month" if re.fullmatch(r"\d{4}-\d{2}", period.label) else None


@dataclass
class Planted:
    """One planted exception key and the periods (labels) in which it is an exception."""

    control: str
    rule: str
    system: str
    record_key: str
    periods: frozenset[str]


@dataclass
class WindowCompany:
    """The company's exports per period with evidence, the period without, and what was planted."""

    periods: list[Period]  # the whole window, in order
    missing: str  # the period whose evidence is missing
    companies: dict[str, Company]  # period label -> the company as its exports show it
    planted: list[Planted] = field(default_factory=list)

    def expected(self) -> list[tuple[str, str, str, str, str, str, str]]:
        """The window's ground truth: what changed between consecutive periods with evidence, and the gaps."""
        rows = []
        for before, after in pairwise(p.label for p in self.periods):
            if before not in self.companies or after not in self.companies:
                continue
            for p in self.planted:
                kind = {(True, True): RECURRING, (True, False): REMEDIATED, (False, True): NEW}.get(
                    (before in p.periods, after in p.periods))
                if kind:
                    rows.append((kind, p.control, p.rule, p.system, p.record_key, before, after))
        rows += [(GAP, "", "", "", "", p.label, p.label) for p in self.periods if p.label not in self.companies]
        return sorted(rows)


class _WindowBuilder(_Builder):
    """The single-period builder, drawing over the window; tickets and reviews are the work of engineers
    employed since before the window, so that every period's roster knows them."""

    def __init__(self, rng: random.Random, period: Period, exported_at: datetime, settled):
        super().__init__(rng, period, exported_at)
        self.settled = settled  # the window's first day

    def _active_engineers(self) -> list[Person]:
        return [p for p in self.people if p.status == "active" and p.department in TECHNICAL
                and p.hire_date < self.settled]


def _exported_at(period: Period) -> datetime:
    return at(period.end + timedelta(days=1), 6)


def build_window(people_count: int, periods: list[Period], seed: int = 7, missing: str | None = None
                 ) -> WindowCompany:
    """The company over `periods`, cut per period; `missing` (default: the last period) gets no evidence."""
    labels = [p.label for p in periods]
    missing = labels[-1] if missing is None else parse_period(missing).label
    if len(periods) < 3 or missing not in labels:
        raise EvidenceError(f"a window of at least three periods, one of them missing, is needed: got {labels} "
                            f"with {missing} missing")
    evidenced = [p for p in periods if p.label != missing]
    window = Period(f"{periods[0].start}..{periods[-1].end}", periods[0].start, periods[-1].end)
    rng = random.Random(seed)
    builder = _WindowBuilder(rng, window, _exported_at(window), window.start)
    builder.hire_people(people_count)
    pools = _Pools(rng, builder.people)
    leavers = _plant_leavers(builder, pools, evidenced)
    for person in builder.people:  # a leaver's accounts are disabled by the export of their period
        if person.termination_date is not None and any(person.termination_date == p.end for p in periods):
            person.termination_date -= timedelta(days=1)
    builder.baseline()
    _training_timeline(builder)
    _emergency_changes(builder, evidenced)
    cut_times = [_exported_at(p) for p in periods]
    builder.tickets, builder.deployments = _settled_changes(builder, cut_times)
    owned = {(a.system, a.owner): a for a in builder.accounts if a.owner}
    overrides: dict[tuple[str, str], dict[str, dict]] = {}
    planted = _plant_leaver_accounts(owned, leavers, evidenced)
    planted += _plant_access(builder, pools, owned, evidenced, overrides)
    revoked = _revocations(builder, pools, owned, evidenced)
    companies = {}
    for index, period in enumerate(periods):
        if period.label != missing:
            companies[period.label] = _cut(builder, period, seed, index, overrides, planted, revoked)
    return WindowCompany(periods, missing, companies, planted)


def _plant_leavers(builder: _WindowBuilder, pools: _Pools, evidenced: list[Period]) -> list[Person]:
    """Someone leaves in every period with evidence (their accounts disabled in time), and two people with
    only an Okta account leave: one in the first period with evidence (their account is left enabled until
    the last), one in the last (left enabled)."""
    managers = {p.manager_id for p in builder.people}
    settled = builder.period.start - timedelta(days=60)
    employed = lambda p: p.status == "active" and p.hire_date < settled and p.employee_id not in managers
    only_okta = lambda p: employed(p) and p.department not in (*TECHNICAL, "Finance")
    leavers = []
    for period in (evidenced[0], evidenced[-1]):
        person = pools.take(only_okta, "a leaver whose account stays enabled")
        person.status = "terminated"
        person.termination_date = period.start + timedelta(days=(period.end - period.start).days // 3)
        leavers.append(person)
    for period in evidenced:  # and one who leaves in each period, every account disabled in time
        person = pools.take(employed, "a leaver")
        person.status = "terminated"
        person.termination_date = period.start + timedelta(days=(period.end - period.start).days // 2)
    return leavers


def _plant_leaver_accounts(owned: dict, leavers: list[Person], evidenced: list[Period]) -> list[Planted]:
    """CC6.2 terminated_accounts_disabled: the first leaver's account is disabled halfway through the last
    period with evidence (remediated, and still in the population: it is a leaver's account); the second's
    never is (new)."""
    planted = []
    last = evidenced[-1]
    fixed = at(last.start + timedelta(days=(last.end - last.start).days // 2), 11)
    for person, disabled in zip(leavers, (fixed, None)):
        account = owned[("okta", person.employee_id)]
        account.enabled, account.disabled_at = disabled is None, disabled
        if disabled:
            account.last_login_at = disabled - timedelta(days=1)
        periods = frozenset(p.label for p in evidenced if person.termination_date <= p.end
                            and (disabled is None or disabled > _exported_at(p)))
        planted.append(Planted("CC6.2", "terminated_accounts_disabled", "okta", account.account_id, periods))
    return planted


def _plant_access(builder: _WindowBuilder, pools: _Pools, owned: dict, evidenced: list[Period],
                  overrides: dict) -> list[Planted]:
    """CC6.1 mfa_enabled: one account without MFA all window (recurring), one enrolled after the first period
    (remediated), one without MFA from the second period on (new). CC6.3 no_dormant_accounts: one account
    dormant at the first period's export that signs in again (remediated), one whose sign-ins stop (new,
    then recurring)."""
    start = builder.period.start
    staff = lambda p: p.status == "active" and p.hire_date < start - timedelta(days=200)
    engineer = lambda p: staff(p) and p.department in TECHNICAL
    labels = [p.label for p in evidenced]
    planted = []

    def plant(control: str, rule: str, account: Account, periods: list[str], **fields) -> None:
        for label in periods:
            overrides.setdefault((account.system, account.account_id), {}).setdefault(label, {}).update(fields)
        planted.append(Planted(control, rule, account.system, account.account_id, frozenset(periods)))

    for system, pick, periods in (("okta", staff, labels), ("okta", staff, labels[:1]),
                                  ("aws-prod", engineer, labels[1:])):
        account = owned[(system, pools.take(pick, "an account without MFA").employee_id)]
        plant("CC6.1", "mfa_enabled", account, periods, mfa=False)

    first_export = _exported_at(evidenced[0])
    account = owned[("okta", pools.take(staff, "a dormant account").employee_id)]
    plant("CC6.3", "no_dormant_accounts", account, labels[:1], last_login_at=first_export - timedelta(days=120))
    stopped = _exported_at(evidenced[1]) - timedelta(days=DORMANT_DAYS + 10)
    account = owned[("okta", pools.take(staff, "an account no longer used").employee_id)]
    dormant = [p.label for p in evidenced if _exported_at(p) - stopped > timedelta(days=DORMANT_DAYS)]
    signed_in = [p.label for p in evidenced if _exported_at(p) >= stopped]
    plant("CC6.3", "no_dormant_accounts", account, dormant)
    for label in signed_in:  # its last sign-in, seen from every export after it
        overrides.setdefault((account.system, account.account_id), {}).setdefault(label, {})["last_login_at"] = \
            stopped
    return planted


def _revocations(builder: _WindowBuilder, pools: _Pools, owned: dict, evidenced: list[Period]
                 ) -> dict[str, tuple[str, str]]:
    """Each period's access review revokes one Okta account, disabled the day after (never an exception): the
    account stays disabled, so later reviews leave it out."""
    start = builder.period.start
    staff = lambda p: p.status == "active" and p.hire_date < start - timedelta(days=200) and \
        not owned[("okta", p.employee_id)].is_admin
    revoked = {}
    for period in evidenced:
        account = owned[("okta", pools.take(staff, "an account revoked in the review").employee_id)]
        account.enabled, account.disabled_at = False, at(period.end - timedelta(days=3), 10)
        account.last_login_at = account.disabled_at - timedelta(days=1)
        revoked[period.label] = (account.system, account.account_id)
    return revoked


def _emergency_changes(builder: _WindowBuilder, evidenced: list[Period]) -> None:
    """An emergency change in each period, approved within a day of its deployment (never an exception)."""
    engineers = builder._active_engineers()
    by_email = {e.email: e for e in engineers}
    for period in evidenced:
        when = at(period.start + timedelta(days=(period.end - period.start).days // 2), 22, 40)
        ticket = builder._new_ticket("jira", when, "emergency", engineers)
        builder._deploy(ticket, when, "github", by_email[ticket.implementer])


def _training_timeline(builder: _WindowBuilder) -> None:
    """Security awareness training once within two weeks of hire, then at most 360 days apart while employed."""
    rng, floor = builder.rng, builder.period.start - timedelta(days=800)
    builder.training = []
    for person in builder.people:
        done = at(person.hire_date + timedelta(days=rng.randint(1, 14)), rng.randint(9, 17))
        while done <= builder.exported_at and (person.termination_date is None
                                               or done.date() <= person.termination_date):
            if done.date() >= floor:
                builder._train(person, done)
            done += timedelta(days=rng.randint(300, 360))


def _settled_changes(builder: _WindowBuilder, cut_times: list[datetime]) -> tuple[list, list]:
    """Tickets (and their deployments) whose life spans no export time: every export sees each change either
    finished or not begun, as the single-period company does."""
    dates: dict[str, list[datetime]] = {}
    for ticket in builder.tickets:
        dates[ticket.ticket_id] = [d for d in (ticket.created_at, ticket.approved_at, ticket.resolved_at) if d]
    for deployment in builder.deployments:
        dates.setdefault(deployment.ships, []).append(deployment.deployed_at)
    spanning = {key for key, when in dates.items() if any(min(when) <= t < max(when) for t in cut_times)}
    return ([t for t in builder.tickets if t.ticket_id not in spanning],
            [d for d in builder.deployments if d.ships not in spanning])


def _cut(builder: _WindowBuilder, period: Period, seed: int, index: int, overrides: dict,
         planted: list[Planted], revoked: dict[str, tuple[str, str]]) -> Company:
    """The company as its exports show it at the period's export time."""
    exported_at = _exported_at(period)
    rng = random.Random(seed * 1000 + index + 1)  # this period's own draws: logins, review dates, findings
    people = [_person_then(p, period) for p in builder.people if p.hire_date <= period.end]
    known = {p.employee_id for p in people}
    accounts = []
    for account in builder.accounts:
        if (account.owner and account.owner not in known) or (account.created_at and account.created_at > exported_at):
            continue
        then = replace(account)
        if then.disabled_at is not None and then.disabled_at > exported_at:
            then.enabled, then.disabled_at = True, None
        if then.enabled and then.last_login_at is not None:  # systems whose export records sign-ins
            then.last_login_at = exported_at - timedelta(days=rng.randint(0, 20), hours=rng.randint(1, 20))
        for name, value in overrides.get((account.system, account.account_id), {}).get(period.label, {}).items():
            setattr(then, name, value)
        accounts.append(then)
    present = {(a.system, a.account_id) for a in accounts}
    cut = _WindowBuilder(rng, period, exported_at, builder.settled)
    cut.people, cut.accounts = people, accounts
    cut.review_decisions = {revoked[period.label]: "revoke"}
    company = Company(
        period=period, exported_at=exported_at, review_signed_off=cut.review_signed_off, people=people,
        accounts=accounts, service_registry=builder.registry, reviews=cut._review_rows(),
        aliases=[a for a in builder.aliases if (a["system"], a["account_id"]) in present],
        tickets=[t for t in builder.tickets if t.created_at <= exported_at],
        deployments=[d for d in builder.deployments if d.deployed_at <= exported_at],
        background=[b for b in builder.background.values() if b["employee_id"] in known],
        training=[t for t in builder.training if t["employee_id"] in known and t["completed_at"] <= exported_at],
        expected=sorted({(p.control, p.rule, p.system, p.record_key) for p in planted if period.label in p.periods}),
        near_misses=sorted(set(builder.near)),
    )
    _add_clean_findings(company, rng.randrange(10 ** 6))
    return company


def _person_then(person: Person, period: Period) -> Person:
    """The HR roster's row as of the period's end: a termination still to come is not known yet."""
    if person.termination_date is None or person.termination_date <= period.end:
        return person
    return replace(person, status="active", termination_date=None)


def _add_clean_findings(company: Company, seed: int) -> None:
    """The period's vulnerability findings, every one within its deadline, on an inventory scanned in time."""
    organisation = DOMAIN.split(".")[0]
    repositories = [f"{organisation}/{name}" for name in ("api", "web", "billing-service", "infra")]
    hosts = [f"{name}.{DOMAIN}" for name in ("web-01", "web-02", "db-01", "bastion", "worker-01")]
    findings = _Findings(company, seed, repositories, hosts)
    findings.baseline(60)
    export_day = company.exported_at.date()
    company.vulnerabilities = findings.findings
    company.assets = [Asset(a, "repository" if "/" in a else "host", True, "platform-team",
                            at(export_day - timedelta(days=findings.rng.randint(0, SCAN_INTERVAL_DAYS - 2)),
                               findings.rng.randint(0, 5))) for a in (*repositories, *hosts)]


def write_window(window: WindowCompany, out: Path) -> None:
    """One evidence folder per period with evidence (out/<period>/), and the window's expected file."""
    out.mkdir(parents=True, exist_ok=True)
    for label, company in window.companies.items():
        write_company(company, out / label)
    _write_csv(out / EXPECTED_WINDOW_FILE, EXPECTED_WINDOW_COLUMNS, window.expected())


__all__ = ["EXPECTED_WINDOW_COLUMNS", "EXPECTED_WINDOW_FILE", "WindowCompany", "build_window", "period_range",
           "write_window"]
