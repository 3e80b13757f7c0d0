"""The sample company's vulnerability findings (CC7.1), with planted late remediations and near-misses.

Drawn from a random stream of their own (the company's seed, offset), so that adding findings
leaves every other export of the company byte for byte as it was. Findings are clean by
construction: every critical or high finding is closed or still open within its severity's
deadline. Then exceptions are planted on findings made for them, and boundary cases (fixed on
the deadline day, open exactly as long as the deadline allows, dismissed in time) beside them.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from evidence_lib.period import Period
from evidence_lib.synth.company import Company, at

# The remediation deadlines the sample company works to: the catalog's defaults, written here
# independently (vuln_sla_days_critical, vuln_sla_days_high).
SLA_DAYS = {"critical": 15, "high": 30}
SCAN_INTERVAL_DAYS = 30  # scan_interval_days
IN_SCOPE = "finding_on_asset_in_scope"
SCANNED = "assets_scanned_within_interval"
CONTROL = "CC7.1"
LATE = "vulnerabilities_remediated_within_sla"
OPEN_PAST = "no_vulnerability_open_past_sla"
SEED_OFFSET = 7001
PACKAGES = ["lodash", "django", "requests", "openssl", "jackson-databind", "log4j-core", "urllib3", "express",
            "pillow", "nokogiri", "minimist", "axios"]
TITLES = ["Remote code execution", "Denial of service", "Path traversal", "Prototype pollution",
          "Server-side request forgery", "Information disclosure"]


@dataclass
class Asset:
    asset: str
    asset_type: str  # host | repository
    in_scope: bool
    owner: str
    last_scanned_at: datetime | None


@dataclass
class Finding:
    finding_id: str
    source: str  # dependabot | scanner: which export writes it
    asset: str
    title: str
    package: str
    severity: str  # critical | high | medium | low
    state: str  # open | fixed | dismissed
    first_seen: datetime
    fixed_at: datetime | None = None
    dismissed_at: datetime | None = None
    dismissed_reason: str = ""
    number: int = 0  # the Dependabot alert number within its repository

    @property
    def closed_at(self) -> datetime | None:
        return self.fixed_at if self.state == "fixed" else self.dismissed_at if self.state == "dismissed" else None


class _Findings:
    def __init__(self, company: Company, seed: int, repositories: list[str], hosts: list[str]):
        self.rng = random.Random(seed + SEED_OFFSET)
        self.period: Period = company.period
        self.exported_at = company.exported_at
        self.repositories, self.hosts = repositories, hosts
        self.findings: list[Finding] = []
        self.numbers: dict[str, int] = {}
        self.scanner_seq = 0
        self.expected: list[tuple[str, str, str, str]] = []
        self.near: list[tuple[str, str, str, str]] = []

    def add(self, severity: str, first_seen: datetime, state: str = "open", closed: datetime | None = None,
            source: str | None = None, reason: str = "", asset: str | None = None) -> Finding:
        rng = self.rng
        source = source or rng.choice(["dependabot", "scanner"])
        if source == "dependabot":
            asset = asset or rng.choice(self.repositories)
            self.numbers[asset] = number = self.numbers.get(asset, 0) + 1
            finding_id = f"https://github.com/{asset}/security/dependabot/{number}"
        else:
            asset, number = asset or rng.choice(self.hosts), 0
            self.scanner_seq += 1
            finding_id = f"{rng.randrange(16 ** 8):08x}-{self.scanner_seq:04d}"
        finding = Finding(finding_id, source, asset, f"{rng.choice(TITLES)} in {rng.choice(PACKAGES)}",
                          rng.choice(PACKAGES), severity, state, first_seen,
                          fixed_at=closed if state == "fixed" else None,
                          dismissed_at=closed if state == "dismissed" else None,
                          dismissed_reason=reason if state == "dismissed" else "", number=number)
        self.findings.append(finding)
        return finding

    def _when(self, first: date, last: date) -> datetime:
        day = first + timedelta(days=self.rng.randint(0, max(0, (last - first).days)))
        return at(day, self.rng.randint(0, 23), self.rng.randint(0, 59))

    def baseline(self, count: int) -> None:
        """Findings that meet every rule: fixed in time, open within the deadline, or not critical or high."""
        rng, p = self.rng, self.period
        export_day = self.exported_at.date()
        for _ in range(count):
            severity = rng.choices(["critical", "high", "medium", "low"], [0.15, 0.35, 0.3, 0.2])[0]
            if severity in SLA_DAYS:
                sla = SLA_DAYS[severity]
                roll = rng.random()
                if roll < 0.15:  # still open, within its deadline at the export
                    self.add(severity, self._when(export_day - timedelta(days=sla - 1), p.end - timedelta(days=1)))
                    continue
                first = self._when(p.start - timedelta(days=90), p.end - timedelta(days=sla + 1))
                closed = first + timedelta(days=rng.randint(0, sla - 1), hours=rng.randint(0, 12))
                self.add(severity, first, "fixed", closed)
            else:  # medium and low findings carry no deadline here: some stay open a long time
                first = self._when(p.start - timedelta(days=200), p.end - timedelta(days=2))
                fixed = first + timedelta(days=rng.randint(1, 120))
                if rng.random() < 0.5 or fixed >= self.exported_at - timedelta(hours=6):
                    self.add(severity, first)
                else:
                    self.add(severity, first, "fixed", fixed)

    def plant(self) -> None:
        p, export_day = self.period, self.exported_at.date()
        crit, high = SLA_DAYS["critical"], SLA_DAYS["high"]
        # Exceptions: fixed a day late (a boundary), fixed well late, dismissed late; open past the deadline.
        late = [
            self.add("critical", at(p.start + timedelta(days=20), 10), "fixed",
                     at(p.start + timedelta(days=20 + crit + 1), 9)),
            self.add("high", at(p.start + timedelta(days=35), 14), "fixed",
                     at(p.start + timedelta(days=35 + high + 12), 16)),
            self.add("critical", at(p.start - timedelta(days=5), 8), "dismissed",
                     at(p.start + timedelta(days=crit + 3), 11), source="dependabot", reason="tolerable_risk"),
        ]
        open_past = [
            self.add("critical", at(export_day - timedelta(days=crit + 25), 13)),
            self.add("high", at(export_day - timedelta(days=high + 40), 7)),
            self.add("high", at(export_day - timedelta(days=high + 1), 0, 30)),  # one day past, first thing
        ]
        # Near-misses: fixed on the deadline day (across midnight), open exactly as long as allowed,
        # dismissed in time.
        near_late = [
            self.add("high", at(p.start + timedelta(days=10), 9), "fixed", at(p.start + timedelta(days=10 + high), 17)),
            self.add("critical", at(p.start + timedelta(days=50), 23, 30), "fixed",
                     at(p.start + timedelta(days=50 + crit), 0, 15)),
            self.add("critical", at(p.start + timedelta(days=60), 12), "dismissed",
                     at(p.start + timedelta(days=62), 12), source="dependabot", reason="inaccurate"),
        ]
        near_open = [self.add("critical", at(export_day - timedelta(days=crit), 5, 59))]
        self.expected += [(CONTROL, LATE, "", f.finding_id) for f in late]
        self.expected += [(CONTROL, OPEN_PAST, "", f.finding_id) for f in open_past]
        self.near += [(CONTROL, LATE, "", f.finding_id) for f in near_late]
        self.near += [(CONTROL, OPEN_PAST, "", f.finding_id) for f in near_open]

    def plant_unknown_assets(self, organisation: str, domain: str) -> None:
        """Findings on assets the inventory does not list (exceptions), and one on a listed asset written
        in capitals by the scanner (a near-miss: the same asset)."""
        p = self.period
        unknown = [
            self.add("critical", at(p.start + timedelta(days=30), 10), "fixed", at(p.start + timedelta(days=33), 10),
                     source="scanner", asset=f"legacy-ftp.{domain}"),
            self.add("high", at(p.start + timedelta(days=45), 15), "fixed", at(p.start + timedelta(days=50), 9),
                     source="dependabot", asset=f"{organisation}/old-website"),
        ]
        shouted = self.add("high", at(p.start + timedelta(days=20), 11), "fixed", at(p.start + timedelta(days=25), 11),
                           source="scanner", asset=self._shouted(self.hosts[0]))
        self.expected += [(CONTROL, IN_SCOPE, "", f.finding_id) for f in unknown]
        self.near.append((CONTROL, IN_SCOPE, "", shouted.finding_id))

    @staticmethod
    def _shouted(host: str) -> str:
        name, rest = host.split(".", 1)
        return f"{name.upper()}.{rest}"

    def inventory(self) -> list[Asset]:
        """Every repository and host, scanned within the interval, but two planted stale (one a day past)
        and one scanned exactly the interval ago (a near-miss); a lab host out of scope is never judged."""
        rng, export_day = self.rng, self.exported_at.date()
        assets = [Asset(a, "repository" if "/" in a else "host", True, "platform-team",
                        at(export_day - timedelta(days=rng.randint(0, SCAN_INTERVAL_DAYS - 2)), rng.randint(0, 5)))
                  for a in (*self.repositories, *self.hosts)]
        by_name = {a.asset: a for a in assets}
        by_name[self.hosts[3]].last_scanned_at = at(export_day - timedelta(days=SCAN_INTERVAL_DAYS + 5), 4)
        by_name[self.repositories[3]].last_scanned_at = at(export_day - timedelta(days=SCAN_INTERVAL_DAYS + 1), 23)
        by_name[self.hosts[4]].last_scanned_at = at(export_day - timedelta(days=SCAN_INTERVAL_DAYS), 0, 5)
        self.expected += [(CONTROL, SCANNED, "", self.hosts[3]), (CONTROL, SCANNED, "", self.repositories[3])]
        self.near.append((CONTROL, SCANNED, "", self.hosts[4]))
        lab = f"lab-01.{self.hosts[0].split('.', 1)[1]}"
        assets.append(Asset(lab, "host", False, "research", at(export_day - timedelta(days=200), 3)))
        return assets


def add_vulnerabilities(company: Company, seed: int, organisation: str, domain: str) -> None:
    """Give the company its findings, and their planted cases in its answer keys."""
    repositories = [f"{organisation}/{name}" for name in ("api", "web", "billing-service", "infra")]
    hosts = [f"{name}.{domain}" for name in ("web-01", "web-02", "db-01", "bastion", "worker-01")]
    findings = _Findings(company, seed, repositories, hosts)
    findings.baseline(60)
    findings.plant()
    findings.plant_unknown_assets(organisation, domain)
    company.assets = findings.inventory()
    company.vulnerabilities = findings.findings
    company.expected = sorted(set(company.expected) | set(findings.expected))
    company.near_misses = sorted(set(company.near_misses) | set(findings.near))


def in_population(finding: Finding, period: Period) -> bool:
    """A critical or high finding open at any time in the period (the rules' population, by the generator's records)."""
    end = datetime.combine(period.end + timedelta(days=1), datetime.min.time(), tzinfo=finding.first_seen.tzinfo)
    start = datetime.combine(period.start, datetime.min.time(), tzinfo=finding.first_seen.tzinfo)
    closed = finding.closed_at
    return finding.severity in SLA_DAYS and finding.first_seen < end and (closed is None or closed >= start)


__all__ = ["SCAN_INTERVAL_DAYS", "SLA_DAYS", "Asset", "Finding", "add_vulnerabilities", "in_population"]
