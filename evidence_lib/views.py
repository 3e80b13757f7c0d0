"""Cross-evidence views: the frames the suites state their rules on.

Pure functions of loaded frames and explicit dates: no I/O, no clock. Each view adds the
facts a rule needs (whose account is this, how many days from termination to disabling)
and leaves the judgement — the thresholds and conditions — to the suite. Flags that suites
filter on are plain booleans and every tested value is explicit, so that nothing an auditor
should see is hidden behind GX's habit of skipping missing values.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from evidence_lib.identity import casefold, lookup, person_ids, positions, resolve_owners, resolve_people
from evidence_lib.period import Period

TICKET_KEY = re.compile(r"\b([A-Za-z][A-Za-z0-9]+-\d+|CHG\d{7})\b")


# Where a record came from: its export, relative to the evidence folder, and its row there.
TRACE_COLUMNS = ("source_file", "source_row")


def _utc_day(values: pd.Series) -> pd.Series:
    """The calendar day (UTC) of a timestamp column, as a naive midnight timestamp."""
    return values.dt.tz_convert("UTC").dt.tz_localize(None).dt.normalize()


def _days(later: pd.Series, earlier: pd.Series) -> pd.Series:
    # Plain float64 (NaN = unknown): GX's pandas `between` is vectorised only for numpy
    # int/float columns and falls back to a Python call per value for nullable Float64.
    return (later - earlier).dt.days.astype("float64")


def _period_bounds(period: Period) -> tuple[pd.Timestamp, pd.Timestamp]:
    start = pd.Timestamp(period.start, tz="UTC")
    return start, pd.Timestamp(period.end, tz="UTC") + pd.Timedelta(days=1)  # end exclusive


def _traced(frame: pd.DataFrame, columns: list[str]) -> list[str]:
    """The columns, and where each record came from (`source_file`, `source_row`) when the frame says."""
    return columns + [c for c in TRACE_COLUMNS if c in frame.columns]


def _flag(values: pd.Series) -> pd.Series:
    return values.fillna(False).astype(bool)


def account_view(
    accounts: pd.DataFrame,
    roster: pd.DataFrame,
    aliases: pd.DataFrame,
    service_accounts: pd.DataFrame,
    reviews: pd.DataFrame,
    *,
    period: Period,
    as_of: pd.Timestamp,
    domains: tuple[str, ...] = (),
) -> pd.DataFrame:
    """One row per account: its owner's employment on the export date, its review, its use."""
    frame = resolve_owners(accounts, roster, aliases, domains)
    people = roster[["name", "status", "hire_date", "termination_date"]].reset_index(drop=True)
    owners = people.reindex(positions(frame["owner_employee_id"], roster["employee_id"]))  # first of an id
    owners.index = frame.index
    as_of_day = as_of.tz_convert("UTC").tz_localize(None).normalize()
    start, end = _period_bounds(period)

    frame["owner_name"] = owners["name"]
    frame["hire_date"] = owners["hire_date"]
    frame["termination_date"] = owners["termination_date"]
    terminated = owners["termination_date"].notna() & (owners["termination_date"] <= as_of_day)
    status = owners["status"].where(~terminated, "terminated")
    frame["owner_status"] = status.where(frame["owner_employee_id"].notna(), frame["resolved_by"]).astype(str)
    frame["has_owner"] = frame["owner_employee_id"].notna()
    frame["terminated_in_period"] = owners["termination_date"].between(
        pd.Timestamp(period.start), pd.Timestamp(period.end)).fillna(False).astype(bool)

    registered = casefold(service_accounts["system"]) + "\x1f" + casefold(service_accounts["account_id"])
    account_id = casefold(frame["account_id"])
    account_key = casefold(frame["system"]) + "\x1f" + account_id
    frame["is_service"] = account_key.isin(set(registered)).astype(bool)
    # An account whose export leaves its state unknown (a load problem already) counts as enabled:
    # it stays in every population of enabled accounts, and a leaver's is never read as disabled.
    frame["enabled"] = frame["enabled"].fillna(True).astype(bool)
    for column in ("builtin", "is_admin"):
        frame[column] = _flag(frame[column])
    frame["mfa"] = _flag(frame["mfa_enabled"])
    frame["local_name"] = account_id.str.replace(r"@.*$", "", regex=True)
    # Names compared as the systems compare them: IAM, Okta, GitHub and directories refuse a second
    # FARID.SINGH beside farid.singh, so two such rows are one name twice, not two accounts.
    frame["account_name_folded"] = casefold(frame["account_id"].str.strip())
    frame["used_in_period"] = _flag((frame["last_login_at"] >= start) & (frame["last_login_at"] < end))

    # Creation is judged in every system whose export records it: an account there without a
    # creation time cannot show it was created after its owner's hire, so it stays in the population.
    frame["creation_recorded"] = frame.groupby("system")["created_at"].transform(lambda s: s.notna().any()).astype(bool)
    frame["created_days_before_hire"] = _days(frame["hire_date"], _utc_day(frame["created_at"]))
    frame["deprovision_lag_days"] = _days(_utc_day(frame["disabled_at"]), frame["termination_date"])

    # Every enabled account is judged for dormancy: a system whose export carries no logins is
    # not exempt (its accounts have no days to count, which fails the rule) unless scoped out.
    last_seen = frame["last_login_at"].fillna(frame["created_at"])
    frame["days_since_login"] = _days(pd.Series(as_of, index=frame.index), last_seen)

    return _with_review(frame, reviews, period)


def _with_review(frame: pd.DataFrame, reviews: pd.DataFrame, period: Period) -> pd.DataFrame:
    reviews = reviews[reviews["period"].astype(str) == period.label]
    signed = reviews.groupby("system")["signed_off_at"].max()
    found = reviews[["decision", "reviewer"]].reset_index(drop=True).reindex(
        _pair_positions(frame, reviews, ["system", "account_id"]))
    frame["review_decision"] = found["decision"].fillna("missing").astype(str).values
    frame["reviewer"] = found["reviewer"].values
    frame["review_signed_off_at"] = lookup(frame["system"], signed)
    # Every system with enabled accounts is in scope of the review: a system the review left out
    # shows each of its accounts as missing (scope a system out explicitly in evidence.yaml).
    # Accounts created after the sign-off could not have been reviewed.
    signed_at = frame["review_signed_off_at"]
    existed = frame["created_at"].isna() | signed_at.isna() | (frame["created_at"] <= signed_at)
    frame["in_review_scope"] = _flag(frame["enabled"] & existed)
    return frame


def _pair_positions(keys: pd.DataFrame, labels: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """Where each row's (a, b) first occurs among the labels' rows, -1 where it does not (NaN finds NaN):
    each column factorized once over both frames, the pair compared as one integer."""
    codes = [pd.factorize(pd.concat([keys[c], labels[c]], ignore_index=True), use_na_sentinel=False)[0]
             for c in columns]
    pair = codes[0].astype(np.int64) * (codes[1].max(initial=0) + 1) + codes[1]
    return positions(pair[: len(keys)], pair[len(keys):])


def deployment_view(deployments: pd.DataFrame, tickets: pd.DataFrame, *, period: Period) -> pd.DataFrame:
    """The period's production deployments, each with every existing ticket it names (title, body, branch).

    `ticket_id` is the first of them, `ticket_ids` all of them (space-separated): a pull request
    titled "Follow-up to ENG-101; ENG-160" ships both changes, and each is judged.
    """
    start, end = _period_bounds(period)
    frame = deployments[(deployments["deployed_at"] >= start) & (deployments["deployed_at"] < end)].copy()
    known = set(tickets["ticket_id"].str.upper())
    keys = frame["ticket_ref"].fillna("").str.findall(TICKET_KEY)
    linked = [list(dict.fromkeys(k.upper() for k in found if k.upper() in known)) for found in keys]
    frame["ticket_ids"] = pd.Series([" ".join(found) for found in linked], index=frame.index, dtype="str")
    frame["ticket_id"] = pd.Series([found[0] if found else "" for found in linked], index=frame.index, dtype="str")
    frame["ticket_found"] = frame["ticket_id"] != ""
    return frame.reset_index(drop=True)


def change_view(deployments: pd.DataFrame, tickets: pd.DataFrame, *, period: Period,
                roster: pd.DataFrame | None = None, aliases: pd.DataFrame | None = None,
                domains: tuple[str, ...] = ()) -> pd.DataFrame:
    """Every ticket deployed in the period, with its first deployment, its approval timing and
    whether its approver is a person other than its author and implementer."""
    linked = deployment_view(deployments, tickets, period=period)
    linked = linked[linked["ticket_found"]].assign(ticket_id=lambda f: f["ticket_ids"].str.split(" "))
    linked = linked.explode("ticket_id")
    first = linked.groupby("ticket_id").agg(first_deployed_at=("deployed_at", "min"),
                                            deployments=("deploy_id", "count"))
    frame = tickets.assign(ticket_id=tickets["ticket_id"].str.upper()).merge(
        first, left_on="ticket_id", right_index=True, how="inner")
    frame = _with_people(frame, roster, aliases, domains)
    lag = frame["approved_at"] - frame["first_deployed_at"]
    frame["approval_after_deploy_days"] = (lag.dt.total_seconds() / 86400).astype("float64")
    frame["testing_evidence"] = frame["testing_evidence"].where(frame["testing_evidence"].fillna("").str.strip() != "")
    return frame.reset_index(drop=True)


def _with_people(frame: pd.DataFrame, roster: pd.DataFrame | None, aliases, domains) -> pd.DataFrame:
    """Author, implementer and approver(s) as people (employee ids), and the independence verdict.

    Independence is judged on people, however each is written (e-mail, plus-address, display
    name, alias): a change is independently approved when one of its approvers (several are
    separated by ';') is a person in the roster who is neither its author nor its implementer.
    """
    if roster is None:
        roster = pd.DataFrame({"employee_id": pd.Series(dtype="str"), "name": pd.Series(dtype="str"),
                               "email": pd.Series(dtype="str")})
    for role in ("author", "implementer"):
        frame[f"{role}_person"] = resolve_people(frame[role], roster, aliases, domains)
    approvers = frame["approver"].fillna("").astype("str").str.split(";").explode().str.strip()
    approvers = approvers[approvers != ""]
    person = resolve_people(approvers, roster, aliases, domains)
    # Unresolved names still compare by their text, so "the same unknown person" is not independent.
    same = pd.Series(False, index=approvers.index)
    for role in ("author", "implementer"):
        same |= person.notna() & (person == frame.loc[approvers.index, f"{role}_person"])
        same |= approvers.str.casefold() == _folded(frame[role]).loc[approvers.index]
    independent = (person.notna() & ~same).groupby(level=0).any()
    frame["approver_person"] = person.dropna().groupby(level=0).agg("; ".join).reindex(frame.index)
    frame["approver_independent"] = independent.reindex(frame.index, fill_value=False).astype(bool)
    return frame


def _folded(values: pd.Series) -> pd.Series:
    return values.astype("str").str.strip().str.casefold().where(values.notna(), "")


def course_matcher(training_course: str):
    """The titles that count as the course: one title, several separated by ';', or a pattern
    written re:<regular expression> (course titles often carry a year: Security Awareness 2026).
    Case and surrounding white space never matter."""
    text = str(training_course).strip()
    if text.casefold().startswith("re:"):
        pattern = re.compile(text[3:].strip(), re.IGNORECASE)
        return lambda titles: titles.str.strip().map(
            lambda t: bool(pattern.fullmatch(t)) if isinstance(t, str) else False
        )
    wanted = {t.strip().casefold() for t in text.split(";") if t.strip()}
    return lambda titles: titles.str.strip().str.casefold().isin(wanted)


def _course_completions(training: pd.DataFrame, course: str, roster: pd.DataFrame, domains) -> pd.DataFrame:
    """Completed trainings of the course (failed, in-progress or expired attempts are not training),
    each with the person it belongs to."""
    done = training["status"].astype("str").eq("completed") & training["status"].notna()
    matches = course_matcher(course)(training["course"]).fillna(False).astype(bool)
    completions = training[done & matches]
    return completions.assign(person=person_ids(completions, roster, domains)).dropna(subset=["person"])


def courses_counted(training: pd.DataFrame, course: str) -> dict[str, int]:
    """Which course titles counted as the training, and how many completions of each: the report says so."""
    matches = course_matcher(course)(training["course"]).fillna(False).astype(bool)
    return training.loc[matches, "course"].str.strip().value_counts().sort_index().to_dict()


def new_hire_view(roster: pd.DataFrame, checks: pd.DataFrame, training: pd.DataFrame, *, period: Period,
                  as_of: pd.Timestamp, training_course: str, domains: tuple[str, ...] = ()) -> pd.DataFrame:
    """Everyone hired in the period, with their screening and first training.

    Screening and training records are tied to people by employee id, else by e-mail.
    `training_days_after_hire` is the days from hire to the first completion or, for someone
    not yet trained, the days elapsed so far: not trained and past due reads as late, not
    trained and not yet due reads as on time.
    """
    hired = roster[roster["hire_date"].between(pd.Timestamp(period.start), pd.Timestamp(period.end))]
    frame = hired[_traced(hired, ["employee_id", "name", "worker_type", "hire_date"])].copy()
    checks = checks.assign(person=person_ids(checks, roster, domains))
    check = checks.dropna(subset=["person"]).drop_duplicates("person").set_index("person").reindex(frame["employee_id"])
    frame["check_status"] = check["status"].fillna("missing").astype(str).values
    frame["check_completed_at"] = check["completed_at"].values
    frame["check_days_after_hire"] = _days(frame["check_completed_at"], frame["hire_date"])
    completions = _course_completions(training, training_course, roster, domains)
    first = completions.groupby("person")["completed_at"].min()
    frame["training_completed_at"] = lookup(frame["employee_id"], first)
    as_of_day = as_of.tz_convert("UTC").tz_localize(None).normalize()
    done = _days(_utc_day(frame["training_completed_at"]), frame["hire_date"])
    elapsed = _days(pd.Series(as_of_day, index=frame.index), frame["hire_date"])
    frame["training_days_after_hire"] = done.fillna(elapsed)
    return frame.reset_index(drop=True)


def staff_view(roster: pd.DataFrame, training: pd.DataFrame, *, period: Period, as_of: pd.Timestamp,
               training_course: str, domains: tuple[str, ...] = ()) -> pd.DataFrame:
    """Everyone active on the export date who was hired before the period, with their last training."""
    as_of_day = as_of.tz_convert("UTC").tz_localize(None).normalize()
    gone = roster["termination_date"].notna() & (roster["termination_date"] <= as_of_day)
    active = roster[(roster["status"] == "active") & ~gone & (roster["hire_date"] < pd.Timestamp(period.start))]
    frame = active[_traced(active, ["employee_id", "name", "hire_date"])].copy()
    last = _course_completions(training, training_course, roster, domains).groupby("person")["completed_at"].max()
    frame["last_training_at"] = lookup(frame["employee_id"], last)
    frame["days_since_training"] = _days(pd.Series(as_of_day, index=frame.index), _utc_day(frame["last_training_at"]))
    return frame.reset_index(drop=True)


SLA_SEVERITIES = ("critical", "high")  # the severities a remediation deadline applies to


def vulnerability_view(findings: pd.DataFrame, assets: pd.DataFrame | None = None, *, period: Period,
                       as_of: pd.Timestamp) -> pd.DataFrame:
    """Every critical and high finding open at any time in the period, with its calendar days to closing
    and whether its asset is in the inventory, in scope (names compared without case).

    A finding is closed when fixed (at fixed_at) or dismissed (at dismissed_at); `days_to_close`
    counts UTC days from first detection to closing, `days_open` the days from first detection to
    the export for a finding still open. A closed finding without its closing time keeps no days:
    it cannot show it met its deadline.
    """
    start, end = _period_bounds(period)
    state = findings["state"].astype("str")
    closed_at = findings["fixed_at"].where(state == "fixed", findings["dismissed_at"].where(state == "dismissed"))
    closed = state.isin(["fixed", "dismissed"]) & findings["state"].notna()
    open_in_period = (findings["first_seen"] < end) & ~(closed & closed_at.notna() & (closed_at < start))
    keep = findings["severity"].astype("str").isin(SLA_SEVERITIES) & open_in_period.fillna(False)
    frame = findings.loc[keep, _traced(findings, ["finding_id", "asset", "title", "package", "severity", "state",
                                                  "first_seen", "fixed_at", "dismissed_at"])].copy()
    frame["severity"] = frame["severity"].astype("str")
    frame["closed"] = closed[keep].astype(bool)
    frame["closed_at"] = closed_at[keep]
    first_day = _utc_day(frame["first_seen"])
    frame["days_to_close"] = _days(_utc_day(frame["closed_at"]), first_day)
    as_of_day = as_of.tz_convert("UTC").tz_localize(None).normalize()
    frame["days_open"] = _days(pd.Series(as_of_day, index=frame.index), first_day).where(~frame["closed"])
    known = _in_scope_assets(assets) if assets is not None else set()
    frame["asset_in_scope"] = frame["asset"].astype("str").str.strip().str.casefold().isin(known).astype(bool)
    return frame.reset_index(drop=True)


def asset_view(assets: pd.DataFrame, *, as_of: pd.Timestamp) -> pd.DataFrame:
    """Every asset of the inventory, with the calendar days from its last scan to the export."""
    frame = assets[_traced(assets, ["asset", "asset_type", "owner", "last_scanned_at"])].copy()
    frame["in_scope"] = _flag(assets["in_scope"])
    as_of_day = as_of.tz_convert("UTC").tz_localize(None).normalize()
    frame["days_since_scan"] = _days(pd.Series(as_of_day, index=frame.index), _utc_day(frame["last_scanned_at"]))
    return frame.reset_index(drop=True)


def _in_scope_assets(assets: pd.DataFrame) -> set[str]:
    return set(assets.loc[_flag(assets["in_scope"]), "asset"].astype("str").str.strip().str.casefold())
