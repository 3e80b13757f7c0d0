"""Audit periods: a quarter (2026-Q3), a month (2026-08) or explicit dates (2026-07-15..2026-09-30).

A period travels as text (a papermill parameter, a folder name), so every kind has one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from evidence_lib.errors import EvidenceError


@dataclass(frozen=True)
class Period:
    label: str
    start: date  # first day in the period
    end: date  # last day in the period (inclusive)

    def __contains__(self, day: date) -> bool:
        return self.start <= day <= self.end


def parse_period(text: str, start: str | None = None, end: str | None = None) -> Period:
    text = str(text).strip()
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


def _month_end(year: int, month: int) -> date:
    following = date(year + month // 12, month % 12 + 1, 1)
    return following - timedelta(days=1)
