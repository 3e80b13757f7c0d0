"""The population walk: how the rows of the evidence become the records a rule tested.

An auditor reads, for every rule, each step from the rows read to the records tested, the count
at each step and why rows left it ("40 not enabled", "5 on systems scoped out"). Each step's
count is the previous one's minus those that left, so the walk adds up by construction and a
test can check it. The whole population is tested: there is no sampling step.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

NO_SAMPLING = "The whole population was tested: every record of the last step, no sampling."

_CLAUSE = re.compile(r"^\s*(?P<column>\w+)\s*(?P<op>==|!=)\s*(?P<value>True|False|\"[^\"]*\"|'[^']*')\s*$")


@dataclass(frozen=True)
class WalkStep:
    step: str  # what the records at this step are
    count: int
    left: int = 0  # records of the previous step that are not in this one
    reason: str = ""  # why they left, in words

    def as_dict(self) -> dict:
        return {"step": self.step, "count": self.count, "left": self.left, "reason": self.reason}


def walk_text(steps: tuple[WalkStep, ...]) -> str:
    """One line for a population table: 380 read → 380 kept → 340 enabled … → 340 tested."""
    return " → ".join(f"{s.count} {s.step}" for s in steps)


def evidence_steps(files: list, evidence_type: str, view_rows: int, selects: str) -> list[WalkStep]:
    """From the data rows of a view's record files (their Provenance) to the view's records, which
    are those `selects` describes (e.g. "deployed in the period")."""
    read = sum(f.rows_read for f in files)
    kept = sum(f.rows_kept for f in files)
    aside = sum(f.rows_rejected for f in files)
    why = [f"{aside} set aside as unreadable"] if aside else []
    left_out: dict[str, int] = {}
    for file in files:
        for reason, rows in getattr(file, "filtered", {}).items():
            left_out[reason] = left_out.get(reason, 0) + len(rows)
    why += [f"{n} left out by the mapping: {reason}" for reason, n in sorted(left_out.items())]
    other = read - kept - aside - sum(left_out.values())
    if other:
        why.append(f"{other} not kept for another reason")
    return [WalkStep(f"{evidence_type} rows read from {len(files)} file(s)", read),
            WalkStep("rows kept", kept, read - kept, "; ".join(why)),
            WalkStep(selects, view_rows, kept - view_rows, f"{kept - view_rows} not {selects}" if kept != view_rows
                     else "")]


def rule_steps(frame: pd.DataFrame, conditions: set[str | None], masks: dict[str, pd.Series],
               outside: pd.Series | None, clause_masks: dict[str, pd.Series] | None = None) -> list[WalkStep]:
    """From the view's records to the rule's population: its row condition clause by clause, then
    the records scoped out. The first step is the view itself. `clause_masks` keeps each clause's
    rows for the next rule of the same view (the rules of a view share clauses: `enabled == True`)."""
    clause_masks = {} if clause_masks is None else clause_masks
    steps = [WalkStep("records in the view", len(frame))]
    covered = pd.Series(True, index=frame.index)
    if None not in conditions:
        named = sorted(c for c in conditions if c)
        clauses = _clauses(named[0]) if len(named) == 1 else None
        if clauses is None:
            union = pd.Series(False, index=frame.index)
            for condition in named:
                union |= masks[condition]
            _step(steps, covered, union, "under the rule's conditions", "under none of: " + "; ".join(named))
            covered &= union
        else:
            for clause in clauses:
                if clause not in clause_masks:
                    clause_masks[clause] = condition_mask(frame, clause)
                mask = clause_masks[clause]
                _step(steps, covered, mask, _described(clause, True), _described(clause, False))
                covered &= mask
    if outside is not None:
        _step(steps, covered, ~outside, "not scoped out", "on systems scoped out of the rule")
        covered &= ~outside
    steps.append(WalkStep("tested", int(covered.sum())))
    return steps


def condition_mask(frame: pd.DataFrame, condition: str) -> pd.Series:
    """The rows a pandas row condition selects, evaluated as GX's pandas engine does (query).
    Only the columns whose names occur in the condition are handed to pandas: eval makes a
    Series of every column it is given, which on a wide view costs more than the condition."""
    named = [c for c in frame.columns if isinstance(c, str) and c in condition]
    return frame[named].eval(condition).astype(bool)


def _step(steps: list[WalkStep], covered: pd.Series, mask: pd.Series, kept: str, gone: str) -> None:
    before, after = int(covered.sum()), int((covered & mask).sum())
    steps.append(WalkStep(kept, after, before - after, f"{before - after} {gone}" if before != after else ""))


def _clauses(condition: str) -> list[str] | None:
    """A condition's `and`-ed comparisons, or None when it is not that simple (then it is one step)."""
    parts = [p.strip() for p in re.split(r"\band\b", condition)]
    return parts if all(_CLAUSE.match(p) for p in parts) else None


def _described(clause: str, holds: bool) -> str:
    """`enabled == True` → "enabled" / "not enabled"; `change_type != "emergency"` → 'change type is not emergency'."""
    match = _CLAUSE.match(clause)
    column, op, value = match["column"], match["op"], match["value"]
    positive = (op == "==") == holds
    if value in ("True", "False"):
        holds_flag = positive == (value == "True")
        for prefix, negated in (("is_", "is not "), ("has_", "has no ")):
            if column.startswith(prefix):
                rest = column.removeprefix(prefix).replace("_", " ")
                return f"{prefix[:-1]} {rest}" if holds_flag else f"{negated}{rest}"
        words = column.replace("_", " ")
        return words if holds_flag else f"not {words}"
    return f"{column.replace('_', ' ')} is {'' if positive else 'not '}{value.strip(chr(34) + chr(39))}"
