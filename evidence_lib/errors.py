"""The errors a user of the workbench can meet.

Every message names where the problem is (file, row, column) and what to do about it,
so that a failed load reads like a review comment, not a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

#: characters of an evidence value (a cell, a header) a message shows before an ellipsis
VALUE_CHARS = 120
#: characters of a whole message or hint: a safety net for text built from many values
MESSAGE_CHARS = 2000


def shorten(text: object, limit: int = VALUE_CHARS) -> str:
    """Text cut to `limit` characters with an ellipsis, so a 10 MB cell cannot flood a message."""
    text = str(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def quote(value: object) -> str:
    """An evidence value as a message quotes it: in quotes, cut to VALUE_CHARS, control characters escaped."""
    return repr(shorten(value))


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one place in one evidence file."""

    path: str
    message: str
    row: int | None = None
    column: str | None = None
    hint: str | None = None

    def __post_init__(self):
        # Every field may carry evidence text (a header, a value): bound them here, once.
        object.__setattr__(self, "message", shorten(self.message, MESSAGE_CHARS))
        if self.hint is not None:
            object.__setattr__(self, "hint", shorten(self.hint, MESSAGE_CHARS))
        if self.column is not None:
            object.__setattr__(self, "column", shorten(self.column))

    def __str__(self) -> str:
        where = self.path
        if self.row is not None:
            where += f":row {self.row}"
        if self.column is not None:
            where += f":column '{self.column}'"
        text = f"{where}: {self.message}"
        return f"{text} — {self.hint}" if self.hint else text


class EvidenceError(Exception):
    """Base of every error the workbench raises on purpose."""


class ProblemsError(EvidenceError):
    """An error made of one or more located problems."""

    #: how many problems a message lists before it summarises the rest
    shown = 10

    def __init__(self, problems: list[Problem]):
        if not problems:
            raise ValueError("an error needs at least one problem")
        self.problems = list(problems)
        super().__init__(self._format())

    def _format(self) -> str:
        lines = [str(p) for p in self.problems[: self.shown]]
        hidden = len(self.problems) - self.shown
        if hidden > 0:
            lines.append(f"... and {hidden} more problem(s) like these")
        return "\n".join(lines)


class LoadError(ProblemsError):
    """An evidence file could not be read or typed into its canonical schema."""


class MappingError(ProblemsError):
    """A vendor mapping file is missing, malformed, or does not fit its evidence type."""


class DeclarationError(ProblemsError):
    """The evidence folder's evidence.yaml is missing, malformed, or names unknown things."""


def located(path: str | Path, message: str, hint: str | None = None, **where) -> Problem:
    return Problem(path=str(path), message=message, hint=hint, **where)
