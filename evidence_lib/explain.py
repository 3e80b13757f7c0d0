"""Explain one exception: the rule in plain words, each check it makes with the value this record
had and the threshold it was held to, whether the record was under the rule's condition, and the
export rows the values came from. Read straight off the suite (the JSON an auditor re-runs)."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

import pandas as pd

from evidence_lib.controls import Catalog
from evidence_lib.errors import EvidenceError
from evidence_lib.results import Validation, record_keys
from evidence_lib.trace import VENDOR_VALUES
from evidence_lib.views import TRACE_COLUMNS


class ExplainError(EvidenceError):
    """The rule or the record to explain is not there."""


@dataclass(frozen=True)
class Check:
    statement: str  # what the rule requires, thresholds resolved: "days_since_login at most 90 (dormant_days)"
    value: str  # what this record had
    held: bool


@dataclass(frozen=True)
class Explanation:
    rule_id: str
    control_id: str
    text: str
    key: str
    condition: str  # the rows the rule applies to ("" = every row of the view)
    under_condition: bool
    checks: tuple[Check, ...]
    source: dict = field(default_factory=dict)  # source_file, source_row, source_values

    @property
    def failed(self) -> tuple[Check, ...]:
        return tuple(c for c in self.checks if not c.held)

    def lines(self) -> list[str]:
        lines = [f"{self.control_id} {self.rule_id}: {self.text}", f"record {self.key}"]
        if self.condition:
            lines.append(f"applies to rows where {self.condition}: "
                         f"{'this record is one' if self.under_condition else 'this record is not'}")
        lines += [f"{'held' if c.held else 'FAILED'}: {c.statement}; this record: {c.value}" for c in self.checks]
        if self.source:
            lines.append(f"from {self.source.get('source_file')} row {self.source.get('source_row')}: "
                         f"{self.source.get(VENDOR_VALUES, '')}")
        return lines

    def __str__(self) -> str:
        return "\n".join(self.lines())

    def _repr_html_(self) -> str:
        return "<div class='explanation'>" + "".join(f"<p>{html.escape(line)}</p>" for line in self.lines()) + "</div>"


def explain(validation: Validation, catalog: Catalog, rule_id: str, key: str, system: str | None = None) -> Explanation:
    """Why the record `key` (as exceptions.csv names it; `system` where the rule is judged per system)
    fails, or passes, `rule_id`."""
    rule = next((r for r in catalog.rules if r.rule_id == rule_id), None)
    if rule is None:
        raise ExplainError(f"unknown rule {rule_id!r}; rules: {', '.join(r.rule_id for r in catalog.rules)}")
    if rule.view not in validation.views:
        raise ExplainError(f"{rule_id} was not judged in this validation (its control was not tested)")
    frame = validation.views[rule.view]
    view_key = catalog.views[rule.view].key
    chosen = record_keys(frame, view_key).astype(str).str.casefold() == str(key).casefold()
    if system is not None and "system" in frame:
        chosen &= frame["system"].astype(str).str.casefold() == system.casefold()
    rows = frame[chosen]
    if rows.empty:
        raise ExplainError(f"no record {key!r}{f' in {system}' if system else ''} in the {rule.view} view: "
                           "give the record_key (and system) as exceptions.csv shows them")
    if len(rows) > 1 and system is None and "system" in frame:
        raise ExplainError(f"{key!r} is in several systems ({', '.join(sorted(rows['system'].astype(str)))}): "
                           "give system=")
    row = rows.iloc[[0]]
    expectations = [e for e in catalog.suite_json(rule.view)["expectations"] if e["meta"]["rule_id"] == rule_id]
    conditions = sorted({e["kwargs"].get("row_condition") or "" for e in expectations})
    condition = " or ".join(f"({c})" if len(conditions) > 1 else c for c in conditions if c)
    under = not condition or any(bool(row.eval(c).fillna(False).iloc[0]) for c in conditions if c) \
        or "" in conditions
    checks = tuple(_check(e, row, frame, validation.parameters) for e in expectations)
    source = {c: _shown(row[c].iloc[0]) for c in (*TRACE_COLUMNS,) if c in row}
    result = next((r for r in validation.rules if r.rule.rule_id == rule_id), None)
    if source and result is not None and VENDOR_VALUES in result.exceptions:
        traced = result.exceptions[(result.exceptions["source_file"] == source.get("source_file"))
                                   & (result.exceptions["source_row"].astype(str) == source.get("source_row"))]
        if len(traced):
            source[VENDOR_VALUES] = str(traced[VENDOR_VALUES].iloc[0])
    return Explanation(rule_id, rule.control_id, rule.text, str(key), condition, under, checks, source)


def _check(expectation: dict, row: pd.DataFrame, frame: pd.DataFrame, parameters: dict) -> Check:
    kind, kwargs = expectation["type"], expectation["kwargs"]
    where = f" (where {kwargs['row_condition']})" if kwargs.get("row_condition") else ""
    if kind == "expect_compound_columns_to_be_unique":
        columns = kwargs["column_list"]
        count = int((frame[columns].astype(str) == row[columns].astype(str).iloc[0]).all(axis=1).sum())
        return Check(f"{' + '.join(columns)} is unique", f"appears {count} time(s)", count == 1)
    column = kwargs["column"]
    value = row[column].iloc[0]
    shown = _shown(value)
    missing = pd.isna(value) if not isinstance(value, (list, tuple)) else False
    if kind == "expect_column_values_to_not_be_null":
        return Check(f"{column} has a value{where}", shown or "no value", not missing)
    if missing:  # GX leaves nulls out of every other check: the not-null check (if any) judges them
        return Check(_statement(kind, kwargs, parameters) + where, "no value: left to the check that it has one", True)
    return Check(_statement(kind, kwargs, parameters) + where, shown, _holds(kind, kwargs, value, parameters))


def _threshold(value: object, parameters: dict) -> tuple[object, str]:
    if isinstance(value, dict) and "$PARAMETER" in value:
        name = value["$PARAMETER"]
        return parameters[name], f" ({name})"
    return value, ""


def _statement(kind: str, kwargs: dict, parameters: dict) -> str:
    column = kwargs["column"]
    if kind == "expect_column_values_to_be_in_set":
        return f"{column} is one of {kwargs['value_set']}"
    if kind == "expect_column_values_to_not_be_in_set":
        return f"{column} is none of {kwargs['value_set']}"
    if kind == "expect_column_values_to_not_match_regex":
        return f"{column} does not match {kwargs['regex']}"
    if kind == "expect_column_values_to_be_between":
        parts = []
        if kwargs.get("min_value") is not None:
            low, name = _threshold(kwargs["min_value"], parameters)
            parts.append(f"at least {low}{name}")
        if kwargs.get("max_value") is not None:
            high, name = _threshold(kwargs["max_value"], parameters)
            parts.append(f"at most {high}{name}")
        return f"{column} {' and '.join(parts)}"
    return f"{column}: {kind}"


def _holds(kind: str, kwargs: dict, value: object, parameters: dict) -> bool:
    if kind == "expect_column_values_to_be_in_set":
        return value in kwargs["value_set"]
    if kind == "expect_column_values_to_not_be_in_set":
        return value not in kwargs["value_set"]
    if kind == "expect_column_values_to_not_match_regex":
        return re.search(kwargs["regex"], str(value)) is None
    if kind == "expect_column_values_to_be_between":
        low = _threshold(kwargs.get("min_value"), parameters)[0] if kwargs.get("min_value") is not None else None
        high = _threshold(kwargs.get("max_value"), parameters)[0] if kwargs.get("max_value") is not None else None
        return (low is None or value >= low) and (high is None or value <= high)
    raise ExplainError(f"cannot explain an expectation of type {kind}")


def _shown(value: object) -> str:
    if value is None or (not isinstance(value, (list, tuple)) and pd.isna(value)):
        return ""
    if isinstance(value, float):
        return f"{value:.0f}" if value.is_integer() else f"{value:.1f}"
    return str(value)
