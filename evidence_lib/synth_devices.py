"""The sample company's MDM device exports (CC6.8), planted exceptions and near-misses.

Given a folder written by evidence_lib.synth, reads its HR roster through the project's own loader and
writes a Jamf Pro Advanced Computer Search CSV (Macs) and an Intune device list CSV (Windows PCs), drawn
from a numpy Generator of its own (fixed seed): the same folder gives the same bytes. Returns the
evidence.yaml entries, the planted exceptions and the near-misses in expected_exceptions.csv's shape
(control, rule, system, record key) and the populations each rule must count.

    result = device_evidence(folder, parse_period("2026-Q3"))
    add_to_folder(folder, result)   # evidence.yaml and the three expected_*.csv files, appended
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from evidence_lib.period import Period, parse_period
from evidence_lib.synth.area_folder import add_area, write_csv

SEED = 68  # CC6.8
CONTROL = "CC6.8"
MIN_OS = {"macos": "14.6", "windows": "10.0.22631"}  # the catalog's defaults the sample is planted against
EDR_REPORT_DAYS = 7
DEVICE_RETURN_DAYS = 14
JAMF_FILE = "devices/jamf_computers.csv"
INTUNE_FILE = "devices/intune_devices.csv"
JAMF_HEADER = ["Jamf Pro Computer ID", "Computer Name", "Serial Number", "Email Address", "Operating System Version",
               "FileVault 2 Partition Encryption State", "Firewall Enabled", "Screen Lock Enabled", "EDR Last Seen",
               "Last Check-in", "Device Status", "Device Status Date"]
INTUNE_HEADER = ["Device ID", "Device name", "Serial number", "Primary user email address", "OS", "OS version",
                 "Encrypted", "Firewall", "Screen lock", "EDR last seen", "Last check-in", "Management state",
                 "Action date"]


@dataclass
class Device:
    device_id: str
    platform: str
    email: str | None
    name: str
    serial: str
    os_version: str | None
    encrypted: bool | None = True
    firewall: bool | None = True
    screen_lock: bool | None = True
    edr_last_seen: pd.Timestamp | None = None
    last_check_in: pd.Timestamp | None = None
    status: str = "active"
    status_at: pd.Timestamp | None = None


@dataclass
class DeviceEvidence:
    files: list[dict]
    expected: list[tuple[str, str, str, str]]
    near_misses: list[tuple[str, str, str, str]]
    populations: list[tuple[str, str, int, str]]
    devices: list[Device] = field(default_factory=list)

    @property
    def date_values(self) -> int:
        """How many dates the device exports carry: what dates_plausible adds to its population."""
        return sum(stamp is not None and not pd.isna(stamp) for d in self.devices
                   for stamp in (d.edr_last_seen, d.last_check_in, d.status_at))


def _roster_and_as_of(folder: Path, period: Period) -> tuple[pd.DataFrame, pd.Timestamp]:
    from evidence_lib.sources.folder import load_folder
    from evidence_lib.validate import default_as_of

    evidence = load_folder(folder)
    return evidence.frame("hr_roster"), default_as_of(evidence, period)


def device_evidence(folder: Path, period: Period | str, *, seed: int = SEED) -> DeviceEvidence:
    """Write the device exports into `folder` and say what they plant (nothing else in the folder changes)."""
    period = parse_period(period) if isinstance(period, str) else period
    roster, as_of = _roster_and_as_of(Path(folder), period)
    rng = np.random.default_rng(seed)
    day = as_of.tz_convert("UTC").tz_localize(None).normalize()
    plan = _Plan(rng, day, as_of)
    roster = roster.sort_values("employee_id").reset_index(drop=True)
    gone = roster["termination_date"].notna() & (roster["termination_date"] <= day)
    employed = roster[~gone & (roster["hire_date"] <= day)]
    coverage = employed[(employed["status"] == "active") & (employed["worker_type"] == "employee")]
    # Two employees without any managed device; the rest of the employed get one each.
    without = list(coverage["employee_id"].iloc[[3, 11]])
    plan.expect("employee_has_managed_device", *without)
    for _, person in employed.iterrows():
        if person["employee_id"] not in without:
            plan.device(person["email"])
    # Near-miss: the MDM writes one user's e-mail in capitals: still theirs.
    shouted = coverage["employee_id"].iloc[5]
    plan.by_email(roster, shouted).email = plan.by_email(roster, shouted).email.upper()
    plan.near("employee_has_managed_device", shouted)
    plan.plant_settings()
    leavers = roster[gone & roster["termination_date"].between(pd.Timestamp(period.start), pd.Timestamp(period.end))]
    plan.plant_leavers(leavers.sort_values(["termination_date", "employee_id"]))
    earlier = roster[gone & (roster["termination_date"] < pd.Timestamp(period.start))]
    for _, person in earlier.iterrows():  # recovered before the period: outside every population
        at = (person["termination_date"] + pd.Timedelta(days=2)).tz_localize("UTC")
        plan.device(person["email"], status="returned", status_at=at)
    files = plan.write(Path(folder))
    populations = plan.populations(len(coverage))
    return DeviceEvidence(files, sorted(plan.expected), sorted(plan.near_misses), populations, plan.devices)


class _Plan:
    def __init__(self, rng: np.random.Generator, day: pd.Timestamp, as_of: pd.Timestamp):
        self.rng, self.day, self.as_of = rng, day, as_of
        self.devices: list[Device] = []
        self.expected: set[tuple[str, str, str, str]] = set()
        self.near_misses: set[tuple[str, str, str, str]] = set()
        self.left: set[str] = set()

    def expect(self, rule: str, *keys: str) -> None:
        self.expected |= {(CONTROL, rule, "", str(k)) for k in keys}

    def near(self, rule: str, *keys: str) -> None:
        self.near_misses |= {(CONTROL, rule, "", str(k)) for k in keys}

    def _utc(self, days_ago: float) -> pd.Timestamp:
        stamp = self.as_of - pd.Timedelta(days=float(days_ago))
        return stamp.tz_convert("UTC").floor("s")

    def device(self, email: str, *, status: str = "active", status_at=None) -> Device:
        mac = bool(self.rng.random() < 0.65)
        number = len(self.devices) + 1
        if mac:
            version = str(self.rng.choice(["14.7", "14.7.1", "15.0.1", "15.1"]))
            device = Device(str(1000 + number), "macos", email, f"MAC-{number:04d}", f"C02{number:05d}X", version)
        else:
            version = str(self.rng.choice(["10.0.22631.4460", "10.0.26100.2314", "10.0.22631.4317"]))
            device = Device(f"8f2c{number:04d}-6a1e-4c1f-9d2e-{number:012d}", "windows", email, f"PC-{number:04d}",
                            f"PF{number:06d}", version)
        device.edr_last_seen = self._utc(self.rng.uniform(0, 3))
        device.last_check_in = self._utc(self.rng.uniform(0, 2))
        device.status, device.status_at = status, status_at
        self.devices.append(device)
        return device

    def by_email(self, roster: pd.DataFrame, employee_id: str) -> Device:
        email = roster.loc[roster["employee_id"] == employee_id, "email"].iloc[0]
        return next(d for d in self.devices if d.email == email and d.status == "active")

    def _in_use(self, platform: str) -> list[Device]:
        return [d for d in self.devices if d.status == "active" and d.platform == platform]

    def plant_settings(self) -> None:
        macs, pcs = self._in_use("macos"), self._in_use("windows")
        # Disk encryption: off on a Mac and a PC, not reported on a Mac (fails closed).
        macs[0].encrypted, pcs[0].encrypted, macs[1].encrypted = False, False, None
        self.expect("device_disk_encrypted", macs[0].device_id, pcs[0].device_id, macs[1].device_id)
        # Near-miss: enrolled and encrypted the day before the export (checked in then, encryption on).
        macs[2].last_check_in = self._utc(1)
        self.near("device_disk_encrypted", macs[2].device_id)
        # OS: below minimum; a version below it numerically but above it as text; blank; exactly the minimum.
        macs[3].os_version, pcs[1].os_version, macs[4].os_version = "14.5", "10.0.9200", None
        self.expect("device_os_at_minimum", macs[3].device_id, pcs[1].device_id, macs[4].device_id)
        macs[5].os_version, pcs[2].os_version = MIN_OS["macos"], MIN_OS["windows"]
        self.near("device_os_at_minimum", macs[5].device_id, pcs[2].device_id)
        # Screen lock and firewall: each off once, the firewall not reported once.
        macs[6].firewall, pcs[3].screen_lock, pcs[4].firewall = False, False, None
        self.expect("device_screen_lock_and_firewall", macs[6].device_id, pcs[3].device_id, pcs[4].device_id)
        # EDR: silent past the window, never reported; near-miss: exactly edr_report_days ago, late in the day.
        macs[7].edr_last_seen, pcs[5].edr_last_seen = self._utc(EDR_REPORT_DAYS + 5), None
        self.expect("edr_agent_reporting", macs[7].device_id, pcs[5].device_id)
        edge = (self.day - pd.Timedelta(days=EDR_REPORT_DAYS)).tz_localize("UTC") + pd.Timedelta(hours=23, minutes=50)
        macs[8].edr_last_seen = edge
        self.near("edr_agent_reporting", macs[8].device_id)
        # Near-miss: a retired Mac with encryption off is not in use, so not judged.
        retired = self.device(macs[9].email, status="retired", status_at=self._utc(40))
        retired.encrypted = False
        self.near("device_disk_encrypted", retired.device_id)

    def plant_leavers(self, leavers: pd.DataFrame) -> None:
        """Leavers' devices: most recovered in time; planted late, never, and recovered without a date;
        near-misses recovered exactly on the SLA day and not yet due."""
        for position, (_, person) in enumerate(leavers.iterrows()):
            term = person["termination_date"]
            room = int((self.day - term).days)
            if position == 0 and room > DEVICE_RETURN_DAYS + 3:
                device = self.device(person["email"], status="returned",
                                     status_at=(term + pd.Timedelta(days=DEVICE_RETURN_DAYS + 3)).tz_localize("UTC"))
                self.expect("leaver_devices_recovered", device.device_id)
            elif position == 1 and room > DEVICE_RETURN_DAYS:
                device = self.device(person["email"])  # never recovered: still in use past the deadline
                self.expect("leaver_devices_recovered", device.device_id)
            elif position == 2:
                device = self.device(person["email"], status="wiped", status_at=None)  # wiped, no date on record
                self.expect("leaver_devices_recovered", device.device_id)
            elif position == 3 and room > DEVICE_RETURN_DAYS:
                at = (term + pd.Timedelta(days=DEVICE_RETURN_DAYS)).tz_localize("UTC") + pd.Timedelta(hours=23)
                device = self.device(person["email"], status="returned", status_at=at)
                self.near("leaver_devices_recovered", device.device_id)
            elif room < DEVICE_RETURN_DAYS:
                device = self.device(person["email"])  # not yet due: still in use, on time
                self.near("leaver_devices_recovered", device.device_id)
            else:
                lag = int(self.rng.integers(0, DEVICE_RETURN_DAYS))
                at = (term + pd.Timedelta(days=lag)).tz_localize("UTC") + pd.Timedelta(hours=15)
                device = self.device(person["email"], status=str(self.rng.choice(["returned", "wiped"])), status_at=at)
            self.left.add(device.device_id)

    def populations(self, coverage: int) -> list[tuple[str, str, int, str]]:
        in_use = sum(d.status == "active" for d in self.devices)
        basis = "devices in use (status active) in the MDM exports"
        return [(CONTROL, "employee_has_managed_device", coverage, "employees active on the export date"),
                (CONTROL, "device_disk_encrypted", in_use, basis),
                (CONTROL, "device_os_at_minimum", in_use, basis),
                (CONTROL, "device_screen_lock_and_firewall", in_use, basis),
                (CONTROL, "edr_agent_reporting", in_use, basis),
                (CONTROL, "leaver_devices_recovered", len(self.left),
                 "devices of people terminated in the period by the export date")]

    def write(self, folder: Path) -> list[dict]:
        macs = [d for d in self.devices if d.platform == "macos"]
        pcs = [d for d in self.devices if d.platform == "windows"]
        statuses = {"active": "Active", "returned": "Returned", "wiped": "Wiped", "retired": "Retired"}
        write_csv(folder / JAMF_FILE, JAMF_HEADER, [
            [d.device_id, d.name, d.serial, d.email, d.os_version, _fv(d.encrypted), _yes(d.firewall),
             _yes(d.screen_lock), _when(d.edr_last_seen), _when(d.last_check_in), statuses[d.status],
             _when(d.status_at)] for d in macs])
        states = {"active": "Managed", "returned": "Returned", "wiped": "Wipe issued", "retired": "Retire issued"}
        write_csv(folder / INTUNE_FILE, INTUNE_HEADER, [
            [d.device_id, d.name, d.serial, d.email, "Windows", d.os_version, _yes(d.encrypted), _yes(d.firewall),
             _yes(d.screen_lock), _when(d.edr_last_seen), _when(d.last_check_in), states[d.status],
             _when(d.status_at)] for d in pcs])
        return [
            {"path": JAMF_FILE, "type": "devices", "format": "jamf_pro_computer_search_csv",
             "source": "Jamf Pro Advanced Computer Search 'SOC 2 endpoints' exported as CSV",
             "extracted_by": "IT operations", "control_total": {"count": len(macs),
                                                                 "source": "Jamf Pro dashboard: computers"}},
            {"path": INTUNE_FILE, "type": "devices", "format": "intune_devices_csv",
             "source": "Intune admin center: Devices > All devices > Export, joined with the compliance report",
             "extracted_by": "IT operations", "control_total": {"count": len(pcs),
                                                                 "source": "Intune admin center: Windows devices"}},
        ]


def _yes(value: bool | None) -> str:
    return "" if value is None else ("Yes" if value else "No")


def _fv(value: bool | None) -> str:
    return "" if value is None else ("Encrypted" if value else "Unencrypted")


def _when(stamp) -> str:
    if stamp is None or pd.isna(stamp):
        return ""
    return pd.Timestamp(stamp).tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%SZ")


def add_to_folder(folder: Path, result: DeviceEvidence) -> None:
    """Declare the exports in evidence.yaml and append what they plant to the answer files."""
    add_area(folder, result, dates_described="device check-in, EDR and recovery dates")
