"""Vendor management views (CC9.2): the frames the vendors suites state their rules on.

Pure functions of loaded frames, parameters and explicit dates, like views.py (whose helpers they
share). A review names its vendor by the inventory's id, else by name compared without case or
surrounding spaces ("ACME Corp " is "Acme Corp"); a review naming no vendor of the inventory, or a
name two vendors share, stays in the reviews view as an exception, never dropped.

What counts as a vendor's review: a SOC 2 Type 2 report or an ISO 27001 certificate dated by the
report (its period end or the certificate's issue date: reading an old report again does not make it
current), or a security review or questionnaire dated by its completion; approved (with or without
conditions); dated on or before the period end. Its age is counted in calendar months back from the
period end, inclusive: a report dated exactly vendor_review_months before the period end is within.
Blank criticality or customer-data flags fail closed: the vendor is judged as needing a review and
the blank is itself an exception.
"""

from __future__ import annotations

import pandas as pd

from evidence_lib.identity import person_ids
from evidence_lib.period import Period
from evidence_lib.views import _traced, _utc_day

IN_USE = "active"
DATED_BY_REPORT = ("soc2_type2", "iso27001")
DATED_BY_COMPLETION = ("security_review", "questionnaire")
ACCEPTED = ("approved", "approved_with_conditions")
COUNTED = "counted"
OWNER_PASSES = ("employed", "named, not in the HR roster")


def vendor_name_key(names: pd.Series) -> pd.Series:
    """A vendor name as matched: case and surrounding spaces ignored; blank reads as no name."""
    folded = names.astype("str").str.strip().str.casefold()
    return folded.where(names.notna() & (folded != ""))


def months_before(end: pd.Timestamp, day: pd.Timestamp) -> int:
    """Whole calendar months from `day` back to `end`, rounded up: the smallest k with end - k months <= day.

    Monotonic in k, so `months_before(end, day) <= m` exactly when day >= end - m months (month ends
    clamp: 2026-02-28 - 12 months is 2025-02-28)."""
    months = (end.year - day.year) * 12 + (end.month - day.month)
    return months if end - pd.DateOffset(months=months) <= day else months + 1


def review_cutoff(period: Period, months: int) -> pd.Timestamp:
    """The earliest day a review may be dated and still count: the period end less `months` months."""
    return pd.Timestamp(period.end) - pd.DateOffset(months=int(months))


def _flag_state(values: pd.Series, yes: str, no: str) -> pd.Series:
    text = values.map({True: yes, False: no}).astype(object)
    return text.where(values.notna(), "not reported").astype("str")


def _match_vendors(reviews: pd.DataFrame, vendors: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """Each review's vendor id in the inventory and how it was matched (by id, by name, or why not)."""
    known_ids = set(vendors["vendor_id"].dropna().astype("str"))
    keys = vendor_name_key(vendors["name"])
    shared = set(keys[keys.duplicated(keep=False)].dropna())
    by_name = pd.Series(vendors["vendor_id"].astype("str").values, index=keys.values)
    by_name = by_name[by_name.index.notna() & ~by_name.index.isin(shared)]
    by_name = by_name[~by_name.index.duplicated()]

    review_ids = reviews["vendor_id"].astype("str").str.strip().where(reviews["vendor_id"].notna())
    review_names = vendor_name_key(reviews["vendor_name"])
    matched, how = [], []
    for vendor_id, name in zip(review_ids.astype(object), review_names.astype(object)):
        if isinstance(vendor_id, str) and vendor_id:
            found = vendor_id in known_ids
            matched.append(vendor_id if found else None)
            how.append("by id" if found else "unknown vendor id")
        elif isinstance(name, str):
            found = name in by_name.index
            matched.append(by_name[name] if found else None)
            how.append("by name" if found else "ambiguous vendor name" if name in shared else "unknown vendor name")
        else:
            matched.append(None)
            how.append("names no vendor")
    return (pd.Series(matched, index=reviews.index, dtype="object"),
            pd.Series(how, index=reviews.index, dtype="str"))


def _why_counted(reviews: pd.DataFrame, review_date: pd.Series, matched: pd.Series, period: Period) -> pd.Series:
    """Whether a review counts as a vendor's due diligence, or the first reason it does not."""
    end = pd.Timestamp(period.end)

    def why(kind, outcome, day, vendor) -> str:
        if vendor is None:
            return "names no vendor of the inventory"
        if kind not in DATED_BY_REPORT + DATED_BY_COMPLETION:
            return f"{kind}: not a SOC 2 Type 2 report, ISO 27001 certificate or security review"
        if outcome not in ACCEPTED:
            return "not approved" if isinstance(outcome, str) else "no outcome recorded"
        if pd.isna(day):
            return "no report date" if kind in DATED_BY_REPORT else "no completion date"
        return "dated after the period end" if day > end else COUNTED

    return pd.Series([why(k, o, d, v) for k, o, d, v in zip(
        reviews["kind"].astype(object), reviews["outcome"].astype(object), review_date, matched)],
        index=reviews.index, dtype="str")


def vendor_review_view(reviews: pd.DataFrame, vendors: pd.DataFrame, *, period: Period) -> pd.DataFrame:
    """Every review record, with the inventory vendor it names (`vendor_match`), its date as judged
    (`review_date`: the report's date for SOC 2 and ISO, the completion day otherwise) and whether it
    counts (`counts_as_review`)."""
    frame = reviews[_traced(reviews, ["review_id", "vendor_id", "vendor_name", "kind", "report_date",
                                      "reviewed_at", "reviewer", "outcome"])].copy()
    matched, how = _match_vendors(reviews, vendors)
    frame["matched_vendor_id"] = matched
    frame["vendor_match"] = how
    by_report = reviews["kind"].astype(object).isin(DATED_BY_REPORT)
    completed = _utc_day(reviews["reviewed_at"])
    frame["review_date"] = reviews["report_date"].where(by_report, completed)
    frame["counts_as_review"] = _why_counted(reviews, frame["review_date"], matched, period)
    return frame.reset_index(drop=True)


def vendor_view(vendors: pd.DataFrame, reviews: pd.DataFrame, roster: pd.DataFrame, *, period: Period,
                as_of: pd.Timestamp, params: dict, domains: tuple[str, ...] = ()) -> pd.DataFrame:
    """Every vendor of the inventory, with its owner as judged, whether it needs a review and its latest
    counted review's age in months before the period end (none: no counted review).

    `needs_review_as_critical`: in use and critical or not saying; `needs_review_for_customer_data`: in
    use and handling customer data or not saying. `owner_state`: employed, named (an id or an address the
    HR roster does not know), left the company (by the export date) or missing.
    """
    frame = vendors[_traced(vendors, ["vendor_id", "name", "status", "critical", "handles_customer_data",
                                      "owner", "data_shared"])].copy()
    status = vendors["status"].astype("str").where(vendors["status"].notna(), "")
    frame["in_use"] = (status == IN_USE).astype(bool)
    frame["criticality"] = _flag_state(vendors["critical"], "critical", "not critical")
    frame["customer_data"] = _flag_state(vendors["handles_customer_data"], "yes", "no")
    frame["needs_review_as_critical"] = frame["in_use"] & (frame["criticality"] != "not critical")
    frame["needs_review_for_customer_data"] = frame["in_use"] & (frame["customer_data"] != "no")
    frame["owner_state"] = _owner_state(vendors["owner"], roster, as_of=as_of, domains=domains)

    judged = vendor_review_view(reviews, vendors, period=period)
    counted = judged[judged["counts_as_review"] == COUNTED].sort_values(["review_date", "review_id"])
    latest = counted.drop_duplicates("matched_vendor_id", keep="last").set_index("matched_vendor_id")
    ids = vendors["vendor_id"].astype("str")
    frame["latest_review_id"] = latest["review_id"].reindex(ids).values
    frame["latest_review_kind"] = latest["kind"].astype(object).reindex(ids).values
    frame["latest_review_date"] = pd.to_datetime(latest["review_date"].reindex(ids).values)
    end = pd.Timestamp(period.end)
    frame["review_age_months"] = pd.Series(
        [months_before(end, day) if pd.notna(day) else float("nan") for day in frame["latest_review_date"]],
        index=frame.index, dtype="float64")
    frame["review_age_days"] = (end - frame["latest_review_date"]).dt.days.astype("float64")
    frame["review_due_by"] = review_cutoff(period, params["vendor_review_months"])
    return frame.reset_index(drop=True)


def _owner_state(owners: pd.Series, roster: pd.DataFrame, *, as_of: pd.Timestamp,
                 domains: tuple[str, ...]) -> pd.Series:
    text = owners.astype("str").str.strip().where(owners.notna(), "")
    emails = text.where(text.str.contains("@", regex=False))
    person = person_ids(pd.DataFrame({"employee_id": pd.Series(None, index=owners.index, dtype="object"),
                                      "email": emails}), roster, domains)
    people = roster.drop_duplicates("employee_id").set_index("employee_id")
    termination = pd.Series(people["termination_date"].reindex(person.fillna("")).array, index=owners.index)
    as_of_day = as_of.tz_convert("UTC").tz_localize(None).normalize()
    left = termination.notna() & (termination <= as_of_day)
    state = pd.Series("named, not in the HR roster", index=owners.index, dtype="object")
    state[person.notna()] = "employed"
    state[person.notna() & left] = "left the company"
    state[text == ""] = "missing"
    return state.astype("str")
