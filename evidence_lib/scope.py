"""Scope decisions: what a company's evidence cannot show, decided, owned and stated.

evidence.yaml's `scope:` entries take a whole rule (or control) out of testing, or one system out
of a rule's population. Each is checked against the catalog and the declared systems, and its
reason travels with the verdict: never a silent gap.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from evidence_lib.controls import Catalog
from evidence_lib.errors import EvidenceError
from evidence_lib.sources.folder import EvidenceSet


class ScopeError(EvidenceError):
    """A scope decision in evidence.yaml names a rule, control or system that does not exist."""


@dataclass
class Scope:
    """evidence.yaml's scope decisions, checked against the catalog and the declared systems."""

    whole_rules: dict[str, str] = field(default_factory=dict)  # rule id -> why it is not tested
    systems: dict[str, dict[str, str]] = field(default_factory=dict)  # rule id -> system -> why

    def excluded(self, rule_id: str, frame: pd.DataFrame) -> pd.Series | None:
        systems = self.systems.get(rule_id)
        if not systems or "system" not in frame:
            return None
        return frame["system"].astype("str").str.casefold().isin(set(systems))

    def notes(self, rule_id: str) -> list[str]:
        return [f"{system} scoped out: {why}" for system, why in self.systems.get(rule_id, {}).items()]

    def exempt(self, rule_id: str, system: str) -> bool:
        return system.casefold() in self.systems.get(rule_id, {})


def scope_decisions(evidence: EvidenceSet, catalog: Catalog) -> Scope:
    scope = Scope()
    rules = {r.rule_id: r for r in catalog.rules}
    controls = {c.control_id: c for c in catalog.controls}
    systems = {d.system.casefold() for d in evidence.declaration.files if d.system}
    for decision in getattr(evidence.declaration, "scope", ()) or ():
        why = f"{decision.reason} (decided by {decision.decided_by} on {decision.decided_on})"
        if decision.rule and decision.rule not in rules:
            raise ScopeError(f"evidence.yaml scope: unknown rule '{decision.rule}'; rules: {', '.join(rules)}")
        if decision.control and decision.control not in controls:
            raise ScopeError(f"evidence.yaml scope: unknown control '{decision.control}'; "
                             f"controls: {', '.join(controls)}")
        targets = [decision.rule] if decision.rule else [r.rule_id for r in controls[decision.control].rules]
        if not decision.system:
            scope.whole_rules.update({rule_id: f"out of scope: {why}" for rule_id in targets})
            continue
        system = decision.system.casefold()
        if system not in systems:
            raise ScopeError(f"evidence.yaml scope: system '{decision.system}' is not declared for any file; "
                             f"systems: {', '.join(sorted(systems))}")
        for rule_id in targets:
            if catalog.views[rules[rule_id].view].key[0] != "system":
                raise ScopeError(f"evidence.yaml scope: rule '{rule_id}' is not judged per system; "
                                 f"scope the whole rule instead (drop `system:`)")
            scope.systems.setdefault(rule_id, {})[system] = why
    return scope
