"""Run the GX suites on the views and judge each control: pass, exceptions, or error.

GX runs from an ephemeral context (no gx/ folder, no usage statistics, no progress bars).
Before trusting GX, each rule's population is counted here: GX passes an empty batch
vacuously, and an auditor must read "0 people hired in the period", not "pass".
"""

from __future__ import annotations

import json
import os
import warnings
from dataclasses import dataclass, field, replace
from enum import StrEnum

import numpy as np
import pandas as pd

from evidence_lib import integrity
from evidence_lib import views as build
from evidence_lib.controls import Catalog, Rule, load_catalog
from evidence_lib.errors import EvidenceError
from evidence_lib.parameters import resolve_parameters
from evidence_lib.period import Period
from evidence_lib.sources.folder import EvidenceSet
from evidence_lib.sources.schemas import SCHEMAS

class Status(StrEnum):
    """A rule's, a control's or a run's verdict. A str, so it reads and serialises as its value."""

    PASS = "pass"
    EXCEPTIONS = "exceptions"
    ERROR = "error"
    OUT_OF_SCOPE = "out_of_scope"


PASS, EXCEPTIONS, ERROR, OUT_OF_SCOPE = Status.PASS, Status.EXCEPTIONS, Status.ERROR, Status.OUT_OF_SCOPE
STRING_CONDITION_DEPRECATION = r"(Passing a string to the row_condition parameter|The condition_parser parameter) is deprecated"


def worst(statuses) -> Status:
    """error outranks exceptions, which outrank pass: one failed part makes the whole fail.
    A part scoped out counts for nothing; a whole scoped out is out of scope."""
    statuses = set(statuses)
    if statuses == {OUT_OF_SCOPE}:
        return OUT_OF_SCOPE
    return ERROR if ERROR in statuses else EXCEPTIONS if EXCEPTIONS in statuses else PASS


class ScopeError(EvidenceError):
    """A scope decision in evidence.yaml names a rule, control or system that does not exist."""


@dataclass
class RuleResult:
    rule: Rule
    status: Status
    population: int = 0
    exceptions: pd.DataFrame = field(default_factory=pd.DataFrame)
    reason: str = ""

    @property
    def exception_count(self) -> int:
        return len(self.exceptions)


@dataclass
class ControlResult:
    control_id: str
    title: str
    rules: list[RuleResult]

    @property
    def status(self) -> Status:
        return worst(r.status for r in self.rules)


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

    @property
    def rules(self) -> list[RuleResult]:
        """Every rule judged: the integrity rules first, then each control's."""
        return [r for c in self.judged for r in c.rules]

    @property
    def judged(self) -> list[ControlResult]:
        return ([self.integrity] if self.integrity else []) + list(self.controls)

    def map_exceptions(self, transform) -> "Validation":
        """The same validation with every rule's exception rows passed through transform (e.g. PII masking)."""
        def mapped(control: ControlResult) -> ControlResult:
            return replace(control, rules=[replace(r, exceptions=transform(r.exceptions)) for r in control.rules])

        return replace(self, controls=[mapped(c) for c in self.controls],
                       integrity=mapped(self.integrity) if self.integrity else None)

    @property
    def status(self) -> Status:
        return worst(c.status for c in self.judged)

    def summary(self) -> pd.DataFrame:
        return pd.DataFrame([
            {"control": r.rule.control_id, "rule": r.rule.rule_id, "population": r.population,
             "exceptions": r.exception_count, "status": r.status, "reason": r.reason}
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
        }

    @staticmethod
    def _control_dict(c: ControlResult) -> dict:
        return {
                "control": c.control_id, "title": c.title, "status": c.status,
                "rules": [{
                    "rule": r.rule.rule_id, "text": r.rule.text, "status": r.status, "population": r.population,
                    "exception_count": r.exception_count, "reason": r.reason,
                    "exceptions": json.loads(r.exceptions.to_json(orient="records", date_format="iso")),
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


def default_as_of(evidence: EvidenceSet, period: Period) -> pd.Timestamp:
    """When the evidence was exported (the latest declared time), else the day after the period."""
    declared = [pd.Timestamp(d.exported_at) for d in evidence.declaration.files if d.exported_at]
    if declared:
        return max(t.tz_localize("UTC") if t.tzinfo is None else t.tz_convert("UTC") for t in declared)
    return pd.Timestamp(period.end, tz="UTC") + pd.Timedelta(days=1)


def validate(evidence: EvidenceSet, period: Period, *, as_of: pd.Timestamp | None = None,
             parameters: dict | None = None, catalog: Catalog | None = None,
             controls: tuple[str, ...] | None = None) -> Validation:
    """Judge every control of the catalog (or only `controls`: what one notebook reports).

    Integrity rules run first, on the evidence the chosen rules use; a control rule whose
    evidence failed integrity, lost rows to quarantine, or failed to load is an error.
    """
    catalog = catalog or load_catalog()
    checks = integrity.load_integrity(catalog.folder)
    chosen = [c for c in catalog.controls if controls is None or c.control_id in controls]
    as_of = as_of if as_of is not None else default_as_of(evidence, period)
    params = resolve_parameters(parameters, catalog=catalog)

    rules = [rule for control in chosen for rule in control.rules]
    scope = _scope_decisions(evidence, catalog)
    missing = _missing_evidence(evidence)
    frames = {t: evidence.frame(t) for t in SCHEMAS}
    domains = tuple(getattr(evidence.declaration, "domains", ()) or ())
    view_frames = _build_views(frames, period, as_of, params, {rule.view for rule in rules}, domains)

    used_types = {t for rule in rules for t in rule.evidence if t not in missing}
    integrity_result, doubts = _judge_integrity(evidence, checks, used_types, catalog, params, as_of, scope)
    counted = build.courses_counted(frames["training"], str(params["training_course"]))
    facts = {"training_within_due_days": [_courses_note(counted)], "annual_training_current": [_courses_note(counted)]}
    for rule in rules:
        facts.setdefault(rule.rule_id, []).extend(
            f"no {t} evidence declared: none was used" for t in rule.evidence
            if SCHEMAS[t].may_be_empty and not evidence.loaded(t) and t not in missing)

    results: dict[str, RuleResult] = {}
    runnable: dict[str, list[Rule]] = {}
    for rule in rules:
        gaps = [missing[t] for t in rule.evidence if t in missing]
        if rule.rule_id in scope.whole_rules:
            results[rule.rule_id] = RuleResult(rule, OUT_OF_SCOPE, reason=scope.whole_rules[rule.rule_id])
        elif gaps:
            results[rule.rule_id] = RuleResult(rule, ERROR, reason="; ".join(gaps))
        else:
            runnable.setdefault(rule.view, []).append(rule)
    for view, view_rules in runnable.items():
        frame = view_frames[view]
        excluded = {r.rule_id: scope.excluded(r.rule_id, frame) for r in view_rules}
        for rule_id, result in judge_view(view, frame, view_rules, catalog, params, excluded).items():
            gaps = _doubts_for(rule_id, doubts, checks, scope) + _columns_lacking(rule_id, evidence, checks, scope)
            results[rule_id] = _distrusted(result, scope.notes(rule_id) + facts.get(rule_id, []), evidence, gaps)
    judged = [ControlResult(c.control_id, c.title, [results[r.rule_id] for r in c.rules]) for c in chosen]
    return Validation(period, as_of, params, judged, view_frames, integrity=integrity_result,
                      view_keys={name: view.key for name, view in catalog.views.items()})


def _courses_note(counted: dict[str, int]) -> str:
    if not counted:
        return "no course title in the training evidence matches training_course"
    return "courses counted: " + ", ".join(f"{title} ({n})" for title, n in counted.items())


@dataclass
class _Scope:
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


def _scope_decisions(evidence: EvidenceSet, catalog: Catalog) -> _Scope:
    scope = _Scope()
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


def _judge_integrity(evidence: EvidenceSet, checks: integrity.IntegrityCatalog, used_types: set[str],
                     catalog: Catalog, params: dict, as_of: pd.Timestamp, scope: _Scope):
    """The integrity rules that bear on the evidence in use: their result, and what they call into doubt."""
    # A rule on each row's own evidence (dates) checks whatever evidence is in use; the others
    # need all of theirs.
    wanted = [c for c in checks.rules if set(c.rule.evidence) & used_types
              and (c.row_level or set(c.rule.evidence) <= used_types)]
    if not wanted:
        return None, set()
    earliest = pd.Timestamp(str(params["earliest_plausible_date"]), tz="UTC")
    exempt = {rule_id: set(systems) for rule_id, systems in scope.systems.items()}
    frames = integrity.build_views(evidence, {c.rule.view for c in wanted}, used_types, as_of=as_of,
                                   earliest=earliest, roster=evidence.frame("hr_roster"), exempt=exempt,
                                   domains=tuple(getattr(evidence.declaration, "domains", ()) or ()))
    results: dict[str, RuleResult] = {}
    for view, frame in frames.items():
        view_rules = [c.rule for c in wanted if c.rule.view == view]
        for rule_id, result in judge_view(view, frame, view_rules, catalog, params).items():
            if result.status == ERROR and result.population == 0:
                result = RuleResult(result.rule, PASS, 0, reason="nothing of this kind in the evidence to check")
            results[rule_id] = result
    doubts = {a for c in wanted for a in integrity.affected_by(c, results[c.rule.rule_id].exceptions)}
    ordered = [results[c.rule.rule_id] for c in wanted]
    return ControlResult(integrity.INTEGRITY, checks.title, ordered), doubts


def _doubts_for(rule_id: str, doubts: set, checks: integrity.IntegrityCatalog, scope: _Scope) -> list[str]:
    uses = checks.uses.get(rule_id, {})
    counts: dict[tuple[str, str], set[str]] = {}
    for doubt in doubts:
        bears = doubt.rule == rule_id if doubt.rule else doubt.column in uses.get(doubt.evidence, ())
        if bears and not (doubt.system and scope.exempt(rule_id, doubt.system)):
            what = f"{doubt.evidence}.{doubt.column}" if doubt.column else f"the evidence of {doubt.system}"
            counts.setdefault((doubt.integrity_rule, what), set()).add(doubt.system)
    return [f"{what} failed the integrity rule {check}" for check, what in sorted(counts)]


def _columns_lacking(rule_id: str, evidence: EvidenceSet, checks: integrity.IntegrityCatalog, scope: _Scope) -> list[str]:
    """Exports that carry no column for something the rule needs (no MFA status, no admin roles):
    the rule cannot pass on them, unless their system is scoped out of it."""
    lacking = []
    for evidence_type, columns in checks.needs.get(rule_id, {}).items():
        for outcome in evidence.outcomes:
            if outcome.loaded is None or outcome.declared.evidence_type != evidence_type:
                continue
            system = outcome.declared.system or ""
            carried = getattr(outcome.loaded.provenance, "columns_used", None)
            if carried is None or (system and scope.exempt(rule_id, system)):
                continue
            for column in sorted(columns - set(carried)):
                lacking.append(f"{outcome.declared.path} ({system or evidence_type}) has no column for {column}: "
                               f"add it to the export or map it, or scope {system or 'the rule'} out with a reason")
    return lacking


def _distrusted(result: RuleResult, notes: list[str], evidence: EvidenceSet, doubts: list[str]) -> RuleResult:
    """A rule cannot pass on evidence known to be incomplete or wrong: rows set aside from a file it
    uses, or a column it uses that failed integrity, make it an error (its exception rows are kept)."""
    reasons = list(doubts)
    for evidence_type in result.rule.evidence:
        for loaded in evidence.loaded(evidence_type):
            if loaded.provenance.rows_rejected:
                reasons.append(f"{loaded.provenance.rows_rejected} row(s) of {loaded.provenance.path} were set "
                               f"aside as unreadable (bad_rows: quarantine), so the rule did not see them")
    if reasons:
        reasons.append("fix the evidence and re-export; the exceptions found so far are listed")
        return replace(result, status=ERROR, reason="; ".join(reasons + notes))
    return replace(result, reason="; ".join(notes)) if notes else result


def _missing_evidence(evidence: EvidenceSet) -> dict[str, str]:
    """Evidence type -> why rules needing it cannot be judged."""
    reasons = {}
    for evidence_type in SCHEMAS:
        failed = evidence.failed(evidence_type)
        if failed:
            reasons[evidence_type] = "; ".join(
                f"{evidence_type} evidence failed to load: {o.problems[0]}" for o in failed)
        elif not evidence.loaded(evidence_type) and not SCHEMAS[evidence_type].may_be_empty:
            # Optional evidence (no service accounts, no aliases) may be absent; what it would have
            # told the rules is then simply not there: no account is registered, no alias links one.
            reasons[evidence_type] = f"no {evidence_type} evidence is declared in evidence.yaml"
    return reasons


def _build_views(frames: dict[str, pd.DataFrame], period: Period, as_of: pd.Timestamp, params: dict,
                 wanted: set[str], domains: tuple[str, ...] = ()) -> dict:
    course = str(params["training_course"])
    builders = {
        "accounts": lambda: build.account_view(frames["accounts"], frames["hr_roster"], frames["identity_aliases"],
                                               frames["service_accounts"], frames["access_reviews"],
                                               period=period, as_of=as_of, domains=domains),
        "deployments": lambda: build.deployment_view(frames["deployments"], frames["change_tickets"], period=period),
        "changes": lambda: build.change_view(frames["deployments"], frames["change_tickets"], period=period,
                                             roster=frames["hr_roster"], aliases=frames["identity_aliases"],
                                             domains=domains),
        "new_hires": lambda: build.new_hire_view(frames["hr_roster"], frames["background_checks"], frames["training"],
                                                 period=period, as_of=as_of, training_course=course, domains=domains),
        "staff": lambda: build.staff_view(frames["hr_roster"], frames["training"], period=period, as_of=as_of,
                                          training_course=course, domains=domains),
    }
    return {view: builders[view]() for view in builders if view in wanted}


_CONTEXT = None


def _batch_definition(view: str):
    """The whole-frame batch definition of a view, in one ephemeral context per process."""
    global _CONTEXT
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    if _CONTEXT is None:
        _CONTEXT = gx.get_context(mode="ephemeral")
        _CONTEXT.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
        _CONTEXT.data_sources.add_pandas("evidence")
    source = _CONTEXT.data_sources.get("evidence")
    try:
        asset = source.get_asset(view)
    except LookupError:
        asset = source.add_dataframe_asset(view)
        asset.add_batch_definition_whole_dataframe("whole")
    return asset.get_batch_definition("whole")


def _run_suite(view: str, frame: pd.DataFrame, suite, params: dict):
    """Validate the suite on the frame. This is what Batch.validate and ValidationDefinition.run
    do inside (GX's v1 Validator), minus one of their two fetches of the batch: GX fingerprints
    a pandas batch by hashing all of it each time it is fetched."""
    from great_expectations.validator.v1_validator import Validator

    validator = Validator(
        batch_definition=_batch_definition(view), batch_parameters={"dataframe": frame},
        # GX reports failing rows by the frame's index labels (unique here), which it collects
        # vectorised; asking it for key columns costs a Python lookup per failing row. The
        # labels are turned back into the view's keys by the caller.
        result_format={"result_format": "COMPLETE", "return_unexpected_index_query": False},
    )
    return validator.validate_expectation_suite(
        suite, expectation_parameters={k: v for k, v in params.items() if not isinstance(v, str)})


def judge_view(view: str, frame: pd.DataFrame, rules: list[Rule], catalog: Catalog, params: dict,
               excluded: dict[str, pd.Series | None] | None = None) -> dict[str, RuleResult]:
    """Each rule's population, verdict and exception rows on one view. `excluded` marks, per rule,
    rows scoped out of it (a system decided out of scope): they are neither counted nor judged."""
    import great_expectations as gx

    key = list(catalog.views[view].key)
    frame = full = frame.reset_index(drop=True)  # unique labels: GX names failing rows by them
    wanted = {r.rule_id for r in rules}
    spec = catalog.suite_json(view)
    spec["expectations"] = [e for e in spec["expectations"] if e["meta"]["rule_id"] in wanted]
    masks = {c: _mask(frame, c) for c in {e["kwargs"].get("row_condition") for e in spec["expectations"]} if c}
    outside = {rule_id: mask.reset_index(drop=True) for rule_id, mask in (excluded or {}).items() if mask is not None}
    populations = {rule_id: _population(frame, spec, rule_id, masks, outside.get(rule_id)) for rule_id in wanted}
    results: dict[str, RuleResult] = {}
    empty = {rule_id for rule_id, n in populations.items() if n == 0}
    spec["expectations"] = [e for e in spec["expectations"] if e["meta"]["rule_id"] not in empty]
    by_id = {r.rule_id: r for r in rules}
    for rule_id in empty:
        results[rule_id] = RuleResult(by_id[rule_id], ERROR, 0, reason=f"the population is empty: no rows of the "
                                      f"{view} view fall under this rule; confirm the evidence is complete")
    if not spec["expectations"]:
        return results
    failing: dict[str, set] = {rule_id: set() for rule_id in wanted - empty}
    with warnings.catch_warnings():
        # String row conditions are deprecated for GX 2.0; the suites stay plain JSON that GX 1.x
        # (pinned <2 in pyproject) loads as-is, and the warning would repeat once per expectation.
        warnings.filterwarnings("ignore", message=STRING_CONDITION_DEPRECATION, category=DeprecationWarning)
        # GX's pandas engine applies a row condition as DataFrame.query (a full copy of the frame)
        # once per metric, and fingerprints each batch by hashing all of it. The whole suite
        # runs instead as one batch in which each condition was applied once, here (see
        # _conditions_applied); the suite JSON keeps the conditions as the statement of the rules.
        batch_frame, suite_spec = _conditions_applied(frame, spec, masks)
        outcome = _run_suite(view, batch_frame, gx.ExpectationSuite(**suite_spec), params)
        for result in outcome.results:
            rule_id = result.expectation_config.meta["rule_id"]
            if result.exception_info and result.exception_info.get("raised_exception"):
                raise RuntimeError(f"GX could not evaluate {rule_id}: "
                                   f"{result.exception_info['exception_message']}")
            failing[rule_id].update(result.result.get("unexpected_index_list") or [])
    for rule_id, labels in failing.items():
        rule = by_id[rule_id]
        if rule_id in outside:
            labels = {label for label in labels if not outside[rule_id].iloc[label]}
        rows = full.loc[sorted(labels)].drop_duplicates(subset=key).reset_index(drop=True)[list(rule.show)]
        results[rule_id] = RuleResult(rule, EXCEPTIONS if labels else PASS, populations[rule_id], rows)
    return results


def _conditions_applied(frame: pd.DataFrame, spec: dict, masks: dict[str, pd.Series]) -> tuple[pd.DataFrame, dict]:
    """The suite without row conditions, and a frame in which each condition is already applied.

    An expectation with a row condition tests its own copy of its column, blank (null) on the
    rows outside the condition: GX leaves nulls out of every column-map expectation, so those
    rows are not tested. A not-null expectation tests instead whether the value is present,
    counting rows outside the condition as present. Rows keep their labels, so GX's failing
    rows are the view's rows. Flags become nullable booleans, so blanking them keeps a
    compact dtype rather than Python objects (cheaper to hash: GX fingerprints the batch).
    """
    columns: dict[str, pd.Series] = {}
    compacted: dict[str, pd.Series] = {}

    def compact(column: str) -> pd.Series:
        if column not in compacted:
            compacted[column] = _compact(frame[column])
        return compacted[column]

    expectations = []
    for expectation in spec["expectations"]:
        kwargs = dict(expectation["kwargs"])
        condition = kwargs.pop("row_condition", None) or ""
        kwargs.pop("condition_parser", None)
        if "column_list" in kwargs:
            if condition:
                raise ValueError(f"{expectation['meta']['rule_id']}: a row condition on a multi-column "
                                 f"expectation is not supported")
            columns.update({c: compact(c) for c in kwargs["column_list"]})
        elif not condition:
            columns[kwargs["column"]] = compact(kwargs["column"])
        else:
            mask = masks[condition]
            values = frame[kwargs["column"]]
            if expectation["type"] == "expect_column_values_to_not_be_null":
                name = f"{kwargs['column']} present if {condition}"
                columns[name] = pd.Series(np.where(mask & values.isna(), np.nan, 1.0), index=frame.index)
            else:
                name = f"{kwargs['column']} if {condition}"
                if name not in columns:
                    columns[name] = compact(kwargs["column"]).where(mask)
            kwargs["column"] = name
        expectations.append({**expectation, "kwargs": kwargs})
    return pd.DataFrame(columns, index=frame.index), {**spec, "expectations": expectations}


def _compact(values: pd.Series) -> pd.Series:
    if pd.api.types.is_bool_dtype(values):
        return values.astype("boolean")
    if pd.api.types.is_string_dtype(values) and not isinstance(values.dtype, pd.CategoricalDtype):
        return values.astype("category")
    return values


def _mask(frame: pd.DataFrame, condition: str) -> pd.Series:
    """The rows a pandas row condition selects, evaluated as GX's pandas engine does (query)."""
    return frame.eval(condition).astype(bool)


def _population(frame: pd.DataFrame, spec: dict, rule_id: str, masks: dict[str, pd.Series],
                outside: pd.Series | None = None) -> int:
    """Rows under the rule: the union of its expectations' row conditions, less rows scoped out."""
    conditions = {e["kwargs"].get("row_condition") for e in spec["expectations"] if e["meta"]["rule_id"] == rule_id}
    covered = pd.Series(None in conditions, index=frame.index)
    for condition in conditions - {None}:
        covered |= masks[condition]
    if outside is not None:
        covered &= ~outside
    return int(covered.sum())
