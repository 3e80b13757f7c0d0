"""Audit periods: a quarter (2026-Q3), a month (2026-08) or explicit dates (2026-07-15..2026-09-30).

A period travels as text (a papermill parameter, a folder name), so every kind has one. A scheduler
may also ask for `previous-month` or `previous-quarter`: resolved against a given day (the run's
as-of date, else today) into the month or quarter before it, and from then on the resolved label.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from evidence_lib.errors import EvidenceError


@dataclass(frozen=True)
class Period:
    label: str
    start: date  # first day in the period
    end: date  # last day in the period (inclusive)

    def __contains__(self, day: date) -> bool:
        return self.start <= day <= self.end


#: relative periods a scheduler may name, resolved against a day (`resolve_relative`)
RELATIVE = ("previous-month", "previous-quarter")


def parse_period(text: str, start: str | None = None, end: str | None = None, *,
                 today: date | str | None = None) -> Period:
    """A period from its label; `previous-month` / `previous-quarter` are resolved against `today`
    (a date or ISO date/time text: the run's as-of date; default the real today)."""
    text = str(text).strip()
    if text.lower() in RELATIVE:
        text = resolve_relative(text, today)
    if match := re.fullmatch(r"(\d{4})-Q([1-4])", text, flags=re.IGNORECASE):
        year, quarter = int(match[1]), int(match[2])
        first = date(year, 3 * quarter - 2, 1)
        return Period(f"{year}-Q{quarter}", first, _month_end(year, 3 * quarter))
    if match := re.fullmatch(r"(\d{4})-(\d{2})", text):
        year, month = int(match[1]), int(match[2])
        if 1 <= month <= 12:
            return Period(text, date(year, month, 1), _month_end(year, month))
    if match := re.fullmatch(r"(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})", text):
        start, end, text = match[1], match[2], ""
    if start and end:
        try:
            first, last = date.fromisoformat(start), date.fromisoformat(end)
        except ValueError as exc:
            raise EvidenceError(f"period {text or start + '..' + end!r}: {exc}; write dates as YYYY-MM-DD") from None
        if first > last:
            raise EvidenceError(f"period {text!r}: start {start} is after end {end}")
        return Period(text or f"{first}..{last}", first, last)
    raise EvidenceError(f"cannot read period {text!r}: use a quarter (2026-Q3), a month (2026-08), "
                        "or dates 2026-07-15..2026-09-30 (--start and --end as YYYY-MM-DD)")


def resolve_relative(text: str, today: date | str | None = None) -> str:
    """`previous-month` -> the label of the month before `today`'s, `previous-quarter` -> the quarter before."""
    day = _day(today)
    if text.strip().lower() == "previous-month":
        last = day.replace(day=1) - timedelta(days=1)
        return f"{last.year}-{last.month:02d}"
    if text.strip().lower() == "previous-quarter":
        quarter = (day.month - 1) // 3  # 0-based quarter of `day`; the previous one is quarter - 1
        return f"{day.year - 1}-Q4" if quarter == 0 else f"{day.year}-Q{quarter}"
    raise EvidenceError(f"cannot resolve period {text!r}: relative periods are {', '.join(RELATIVE)}")


def _day(today: date | str | None) -> date:
    if today is None:
        return datetime.now(UTC).date()  # runs are stamped in UTC too
    if isinstance(today, date):
        return today
    try:
        return datetime.fromisoformat(str(today).strip().replace("Z", "+00:00")).date()
    except ValueError:
        raise EvidenceError(f"--as-of {today!r} is not a date: write YYYY-MM-DD or an ISO time "
                            f"(2026-10-01T06:00:00Z); a relative period is resolved against it") from None


def _month_end(year: int, month: int) -> date:
    following = date(year + month // 12, month % 12 + 1, 1)
    return following - timedelta(days=1)
