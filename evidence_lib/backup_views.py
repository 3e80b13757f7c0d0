"""Backup and recovery views (A1.2, A1.3): the frames the backup suites state their rules on.

Pure functions of loaded frames, the period and the export time, like views.py (whose helpers they
share). The population of the gap rule is the list of resources that must be backed up, never the
jobs: a resource with no job at all is a row, with the whole period as its gap. Only a COMPLETED
job is a backup; days are UTC calendar days, so a daily backup is a gap of 1 however its start time
drifts, and a job is dated by the day it started (the point in time it saves), even when it
completes after midnight.
"""

from __future__ import annotations

from itertools import pairwise

import pandas as pd

from evidence_lib.period import Period
from evidence_lib.views import _traced, _utc_day

SUCCESS = "completed"
NOT_A_BACKUP = ("failed", "aborted", "expired", "partial")  # ended without a usable recovery point
SUCCEEDED = "succeeded"
# What a restore test that did not succeed reads as, by its outcome (a restore still under way at the
# export has not shown that recovery works).
RESTORE_RESULTS = {"failed": "failed", "aborted": "aborted", "running": "not finished by the export",
                   "pending": "not finished by the export"}
VALIDATION_RESULTS = {"failed": "restored, validation failed", "timed_out": "restored, validation timed out",
                      "validating": "restored, validation not finished"}


def _day(stamp: pd.Timestamp) -> pd.Timestamp:
    return stamp.tz_convert("UTC").tz_localize(None).normalize()


def _key(values: pd.Series) -> pd.Series:
    """Identifiers as the jobs and the resource list both write them (surrounding spaces are not part of an ARN)."""
    return values.astype("str").str.strip().where(values.notna())


def _gaps(days: list[pd.Timestamp], start: pd.Timestamp, end: pd.Timestamp) -> tuple[float, object, object]:
    """The longest run of days without a backup from `start` to `end`, counting the stretch before the first
    and after the last: (days, from, to). No backup at all: the whole window."""
    marks = [start, *days, end]
    spans = [(float((later - earlier).days), earlier, later) for earlier, later in pairwise(marks)]
    return max(spans, key=lambda span: span[0])


def backup_coverage_view(resources: pd.DataFrame, jobs: pd.DataFrame, *, period: Period,
                         as_of: pd.Timestamp) -> pd.DataFrame:
    """Every resource of the backup scope list, with its successful and failed backups from the period start
    to the export and its longest gap in UTC days (`longest_gap_days`, between `longest_gap_from` and
    `longest_gap_to`). `in_scope` marks the resources the rule judges; a blank reads in scope."""
    frame = resources[_traced(resources, ["resource_arn", "resource_name", "resource_type", "owner"])].copy()
    frame["in_scope"] = resources["in_scope"].fillna(True).astype(bool)
    start, end = pd.Timestamp(period.start), _day(as_of)
    job_day = _utc_day(jobs["created_at"])
    window = jobs[job_day.between(start, end)].assign(day=job_day, resource=_key(jobs["resource_arn"]))
    state = window["state"].astype("str").where(window["state"].notna(), "")
    successes = window[state == SUCCESS]
    success_days = successes.groupby("resource")["day"].agg(lambda days: sorted(set(days))).to_dict()
    failures = window[state.isin(NOT_A_BACKUP)]["resource"].value_counts()
    last_success = successes.groupby("resource")["created_at"].max()
    resource = _key(frame["resource_arn"])
    gaps = [_gaps(success_days.get(r, []), start, end) for r in resource]
    frame["successful_backup_days"] = [float(len(success_days.get(r, []))) for r in resource]
    frame["failed_backups"] = resource.map(failures).fillna(0).astype("float64")
    frame["last_backup_at"] = pd.to_datetime(resource.map(last_success.to_dict()), utc=True)
    frame["longest_gap_days"] = pd.Series([g[0] for g in gaps], index=frame.index, dtype="float64")
    frame["longest_gap_from"] = pd.Series([g[1] for g in gaps], index=frame.index, dtype="datetime64[us]")
    frame["longest_gap_to"] = pd.Series([g[2] for g in gaps], index=frame.index, dtype="datetime64[us]")
    return frame.reset_index(drop=True)


def _in_period(tests: pd.DataFrame, period: Period) -> pd.DataFrame:
    start = pd.Timestamp(period.start, tz="UTC")
    end = pd.Timestamp(period.end, tz="UTC") + pd.Timedelta(days=1)
    return tests[(tests["tested_at"] >= start) & (tests["tested_at"] < end)]


def _restore_result(tests: pd.DataFrame) -> pd.Series:
    """succeeded only when the restore completed and its validation, where reported, did not fail."""
    outcome = tests["outcome"].astype("str").where(tests["outcome"].notna(), "")
    validation = tests["validation"].astype("str").where(tests["validation"].notna(), "")
    result = outcome.map(RESTORE_RESULTS).fillna("outcome not reported")
    checked = validation.map(VALIDATION_RESULTS)
    succeeded = (outcome == SUCCEEDED)
    result = result.mask(succeeded, checked.fillna(SUCCEEDED))
    return result.astype("str")


def restore_test_view(tests: pd.DataFrame, *, period: Period) -> pd.DataFrame:
    """Every restore test started in the period, with its result in words (`restore_result`)."""
    chosen = _in_period(tests, period)
    frame = chosen[_traced(chosen, ["restore_id", "resource", "resource_type", "tested_at", "completed_at",
                                    "outcome", "validation", "tester", "message"])].copy()
    frame["restore_result"] = _restore_result(chosen)
    return frame.reset_index(drop=True)


def restore_testing_view(tests: pd.DataFrame, *, period: Period) -> pd.DataFrame:
    """The period as one record: how many restore tests started in it and how many succeeded."""
    chosen = _in_period(tests, period)
    succeeded = chosen[_restore_result(chosen) == SUCCEEDED]
    return pd.DataFrame({
        "period": [period.label],
        "restore_tests": [float(len(chosen))],
        "successful_restore_tests": [float(len(succeeded))],
        "last_successful_test_at": [succeeded["tested_at"].max() if len(succeeded) else pd.NaT],
    })
