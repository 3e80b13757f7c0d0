"""Endpoint views (CC6.8): the frames the devices suites state their rules on.

Pure functions of loaded frames, parameters and explicit dates, like views.py (whose helpers they
share). Every tested value is explicit and fails closed: a setting the export does not report reads
"not reported" (never "on"), a version that cannot be read or a platform without a configured
minimum reads so, a recovered device without its date keeps no days.
"""

from __future__ import annotations

import re

import pandas as pd

from evidence_lib.identity import person_ids
from evidence_lib.parameters import ParameterError
from evidence_lib.period import Period
from evidence_lib.views import _days, _traced, _utc_day

IN_USE = "active"
RECOVERED = ("wiped", "retired", "returned")
# platform -> the parameter holding its minimum OS version (iPadOS follows iOS's numbering)
MINIMUM_PARAMETERS = {"macos": "min_os_macos", "windows": "min_os_windows", "ios": "min_os_ios",
                      "ipados": "min_os_ios", "android": "min_os_android"}
AT_MINIMUM = "at or above minimum"
_VERSION = re.compile(r"\s*(\d+(?:\.\d+)*)\s*(?:\([^()]*\))?\s*")  # "14.6.1", "14.6.1 (23G93)"
_PARAMETER_VERSION = re.compile(r"\d+(?:\.\d+)*")


def version_key(text: object) -> tuple[int, ...] | None:
    """A version's components as numbers ("10.0.22631" -> (10, 0, 22631)); None when unreadable."""
    if not isinstance(text, str):
        return None
    match = _VERSION.fullmatch(text)
    return tuple(int(part) for part in match[1].split(".")) if match else None


def at_least(version: tuple[int, ...], minimum: tuple[int, ...]) -> bool:
    """Component by component, missing components counting as 0: 14.6 == 14.6.0 < 14.10."""
    width = max(len(version), len(minimum))
    return version + (0,) * (width - len(version)) >= minimum + (0,) * (width - len(minimum))


def os_minimums(params: dict) -> dict[str, tuple[int, ...] | None]:
    """platform -> its minimum version from the parameters (None: none configured); ParameterError on bad text."""
    minimums: dict[str, tuple[int, ...] | None] = {}
    for platform, name in MINIMUM_PARAMETERS.items():
        text = str(params.get(name) or "").strip()
        if text and not _PARAMETER_VERSION.fullmatch(text):
            raise ParameterError(f"parameter {name} = {text!r} is not a version: allowed digits separated by dots "
                                 f"(14.6, 10.0.22631), compared numerically component by component; "
                                 f"empty = no minimum for {platform}")
        minimums[platform] = tuple(int(p) for p in text.split(".")) if text else None
    return minimums


def _os_check(platforms: pd.Series, versions: pd.Series, minimums: dict) -> pd.Series:
    def check(platform, version) -> str:
        minimum = minimums.get(platform) if isinstance(platform, str) else None
        key = version_key(version)
        if minimum is None:
            return "no minimum configured for the platform"
        if version is None or (not isinstance(version, str)) or not version.strip():
            return "not reported"
        if key is None:
            return "unreadable version"
        return AT_MINIMUM if at_least(key, minimum) else "below minimum"

    return pd.Series([check(p, v) for p, v in zip(platforms.astype(object), versions.astype(object))],
                     index=platforms.index, dtype="str")


def _state(values: pd.Series) -> pd.Series:
    """A reported setting as text: on, off or not reported (a blank never reads as on)."""
    text = values.map({True: "on", False: "off"}).astype(object)
    return text.where(values.notna(), "not reported").astype("str")


def device_view(devices: pd.DataFrame, roster: pd.DataFrame, *, period: Period, as_of: pd.Timestamp,
                params: dict, domains: tuple[str, ...] = ()) -> pd.DataFrame:
    """Every device of the MDM exports, with its user, its settings as judged and, for a leaver's device,
    the days from the termination to its recovery.

    `in_use` marks the devices the configuration rules judge (status active). `owner_left` marks the
    devices of people terminated on or before the export date, in the period (or earlier, while the
    device is still in use): `return_days_after_termination` counts UTC days from the termination to
    the wipe, retirement or return; for a device still in use, the days elapsed so far (not recovered
    and past due reads as late, not yet due as on time); a recovered device without its date keeps none.
    """
    minimums = os_minimums(params)
    frame = devices[_traced(devices, ["device_id", "device_name", "serial_number", "platform", "os_version", "email",
                                      "status", "edr_last_seen", "last_check_in", "status_changed_at"])].copy()
    owner = person_ids(devices, roster, domains)
    frame["owner_employee_id"] = owner
    people = roster.drop_duplicates("employee_id").set_index("employee_id")
    found = people.reindex(owner.fillna("")).set_index(frame.index)
    frame["owner_name"] = found["name"]
    frame["termination_date"] = found["termination_date"]
    status = devices["status"].astype("str").where(devices["status"].notna(), "")
    frame["in_use"] = (status == IN_USE).astype(bool)
    frame["os_minimum"] = [".".join(map(str, minimums[p])) if minimums.get(p) else None
                           for p in devices["platform"].astype(object)]
    frame["os_check"] = _os_check(devices["platform"], devices["os_version"], minimums)
    frame["disk_encryption"] = _state(devices["disk_encrypted"])
    frame["screen_lock_state"] = _state(devices["screen_lock"])
    frame["firewall_state"] = _state(devices["firewall_enabled"])
    as_of_day = as_of.tz_convert("UTC").tz_localize(None).normalize()
    frame["days_since_edr"] = _days(pd.Series(as_of_day, index=frame.index), _utc_day(frame["edr_last_seen"]))

    term = frame["termination_date"]
    gone = term.notna() & (term <= as_of_day)
    in_period = term.between(pd.Timestamp(period.start), pd.Timestamp(period.end))
    frame["owner_left"] = (gone & (in_period | frame["in_use"])).fillna(False).astype(bool)
    recovered = status.isin(RECOVERED)
    lag = _days(_utc_day(frame["status_changed_at"]), term)
    elapsed = _days(pd.Series(as_of_day, index=frame.index), term)
    frame["return_days_after_termination"] = lag.where(recovered, elapsed.where(~recovered))
    return frame.reset_index(drop=True)


def device_coverage_view(roster: pd.DataFrame, devices: pd.DataFrame, *, as_of: pd.Timestamp,
                         domains: tuple[str, ...] = ()) -> pd.DataFrame:
    """Every employee (not contractor) active on the export date and hired by then, with how many devices
    in use the MDM assigns to them (by employee id, else e-mail)."""
    as_of_day = as_of.tz_convert("UTC").tz_localize(None).normalize()
    gone = roster["termination_date"].notna() & (roster["termination_date"] <= as_of_day)
    active = roster[(roster["status"] == "active") & (roster["worker_type"] == "employee") & ~gone
                    & (roster["hire_date"] <= as_of_day)]
    frame = active[_traced(active, ["employee_id", "name", "email", "hire_date", "department"])].copy()
    in_use = devices[devices["status"].astype("str").eq(IN_USE) & devices["status"].notna()]
    owners = person_ids(in_use, roster, domains)
    counts = owners.dropna().value_counts()
    frame["managed_devices"] = frame["employee_id"].map(counts).fillna(0).astype("float64")
    return frame.reset_index(drop=True)
