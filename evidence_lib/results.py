"""What validation found: each rule's verdict, population and exception rows, per control.

Typed results, read by notebooks, the package and the CLI: a status is a `Status`, never a bare
string compared in five places; an exception row is named by its view's key from the catalog.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from enum import StrEnum

import pandas as pd

from evidence_lib.controls import Rule
from evidence_lib.period import Period
from evidence_lib.walk import WalkStep, walk_text


class Status(StrEnum):
    """A rule's, a control's or a run's verdict. A str, so it reads and serialises as its value."""

    PASS = "pass"
    EXCEPTIONS = "exceptions"
    ERROR = "error"
    OUT_OF_SCOPE = "out_of_scope"


PASS, EXCEPTIONS, ERROR, OUT_OF_SCOPE = Status.PASS, Status.EXCEPTIONS, Status.ERROR, Status.OUT_OF_SCOPE
#: a run's exit code for its verdict: what a scheduler reads (a scoped-out whole is not a failure)
EXIT_CODES = {PASS: 0, OUT_OF_SCOPE: 0, EXCEPTIONS: 1, ERROR: 2}

def worst(statuses) -> Status:
    """error outranks exceptions, which outrank pass: one failed part makes the whole fail.
    A part scoped out counts for nothing; a whole scoped out is out of scope."""
    statuses = set(statuses)
    if statuses == {OUT_OF_SCOPE}:
        return OUT_OF_SCOPE
    return ERROR if ERROR in statuses else EXCEPTIONS if EXCEPTIONS in statuses else PASS


@dataclass
class RuleResult:
    rule: Rule
    status: Status
    population: int = 0
    exceptions: pd.DataFrame = field(default_factory=pd.DataFrame)
    reason: str = ""
    # From the rows read to the records tested, with why rows left at each step (walk.py).
    walk: tuple[WalkStep, ...] = ()
    # (system, record key) of every record tested, sorted: what `evidence sample` draws from (sampling.py)
    population_keys: tuple[tuple[str, str], ...] = ()

    @property
    def exception_count(self) -> int:
        return len(self.exceptions)

    @property
    def responded(self) -> int:
        """Exceptions with a management response in force (responses.py); the rest are open."""
        if "response_status" not in self.exceptions:
            return 0
        return int((self.exceptions["response_status"] == "responded").sum())


@dataclass
class ControlResult:
    control_id: str
    title: str
    rules: list[RuleResult]

    @property
    def status(self) -> Status:
        return worst(r.status for r in self.rules)

    def deficiency_summary(self) -> str:
        """One line per control for a reviewer: which rules found exceptions, how severe, how many open."""
        failed = [r for r in self.rules if r.exception_count]
        errors = [r.rule.rule_id for r in self.rules if r.status == ERROR]
        if not failed and not errors:
            return "no exceptions"
        parts = []
        if failed:
            listed = ", ".join(f"{r.rule.rule_id} {r.exception_count}" + (f" ({r.rule.severity})"
                                                                          if r.rule.severity else "")
                               for r in failed)
            total = sum(r.exception_count for r in failed)
            responded = sum(r.responded for r in failed)
            parts.append(f"{len(failed)} of {len(self.rules)} rule(s) found exceptions: {listed}; "
                         f"{total - responded} open, {responded} responded")
        if errors:
            parts.append(f"{len(errors)} rule(s) could not be judged: {', '.join(errors)}")
        return "; ".join(parts)


@dataclass
class Validation:
    period: Period
    as_of: pd.Timestamp
    parameters: dict
    controls: list[ControlResult]
    views: dict[str, pd.DataFrame] = field(default_factory=dict, repr=False)  # what the rules ran on, for charts
    # The integrity rules run on the evidence these controls rest on (control id "IPE").
    integrity: ControlResult | None = None
    # view -> its record key, from the catalog: how an exception row is named
    view_keys: dict[str, tuple[str, ...]] = field(default_factory=dict, repr=False)
    # Management responses (responses.yaml) to rules judged here that match no exception.
    stale_responses: tuple = ()

    @property
    def rules(self) -> list[RuleResult]:
        """Every rule judged: the integrity rules first, then each control's."""
        return [r for c in self.judged for r in c.rules]

    @property
    def judged(self) -> list[ControlResult]:
        return ([self.integrity] if self.integrity else []) + list(self.controls)

    def map_exceptions(self, transform, *, population_keys: bool = False) -> Validation:
        """The same validation with every rule's exception rows passed through transform (e.g. PII masking);
        the population keys, which the transform does not see, are dropped unless kept (nothing masked).

        Integrity rules never keep theirs: their records are evidence cells (file, row, column), every
        one tested, and nobody samples them; they were two thirds of a package's results.json."""
        def mapped(control: ControlResult, keep: bool) -> ControlResult:
            return replace(control, rules=[replace(r, exceptions=transform(r.exceptions),
                                                   population_keys=r.population_keys if keep else ())
                                           for r in control.rules])

        return replace(self, controls=[mapped(c, population_keys) for c in self.controls],
                       integrity=mapped(self.integrity, False) if self.integrity else None)

    @property
    def status(self) -> Status:
        return worst(c.status for c in self.judged)

    def summary(self) -> pd.DataFrame:
        return pd.DataFrame([
            {"control": r.rule.control_id, "rule": r.rule.rule_id, "population": r.population,
             "exceptions": r.exception_count, "status": r.status, "walk": walk_text(r.walk), "reason": r.reason}
            for r in self.rules
        ]).astype({"population": "int64", "exceptions": "int64"})

    def as_dict(self) -> dict:
        """Everything an auditor needs to re-read the result, JSON-ready."""
        return {
            "period": {"label": self.period.label, "start": self.period.start.isoformat(),
                       "end": self.period.end.isoformat()},
            "as_of": self.as_of.isoformat(),
            "parameters": self.parameters,
            "status": self.status,
            "integrity": self._control_dict(self.integrity) if self.integrity else None,
            "controls": [self._control_dict(c) for c in self.controls],
            "stale_responses": [r.as_dict() for r in self.stale_responses],
        }

    @staticmethod
    def _control_dict(c: ControlResult) -> dict:
        return {
                "control": c.control_id, "title": c.title, "status": c.status,
                "deficiency_summary": c.deficiency_summary(),
                "open": sum(r.exception_count - r.responded for r in c.rules),
                "responded": sum(r.responded for r in c.rules),
                "rules": [{
                    "rule": r.rule.rule_id, "text": r.rule.text, "status": r.status, "population": r.population,
                    "exception_count": r.exception_count, "reason": r.reason, "severity": r.rule.severity,
                    "open": r.exception_count - r.responded, "responded": r.responded,
                    "walk": [step.as_dict() for step in r.walk],
                    "exceptions": json.loads(r.exceptions.to_json(orient="records", date_format="iso")),
                    **({"population_keys": [list(k) for k in r.population_keys]} if r.population_keys else {}),
                } for r in c.rules],
        }

    def exception_keys(self) -> pd.DataFrame:
        """control, rule, system, record_key — the shape of expected_exceptions.csv."""
        frames = [pd.DataFrame({"control": r.rule.control_id, "rule": r.rule.rule_id,
                                "system": r.exceptions["system"].fillna("").astype(str)
                                if "system" in r.exceptions else "",
                                "record_key": record_keys(r.exceptions, self.view_keys[r.rule.view])})
                  for r in self.rules if r.exception_count]
        columns = ["control", "rule", "system", "record_key"]
        return pd.concat(frames, ignore_index=True)[columns] if frames else pd.DataFrame(columns=columns)


def record_keys(rows: pd.DataFrame, key: tuple[str, ...]) -> pd.Series:
    """Each exception row's key, as the catalog declares its view's key: the key columns joined
    with ':' (file:row:column for an evidence row), the system apart, in its own column."""
    named = [column for column in key if column != "system"]
    values = rows[named[0]].astype(str)
    for column in named[1:]:
        values = values + ":" + rows[column].astype(str)
    return values
