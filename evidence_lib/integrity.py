"""Evidence integrity: is the information the entity produced complete and accurate enough to test?

Before any control rule is judged, integrity rules (GX suites like the control rules, in
`expectations/integrity_*.json`) test the evidence itself: dates that cannot be true, people
terminated without a date, training records that do not say whether the course was passed,
systems whose exports carry no logins, an access review without a sign-off.

The choice, applied everywhere: a row that fails an integrity rule is an exception of that
integrity rule, and every control rule that uses the affected column (its `uses:` in the
catalog) is an **error** naming the integrity rule — never a pass on evidence known to be
wrong. The control rule's own exception rows are still shown.

Views here are pure functions of loaded evidence, like `views.py`; judging is `validate.py`'s.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pandas as pd

from evidence_lib.controls import Rule, catalog_spec
from evidence_lib.identity import person_ids
from evidence_lib.project import EXPECTATIONS_DIR
from evidence_lib.sources.folder import EvidenceSet
from evidence_lib.sources.schemas import SCHEMAS

INTEGRITY = "IPE"  # the auditor's name for it: information produced by the entity
# Dates that name a plan rather than an event: a hire date for someone who starts next month,
# a termination date for someone serving notice. They may lie up to a year past the export.
# A risk treatment's due date, and an extension's new one, name a plan too (CC3.2).
PLANNED_DATES = {"hire_date", "termination_date", "due_date", "extended_due_date"}
PLANNED_HORIZON = pd.Timedelta(days=366)
ROW_AFFECTS = "row"
NO_AFFECTS = "none"


@dataclass(frozen=True)
class IntegrityRule:
    rule: Rule
    protects: tuple[str, ...]
    # evidence type -> columns whose failure makes dependent control rules errors; empty when
    # each exception row names its own (evidence, column).
    affects: dict[str, frozenset[str]]
    # control rules it bears on directly, whatever columns they use
    affects_rules: frozenset[str] = frozenset()
    # shown to the auditor, calling no control rule into doubt
    informational: bool = False

    @property
    def row_level(self) -> bool:
        """Each exception row names what it calls into doubt (its evidence and column, or its rule)."""
        return not self.affects and not self.affects_rules and not self.informational


@dataclass(frozen=True)
class Affected:
    """One integrity finding as it bears on control rules: which evidence column, which system."""

    evidence: str
    column: str
    system: str
    integrity_rule: str
    rule: str = ""  # set when the finding bears on one control rule only


@dataclass(frozen=True)
class IntegrityCatalog:
    title: str
    rules: tuple[IntegrityRule, ...]
    uses: dict[str, dict[str, frozenset[str]]]  # control rule id -> evidence type -> columns
    # control rule id -> evidence type -> columns every export of that type must carry for the rule
    needs: dict[str, dict[str, frozenset[str]]]


@cache
def load_integrity(folder: Path = EXPECTATIONS_DIR) -> IntegrityCatalog:
    spec = catalog_spec(folder)
    section = spec["integrity"]
    rules = []
    for rule_id, r in section["rules"].items():
        affects = {} if r["affects"] in (ROW_AFFECTS, NO_AFFECTS) else dict(r["affects"])
        direct = frozenset(affects.pop("rules", ()))
        rules.append(IntegrityRule(Rule(rule_id, INTEGRITY, r["text"], r["view"], tuple(r["evidence"]),
                                        tuple(r["show"])), tuple(r["protects"]),
                                   {t: frozenset(c) for t, c in affects.items()}, direct,
                                   informational=r["affects"] == NO_AFFECTS))
    control_rules = [(rule_id, r) for control in spec["controls"].values() for rule_id, r in control["rules"].items()]
    uses = {rule_id: {t: frozenset(c) for t, c in r["uses"].items()} for rule_id, r in control_rules}
    needs = {rule_id: {t: frozenset(c) for t, c in r.get("needs", {}).items()} for rule_id, r in control_rules}
    return IntegrityCatalog(section["title"], tuple(rules), uses, needs)


def affected_by(rule: IntegrityRule, exceptions: pd.DataFrame) -> set[Affected]:
    """The evidence columns (and systems) an integrity rule's exception rows call into doubt."""
    if not len(exceptions):
        return set()
    system = exceptions["system"].fillna("") if "system" in exceptions else pd.Series("", index=exceptions.index)
    if rule.informational:
        return set()
    if rule.affects_rules:
        return {Affected("", "", s, rule.rule.rule_id, target) for target in rule.affects_rules for s in set(system)}
    if not rule.affects and "rule" in exceptions:
        return {Affected("", "", s, rule.rule.rule_id, target) for s, target in zip(system, exceptions["rule"])}
    if not rule.affects:
        return {Affected(e, c, s, rule.rule.rule_id)
                for e, c, s in zip(exceptions["evidence"], exceptions["column"], system)}
    return {Affected(t, c, s, rule.rule.rule_id) for t, columns in rule.affects.items() for c in columns
            for s in set(system)}


# -- views ------------------------------------------------------------------------------------

def _files(evidence: EvidenceSet, evidence_type: str):
    """(declared path, system, export time or None, frame) for each loaded file of a type."""
    for outcome in evidence.outcomes:
        if outcome.loaded is not None and outcome.declared.evidence_type == evidence_type:
            exported = outcome.loaded.provenance.exported_at
            yield (outcome.declared.path, outcome.declared.system or "",
                   _utc(pd.Timestamp(exported)) if exported else None, outcome.loaded.frame)


def _utc(stamp: pd.Timestamp) -> pd.Timestamp:
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def _as_utc(values: pd.Series) -> pd.Series:
    return values.dt.tz_localize("UTC") if values.dt.tz is None else values.dt.tz_convert("UTC")


def dates_view(evidence: EvidenceSet, types: set[str], *, as_of: pd.Timestamp, earliest: pd.Timestamp) -> pd.DataFrame:
    """One row per date value in the evidence: how far it lies past its file's export time, and
    how many days after the earliest plausible date."""
    parts = []
    for evidence_type in sorted(types):
        schema = SCHEMAS[evidence_type]
        dated = [c.name for c in schema.columns if c.kind in ("date", "datetime")]
        for path, system, exported, frame in _files(evidence, evidence_type):
            exported = exported if exported is not None else as_of
            for column in dated:
                values = frame[column].dropna()
                if values.empty:
                    continue
                stamps = _as_utc(values)
                allowed = exported + (PLANNED_HORIZON if column in PLANNED_DATES else pd.Timedelta(0))
                parts.append(pd.DataFrame({
                    "evidence": evidence_type, "file": path, "system": system,
                    "row": values.index.astype("int64"), "column": column,
                    "value": stamps.dt.strftime("%Y-%m-%d %H:%M UTC").values,
                    "days_from_earliest": ((stamps - earliest).dt.total_seconds() / 86400).values,
                    "hours_past_allowed": ((stamps - allowed).dt.total_seconds() / 3600).values,
                }))
    columns = ["evidence", "file", "system", "row", "column", "value", "days_from_earliest", "hours_past_allowed"]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)


def _rows(evidence: EvidenceSet, evidence_type: str, columns: list[str]) -> pd.DataFrame:
    parts = [frame[columns].assign(file=path, system=system, row=frame.index.astype("int64"))
             for path, system, _, frame in _files(evidence, evidence_type)]
    if not parts:
        return pd.DataFrame(columns=["file", "system", "row", *columns])
    return pd.concat(parts, ignore_index=True)


def roster_view(evidence: EvidenceSet) -> pd.DataFrame:
    frame = _rows(evidence, "hr_roster", ["employee_id", "name", "status", "hire_date", "termination_date"])
    frame["has_termination_date"] = frame["termination_date"].notna().astype(bool)
    frame["employed_days"] = ((frame["termination_date"] - frame["hire_date"]).dt.days).astype("float64")
    return frame


def training_view(evidence: EvidenceSet, roster: pd.DataFrame, domains: tuple[str, ...] = ()) -> pd.DataFrame:
    frame = _rows(evidence, "training", ["employee_id", "email", "course", "completed_at", "status"])
    hires = roster.drop_duplicates("employee_id").set_index("employee_id")["hire_date"]
    person = person_ids(frame, roster, domains)
    frame["hire_date"] = pd.Series(hires.reindex(person.values).array, index=frame.index)
    frame["hire_known"] = frame["hire_date"].notna().astype(bool)
    completed_day = _as_utc(frame["completed_at"]).dt.tz_localize(None).dt.normalize()
    frame["days_after_hire"] = (completed_day - frame["hire_date"]).dt.days.astype("float64")
    return frame


# Account columns some rules cannot do without, per system: a system whose export has none of
# them is not exempt from the rule, it is evidence that cannot show the rule was met.
SYSTEM_COLUMNS = {"last_login_at": "no_dormant_accounts", "created_at": "no_account_before_hire"}


def systems_view(evidence: EvidenceSet, *, exempt: dict[str, set[str]]) -> pd.DataFrame:
    """One row per (system with enabled accounts, column a rule needs): does its export record
    that column for any enabled account? Systems scoped out of the rule are left out."""
    rows = []
    for path, system, _, frame in _files(evidence, "accounts"):
        enabled = frame["enabled"].fillna(False).astype(bool)
        if not enabled.any():
            continue
        for column, rule_id in SYSTEM_COLUMNS.items():
            if system.casefold() in exempt.get(rule_id, set()):
                continue
            with_value = int(frame.loc[enabled, column].notna().sum())
            rows.append({"system": system, "file": path, "column": column, "rule": rule_id,
                         "enabled_accounts": int(enabled.sum()), "accounts_with_value": with_value,
                         "recorded": with_value > 0})
    return pd.DataFrame(rows, columns=["system", "file", "column", "rule", "enabled_accounts",
                                       "accounts_with_value", "recorded"])


def people_view(evidence: EvidenceSet, roster: pd.DataFrame, domains: tuple[str, ...] = ()) -> pd.DataFrame:
    """Every training and screening record, and whether it names someone in the roster."""
    parts = []
    for evidence_type in ("training", "background_checks"):
        frame = _rows(evidence, evidence_type, ["employee_id", "email"])
        parts.append(frame.assign(evidence=evidence_type, resolved=person_ids(frame, roster, domains).notna()))
    frame = pd.concat(parts, ignore_index=True)
    frame["resolved"] = frame["resolved"].astype(bool)
    return frame


def acknowledgements_view(evidence: EvidenceSet, roster: pd.DataFrame, domains: tuple[str, ...] = ()) -> pd.DataFrame:
    """Every policy acknowledgement, and whether it names someone in the roster and a policy of the policy
    list: one naming neither acknowledges nothing, and is shown rather than left out unseen."""
    from evidence_lib.policy_views import acknowledged_policy

    frame = _rows(evidence, "policy_acknowledgements", ["employee_id", "email", "policy", "version"])
    frame["names_person"] = person_ids(frame, roster, domains).notna().to_numpy(dtype=bool)
    frame["names_policy"] = acknowledged_policy(frame, evidence.frame("policies")).notna().to_numpy(dtype=bool)
    frame["resolved"] = frame["names_person"] & frame["names_policy"]
    return frame


def reviews_view(evidence: EvidenceSet) -> pd.DataFrame:
    frame = _rows(evidence, "access_reviews", ["system", "account_id", "reviewer", "signed_off_at"])
    frame["system"] = frame["system"].astype("str")
    return frame


def build_views(evidence: EvidenceSet, wanted: set[str], types: set[str], *, as_of: pd.Timestamp,
                earliest: pd.Timestamp, roster: pd.DataFrame, exempt: dict[str, set[str]],
                domains: tuple[str, ...] = ()) -> dict[str, pd.DataFrame]:
    builders = {
        "integrity_dates": lambda: dates_view(evidence, types, as_of=as_of, earliest=earliest),
        "integrity_roster": lambda: roster_view(evidence),
        "integrity_training": lambda: training_view(evidence, roster, domains),
        "integrity_people": lambda: people_view(evidence, roster, domains),
        "integrity_acknowledgements": lambda: acknowledgements_view(evidence, roster, domains),
        "integrity_systems": lambda: systems_view(evidence, exempt=exempt),
        "integrity_reviews": lambda: reviews_view(evidence),
    }
    return {view: build() for view, build in builders.items() if view in wanted}
