"""Policy views (CC1.1): the frames the policy suites state their rules on.

Pure functions of loaded frames and explicit dates, like views.py (whose helpers they share). Every
tested value is explicit and fails closed: a policy whose audience the export does not say is required,
an acknowledgement without a version is not one of the current version, a policy without an approval
date or an approver reads so, and a person with no acknowledgement keeps no days (an exception, never
skipped).
"""

from __future__ import annotations

import pandas as pd

from evidence_lib.identity import lookup, person_ids
from evidence_lib.period import Period
from evidence_lib.views import _days, _traced, _utc_day

APPROVED = "approved"
IN_FORCE = "active"


def _folded(values: pd.Series) -> pd.Series:
    """Text compared as the tools compare it: without case or surrounding spaces; a blank is ''."""
    return values.astype("str").str.strip().str.casefold().where(values.notna(), "")


def _required(policies: pd.DataFrame) -> pd.Series:
    """In force and required for every person; an unknown audience or status counts as required."""
    everyone = policies["required_for_all"].astype("boolean").fillna(True)
    in_force = policies["status"].astype("str").where(policies["status"].notna(), IN_FORCE) == IN_FORCE
    return (everyone & in_force).astype(bool)


def policy_view(policies: pd.DataFrame, *, period: Period) -> pd.DataFrame:
    """Every policy of the policy list, with whether it is required, its approval and the days from its
    last review (the later of its review and its current version's approval) to the period's end."""
    frame = policies[_traced(policies, ["policy_id", "title", "current_version", "status", "approved_at",
                                        "approved_by", "reviewed_at"])].copy()
    frame["required"] = _required(policies).values
    approver = _folded(policies["approved_by"])
    frame["approval_state"] = "no approval date"
    frame.loc[policies["approved_at"].notna().values & (approver == "").values, "approval_state"] = "no approver named"
    frame.loc[policies["approved_at"].notna().values & (approver != "").values, "approval_state"] = APPROVED
    frame["last_review_at"] = frame[["approved_at", "reviewed_at"]].max(axis=1)
    period_end = pd.Series(pd.Timestamp(period.end), index=frame.index)
    frame["days_since_review"] = _days(period_end, _utc_day(frame["last_review_at"]))
    return frame.reset_index(drop=True)


def acknowledged_policy(acknowledgements: pd.DataFrame, policies: pd.DataFrame) -> pd.Series:
    """The policy id each acknowledgement names: by the policy's id, else by its title when only one
    policy has that title; <NA> when it names none of the list's policies."""
    ids = pd.Series(policies["policy_id"].values, index=_folded(policies["policy_id"]).values)
    titles = _folded(policies["title"])
    unique = ~titles.duplicated(keep=False) & (titles != "")
    by_title = pd.Series(policies["policy_id"][unique].values, index=titles[unique].values)
    named = _folded(acknowledgements["policy"])
    return lookup(named, ids[~ids.index.duplicated()]).fillna(lookup(named, by_title))


def policy_acknowledgement_view(roster: pd.DataFrame, policies: pd.DataFrame, acknowledgements: pd.DataFrame, *,
                                period: Period, as_of: pd.Timestamp, domains: tuple[str, ...] = ()) -> pd.DataFrame:
    """One row per person active on the export date and required policy, with their acknowledgements
    of its current version (versions compared without case or surrounding spaces; an older version or
    a blank one does not count).

    `days_to_acknowledge` counts from the hire date (or the current version's approval, when later) to
    the first acknowledgement of the current version or, for someone who has none, the days elapsed so
    far (not acknowledged and past due reads as late, not yet due as on time). `days_since_acknowledged`
    counts from the latest acknowledgement of the current version to the export date; none keeps no days.
    `hired_in_period` and `hired_before_period` say which rule judges the row.
    """
    as_of_day = as_of.tz_convert("UTC").tz_localize(None).normalize()
    gone = roster["termination_date"].notna() & (roster["termination_date"] <= as_of_day)
    active = roster[(roster["status"] == "active") & ~gone & (roster["hire_date"] <= as_of_day)]
    people = active[_traced(active, ["employee_id", "name", "email", "worker_type", "hire_date"])]
    required = policies[_required(policies)][["policy_id", "title", "current_version", "approved_at"]]
    frame = people.reset_index(drop=True).merge(required.rename(columns={"title": "policy_title"}), how="cross")

    acks = pd.DataFrame({"person": person_ids(acknowledgements, roster, domains).values,
                         "policy_id": acknowledged_policy(acknowledgements, policies).values,
                         "version": _folded(acknowledgements["version"]).values,
                         "acknowledged_at": acknowledgements["acknowledged_at"].array})
    acks = acks.dropna(subset=["person", "policy_id"])  # naming no one, or no listed policy: acknowledges nothing
    current = acks.merge(required[["policy_id", "current_version"]], on="policy_id")
    current = current[current["version"] == _folded(current["current_version"])]
    row_key = frame["employee_id"].astype("str") + "\x1f" + frame["policy_id"].astype("str")
    first = current.groupby(["person", "policy_id"])["acknowledged_at"].agg(["min", "max"])
    first.index = first.index.get_level_values(0).astype("str") + "\x1f" + first.index.get_level_values(1).astype("str")
    frame["first_acknowledged_at"] = lookup(row_key, first["min"])
    frame["last_acknowledged_at"] = lookup(row_key, first["max"])
    latest = acks.sort_values("acknowledged_at").groupby(["person", "policy_id"])["version"].last()
    latest.index = latest.index.get_level_values(0).astype("str") + "\x1f" + latest.index.get_level_values(1)
    frame["latest_version_acknowledged"] = lookup(row_key, latest)

    approved_day = _utc_day(frame["approved_at"])
    start = frame["hire_date"].where(approved_day.isna() | (frame["hire_date"] >= approved_day), approved_day)
    done = _days(_utc_day(frame["first_acknowledged_at"]), start)
    elapsed = _days(pd.Series(as_of_day, index=frame.index), start)
    frame["days_to_acknowledge"] = done.fillna(elapsed)
    frame["days_since_acknowledged"] = _days(pd.Series(as_of_day, index=frame.index),
                                             _utc_day(frame["last_acknowledged_at"]))
    frame["hired_in_period"] = frame["hire_date"].between(pd.Timestamp(period.start),
                                                          pd.Timestamp(period.end)).astype(bool)
    frame["hired_before_period"] = (frame["hire_date"] < pd.Timestamp(period.start)).astype(bool)
    return frame.drop(columns=["approved_at"]).reset_index(drop=True)
