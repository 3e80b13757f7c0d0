"""Risk assessment views (CC3.2, CC3.4): the frames the risk suites state their rules on.

Pure functions of loaded frames, parameters and explicit dates, like views.py (whose helpers they
share). Every tested value is explicit and fails closed: a risk without a readable rating is judged
as if it were high (and is itself an exception), a missing owner, treatment or due date is named,
an extension counts only when someone other than the owner approved it, and a register without a
review on record has no review age, never a passing one.
"""

from __future__ import annotations

import pandas as pd

from evidence_lib.identity import lookup
from evidence_lib.period import Period
from evidence_lib.views import _days, _traced

HIGH_LEVELS = ("critical", "high")
NOT_RATED = "not rated"
UNREADABLE_SCORE = "unreadable score"
COMPLETE = "complete"
TREATED = ("mitigate", "accept", "transfer", "avoid")  # "untreated" is Drata's word for none


def _score_level(scores: pd.Series, high_min: float) -> pd.Series:
    """A numeric residual score as a level: high at or above high_min, else low; blank or not a number: unknown."""
    text = scores.astype("str").where(scores.notna(), "").str.strip()
    numbers = pd.to_numeric(text, errors="coerce")
    level = pd.Series(NOT_RATED, index=scores.index, dtype="object")
    level[(text != "") & numbers.isna()] = UNREADABLE_SCORE
    level[numbers.notna() & (numbers >= high_min)] = "high"
    level[numbers.notna() & (numbers < high_min)] = "low"
    return level


def rating_level(risks: pd.DataFrame, *, high_min_score: float) -> pd.Series:
    """The register's rating where it gives one, else its score against high_min_score; else why not."""
    rated = risks["residual_rating"].astype("object").where(risks["residual_rating"].notna())
    return rated.fillna(_score_level(risks["residual_score"], high_min_score)).astype("str")


def _missing_parts(risks: pd.DataFrame) -> pd.Series:
    """What a risk lacks to be managed: no owner, no treatment (untreated counts as none), no due date."""
    owner = risks["owner"].astype("str").where(risks["owner"].notna(), "").str.strip() != ""
    treated = risks["treatment"].isin(TREATED).fillna(False).astype(bool)
    dated = risks["due_date"].notna()
    parts = [(owner, "no owner"), (treated, "no treatment"), (dated, "no due date")]
    return pd.Series(["; ".join(word for (present, word) in parts if not present[i]) or COMPLETE
                      for i in risks.index], index=risks.index, dtype="str")


def _same_person(left: pd.Series, right: pd.Series) -> pd.Series:
    def norm(values: pd.Series) -> pd.Series:
        return values.astype("str").where(values.notna(), "").str.strip().str.casefold()

    return (norm(left) == norm(right)) & (norm(left) != "")


def risk_view(risks: pd.DataFrame, *, as_of: pd.Timestamp, params: dict) -> pd.DataFrame:
    """Every risk of the register exports, with its level, what it lacks and how far past its due date it is.

    `judged` marks the open risks the treatment rules apply to: those rated high or critical and those
    whose level cannot be told (no rating, an unreadable score). An extension counts when it names a new
    date, an approver who is not the risk's owner, and an approval time on or before the export;
    `effective_due_date` is then the new date. `days_past_due` counts UTC days from the effective due
    date to the export day (0 on the due day itself); blank without a due date.
    """
    as_of_day = as_of.tz_convert("UTC").tz_localize(None).normalize()
    frame = risks[_traced(risks, ["system", "risk_id", "title", "status", "residual_rating", "residual_score",
                                  "owner", "treatment", "due_date", "treatment_completed_at", "last_reviewed_at",
                                  "extended_due_date", "extension_approver", "extension_approved_at"])].copy()
    frame["level"] = rating_level(risks, high_min_score=float(params["high_risk_min_score"]))
    is_open = (risks["status"].astype("str") == "open") & risks["status"].notna()
    frame["open"] = is_open.astype(bool)
    frame["judged"] = (is_open & ~frame["level"].isin(["medium", "low"])).astype(bool)
    frame["rating_check"] = frame["level"].where(frame["level"].isin([NOT_RATED, UNREADABLE_SCORE]), "rated")
    frame["treatment_plan"] = _missing_parts(risks)
    approved_at = risks["extension_approved_at"]
    counted = (risks["extended_due_date"].notna() & risks["extension_approver"].notna() & approved_at.notna()
               & ~_same_person(risks["extension_approver"], risks["owner"]))
    counted &= approved_at.dt.tz_convert("UTC").dt.tz_localize(None) <= as_of.tz_convert("UTC").tz_localize(None)
    frame["extension_counted"] = counted.fillna(False).astype(bool)
    frame["effective_due_date"] = risks["extended_due_date"].where(frame["extension_counted"], risks["due_date"])
    completed = risks["treatment_completed_at"].dt.tz_convert("UTC").dt.tz_localize(None)
    done = completed.notna() & (completed <= as_of.tz_convert("UTC").tz_localize(None))
    frame["treatment_done"] = done.fillna(False).astype(bool)
    frame["days_past_due"] = _days(pd.Series(as_of_day, index=frame.index), frame["effective_due_date"])
    return frame.reset_index(drop=True)


def register_review_view(risks: pd.DataFrame, reviews: pd.DataFrame, *, period: Period,
                         as_of: pd.Timestamp) -> pd.DataFrame:
    """One row per risk register (each `system` declared for a risk export or a review record), with its last
    review on or before the period's end and the days from that review to the period's end.

    A review after the period's end does not show the period's assessment; one after the export cannot have
    happened yet: neither counts. A register with no review counted keeps no days (an exception).
    """
    end = pd.Timestamp(period.end) + pd.Timedelta(days=1)  # the period's last day, inclusive
    at = reviews["reviewed_at"].dt.tz_convert("UTC").dt.tz_localize(None)
    counted = reviews[(at < end) & (at <= as_of.tz_convert("UTC").tz_localize(None))]
    latest = counted.sort_values("reviewed_at").groupby("system").tail(1).set_index("system")
    registers = sorted(set(risks["system"].dropna()) | set(reviews["system"].dropna()))
    frame = pd.DataFrame({"register": pd.Series(registers, dtype="str")})
    frame["risks_in_register"] = lookup(frame["register"], risks.groupby("system").size()).fillna(0).astype("int64")
    frame["reviews_on_record"] = lookup(frame["register"], reviews.groupby("system").size()).fillna(0).astype("int64")
    frame["last_reviewed_at"] = lookup(frame["register"], latest["reviewed_at"])  # keeps its dtype when empty
    frame["reviewer"] = lookup(frame["register"], latest["reviewer"]).astype("str")
    last_day = frame["last_reviewed_at"].dt.tz_convert("UTC").dt.tz_localize(None).dt.normalize()
    frame["review_days_before_period_end"] = _days(pd.Series(pd.Timestamp(period.end), index=frame.index), last_day)
    return _cite_register(frame, latest, risks)


def _cite_register(frame: pd.DataFrame, latest: pd.DataFrame, risks: pd.DataFrame) -> pd.DataFrame:
    """Where each register's verdict comes from: the row of its counted review, else (no review to cite) its risk
    export, with no row."""
    if "source_file" not in latest.columns:
        return frame
    exports = risks.drop_duplicates("system").set_index("system")["source_file"] if "source_file" in risks else None
    cited_file = lookup(frame["register"], latest["source_file"])
    if exports is not None:
        cited_file = cited_file.fillna(lookup(frame["register"], exports))
    frame["source_file"] = cited_file
    frame["source_row"] = lookup(frame["register"], latest["source_row"])
    return frame
