"""The sample company's policy exports (CC1.1), planted exceptions and near-misses.

Given a folder written by evidence_lib.synth, reads its HR roster through the project's own loader and
writes a Drata policy list (API v2 JSON) and a policy acknowledgement CSV, drawn from a numpy Generator
of its own (fixed seed): the same folder gives the same bytes. People are named by employee id where the
roster is the first vendor set's (Workday); by e-mail alone where it is BambooHR's (the second set keys
people by e-mail). Returns the evidence.yaml entries, the planted exceptions and the near-misses in
expected_exceptions.csv's shape (control, rule, system, record key) and the populations each rule counts.

    result = policy_evidence(folder, parse_period("2026-Q3"))
    add_to_folder(folder, result)   # evidence.yaml and the three expected_*.csv files, appended
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from evidence_lib.period import Period, parse_period
from evidence_lib.synth.area_folder import add_area

SEED = 11  # CC1.1
CONTROL = "CC1.1"
POLICY_ACK_DAYS = 30  # the catalog's defaults the sample is planted against
POLICY_REACK_DAYS = 365
POLICY_REVIEW_DAYS = 365
POLICIES_FILE = "policies/drata_policies.json"
ACKS_FILE = "policies/policy_acknowledgements.csv"
ACKS_HEADER = ["Employee ID", "Email", "Policy", "Version", "Acknowledged At"]
NEW_HIRE_RULE = "new_hire_acknowledged_policies"
ANNUAL_RULE = "staff_acknowledged_policies_annually"
REVIEW_RULE = "policy_reviewed_and_approved"
INTEGRITY = "IPE"
RESOLVED_RULE = "acknowledgements_resolved"  # every acknowledgement names a person and a listed policy


@dataclass
class Policy:
    policy_id: int
    title: str
    version: str
    scope: str = "ALL"
    status: str = "ACTIVE"
    published: pd.Timestamp | None = None  # when the current (major) version was published: acknowledgeable since
    approved_at: pd.Timestamp | None = None  # the latest approval (a non-material review approves a sub-version)
    owner: tuple[str, str] | None = ("Dana", "Okafor")
    previous_version: str = ""

    @property
    def required(self) -> bool:
        return self.scope == "ALL" and self.status == "ACTIVE"


@dataclass
class Acknowledgement:
    employee_id: str
    email: str
    policy: str
    version: str
    at: pd.Timestamp


@dataclass
class PolicyEvidence:
    files: list[dict]
    expected: list[tuple[str, str, str, str]]
    near_misses: list[tuple[str, str, str, str]]
    populations: list[tuple[str, str, int, str]]
    policies: list[Policy] = field(default_factory=list)
    acknowledgements: list[Acknowledgement] = field(default_factory=list)

    @property
    def date_values(self) -> int:
        """How many dates the policy exports carry where the loader reads them (approval, acknowledgement):
        what dates_plausible adds to its population."""
        return sum(p.approved_at is not None for p in self.policies) + len(self.acknowledgements)


def _roster_and_as_of(folder: Path, period: Period) -> tuple[pd.DataFrame, pd.Timestamp, bool]:
    from evidence_lib.sources.folder import load_folder
    from evidence_lib.validate import default_as_of

    evidence = load_folder(folder)
    by_email = any(d.evidence_type == "hr_roster" and d.format.startswith("bamboohr")
                   for d in evidence.declaration.files)
    return evidence.frame("hr_roster"), default_as_of(evidence, period), by_email


def policy_evidence(folder: Path, period: Period | str, *, seed: int = SEED) -> PolicyEvidence:
    """Write the policy exports into `folder` and say what they plant (nothing else in the folder changes)."""
    period = parse_period(period) if isinstance(period, str) else period
    roster, as_of, by_email = _roster_and_as_of(Path(folder), period)
    plan = _Plan(np.random.default_rng(seed), period, as_of, by_email)
    roster = roster.sort_values("employee_id").reset_index(drop=True)
    day = plan.day
    gone = roster["termination_date"].notna() & (roster["termination_date"] <= day)
    active = roster[(roster["status"] == "active") & ~gone & (roster["hire_date"] <= day)]
    staff = active[active["hire_date"] < pd.Timestamp(period.start)]
    hires = active[active["hire_date"].between(pd.Timestamp(period.start), pd.Timestamp(period.end))]
    plan.write_acknowledgements(active)
    plan.plant_staff(staff)
    plan.plant_hires(hires)
    plan.plant_reviews()
    files = plan.write(Path(folder))
    required = sum(p.required for p in plan.policies)
    populations = [
        (CONTROL, NEW_HIRE_RULE, len(hires) * required, "people active on the export date hired in the period, "
                                                        "times the required policies"),
        (CONTROL, ANNUAL_RULE, len(staff) * required, "people active on the export date hired before the period, "
                                                      "times the required policies"),
        (CONTROL, REVIEW_RULE, required, "policies in force that every person must acknowledge"),
        (INTEGRITY, RESOLVED_RULE, len(plan.acks), "policy acknowledgements"),
    ]
    return PolicyEvidence(files, sorted(plan.expected), sorted(plan.near_misses), populations, plan.policies,
                          plan.acks)


class _Plan:
    def __init__(self, rng: np.random.Generator, period: Period, as_of: pd.Timestamp, by_email: bool):
        self.rng, self.period, self.as_of, self.by_email = rng, period, as_of.tz_convert("UTC"), by_email
        self.day = self.as_of.tz_localize(None).normalize()
        self.end = pd.Timestamp(period.end)
        start = pd.Timestamp(period.start)
        utc = _utc
        # Reviewed (a sub-version approved) within the year, current major version published long before,
        # except the information security policy, materially changed in the period (staff re-acknowledge it).
        self.policies = [
            Policy(101, "Code of Conduct", "4", published=utc(self.end - pd.Timedelta(days=700)),
                   approved_at=utc(self.end - pd.Timedelta(days=120, hours=-10)), previous_version="3"),
            Policy(102, "Information Security Policy", "3", published=utc(start + pd.Timedelta(days=9, hours=14)),
                   approved_at=utc(start + pd.Timedelta(days=9, hours=14)), previous_version="2"),
            Policy(103, "Acceptable Use Policy", "2", published=utc(self.end - pd.Timedelta(days=900)),
                   approved_at=utc(self.end - pd.Timedelta(days=200, hours=-9)), previous_version="1"),
            Policy(104, "Data Protection Policy", "2", published=utc(self.end - pd.Timedelta(days=800)),
                   approved_at=utc(self.end - pd.Timedelta(days=90, hours=-11)), previous_version="1"),
            Policy(105, "Incident Response Policy", "5", published=utc(self.end - pd.Timedelta(days=600)),
                   approved_at=utc(self.end - pd.Timedelta(days=60, hours=-16)), previous_version="4"),
            # Not required of everyone, or no longer in force: outside every population.
            Policy(106, "Engineering Change Management Policy", "7", scope="GROUP",
                   published=utc(self.end - pd.Timedelta(days=1500)),
                   approved_at=utc(self.end - pd.Timedelta(days=1500))),
            Policy(107, "Remote Working Policy", "1", status="ARCHIVED",
                   published=utc(self.end - pd.Timedelta(days=1400)),
                   approved_at=utc(self.end - pd.Timedelta(days=1400))),
        ]
        self.acks: list[Acknowledgement] = []
        self.expected: set[tuple[str, str, str, str]] = set()
        self.near_misses: set[tuple[str, str, str, str]] = set()

    @property
    def required(self) -> list[Policy]:
        return [p for p in self.policies if p.required]

    def expect(self, rule: str, *keys: str) -> None:
        self.expected |= {(CONTROL, rule, "", str(k)) for k in keys}

    def near(self, rule: str, *keys: str) -> None:
        self.near_misses |= {(CONTROL, rule, "", str(k)) for k in keys}

    def _start(self, person, policy: Policy) -> pd.Timestamp:
        """The day acknowledging the current version was due from: hire, or the version's approval when later."""
        approved = policy.approved_at.tz_localize(None).normalize()
        return max(person["hire_date"], approved)

    def _ack(self, person, policy: Policy, at: pd.Timestamp, version: str | None = None) -> Acknowledgement:
        # Policies named by id, the incident response policy by its title (the list names it either way).
        named = policy.title if policy.policy_id == 105 else str(policy.policy_id)
        ack = Acknowledgement("" if self.by_email else person["employee_id"], person["email"], named,
                              policy.version if version is None else version, at.floor("s"))
        self.acks.append(ack)
        return ack

    def _find(self, person, policy: Policy) -> list[Acknowledgement]:
        names = (str(policy.policy_id), policy.title)
        return [a for a in self.acks if a.email == person["email"] and a.policy in names]

    def write_acknowledgements(self, active: pd.DataFrame) -> None:
        """Everyone active acknowledges every required policy's current version in time; some staff also
        acknowledged an earlier version, years ago (history that does not count, and does not harm)."""
        for _, person in active.iterrows():
            hired = person["hire_date"]
            for policy in self.required:
                earliest = max(hired, policy.published.tz_localize(None)).tz_localize("UTC")
                if hired >= pd.Timestamp(self.period.start):
                    start = self._start(person, policy).tz_localize("UTC")
                    room = max(0.0, min(POLICY_ACK_DAYS - 2, (self.day - start.tz_localize(None)).days))
                    at = start + pd.Timedelta(days=float(self.rng.uniform(0, room)), hours=9)
                else:
                    at = self.as_of - pd.Timedelta(days=float(self.rng.uniform(3, 300)))
                    at = max(at, earliest + pd.Timedelta(hours=2))
                self._ack(person, policy, min(at, self.as_of))
                if hired < pd.Timestamp(self.period.start) and policy.previous_version and self.rng.random() < 0.3:
                    old = policy.published - pd.Timedelta(days=float(self.rng.uniform(30, 200)))
                    if old.tz_localize(None) >= hired:
                        self._ack(person, policy, old, policy.previous_version)

    def _current(self, person, policy: Policy) -> Acknowledgement:
        return next(a for a in self._find(person, policy) if a.version == policy.version)

    def _key(self, person, policy: Policy) -> str:
        return f"{person['employee_id']}:{policy.policy_id}"

    def plant_staff(self, staff: pd.DataFrame) -> None:
        # People employed long enough for an acknowledgement older than policy_reack_days to be theirs.
        settled = staff[staff["hire_date"] < self.day - pd.Timedelta(days=POLICY_REACK_DAYS + 60)]
        chosen = [settled.iloc[int(i)] for i in self.rng.choice(len(settled), size=7, replace=False)]
        code, security, use, data, incident = self.required
        # Acknowledged only the version before the information security policy's change in the period.
        person = chosen[0]
        for ack in self._find(person, security):
            self.acks.remove(ack)
        self._ack(person, security, security.published - pd.Timedelta(days=40), security.previous_version)
        self.expect(ANNUAL_RULE, self._key(person, security))
        # Never acknowledged the code of conduct.
        person = chosen[1]
        for ack in self._find(person, code):
            self.acks.remove(ack)
        self.expect(ANNUAL_RULE, self._key(person, code))
        # The acceptable use policy's current version, acknowledged more than policy_reack_days ago.
        person = chosen[2]
        self._current(person, use).at = self.as_of - pd.Timedelta(days=POLICY_REACK_DAYS + 15)
        self.expect(ANNUAL_RULE, self._key(person, use))
        # An acknowledgement that does not say which version: not shown to be the current one.
        person = chosen[3]
        self._current(person, data).version = ""
        self.expect(ANNUAL_RULE, self._key(person, data))
        # Near-misses: exactly policy_reack_days before the export day, late in the day; the e-mail in
        # other case with no employee id; the version with spaces around it.
        person = chosen[4]
        edge = (self.day - pd.Timedelta(days=POLICY_REACK_DAYS)).tz_localize("UTC") + pd.Timedelta(hours=22)
        self._current(person, use).at = edge
        self.near(ANNUAL_RULE, self._key(person, use))
        person = chosen[5]
        for ack in self._find(person, incident):
            ack.email, ack.employee_id = ack.email.upper(), ""
        self.near(ANNUAL_RULE, self._key(person, incident))
        person = chosen[6]
        self._current(person, code).version = f"  {code.version} "
        self.near(ANNUAL_RULE, self._key(person, code))

    def plant_hires(self, hires: pd.DataFrame) -> None:
        """New hires: late, never (past due) and an old version; near-misses exactly on the last allowed
        day, not yet due, and named by e-mail in other case."""
        code, security, use, data, incident = self.required
        due = [h for _, h in hires.iterrows() if (self.day - h["hire_date"]).days > POLICY_ACK_DAYS + 6]
        late, never, wrong, edge, shouted = due[0], due[1], due[2], due[3], due[4]
        self._current(late, code).at = (late["hire_date"] + pd.Timedelta(days=POLICY_ACK_DAYS + 5, hours=10)
                                         ).tz_localize("UTC")
        self.expect(NEW_HIRE_RULE, self._key(late, code))
        for ack in self._find(never, use):
            self.acks.remove(ack)
        self.expect(NEW_HIRE_RULE, self._key(never, use))
        self._current(wrong, data).version = data.previous_version
        self.expect(NEW_HIRE_RULE, self._key(wrong, data))
        start = self._start(edge, incident)
        self._current(edge, incident).at = (start + pd.Timedelta(days=POLICY_ACK_DAYS, hours=23)).tz_localize("UTC")
        self.near(NEW_HIRE_RULE, self._key(edge, incident))
        for ack in self._find(shouted, security):
            ack.email, ack.employee_id = ack.email.upper(), ""
        self.near(NEW_HIRE_RULE, self._key(shouted, security))
        fresh = [h for _, h in hires.iterrows() if (self.day - h["hire_date"]).days < POLICY_ACK_DAYS - 1]
        if fresh:  # hired days before the export: nothing acknowledged yet, not yet due
            for ack in self._find(fresh[0], use):
                self.acks.remove(ack)
            self.near(NEW_HIRE_RULE, self._key(fresh[0], use))

    def plant_reviews(self) -> None:
        """The data protection policy last approved past policy_review_days; the incident response policy
        with no owner (approver) named; near-misses: the acceptable use policy approved exactly
        policy_review_days before the period end, late in the day, and the policies not required."""
        _, _, use, data, incident = self.required
        data.approved_at = (self.end - pd.Timedelta(days=POLICY_REVIEW_DAYS + 20)).tz_localize("UTC")
        incident.owner = None
        self.expect(REVIEW_RULE, data.policy_id, incident.policy_id)
        use.approved_at = (self.end - pd.Timedelta(days=POLICY_REVIEW_DAYS)).tz_localize("UTC") + pd.Timedelta(hours=23)
        self.near(REVIEW_RULE, use.policy_id, 106, 107)

    def write(self, folder: Path) -> list[dict]:
        records = [_drata_policy(p) for p in self.policies]
        path = folder / POLICIES_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"data": records, "pagination": {"cursor": None, "totalCount": len(records)}},
                                   indent=1) + "\n", encoding="utf-8")
        rows = [[a.employee_id, a.email, a.policy, a.version, _zulu(a.at)]
                for a in sorted(self.acks, key=lambda a: (a.at, a.email, a.policy))]
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(ACKS_HEADER)
        writer.writerows(rows)
        (folder / ACKS_FILE).write_bytes(buffer.getvalue().encode("utf-8"))
        return [
            {"path": POLICIES_FILE, "type": "policies", "format": "drata_policies_json",
             "source": "Drata API v2 GET /policies?expand[]=owner, every page saved as one document",
             "extracted_by": "GRC lead", "control_total": {"count": len(records), "source": "Drata Policy Center"}},
            {"path": ACKS_FILE, "type": "policy_acknowledgements", "format": "generic_policy_acknowledgements_csv",
             "source": "Policy acknowledgement report of the intranet's e-signature tool",
             "extracted_by": "People operations", "control_total": {"count": len(rows),
                                                                     "source": "the tool's acknowledgement count"}},
        ]


def _utc(stamp: pd.Timestamp) -> pd.Timestamp:
    return stamp.tz_localize("UTC")


def _zulu(stamp: pd.Timestamp | None) -> str | None:
    return None if stamp is None else pd.Timestamp(stamp).tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _drata_policy(policy: Policy) -> dict:
    record = {"id": policy.policy_id, "name": policy.title, "scope": policy.scope, "status": policy.status,
              "currentVersionId": policy.policy_id * 10, "version": policy.version, "subVersion": "1",
              "publishedAt": _zulu(policy.published), "approvedAt": _zulu(policy.approved_at)}
    if policy.owner:
        record["owner"] = {"id": 1, "firstName": policy.owner[0], "lastName": policy.owner[1]}
    return record


def add_to_folder(folder: Path, result: PolicyEvidence) -> None:
    """Declare the exports in evidence.yaml and append what they plant to the answer files."""
    add_area(folder, result, dates_described="policy approval and acknowledgement dates")
