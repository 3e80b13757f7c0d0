"""The sample company's vendor inventory and vendor reviews (CC9.2), planted exceptions and near-misses.

Given a folder written by evidence_lib.synth, reads its HR roster through the project's own loader (owners
and reviewers are its people, by e-mail, so the same plan works whether the roster keys people by employee
id or by e-mail) and writes a vendor inventory CSV and a vendor review CSV in the generic layouts, drawn
from a numpy Generator of its own (fixed seed): the same folder gives the same bytes. Returns the
evidence.yaml entries, the planted exceptions and the near-misses in expected_exceptions.csv's shape
(control, rule, system, record key) and the populations each rule must count.

    result = vendor_evidence(folder, parse_period("2026-Q3"))
    add_to_folder(folder, result)   # evidence.yaml and the three expected_*.csv files, appended
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from evidence_lib.period import Period, parse_period
from evidence_lib.synth.area_folder import add_area, write_csv

SEED = 92  # CC9.2
CONTROL = "CC9.2"
REVIEW_MONTHS = 12  # the catalog's default vendor_review_months the sample is planted against
VENDORS_FILE = "vendors/vendor_inventory.csv"
REVIEWS_FILE = "vendors/vendor_reviews.csv"
VENDORS_HEADER = ["vendor_id", "name", "critical", "risk_level", "owner", "handles_customer_data", "data_shared",
                  "status", "onboarded_at", "offboarded_at"]
REVIEWS_HEADER = ["review_id", "vendor_id", "vendor_name", "kind", "report_date", "reviewed_at", "reviewer",
                  "outcome"]
KIND_LABELS = {"soc2_type2": "SOC 2 Type 2", "soc2_type1": "SOC 2 Type 1", "iso27001": "ISO 27001",
               "security_review": "Security review", "questionnaire": "Security questionnaire"}
# Fictional vendors: the inventory of a small SaaS company.
NAMES = ["Contoso Cloud Hosting", "Fabrikam Payments", "Northwind Mail Relay", "Tailspin Analytics",
         "Litware Support Desk", "Adatum Identity", "Proseware Logging", "Wingtip CRM", "Woodgrove Payroll",
         "Lucerne Backup", "Coho Video Calls", "Alpine Ski Chat", "Blue Yonder Docs", "Trey Research Surveys",
         "Margie Travel Expenses", "Humongous CDN", "Relecloud Database", "VanArsdel Design", "Southridge Legal",
         "Fourth Coffee Catering", "Graphic Design Institute", "Wide World Importers", "Bellows College LMS",
         "Consolidated Messenger", "Datum Backup Vault", "Nod Publishers Wiki", "Olympia Status Pages",
         "Munson Pickles Cloud"]


@dataclass
class Vendor:
    vendor_id: str
    name: str
    critical: bool | None
    customer_data: bool | None
    owner: str | None
    status: str = "active"
    onboarded: pd.Timestamp | None = None
    offboarded: pd.Timestamp | None = None
    data_shared: str = ""

    @property
    def in_use(self) -> bool:
        return self.status == "active"


@dataclass
class Review:
    review_id: str
    vendor_id: str | None
    vendor_name: str | None
    kind: str
    report_date: pd.Timestamp | None
    reviewed_at: pd.Timestamp | None
    reviewer: str
    outcome: str | None = "approved"


@dataclass
class VendorEvidence:
    files: list[dict]
    expected: list[tuple[str, str, str, str]]
    near_misses: list[tuple[str, str, str, str]]
    populations: list[tuple[str, str, int, str]]
    vendors: list[Vendor] = field(default_factory=list)
    reviews: list[Review] = field(default_factory=list)

    @property
    def date_values(self) -> int:
        """How many dates the vendor exports carry: what dates_plausible adds to its population."""
        stamps = [d for v in self.vendors for d in (v.onboarded, v.offboarded)]
        stamps += [d for r in self.reviews for d in (r.report_date, r.reviewed_at)]
        return sum(stamp is not None and not pd.isna(stamp) for stamp in stamps)


def _roster_and_as_of(folder: Path, period: Period) -> tuple[pd.DataFrame, pd.Timestamp]:
    from evidence_lib.sources.folder import load_folder
    from evidence_lib.validate import default_as_of

    evidence = load_folder(folder)
    return evidence.frame("hr_roster"), default_as_of(evidence, period)


def vendor_evidence(folder: Path, period: Period | str, *, seed: int = SEED) -> VendorEvidence:
    """Write the vendor exports into `folder` and say what they plant (nothing else in the folder changes)."""
    period = parse_period(period) if isinstance(period, str) else period
    roster, as_of = _roster_and_as_of(Path(folder), period)
    day = as_of.tz_convert("UTC").tz_localize(None).normalize()
    roster = roster.sort_values("employee_id").reset_index(drop=True)
    gone = roster["termination_date"].notna() & (roster["termination_date"] <= day)
    employed = roster[~gone & (roster["status"] == "active") & (roster["hire_date"] <= day)]
    plan = _Plan(np.random.default_rng(seed), pd.Timestamp(period.end), list(employed["email"]))
    plan.base_inventory()
    plan.plant_reviews()
    plan.plant_owners(leaver=str(roster.loc[gone, "email"].iloc[0]))
    plan.plant_review_names()
    files = plan.write(Path(folder))
    return VendorEvidence(files, sorted(plan.expected), sorted(plan.near_misses), plan.populations(),
                          plan.vendors, plan.reviews)


class _Plan:
    def __init__(self, rng: np.random.Generator, end: pd.Timestamp, people: list[str]):
        self.rng, self.end, self.people = rng, end, people
        self.cutoff = end - pd.DateOffset(months=REVIEW_MONTHS)
        self.vendors: list[Vendor] = []
        self.reviews: list[Review] = []
        self.expected: set[tuple[str, str, str, str]] = set()
        self.near_misses: set[tuple[str, str, str, str]] = set()

    def expect(self, rule: str, *keys: str) -> None:
        self.expected |= {(CONTROL, rule, "", str(k)) for k in keys}

    def near(self, rule: str, *keys: str) -> None:
        self.near_misses |= {(CONTROL, rule, "", str(k)) for k in keys}

    def _person(self) -> str:
        return str(self.people[int(self.rng.integers(0, len(self.people)))])

    def vendor(self, critical: bool | None, customer_data: bool | None, *, status: str = "active") -> Vendor:
        number = len(self.vendors) + 1
        onboarded = self.end - pd.Timedelta(days=int(self.rng.integers(200, 2000)))
        vendor = Vendor(f"V-{number:03d}", NAMES[number - 1], critical, customer_data, self._person(), status,
                        onboarded, data_shared="customer records" if customer_data else "none")
        if status == "offboarded":
            vendor.offboarded = self.end - pd.Timedelta(days=int(self.rng.integers(10, 80)))
        self.vendors.append(vendor)
        return vendor

    def review(self, vendor: Vendor, kind: str = "soc2_type2", *, dated: pd.Timestamp | None = None,
               outcome: str | None = "approved", by_name: str | None = None) -> Review:
        """A review of `vendor` dated `dated` (the report's date, or the completion day of a security review);
        by default a date well inside the window."""
        dated = dated if dated is not None else self.end - pd.Timedelta(days=int(self.rng.integers(30, 300)))
        by_report = kind in ("soc2_type2", "soc2_type1", "iso27001")
        completed = (dated + pd.Timedelta(days=20) if by_report else dated) + pd.Timedelta(hours=10)
        named = by_name if by_name is not None else (vendor.name if len(self.reviews) % 2 else None)
        review = Review(f"R-{len(self.reviews) + 1:03d}", None if named else vendor.vendor_id, named, kind,
                        dated if by_report else None, completed.tz_localize("UTC"), self._person(), outcome)
        self.reviews.append(review)
        return review

    def base_inventory(self) -> None:
        """Vendors in use, each reviewed in time where a rule needs it; some with no need and no review."""
        for _ in range(14):
            critical, customer = bool(self.rng.random() < 0.35), bool(self.rng.random() < 0.5)
            vendor = self.vendor(critical, customer)
            if critical or customer:
                self.review(vendor, str(self.rng.choice(["soc2_type2", "iso27001", "security_review"])))
            elif self.rng.random() < 0.5:
                self.review(vendor, "questionnaire")

    def plant_reviews(self) -> None:
        critical, data = "critical_vendor_reviewed", "customer_data_vendor_reviewed"
        one_day_old = self.cutoff - pd.Timedelta(days=1)
        # Critical and holding customer data, its SOC 2 report a day older than the window: both rules.
        stale = self.vendor(True, True)
        self.review(stale, dated=one_day_old)
        self.expect(critical, stale.vendor_id)
        self.expect(data, stale.vendor_id)
        # Critical: never reviewed; a SOC 2 report without its date; a rejected security review.
        never, undated, rejected = self.vendor(True, False), self.vendor(True, False), self.vendor(True, False)
        self.review(undated).report_date = None
        self.review(rejected, "security_review", outcome="rejected")
        # Criticality blank: judged as critical, and the blank is an exception even though reviewed.
        unsaid = self.vendor(None, False)
        self.review(unsaid)
        self.expect(critical, never.vendor_id, undated.vendor_id, rejected.vendor_id, unsaid.vendor_id)
        # Customer data, not critical: no review; only a SOC 2 Type 1 report; the flag blank though reviewed.
        unreviewed, type1, blank = self.vendor(False, True), self.vendor(False, True), self.vendor(False, None)
        self.review(type1, "soc2_type1")
        self.review(blank, "iso27001")
        self.expect(data, unreviewed.vendor_id, type1.vendor_id, blank.vendor_id)
        # Near-misses: a SOC 2 report and an ISO certificate dated exactly vendor_review_months before the
        # period end (inclusive); a questionnaire approved with conditions; a critical vendor not yet in use
        # and one offboarded, neither reviewed in time, are not judged.
        edge, iso_edge = self.vendor(True, False), self.vendor(False, True)
        self.review(edge, dated=self.cutoff)
        self.review(iso_edge, "iso27001", dated=self.cutoff)
        conditional = self.vendor(False, True)
        self.review(conditional, "questionnaire", outcome="approved_with_conditions")
        prospective = self.vendor(True, True, status="prospective")
        offboarded = self.vendor(True, True, status="offboarded")
        self.review(offboarded, dated=one_day_old - pd.Timedelta(days=200))
        self.near(critical, edge.vendor_id, prospective.vendor_id, offboarded.vendor_id)
        self.near(data, iso_edge.vendor_id, conditional.vendor_id, prospective.vendor_id, offboarded.vendor_id)

    def plant_owners(self, leaver: str) -> None:
        rule = "active_vendor_has_owner"
        missing, departed = self.vendors[1], self.vendors[2]
        missing.owner, departed.owner = None, leaver
        self.expect(rule, missing.vendor_id, departed.vendor_id)
        # Near-misses: an owner's e-mail in capitals is still theirs; an offboarded vendor needs no owner.
        shouted = self.vendors[3]
        shouted.owner = str(shouted.owner).upper()
        gone = next(v for v in self.vendors if v.status == "offboarded")
        gone.owner = None
        self.near(rule, shouted.vendor_id, gone.vendor_id)

    def plant_review_names(self) -> None:
        rule = "vendor_review_names_known_vendor"
        # A review of a vendor missing from the inventory, and one naming an id the inventory lacks.
        known = self.vendors[0]
        stray = self.review(known, by_name="Unlisted Analytics Ltd")
        stray.vendor_id = None
        ghost = self.review(known, "security_review")
        ghost.vendor_id, ghost.vendor_name = "V-999", None
        self.expect(rule, stray.review_id, ghost.review_id)
        # Near-miss: the only review of a critical vendor names it in capitals with spaces around: still it.
        shouted = self.vendor(True, False)
        match = self.review(shouted, by_name=f"  {shouted.name.upper()} ")
        self.near(rule, match.review_id)
        self.near("critical_vendor_reviewed", shouted.vendor_id)

    def populations(self) -> list[tuple[str, str, int, str]]:
        in_use = [v for v in self.vendors if v.in_use]
        return [(CONTROL, "critical_vendor_reviewed", sum(v.critical is not False for v in in_use),
                 "vendors in use, critical or criticality not recorded"),
                (CONTROL, "customer_data_vendor_reviewed", sum(v.customer_data is not False for v in in_use),
                 "vendors in use handling customer data or not saying"),
                (CONTROL, "active_vendor_has_owner", len(in_use), "vendors in use"),
                (CONTROL, "vendor_review_names_known_vendor", len(self.reviews), "vendor reviews in the export")]

    def write(self, folder: Path) -> list[dict]:
        write_csv(folder / VENDORS_FILE, VENDORS_HEADER, [
            [v.vendor_id, v.name, _yes(v.critical), "critical" if v.critical else "medium", v.owner,
             _yes(v.customer_data), v.data_shared, v.status, _day(v.onboarded), _day(v.offboarded)]
            for v in self.vendors])
        write_csv(folder / REVIEWS_FILE, REVIEWS_HEADER, [
            [r.review_id, r.vendor_id, r.vendor_name, KIND_LABELS[r.kind], _day(r.report_date),
             _when(r.reviewed_at), r.reviewer, r.outcome] for r in self.reviews])
        return [
            {"path": VENDORS_FILE, "type": "vendors", "format": "generic_vendors_csv",
             "source": "Vendor inventory (procurement register) exported as CSV", "extracted_by": "Security GRC",
             "control_total": {"count": len(self.vendors), "source": "vendor register: vendors listed"}},
            {"path": REVIEWS_FILE, "type": "vendor_reviews", "format": "generic_vendor_reviews_csv",
             "source": "Vendor due-diligence log (SOC 2 reports, ISO certificates, security reviews) as CSV",
             "extracted_by": "Security GRC",
             "control_total": {"count": len(self.reviews), "source": "due-diligence log: entries"}},
        ]


def _yes(value: bool | None) -> str:
    return "" if value is None else ("yes" if value else "no")


def _day(stamp) -> str:
    return "" if stamp is None or pd.isna(stamp) else pd.Timestamp(stamp).strftime("%Y-%m-%d")


def _when(stamp) -> str:
    if stamp is None or pd.isna(stamp):
        return ""
    return pd.Timestamp(stamp).tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%SZ")


def add_to_folder(folder: Path, result: VendorEvidence) -> None:
    """Declare the exports in evidence.yaml and append what they plant to the answer files."""
    add_area(folder, result, dates_described="vendor onboarding, offboarding, report and review dates")
