"""Management's responses to exceptions: classified, answered, approved, and shown beside each one.

`responses.yaml`, beside evidence.yaml in the evidence folder, holds one entry per exception
(control, rule, the record's key as exceptions.csv shows it, and its system where the rule is
judged per system). A response never changes a verdict: the rule stays `exceptions` and the
auditor judges. An exception is *responded* while a response matches it and has not expired on
the evidence's as-of date, else *open*; a response that matches no exception is *stale*, listed.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pandas as pd

from evidence_lib.controls import Catalog
from evidence_lib.errors import located
from evidence_lib.results import RuleResult, Validation, record_keys
from evidence_lib.sources.responses_file import RESPONSES, Response, Responses, ResponsesError

# Columns added to every exception row, in this order.
# Named apart from the views' own columns (a change's `approved_at` is its approval, not the response's).
COLUMNS = ("response_status", "response_classification", "response", "response_remediation", "response_approved_by",
           "response_approved_at", "response_expires")


def check_against(responses: Responses, catalog: Catalog) -> None:
    """Every entry names a rule of the catalog, under its own control."""
    shown = responses.path or RESPONSES
    rules = {r.rule_id: r for r in catalog.rules}
    problems = []
    for response in responses.entries:
        rule = rules.get(response.rule)
        if rule is None:
            problems.append(located(shown, f"entry {response.entry}: unknown rule {response.rule!r}",
                                    f"rules: {', '.join(rules)}"))
        elif rule.control_id != response.control:
            problems.append(located(shown, f"entry {response.entry}: rule {response.rule} tests {rule.control_id}, "
                                           f"not {response.control}", "correct control or rule"))
    if problems:
        raise ResponsesError(problems)


def apply_responses(validation: Validation, responses: Responses, catalog: Catalog) -> Validation:
    """The validation with each control rule's exception rows marked open or responded (with the
    response), and the responses of its rules that match no exception kept as stale."""
    check_against(responses, catalog)
    as_of = validation.as_of.date()
    by_key = {r.match_key: r for r in responses.entries}
    used: set[tuple] = set()

    def marked(result: RuleResult) -> RuleResult:
        rows = result.exceptions
        if not result.exception_count:
            return result
        keys = record_keys(rows, validation.view_keys[result.rule.view])
        systems = rows["system"].fillna("").astype(str) if "system" in rows else pd.Series("", index=rows.index)
        found = []
        for system, key in zip(systems, keys):
            response = by_key.get((result.rule.rule_id, system.casefold(), str(key).casefold()))
            if response is not None:
                used.add(response.match_key)
            found.append(response)
        columns = {name: [_cell(r, name, as_of) for r in found] for name in COLUMNS}
        return replace(result, exceptions=rows.assign(**{n: pd.Series(v, index=rows.index, dtype="str")
                                                          for n, v in columns.items()}))

    controls = [replace(c, rules=[marked(r) for r in c.rules]) for c in validation.controls]
    judged = {r.rule.rule_id for c in validation.controls for r in c.rules}
    stale = tuple(r for r in responses.entries if r.rule in judged and r.match_key not in used)
    return replace(validation, controls=controls, stale_responses=stale)


def _cell(response: Response | None, name: str, as_of: date) -> str:
    if name == "response_status":
        if response is None:
            return "open"
        return "open (response expired)" if response.expires and response.expires < as_of else "responded"
    if response is None:
        return ""
    value = getattr(response, name.removeprefix("response_") if name != "response" else name)
    return value.isoformat() if isinstance(value, date) else str(value or "")
