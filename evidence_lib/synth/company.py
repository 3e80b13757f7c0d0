"""A synthetic company for one audit period, with planted control violations.

The company is built clean by construction (every rule passes), then violations are
planted one by one on people and records used by nothing else, each recorded in the
expected-exceptions list. Near-misses — cases on a rule's boundary that must *not* be
flagged — are planted the same way and recorded apart, so a reader can find them.
"""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from evidence_lib.period import Period

DOMAIN = "northwind.example"
TRAINING_COURSE = "Security Awareness Training"
REVIEWED_SYSTEMS = ("okta", "aws-prod", "github")

FIRST = ["Ada", "Ben", "Chloé", "Dmitri", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jonas", "Kemi", "Liam",
         "Maya", "Nikhil", "Olga", "Pablo", "Quinn", "Rosa", "Sven", "Tara", "Uma", "Victor", "Wen", "Ximena",
         "Yusuf", "Zoë", "José", "Anaïs", "Björn", "Renée", "Omar", "Priya", "Noah", "Leila", "Marco", "Sofia"]
LAST = ["Adler", "Brooks", "Castillo", "Dubois", "Eriksen", "Fischer", "García", "Haddad", "Ito", "Jensen",
        "Kowalski", "Lindqvist", "Müller", "Novak", "Okafor", "Patel", "Quintero", "Rossi", "Schmidt", "Tanaka",
        "Ueda", "Varga", "Weber", "Xu", "Yamamoto", "Zielinski", "Núñez", "Larsen", "Moreau", "Singh"]
DEPARTMENTS = [("Engineering", 0.40), ("Sales", 0.15), ("Customer Success", 0.12), ("Finance", 0.08),
               ("People", 0.05), ("IT", 0.06), ("Marketing", 0.08), ("Legal", 0.03), ("Product", 0.03)]


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower().replace(" ", "")


def at(day: date, hour: int = 9, minute: int = 0, second: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute, second), tzinfo=UTC)


@dataclass
class Person:
    employee_id: str
    first: str
    last: str
    email: str
    worker_type: str
    department: str
    title: str
    manager_id: str
    status: str
    hire_date: date
    termination_date: date | None = None
    github_login: str | None = None

    @property
    def name(self) -> str:
        return f"{self.first} {self.last}"

    @property
    def local(self) -> str:
        return self.email.split("@")[0]


@dataclass
class Account:
    system: str
    account_id: str
    owner: str | None  # employee_id; None for service, built-in and orphan accounts
    email: str | None
    display_name: str
    enabled: bool
    created_at: datetime | None
    last_login_at: datetime | None
    mfa: bool = True
    is_admin: bool = False
    disabled_at: datetime | None = None
    builtin: bool = False
    service: bool = False
    email_as_exported: str | None = None  # messy spelling of the e-mail in the export


@dataclass
class Ticket:
    ticket_id: str
    tracker: str  # jira | servicenow
    title: str
    change_type: str
    author: str
    implementer: str
    approver: str | None
    created_at: datetime
    approved_at: datetime | None
    resolved_at: datetime | None
    testing_evidence: str
    author_as_exported: str | None = None
    approver_as_exported: str | None = None


@dataclass
class Deployment:
    deploy_id: str
    source: str  # github | deploylog
    deployed_at: datetime
    repository: str
    author: str  # github login or e-mail
    deployed_by: str
    title: str
    body: str
    branch: str
    ticket: str  # deploy log: the ticket column
    number: int = 0
    ships: str = ""  # ground truth, never exported: the ticket this deployment ships ("" for none)


@dataclass
class Company:
    period: Period
    exported_at: datetime
    review_signed_off: datetime
    people: list[Person]
    accounts: list[Account]
    service_registry: list[dict]
    reviews: list[dict]
    aliases: list[dict]
    tickets: list[Ticket]
    deployments: list[Deployment]
    background: list[dict]
    training: list[dict]
    expected: list[tuple[str, str, str, str]] = field(default_factory=list)
    near_misses: list[tuple[str, str, str, str]] = field(default_factory=list)
    vulnerabilities: list = field(default_factory=list)  # synth.vulnerabilities.Finding
    assets: list = field(default_factory=list)  # synth.vulnerabilities.Asset: the scanned inventory


class _Pools:
    """Hands out people for planting; each person is used by at most one planting."""

    def __init__(self, rng: random.Random, people: list[Person]):
        self.rng = rng
        self.used: set[str] = set()
        self.people = people

    def take(self, predicate, what: str) -> Person:
        candidates = [p for p in self.people if p.employee_id not in self.used and predicate(p)]
        if not candidates:
            raise ValueError(f"the company is too small to plant {what}: generate more people")
        person = self.rng.choice(candidates)
        self.used.add(person.employee_id)
        return person


def build_company(people_count: int, period: Period, seed: int = 7) -> Company:
    rng = random.Random(seed)
    exported_at = at(period.end + timedelta(days=1), 6)
    builder = _Builder(rng, period, exported_at)
    builder.hire_people(people_count)
    builder.baseline()
    builder.plant()
    company = builder.company()
    # Drawn from a stream of their own: the findings leave every other export as it was.
    from evidence_lib.synth.vulnerabilities import add_vulnerabilities

    add_vulnerabilities(company, seed, DOMAIN.split(".")[0], DOMAIN)
    return company


class _Builder:
    def __init__(self, rng: random.Random, period: Period, exported_at: datetime):
        self.rng = rng
        self.period = period
        self.exported_at = exported_at
        self.export_day = exported_at.date()
        self.review_day = period.end - timedelta(days=4)
        self.review_signed_off = at(self.review_day, 17)
        self.late_hire_cutoff = period.end - timedelta(days=15)
        self.people: list[Person] = []
        self.accounts: list[Account] = []
        self.registry: list[dict] = []
        self.reviews: dict[tuple[str, str], dict] = {}
        self.review_skip: set[tuple[str, str]] = set()
        self.review_decisions: dict[tuple[str, str], str] = {}
        self.aliases: list[dict] = []
        self.tickets: list[Ticket] = []
        self.deployments: list[Deployment] = []
        self.background: dict[str, dict] = {}
        self.training: list[dict] = []
        self.expected: list[tuple[str, str, str, str]] = []
        self.near: list[tuple[str, str, str, str]] = []
        self._emails: set[str] = set()
        self._ticket_seq = {"jira": 100, "servicenow": 30000}
        self._pr_seq = 1000
        self._deploy_seq = 1

    # --- people ---------------------------------------------------------------------------

    def _day_between(self, first: date, last: date) -> date:
        return first + timedelta(days=self.rng.randint(0, max(0, (last - first).days)))

    def _unique_email(self, first: str, last: str) -> str:
        base = f"{_ascii(first)}.{_ascii(last)}"
        candidate, n = base, 1
        while candidate in self._emails:
            n += 1
            candidate = f"{base}{n}"
        self._emails.add(candidate)
        return f"{candidate}@{DOMAIN}"

    def hire_people(self, count: int) -> None:
        rng, p = self.rng, self.period
        departments, weights = zip(*DEPARTMENTS)
        for i in range(count):
            first, last = rng.choice(FIRST), rng.choice(LAST)
            department = rng.choices(departments, weights)[0]
            roll = rng.random()
            termination = None
            if roll < 0.12:
                status, hire = "active", self._day_between(p.start, self.late_hire_cutoff)
            elif roll < 0.22:
                status, hire = "terminated", self._day_between(date(2019, 1, 1), p.start - timedelta(days=60))
                termination = self._day_between(p.start, p.end - timedelta(days=1))
            elif roll < 0.25:
                status, hire = "terminated", self._day_between(date(2018, 1, 1), date(2024, 12, 31))
                termination = self._day_between(date(2025, 3, 1), p.start - timedelta(days=20))
            elif roll < 0.27:
                status, hire = "leave", self._day_between(date(2018, 1, 1), p.start - timedelta(days=60))
            else:
                status, hire = "active", self._day_between(date(2018, 1, 1), p.start - timedelta(days=30))
            self.people.append(Person(
                employee_id=f"E{10001 + i}",
                first=first, last=last,
                email=self._unique_email(first, last),
                worker_type="contractor" if rng.random() < 0.1 else "employee",
                department=department,
                title=f"{department} {'Lead' if rng.random() < 0.15 else 'Specialist'}",
                manager_id="",
                status=status,
                hire_date=hire,
                termination_date=termination,
            ))
        # The last hire joins the day before the period ends: after the access review, and
        # with new-hire training not yet due on the export date.
        late = self.people[-1]
        late.status, late.termination_date, late.department = "active", None, "Sales"
        late.hire_date = p.end - timedelta(days=1)
        leads = [x for x in self.people if x.status == "active" and x.hire_date < p.start] or self.people
        for person in self.people:
            manager = rng.choice(leads)
            person.manager_id = manager.employee_id if manager is not person else ""
            if person.department in ("Engineering", "IT"):
                person.github_login = f"{_ascii(person.first)}{_ascii(person.last)[:3]}-{person.employee_id[1:]}"

    # --- baseline: every rule passes ------------------------------------------------------

    def _login(self) -> datetime:
        return self.exported_at - timedelta(days=self.rng.randint(0, 20), hours=self.rng.randint(1, 20))

    def _created(self, person: Person) -> datetime:
        return at(person.hire_date + timedelta(days=self.rng.randint(0, 3)), self.rng.randint(8, 17))

    def _disabled(self, person: Person) -> datetime:
        return at(person.termination_date + timedelta(days=self.rng.randint(0, 1)), self.rng.randint(1, 22))

    def _account(self, system: str, account_id: str, person: Person, email: str | None) -> Account:
        gone = person.status == "terminated"
        return Account(
            system=system, account_id=account_id, owner=person.employee_id, email=email,
            display_name=person.name, enabled=not gone, created_at=self._created(person),
            last_login_at=(at(person.termination_date, 15) - timedelta(days=1)) if gone else self._login(),
            disabled_at=self._disabled(person) if gone else None,
        )

    def baseline(self) -> None:
        rng = self.rng
        for person in self.people:
            terminated_before = person.termination_date is not None and person.termination_date < self.period.start
            # Okta: everyone; long-gone people were deleted half of the time.
            if not (terminated_before and rng.random() < 0.5):
                account = self._account("okta", person.email, person, person.email)
                account.is_admin = person.department == "IT" and rng.random() < 0.3
                if rng.random() < 0.15:
                    account.email_as_exported = f" {person.email.title()}"
                self.accounts.append(account)
            technical = person.department in ("Engineering", "IT")
            if technical and person.status != "terminated":
                self.accounts.append(self._account("aws-prod", person.local, person, None))
                if rng.random() < 0.3:
                    self.accounts.append(self._account("aws-dev", person.local, person, None))
                gh = self._account("github", person.github_login, person, None)
                gh.created_at = gh.last_login_at = None  # GitHub's member list carries neither
                gh.is_admin = rng.random() < 0.05
                self.accounts.append(gh)
                self.aliases.append({"system": "github", "account_id": person.github_login, "email": person.email})
            # The draw happens whether or not the person has left: the random stream stays the same.
            if (person.department == "Finance" or (technical and rng.random() < 0.2)) and not terminated_before:
                account = self._account("billing-db", person.local, person, person.email)
                account.is_admin = rng.random() < 0.1
                self.accounts.append(account)
            self.background[person.employee_id] = {
                "employee_id": person.employee_id, "name": person.name, "status": "clear",
                "completed_at": person.hire_date - timedelta(days=rng.randint(3, 20)),
            }
            self._baseline_training(person)
        self._builtin_and_service_accounts()
        self._baseline_changes()

    def _baseline_training(self, person: Person) -> None:
        rng = self.rng
        if person.hire_date >= self.period.start:
            done = at(person.hire_date + timedelta(days=rng.randint(1, 14)), rng.randint(9, 17))
            if done <= self.exported_at:
                self._train(person, done)
            return
        for years_ago in (2, 1):
            done = self.exported_at - timedelta(days=rng.randint(20, 300) + 365 * years_ago)
            if done.date() > person.hire_date:
                self._train(person, done.replace(minute=0, second=0, microsecond=0))
        earliest = max(person.hire_date + timedelta(days=1), self.export_day - timedelta(days=300))
        self._train(person, at(self._day_between(earliest, self.export_day - timedelta(days=20)), rng.randint(9, 17)))
        if rng.random() < 0.5:
            self.training.append({"employee_id": person.employee_id, "email": person.email, "name": person.name,
                                  "course": "Code of Conduct", "completed_at": self._login(), "status": "Completed"})

    def _train(self, person: Person, when: datetime, course: str = TRAINING_COURSE) -> None:
        self.training.append({"employee_id": person.employee_id, "email": person.email, "name": person.name,
                              "course": course, "completed_at": when, "status": "Completed"})

    def _active_engineers(self) -> list[Person]:
        return [p for p in self.people if p.status == "active" and p.department in ("Engineering", "IT")]

    def _builtin_and_service_accounts(self) -> None:
        owner = self._active_engineers()[0]
        old = at(date(2019, 3, 4), 10)
        for system in ("aws-prod", "aws-dev"):
            self.accounts.append(Account(system, "<root_account>", None, None, "", enabled=False, created_at=old,
                                         last_login_at=at(date(2025, 2, 11), 8), builtin=True))
        services = [("okta", "admin-breakglass", "emergency access when SSO is down", True),
                    ("aws-prod", "svc-ci-deployer", "CI deploys to production", False),
                    ("aws-prod", "svc-terraform", "infrastructure as code", False),
                    ("github", "northwind-bot", "release automation", False),
                    ("billing-db", "svc-invoicing", "invoice batch job", False)]
        for system, account_id, purpose, admin in services:
            self.accounts.append(Account(system, account_id, None, None, purpose, enabled=True, created_at=old,
                                         last_login_at=None if system == "github" else self._login(), mfa=False,
                                         is_admin=admin, service=True))
            self.registry.append({"system": system, "account_id": account_id, "owner_email": owner.email,
                                  "purpose": purpose, "approved_by": owner.email, "approved_at": old.date()})
        # Registered, generic-looking and without MFA: none of that is an exception.
        self.near.append(("CC6.1", "no_generic_accounts", "okta", "admin-breakglass"))
        self.near.append(("CC6.1", "mfa_enabled", "aws-prod", "svc-ci-deployer"))

    def _engineer_trio(self, engineers):
        author, implementer, approver = self.rng.sample(engineers, 3)
        return author, implementer, approver

    def _new_ticket(self, tracker: str, deployed: datetime, change_type: str, engineers) -> Ticket:
        rng = self.rng
        self._ticket_seq[tracker] += 1
        number = self._ticket_seq[tracker]
        ticket_id = f"ENG-{number}" if tracker == "jira" else f"CHG{number:07d}"
        author, implementer, approver = self._engineer_trio(engineers)
        created = (deployed - timedelta(days=rng.randint(2, 10), hours=rng.randint(0, 8))).replace(second=0)
        if change_type == "emergency":
            approved = deployed + timedelta(hours=rng.randint(2, 30))
        else:
            approved = deployed - timedelta(hours=rng.randint(2, 40))
        ticket = Ticket(ticket_id, tracker, f"Change {number}: {rng.choice(['API', 'billing', 'auth', 'infra'])} work",
                        change_type, author.email, implementer.email, approver.email, created,
                        approved.replace(second=0, microsecond=0), deployed + timedelta(hours=2),
                        f"CI pipeline run {rng.randint(10000, 99999)} passed; peer test notes attached")
        self.tickets.append(ticket)
        return ticket

    def _deploy(self, ticket: Ticket | None, when: datetime, source: str, engineer: Person, ref: str | None = None):
        key = ticket.ticket_id if ticket else ""
        ref = key if ref is None else ref
        if source == "github":
            self._pr_seq += 1
            deploy = Deployment(f"northwind/{'api' if self._pr_seq % 2 else 'web'}#{self._pr_seq}", "github", when,
                                f"northwind/{'api' if self._pr_seq % 2 else 'web'}", engineer.github_login,
                                engineer.github_login, f"{ref}: {ticket.title if ticket else 'update'}",
                                "Tested in staging.", f"feature/{ref.lower() or 'misc'}-work", "",
                                number=self._pr_seq)
        else:
            self._deploy_seq += 1
            deploy = Deployment(f"DEP-{self._deploy_seq:06d}", "deploylog", when, "infra", engineer.email,
                                engineer.email, "", "", "", ref)
        deploy.ships = key
        self.deployments.append(deploy)
        return deploy

    def _baseline_changes(self) -> None:
        rng, p = self.rng, self.period
        engineers = self._active_engineers()
        by_email = {e.email: e for e in engineers}
        if len(engineers) < 6:
            raise ValueError("the company is too small: it needs at least 6 active engineers")
        days = (p.end - p.start).days
        count = max(60, len(self.people) * 2)
        for _ in range(count):
            when = at(p.start + timedelta(days=rng.randint(1, days - 1)), rng.randint(8, 20), rng.randint(0, 59),
                      rng.randint(0, 59))
            tracker = "jira" if rng.random() < 0.75 else "servicenow"
            change_type = rng.choices(["normal", "standard", "emergency"], [0.6, 0.35, 0.05])[0]
            ticket = self._new_ticket(tracker, when, change_type, engineers)
            engineer = by_email[ticket.implementer]
            self._deploy(ticket, when, "github" if tracker == "jira" else "deploylog", engineer)
            if rng.random() < 0.15:  # a follow-up deploy under the same ticket
                later = when + timedelta(hours=rng.randint(1, 30))
                self._deploy(ticket, later, "github" if tracker == "jira" else "deploylog", engineer)
        # Backlog tickets never deployed are not in the population, whatever they lack.
        backlog = self._new_ticket("jira", at(p.end, 12), "normal", engineers)
        backlog.approver, backlog.approved_at, backlog.testing_evidence = None, None, ""

    # --- planting -------------------------------------------------------------------------

    def _flag(self, control: str, rule: str, system: str, key: str) -> None:
        self.expected.append((control, rule, system, key))

    def _find(self, system: str, owner: Person) -> Account:
        return self._owned[(system, owner.employee_id)]

    def _has(self, system: str, owner: Person) -> bool:
        return (system, owner.employee_id) in self._owned

    def plant(self) -> None:
        # Planting looks accounts up by owner; index them once (the baseline gives one per system).
        self._owned = {(a.system, a.owner): a for a in self.accounts if a.owner}
        pools = _Pools(self.rng, self.people)
        late = self.people[-1]
        pools.used.add(late.employee_id)
        self._find("okta", late).created_at = at(late.hire_date, 10)
        self.training = [t for t in self.training if t["employee_id"] != late.employee_id]
        self.near.append(("CC6.3", "account_in_access_review", "okta", late.email))
        self.near.append(("CC2.2", "training_within_due_days", "", late.employee_id))
        self._plant_access(pools)
        self._plant_offboarding(pools)
        self._plant_people_rules(pools)
        self._plant_changes()

    def _plant_access(self, pools: _Pools) -> None:
        start = self.period.start
        existing = lambda p: p.status == "active" and p.hire_date < start - timedelta(days=10)
        engineer = lambda p: existing(p) and p.department in ("Engineering", "IT")
        non_admin = lambda s: lambda p: existing(p) and not self._find(s, p).is_admin
        eng_non_admin = lambda s: lambda p: engineer(p) and not self._find(s, p).is_admin

        # CC6.1 mfa_enabled
        for system, pick in (("okta", existing), ("okta", existing), ("okta", existing),
                             ("aws-prod", engineer), ("aws-prod", engineer), ("github", eng_non_admin("github")),
                             ("github", eng_non_admin("github"))):
            account = self._find(system, pools.take(pick, "missing MFA"))
            account.mfa = False
            self._flag("CC6.1", "mfa_enabled", system, account.account_id)
        suspended = self._find("okta", pools.take(existing, "a suspended account without MFA"))
        suspended.mfa, suspended.enabled, suspended.disabled_at = False, False, at(start + timedelta(days=20))
        self.near.append(("CC6.1", "mfa_enabled", "okta", suspended.account_id))

        # CC6.1 account_id_unique: the same id twice in one system
        finance = lambda p: existing(p) and self._has("billing-db", p)
        for _ in range(2):
            account = self._find("billing-db", pools.take(finance, "a duplicate account id"))
            twin = Account(**{**account.__dict__})
            twin.created_at = account.created_at + timedelta(days=40)
            self.accounts.append(twin)
            self._flag("CC6.1", "account_id_unique", "billing-db", account.account_id)

        # CC6.1 no_generic_accounts (generic and ownerless, so orphans as well) and root in use
        old = at(date(2023, 5, 2), 11)
        for system, account_id, email in (("okta", f"shared.support@{DOMAIN}", f"shared.support@{DOMAIN}"),
                                          ("billing-db", "test", None)):
            self.accounts.append(Account(system, account_id, None, email, "Shared", True, old, self._login()))
            self._flag("CC6.1", "no_generic_accounts", system, account_id)
            self._flag("CC6.2", "no_orphan_accounts", system, account_id)
        root = next(a for a in self.accounts if a.system == "aws-prod" and a.builtin)
        root.last_login_at = at(start + timedelta(days=33), 3, 12)
        self._flag("CC6.1", "no_generic_accounts", "aws-prod", "<root_account>")
        self.near.append(("CC6.1", "no_generic_accounts", "aws-dev", "<root_account>"))

        # CC6.2 no_orphan_accounts
        for system, account_id, email in (("okta", "former.vendor@partner.example", "former.vendor@partner.example"),
                                          ("aws-prod", "legacy.migration", None), ("github", "ghost-dev-77", None)):
            self.accounts.append(Account(system, account_id, None, email, "", True,
                                         None if system == "github" else old,
                                         None if system == "github" else self._login()))
            self._flag("CC6.2", "no_orphan_accounts", system, account_id)
        messy = next(a for a in self.accounts if a.system == "okta" and a.email_as_exported and a.enabled)
        self.near.append(("CC6.2", "no_orphan_accounts", "okta", messy.account_id))

        # CC6.2 no_account_before_hire
        hired = lambda p: p.status == "active" and p.hire_date >= start and p.hire_date <= self.late_hire_cutoff
        for system, days in (("okta", 5), ("okta", 5)):
            person = pools.take(hired, "an account created before hire")
            account = self._find(system, person)
            account.created_at = at(person.hire_date - timedelta(days=days), 14)
            self._flag("CC6.2", "no_account_before_hire", system, account.account_id)
        person = pools.take(hired, "an account created on the hire date")
        account = self._find("okta", person)
        account.created_at = at(person.hire_date, 0, 30)
        self.near.append(("CC6.2", "no_account_before_hire", "okta", account.account_id))

        # CC6.3 account_in_access_review: left out of the review
        for pick in (non_admin("okta"), non_admin("okta")):
            account = self._find("okta", pools.take(pick, "an account missing from the review"))
            self.review_skip.add(("okta", account.account_id))
            self._flag("CC6.3", "account_in_access_review", "okta", account.account_id)
        self.review_skip.add(("aws-prod", "svc-terraform"))
        self._flag("CC6.3", "account_in_access_review", "aws-prod", "svc-terraform")

        # CC6.3 revoked_accounts_disabled
        for system, pick in (("okta", non_admin("okta")), ("aws-prod", engineer)):
            account = self._find(system, pools.take(pick, "a revoked account left enabled"))
            self.review_decisions[(system, account.account_id)] = "revoke"
            self._flag("CC6.3", "revoked_accounts_disabled", system, account.account_id)
        account = self._find("okta", pools.take(non_admin("okta"), "a revoked account that was disabled"))
        account.enabled, account.disabled_at = False, at(self.review_day + timedelta(days=1), 10)
        self.review_decisions[("okta", account.account_id)] = "revoke"
        self.near.append(("CC6.3", "revoked_accounts_disabled", "okta", account.account_id))

        # CC6.3 admin_roles_approved: reviewer asked to change the admin role; it was not
        for system, pick in (("okta", existing), ("github", engineer)):
            account = self._find(system, pools.take(pick, "an admin not approved"))
            account.is_admin = True
            self.review_decisions[(system, account.account_id)] = "modify"
            self._flag("CC6.3", "admin_roles_approved", system, account.account_id)
        account = self._find("okta", pools.take(existing, "an approved admin"))
        account.is_admin = True
        self.near.append(("CC6.3", "admin_roles_approved", "okta", account.account_id))

        # CC6.3 no_dormant_accounts (dormant_days = 90)
        for system, pick, days in (("okta", existing, 120), ("okta", existing, 200), ("billing-db", finance, 150)):
            account = self._find(system, pools.take(pick, "a dormant account"))
            account.last_login_at = self.exported_at - timedelta(days=days)
            self._flag("CC6.3", "no_dormant_accounts", system, account.account_id)
        long_ago = self.export_day - timedelta(days=210)
        account = self._find("aws-prod", pools.take(lambda p: engineer(p) and p.hire_date < long_ago,
                                                    "a never-used account"))
        account.last_login_at, account.created_at = None, self.exported_at - timedelta(days=200)
        self._flag("CC6.3", "no_dormant_accounts", "aws-prod", account.account_id)
        account = self._find("okta", pools.take(existing, "an account used 89 days ago"))
        account.last_login_at = self.exported_at - timedelta(days=89, hours=20)
        self.near.append(("CC6.3", "no_dormant_accounts", "okta", account.account_id))


    def _plant_offboarding(self, pools: _Pools) -> None:
        start = self.period.start
        left = lambda p: p.termination_date is not None and p.termination_date >= start
        left_eng = lambda p: left(p) and p.department in ("Engineering", "IT")
        left_finance = lambda p: left(p) and self._has("billing-db", p)

        # CC6.2 terminated_accounts_disabled: still enabled after termination
        person = pools.take(left, "a terminated person with an enabled account")
        account = self._find("okta", person)
        account.enabled, account.disabled_at, account.last_login_at = True, None, self._login()
        self._flag("CC6.2", "terminated_accounts_disabled", "okta", account.account_id)
        person = pools.take(left_eng, "a terminated engineer still in GitHub")
        self.accounts.append(Account("github", person.github_login, person.employee_id, None, person.name, True,
                                     None, None))
        self.aliases.append({"system": "github", "account_id": person.github_login, "email": person.email})
        self._flag("CC6.2", "terminated_accounts_disabled", "github", person.github_login)
        person = pools.take(lambda p: p.termination_date is not None and p.termination_date < start,
                            "a long-gone person whose AWS user is enabled")
        self.accounts.append(Account("aws-prod", person.local, person.employee_id, None, "", True,
                                     self._created(person), self._login()))
        self._flag("CC6.2", "terminated_accounts_disabled", "aws-prod", person.local)

        # CC6.2 deprovisioned_within_sla (1 day): disabled, but late
        for system, pick, days in (("okta", left, 3), ("okta", left, 5), ("okta", left, 12),
                                   ("billing-db", left_finance, 4)):
            person = pools.take(lambda p, pick=pick, days=days: pick(p) and
                                (self.period.end - p.termination_date).days > days, "a late deprovisioning")
            account = self._find(system, person)
            account.disabled_at = at(person.termination_date + timedelta(days=days), 11)
            self._flag("CC6.2", "deprovisioned_within_sla", system, account.account_id)
        person = pools.take(left, "a deprovisioning on the SLA boundary")
        account = self._find("okta", person)
        account.disabled_at = at(person.termination_date + timedelta(days=1), 23, 30)
        self.near.append(("CC6.2", "deprovisioned_within_sla", "okta", account.account_id))

    def _plant_people_rules(self, pools: _Pools) -> None:
        start, export_day = self.period.start, self.export_day
        hired = lambda p: p.status == "active" and start <= p.hire_date <= self.late_hire_cutoff
        due = lambda p: hired(p) and (export_day - p.hire_date).days > 45

        # CC1.4 background_check_before_hire
        person = pools.take(hired, "a missing background check")
        del self.background[person.employee_id]
        self._flag("CC1.4", "background_check_before_hire", "", person.employee_id)
        person = pools.take(hired, "a background check after hire")
        self.background[person.employee_id]["completed_at"] = person.hire_date + timedelta(days=3)
        self._flag("CC1.4", "background_check_before_hire", "", person.employee_id)
        person = pools.take(hired, "a pending background check")
        self.background[person.employee_id].update(status="pending", completed_at=None)
        self._flag("CC1.4", "background_check_before_hire", "", person.employee_id)
        person = pools.take(hired, "a background check on the hire date")
        self.background[person.employee_id]["completed_at"] = person.hire_date
        self.near.append(("CC1.4", "background_check_before_hire", "", person.employee_id))

        # CC2.2 training_within_due_days (30)
        def retrain(person: Person, days: int | None) -> None:
            self.training = [t for t in self.training
                             if not (t["employee_id"] == person.employee_id and t["course"] == TRAINING_COURSE)]
            if days is not None:
                self._train(person, at(person.hire_date + timedelta(days=days), 16))

        for days in (None, None, 45):
            person = pools.take(due, "late or missing new-hire training")
            retrain(person, days)
            self._flag("CC2.2", "training_within_due_days", "", person.employee_id)
        person = pools.take(due, "new-hire training on day 30")
        retrain(person, 30)
        self.near.append(("CC2.2", "training_within_due_days", "", person.employee_id))

        # CC2.2 annual_training_current (365 days before the export date)
        staff = lambda p: p.status == "active" and p.hire_date < start - timedelta(days=800)
        for _ in range(3):
            person = pools.take(staff, "lapsed annual training")
            self.training = [t for t in self.training if not (
                t["employee_id"] == person.employee_id and t["course"] == TRAINING_COURSE
                and (self.exported_at - t["completed_at"]).days <= 365)]
            self._train(person, self.exported_at - timedelta(days=400))
            self._flag("CC2.2", "annual_training_current", "", person.employee_id)
        person = pools.take(staff, "annual training 364 days ago")
        self.training = [t for t in self.training if not (
            t["employee_id"] == person.employee_id and t["course"] == TRAINING_COURSE)]
        self._train(person, self.exported_at - timedelta(days=364))
        self.near.append(("CC2.2", "annual_training_current", "", person.employee_id))

    def _plant_changes(self) -> None:
        rng = self.rng
        engineers = self._active_engineers()
        by_email = {e.email: e for e in engineers}
        deployed = {}
        for d in self.deployments:
            key = d.ticket or d.title.split(":")[0]
            deployed.setdefault(key, []).append(d)
        free = [t for t in self.tickets if t.ticket_id in deployed and t.approver]
        rng.shuffle(free)

        def take(tracker: str | None = None, change_type: str | None = None) -> Ticket:
            for ticket in free:
                if (tracker is None or ticket.tracker == tracker) and \
                        (change_type is None or ticket.change_type == change_type):
                    free.remove(ticket)
                    return ticket
            raise ValueError("the company is too small to plant change-management violations")

        def first_deploy(ticket: Ticket) -> datetime:
            return min(d.deployed_at for d in deployed[ticket.ticket_id])

        # CC8.1 deployment_has_ticket
        p = self.period
        for n in range(3):
            engineer = rng.choice(engineers)
            when = at(p.start + timedelta(days=10 + 20 * n), 15, 5)
            d = self._deploy(None, when, "github", engineer, ref="")
            d.title, d.body, d.branch = "Bump dependencies", "", f"dependabot/npm/lib-{n}"
            self._flag("CC8.1", "deployment_has_ticket", "", d.deploy_id)
        d = self._deploy(None, at(p.start + timedelta(days=40), 22), "deploylog", rng.choice(engineers),
                         ref="CHG0099999")
        self._flag("CC8.1", "deployment_has_ticket", "", d.deploy_id)
        for where in ("branch", "body"):
            ticket = take("jira", "normal")
            d = next(iter(deployed[ticket.ticket_id]))
            if where == "branch":
                d.title, d.branch = "Improve retries", f"feature/{ticket.ticket_id}-retries"
            else:
                d.title, d.body, d.branch = "Improve logging", f"Implements {ticket.ticket_id}.", "feature/logging"
            self.near.append(("CC8.1", "deployment_has_ticket", "", d.deploy_id))
        d = self._deploy(None, at(p.start - timedelta(days=3), 10), "github", rng.choice(engineers), ref="")
        d.title, d.branch = "Hotfix before the period", "hotfix/typo"
        self.near.append(("CC8.1", "deployment_has_ticket", "", d.deploy_id))

        # CC8.1 approver_independent
        ticket = take("jira")
        ticket.approver = ticket.author
        ticket.approver_as_exported = ticket.author.title()
        self._flag("CC8.1", "approver_independent", "", ticket.ticket_id)
        ticket = take("jira")
        ticket.approver = ticket.author
        self._flag("CC8.1", "approver_independent", "", ticket.ticket_id)
        ticket = take("servicenow")
        ticket.approver = ticket.implementer
        self._flag("CC8.1", "approver_independent", "", ticket.ticket_id)
        ticket = take("jira", "normal")
        ticket.approver, ticket.approved_at = None, None
        self._flag("CC8.1", "approver_independent", "", ticket.ticket_id)
        self._flag("CC8.1", "approved_before_deploy", "", ticket.ticket_id)

        # CC8.1 approved_before_deploy
        for tracker in ("jira", "jira", "servicenow"):
            ticket = take(tracker, "normal")
            ticket.approved_at = (first_deploy(ticket) + timedelta(hours=3)).replace(second=0, microsecond=0)
            self._flag("CC8.1", "approved_before_deploy", "", ticket.ticket_id)
        ticket = take("jira", "normal")
        for d in deployed[ticket.ticket_id]:
            d.deployed_at = d.deployed_at.replace(second=30)
        ticket.approved_at = first_deploy(ticket).replace(second=0) - timedelta(minutes=1)
        self.near.append(("CC8.1", "approved_before_deploy", "", ticket.ticket_id))

        # CC8.1 emergency_retro_approval (2 days)
        for days in (4, 6):
            ticket = self._emergency(engineers, by_email, deployed)
            ticket.approved_at = first_deploy(ticket) + timedelta(days=days)
            self._flag("CC8.1", "emergency_retro_approval", "", ticket.ticket_id)
        ticket = self._emergency(engineers, by_email, deployed)
        ticket.approved_at = first_deploy(ticket) + timedelta(days=2)
        self.near.append(("CC8.1", "emergency_retro_approval", "", ticket.ticket_id))

        # CC8.1 testing_evidence
        for tracker in ("jira", "jira", "servicenow"):
            ticket = take(tracker)
            ticket.testing_evidence = ""
            self._flag("CC8.1", "testing_evidence", "", ticket.ticket_id)

    def _emergency(self, engineers, by_email, deployed) -> Ticket:
        rng, p = self.rng, self.period
        when = at(p.start + timedelta(days=rng.randint(5, 80)), 23, 10)
        ticket = self._new_ticket("jira", when, "emergency", engineers)
        self._deploy(ticket, when, "github", by_email[ticket.implementer])
        deployed[ticket.ticket_id] = [self.deployments[-1]]
        return ticket

    # --- the review and the result ----------------------------------------------------------

    def _review_rows(self) -> list[dict]:
        rng = self.rng
        reviewers = {s: self._active_engineers()[i + 1].email for i, s in enumerate(REVIEWED_SYSTEMS)}
        rows = []
        for account in self.accounts:
            key = (account.system, account.account_id)
            if account.system not in REVIEWED_SYSTEMS or key in self.review_skip:
                continue
            created = account.created_at
            decision = self.review_decisions.get(key)
            if decision is None:
                if created is not None and created > self.review_signed_off:
                    continue
                if account.builtin:
                    continue
                if not account.enabled and (
                    account.disabled_at is None or account.disabled_at < self.review_signed_off
                ):
                    continue
                decision = "approve"
            rows.append({
                "system": account.system, "period": self.period.label, "account_id": account.account_id,
                "reviewer": reviewers[account.system], "decision": decision,
                "decided_at": at(self.review_day - timedelta(days=rng.randint(0, 3)), rng.randint(9, 16)),
                "signed_off_at": self.review_signed_off, "role": "admin" if account.is_admin else "user",
            })
        return rows

    def company(self) -> Company:
        return Company(
            period=self.period,
            exported_at=self.exported_at,
            review_signed_off=self.review_signed_off,
            people=self.people,
            accounts=self.accounts,
            service_registry=self.registry,
            reviews=self._review_rows(),
            aliases=self.aliases,
            tickets=self.tickets,
            deployments=self.deployments,
            background=list(self.background.values()),
            training=self.training,
            expected=sorted(set(self.expected)),
            near_misses=sorted(set(self.near)),
        )
