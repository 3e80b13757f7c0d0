"""The sample company's risk register exports (CC3.2, CC3.4), planted exceptions and near-misses.

Given a folder written by evidence_lib.synth, reads its HR roster through the project's own loader and
writes two risk registers (the security register and a small privacy register) and a review record for
each, drawn from a numpy Generator of its own (fixed seed): the same folder gives the same bytes. The first
vendor set (Northwind, Workday) exports ServiceNow GRC registers rated Very High..Very Low and owned by
name; the second (Fabrikam, BambooHR) keeps generic CSV registers scored likelihood x impact and owned
by e-mail. Returns the evidence.yaml entries, the planted exceptions and near-misses in
expected_exceptions.csv's shape (control, rule, system, record key) and the populations each rule counts.

    result = risk_evidence(folder, parse_period("2026-Q3"))
    add_to_folder(folder, result)   # evidence.yaml and the three expected_*.csv files, appended
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from evidence_lib.period import Period, parse_period
from evidence_lib.synth.area_folder import add_area, write_csv

SEED = 32  # CC3.2
RISK_REVIEW_DAYS = 365  # the catalog's defaults the sample is planted against
HIGH_MIN_SCORE = 15
SECURITY, PRIVACY = "security", "privacy"  # the registers, as their files are named
FILES = {SECURITY: "risk/security_risks.csv", PRIVACY: "risk/privacy_risks.csv"}
REVIEW_FILES = {SECURITY: "risk/security_register_reviews.csv", PRIVACY: "risk/privacy_register_reviews.csv"}
SERVICENOW_HEADER = ["Number", "Name", "State", "Owner", "Response", "Residual score", "Due date",
                     "Treatment completed", "Last reviewed", "Extended due date", "Extension approver",
                     "Extension approved"]
GENERIC_HEADER = ["risk_id", "title", "status", "residual_rating", "residual_score", "owner", "treatment",
                  "due_date", "treatment_completed_at", "last_reviewed_at", "extended_due_date",
                  "extension_approver", "extension_approved_at"]
# The levels of each vendor's scale, as the sample writes them (ServiceNow: labels; generic: a score).
SERVICENOW_LABELS = {"critical": "Very High", "high": "High", "medium": "Moderate", "low": "Low"}
SCORES = {"critical": "25", "high": "16", "medium": "9", "low": "4"}
SERVICENOW_STATES = {"open": "Monitor", "closed": "Retired"}
TITLES = ("Ransomware on production", "Credential phishing", "Cloud misconfiguration", "Insider data theft",
          "Supplier outage", "Unpatched dependencies", "Lost laptop", "DDoS on the public API",
          "Backup corruption", "Privileged access misuse", "Third-party breach", "Key person dependency")


@dataclass
class Risk:
    register: str
    risk_id: str
    title: str
    status: str = "open"
    level: str | None = "high"  # critical, high, medium, low; None: the export gives none
    score_text: str | None = None  # a score written as is (an unreadable one), in place of the level's
    written_rating: str | None = None  # a rating written as is (other case), in place of the level's
    owner: str | None = ""
    treatment: str | None = "mitigate"
    due: pd.Timestamp | None = None
    completed_at: pd.Timestamp | None = None
    last_reviewed_at: pd.Timestamp | None = None
    extended_due: pd.Timestamp | None = None
    extension_approver: str | None = None
    extension_approved_at: pd.Timestamp | None = None


@dataclass
class RiskEvidence:
    files: list[dict]
    expected: list[tuple[str, str, str, str]]
    near_misses: list[tuple[str, str, str, str]]
    populations: list[tuple[str, str, int, str]]
    risks: list[Risk] = field(default_factory=list)
    reviews: dict[str, list[tuple[pd.Timestamp, str]]] = field(default_factory=dict)

    @property
    def date_values(self) -> int:
        """How many dates the risk exports carry: what dates_plausible adds to its population."""
        stamps = [s for r in self.risks for s in (r.due, r.completed_at, r.last_reviewed_at, r.extended_due,
                                                  r.extension_approved_at)]
        return sum(s is not None for s in stamps) + sum(len(v) for v in self.reviews.values())


def _company(folder: Path, period: Period) -> tuple[pd.DataFrame, pd.Timestamp, bool]:
    """The roster, the export time and whether the folder is the second vendor set (BambooHR).

    Only the roster is loaded (the other exports are not needed here, and loading them all doubles the time)."""
    from evidence_lib.sources.folder import EvidenceSet, _load_one, read_declaration
    from evidence_lib.validate import default_as_of

    declaration = read_declaration(folder)
    rosters = [d for d in declaration.files if d.evidence_type == "hr_roster"]
    evidence = EvidenceSet(declaration, [_load_one(declaration, d) for d in rosters], undeclared=[])
    second = any(d.format == "bamboohr_employees_csv" for d in rosters)
    return evidence.frame("hr_roster"), default_as_of(evidence, period), second


def risk_evidence(folder: Path, period: Period | str, *, seed: int = SEED) -> RiskEvidence:
    """Write the risk exports into `folder` and say what they plant (nothing else in the folder changes)."""
    period = parse_period(period) if isinstance(period, str) else period
    roster, as_of, second = _company(Path(folder), period)
    day = as_of.tz_convert("UTC").tz_localize(None).normalize()
    active = roster[(roster["status"] == "active") & roster["termination_date"].isna()].sort_values("employee_id")
    owners = list(active["email"] if second else active["name"])
    plan = _Plan(np.random.default_rng(seed), day, as_of, owners, second)
    plan.fill(SECURITY, 30)
    plan.plant()
    plan.fill(PRIVACY, 5, levels=("medium", "low"))
    end = pd.Timestamp(period.end)
    # The security register reviewed exactly risk_review_days before the period's end, late that day: in time.
    plan.reviews[SECURITY] = [((end - pd.Timedelta(days=RISK_REVIEW_DAYS)).tz_localize("UTC")
                               + pd.Timedelta(hours=23, minutes=30), owners[0])]
    plan.near("CC3.4", "risk_register_reviewed", "", SECURITY)
    # The privacy register's last review in time is older than that; one after the period does not count.
    plan.reviews[PRIVACY] = [((end - pd.Timedelta(days=RISK_REVIEW_DAYS + 35)).tz_localize("UTC")
                              + pd.Timedelta(hours=10), owners[1]),
                             ((as_of - pd.Timedelta(hours=2)).tz_convert("UTC").floor("s"), owners[1])]
    plan.expect("CC3.4", "risk_register_reviewed", "", PRIVACY)
    files = plan.write(Path(folder))
    return RiskEvidence(files, sorted(plan.expected), sorted(plan.near_misses), plan.populations(), plan.risks,
                        plan.reviews)


class _Plan:
    def __init__(self, rng: np.random.Generator, day: pd.Timestamp, as_of: pd.Timestamp, owners: list[str],
                 second: bool):
        self.rng, self.day, self.as_of, self.owners, self.second = rng, day, as_of, owners, second
        self.risks: list[Risk] = []
        self.reviews: dict[str, list[tuple[pd.Timestamp, str]]] = {}
        self.expected: set[tuple[str, str, str, str]] = set()
        self.near_misses: set[tuple[str, str, str, str]] = set()

    def expect(self, control: str, rule: str, system: str, *keys: str) -> None:
        self.expected |= {(control, rule, system, str(k)) for k in keys}

    def near(self, control: str, rule: str, system: str, *keys: str) -> None:
        self.near_misses |= {(control, rule, system, str(k)) for k in keys}

    def _days(self, days: int) -> pd.Timestamp:
        return self.day + pd.Timedelta(days=days)

    def _at(self, days_ago: float) -> pd.Timestamp:
        return (self.as_of - pd.Timedelta(days=float(days_ago))).tz_convert("UTC").floor("s")

    def risk(self, register: str, **changes) -> Risk:
        number = len(self.risks) + 1
        prefix = "RISK00" if not self.second else "RR-"
        risk = Risk(register, f"{prefix}{10000 + number}", f"{TITLES[number % len(TITLES)]} ({number})",
                    owner=str(self.rng.choice(self.owners)),
                    due=self._days(int(self.rng.integers(10, 200))),
                    last_reviewed_at=self._at(self.rng.uniform(20, 120)))
        for name, value in changes.items():
            setattr(risk, name, value)
        self.risks.append(risk)
        return risk

    def fill(self, register: str, count: int, levels=("critical", "high", "medium", "low")) -> None:
        """Clean risks: open ones owned, treated and not yet due; closed ones of any kind, past their date."""
        for _ in range(count):
            level = str(self.rng.choice(levels))
            if self.rng.random() < 0.3:
                self.risk(register, status="closed", level=level, due=self._days(-int(self.rng.integers(30, 300))))
            else:
                self.risk(register, level=level, treatment=str(self.rng.choice(["mitigate", "accept", "transfer"])))

    def plant(self) -> None:
        rated, owned, due = "open_risk_rated", "high_risk_owned_and_treated", "high_risk_not_past_due"
        # A blank rating (and, where the register scores, an unreadable score): judged as high, otherwise complete.
        keys = [self.risk(SECURITY, level=None).risk_id]
        if self.second:
            keys.append(self.risk(SECURITY, level=None, score_text="4x5").risk_id)
        self.expect("CC3.2", rated, SECURITY, *keys)
        # High risks without an owner, a treatment, a due date (no due date cannot show it was met in time).
        self.expect("CC3.2", owned, SECURITY, self.risk(SECURITY, owner=None).risk_id,
                    self.risk(SECURITY, level="critical", treatment="untreated" if self.second else None).risk_id)
        undated = self.risk(SECURITY, due=None).risk_id
        self.expect("CC3.2", owned, SECURITY, undated)
        self.expect("CC3.2", due, SECURITY, undated)
        # Past due: plainly; an approved extension whose new date has passed; an extension nobody approved;
        # an extension the owner approved themselves.
        late = self.risk(SECURITY, due=self._days(-20))
        passed = self.risk(SECURITY, level="critical", due=self._days(-60), extended_due=self._days(-5),
                           extension_approver=self.owners[2], extension_approved_at=self._at(55))
        unapproved = self.risk(SECURITY, due=self._days(-10), extended_due=self._days(30))
        own = self.risk(SECURITY, due=self._days(-3), extended_due=self._days(40), extension_approved_at=self._at(4))
        own.extension_approver = own.owner.upper()
        self.expect("CC3.2", due, SECURITY, late.risk_id, passed.risk_id, unapproved.risk_id, own.risk_id)
        # Near-misses: due on the export day; an approved extension ending on it; a rating in other case (or a
        # score exactly on the threshold); a score just under it, past due; past due but treated, or closed.
        on_day = self.risk(SECURITY, due=self.day)
        extended = self.risk(SECURITY, due=self._days(-30), extended_due=self.day,
                             extension_approver=self.owners[3], extension_approved_at=self._at(32))
        if self.second:
            boundary = self.risk(SECURITY, level="high", score_text=str(HIGH_MIN_SCORE))
            under = self.risk(SECURITY, level="medium", score_text=str(HIGH_MIN_SCORE - 1), due=self._days(-15))
        else:
            boundary = self.risk(SECURITY, level="high", written_rating="HIGH")
            under = self.risk(SECURITY, level="medium", due=self._days(-15))
        treated = self.risk(SECURITY, due=self._days(-25), completed_at=self._at(26))
        closed = self.risk(SECURITY, status="closed", level="critical", due=self._days(-90))
        self.near("CC3.2", due, SECURITY, on_day.risk_id, extended.risk_id, boundary.risk_id, under.risk_id,
                  treated.risk_id, closed.risk_id)
        self.near("CC3.2", owned, SECURITY, boundary.risk_id)
        self.near("CC3.2", rated, SECURITY, boundary.risk_id)

    def _judged(self, risk: Risk) -> bool:
        readable = risk.level is not None
        return risk.status == "open" and (not readable or risk.level in ("critical", "high"))

    def populations(self) -> list[tuple[str, str, int, str]]:
        open_risks = [r for r in self.risks if r.status == "open"]
        judged = [r for r in self.risks if self._judged(r)]
        pending = [r for r in judged if r.completed_at is None]
        return [("CC3.2", "open_risk_rated", len(open_risks), "open risks in the register exports"),
                ("CC3.2", "high_risk_owned_and_treated", len(judged),
                 "open risks rated high or critical, or not rated"),
                ("CC3.2", "high_risk_not_past_due", len(pending),
                 "open risks rated high or critical, or not rated, with the treatment not completed"),
                ("CC3.4", "risk_register_reviewed", len(self.reviews), "risk registers")]

    def _rating(self, risk: Risk) -> tuple[str, str]:
        """(rating, score) as this vendor's export writes them."""
        if risk.written_rating is not None:
            return risk.written_rating, ""
        if risk.score_text is not None:
            return "", risk.score_text
        if risk.level is None:
            return "", ""
        return ("", SCORES[risk.level]) if self.second else (SERVICENOW_LABELS[risk.level], "")

    def write(self, folder: Path) -> list[dict]:
        files = []
        for register, path in FILES.items():
            risks = [r for r in self.risks if r.register == register]
            if self.second:
                rows = [[r.risk_id, r.title, r.status, *self._rating(r), r.owner, r.treatment, _day(r.due),
                         _when(r.completed_at), _when(r.last_reviewed_at), _day(r.extended_due),
                         r.extension_approver, _when(r.extension_approved_at)] for r in risks]
                write_csv(folder / path, GENERIC_HEADER, rows)
                fmt, source = "generic_risk_register_csv", "Risk register spreadsheet, exported as CSV"
            else:
                rows = [[r.risk_id, r.title, SERVICENOW_STATES[r.status], r.owner,
                         (r.treatment or "").capitalize(), self._rating(r)[0], _day(r.due), _sn(r.completed_at),
                         _sn(r.last_reviewed_at), _day(r.extended_due), r.extension_approver,
                         _sn(r.extension_approved_at)] for r in risks]
                write_csv(folder / path, SERVICENOW_HEADER, rows)
                fmt, source = "servicenow_risk_csv", "ServiceNow GRC: Risk > All Risks list, exported as CSV"
            files.append({"path": path, "type": "risks", "system": register, "format": fmt, "source": source,
                          "extracted_by": "GRC team", "control_total": {"count": len(risks),
                                                                         "source": "register list view count"}})
        for register, path in REVIEW_FILES.items():
            write_csv(folder / path, ["reviewed_at", "reviewer", "approved_by", "notes"],
                      [[_when(at), who, "", "annual risk assessment"] for at, who in self.reviews[register]])
            files.append({"path": path, "type": "risk_register_reviews", "system": register,
                          "format": "generic_risk_register_reviews_csv",
                          "source": "Risk committee minutes: register reviews", "extracted_by": "GRC team"})
        return files


def _day(stamp) -> str:
    return "" if stamp is None else pd.Timestamp(stamp).strftime("%Y-%m-%d")


def _when(stamp) -> str:
    return "" if stamp is None else pd.Timestamp(stamp).tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%SZ")


def _sn(stamp) -> str:
    """ServiceNow's CSV date-time: yyyy-MM-dd HH:mm:ss (the export user's zone: UTC here)."""
    return "" if stamp is None else pd.Timestamp(stamp).tz_convert("UTC").strftime("%Y-%m-%d %H:%M:%S")


def add_to_folder(folder: Path, result: RiskEvidence) -> None:
    """Declare the exports in evidence.yaml and append what they plant to the answer files."""
    add_area(folder, result, dates_described="risk register and review dates")
