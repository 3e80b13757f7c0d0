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

import numpy as np
import pandas as pd

from evidence_lib.controls import Catalog, Rule, load_catalog
from evidence_lib.period import Period
from evidence_lib.sources.folder import EvidenceSet
from evidence_lib.sources.schemas import SCHEMAS
from evidence_lib import views as build

PASS, EXCEPTIONS, ERROR = "pass", "exceptions", "error"
STRING_CONDITION_DEPRECATION = r"(Passing a string to the row_condition parameter|The condition_parser parameter) is deprecated"


def worst(statuses) -> str:
    """error outranks exceptions, which outrank pass: one failed part makes the whole fail."""
    statuses = set(statuses)
    return ERROR if ERROR in statuses else EXCEPTIONS if EXCEPTIONS in statuses else PASS


@dataclass
class RuleResult:
    rule: Rule
    status: str
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
    def status(self) -> str:
        return worst(r.status for r in self.rules)


@dataclass
class Validation:
    period: Period
    as_of: pd.Timestamp
    parameters: dict
    controls: list[ControlResult]
    views: dict[str, pd.DataFrame] = field(default_factory=dict, repr=False)  # what the rules ran on, for charts

    @property
    def rules(self) -> list[RuleResult]:
        return [r for c in self.controls for r in c.rules]

    def map_exceptions(self, transform) -> "Validation":
        """The same validation with every rule's exception rows passed through transform (e.g. PII masking)."""
        return replace(self, controls=[replace(c, rules=[replace(r, exceptions=transform(r.exceptions)) for r in c.rules])
                                       for c in self.controls])

    @property
    def status(self) -> str:
        return worst(c.status for c in self.controls)

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
            "controls": [{
                "control": c.control_id, "title": c.title, "status": c.status,
                "rules": [{
                    "rule": r.rule.rule_id, "text": r.rule.text, "status": r.status, "population": r.population,
                    "exception_count": r.exception_count, "reason": r.reason,
                    "exceptions": json.loads(r.exceptions.to_json(orient="records", date_format="iso")),
                } for r in c.rules],
            } for c in self.controls],
        }

    def exception_keys(self) -> pd.DataFrame:
        """control, rule, system, record_key — the shape of expected_exceptions.csv."""
        rows = []
        for result in self.rules:
            for _, row in result.exceptions.iterrows():
                system = row.get("system", "") if "system" in result.exceptions else ""
                key = row.get("account_id") if "account_id" in result.exceptions else row.iloc[0]
                rows.append((result.rule.control_id, result.rule.rule_id, system or "", str(key)))
        return pd.DataFrame(rows, columns=["control", "rule", "system", "record_key"])


def default_as_of(evidence: EvidenceSet, period: Period) -> pd.Timestamp:
    """When the evidence was exported (the latest declared time), else the day after the period."""
    declared = [pd.Timestamp(d.exported_at) for d in evidence.declaration.files if d.exported_at]
    if declared:
        return max(t.tz_localize("UTC") if t.tzinfo is None else t.tz_convert("UTC") for t in declared)
    return pd.Timestamp(period.end, tz="UTC") + pd.Timedelta(days=1)


def validate(evidence: EvidenceSet, period: Period, *, as_of: pd.Timestamp | None = None,
             parameters: dict | None = None, catalog: Catalog | None = None,
             controls: tuple[str, ...] | None = None) -> Validation:
    """Judge every control of the catalog (or only `controls`: what one notebook reports)."""
    catalog = catalog or load_catalog()
    chosen = [c for c in catalog.controls if controls is None or c.control_id in controls]
    as_of = as_of if as_of is not None else default_as_of(evidence, period)
    params = {**catalog.defaults, **(parameters or {})}
    unknown = set(parameters or {}) - set(catalog.defaults)
    if unknown:
        raise ValueError(f"unknown parameter(s) {sorted(unknown)}; known: {sorted(catalog.defaults)}")

    missing = _missing_evidence(evidence)
    frames = {t: evidence.frame(t) for t in SCHEMAS}
    rules = [rule for control in chosen for rule in control.rules]
    view_frames = _build_views(frames, period, as_of, params, {rule.view for rule in rules})
    results: dict[str, RuleResult] = {}
    runnable: dict[str, list[Rule]] = {}
    for rule in rules:
        gaps = [missing[t] for t in rule.evidence if t in missing]
        if gaps:
            results[rule.rule_id] = RuleResult(rule, ERROR, reason="; ".join(gaps))
        else:
            runnable.setdefault(rule.view, []).append(rule)
    for view, rules in runnable.items():
        frame = view_frames[view]
        results.update(judge_view(view, frame, rules, catalog, params))
    judged = [ControlResult(c.control_id, c.title, [results[r.rule_id] for r in c.rules]) for c in chosen]
    return Validation(period, as_of, params, judged, view_frames)


def _missing_evidence(evidence: EvidenceSet) -> dict[str, str]:
    """Evidence type -> why rules needing it cannot be judged."""
    reasons = {}
    for evidence_type in SCHEMAS:
        failed = evidence.failed(evidence_type)
        if failed:
            reasons[evidence_type] = "; ".join(
                f"{evidence_type} evidence failed to load: {o.problems[0]}" for o in failed)
        elif not evidence.loaded(evidence_type):
            reasons[evidence_type] = f"no {evidence_type} evidence is declared in evidence.yaml"
    return reasons


def _build_views(frames: dict[str, pd.DataFrame], period: Period, as_of: pd.Timestamp, params: dict,
                 wanted: set[str]) -> dict:
    course = str(params["training_course"])
    builders = {
        "accounts": lambda: build.account_view(frames["accounts"], frames["hr_roster"], frames["identity_aliases"],
                                               frames["service_accounts"], frames["access_reviews"],
                                               period=period, as_of=as_of),
        "deployments": lambda: build.deployment_view(frames["deployments"], frames["change_tickets"], period=period),
        "changes": lambda: build.change_view(frames["deployments"], frames["change_tickets"], period=period),
        "new_hires": lambda: build.new_hire_view(frames["hr_roster"], frames["background_checks"], frames["training"],
                                                 period=period, as_of=as_of, training_course=course),
        "staff": lambda: build.staff_view(frames["hr_roster"], frames["training"], period=period, as_of=as_of,
                                          training_course=course),
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


def judge_view(view: str, frame: pd.DataFrame, rules: list[Rule], catalog: Catalog, params: dict) -> dict[str, RuleResult]:
    import great_expectations as gx

    key = list(catalog.views[view].key)
    frame = full = frame.reset_index(drop=True)  # unique labels: GX names failing rows by them
    wanted = {r.rule_id for r in rules}
    spec = catalog.suite_json(view)
    spec["expectations"] = [e for e in spec["expectations"] if e["meta"]["rule_id"] in wanted]
    masks = {c: _mask(frame, c) for c in {e["kwargs"].get("row_condition") for e in spec["expectations"]} if c}
    populations = {rule_id: _population(frame, spec, rule_id, masks) for rule_id in wanted}
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


def _population(frame: pd.DataFrame, spec: dict, rule_id: str, masks: dict[str, pd.Series]) -> int:
    """Rows under the rule: the union of its expectations' row conditions."""
    conditions = {e["kwargs"].get("row_condition") for e in spec["expectations"] if e["meta"]["rule_id"] == rule_id}
    if None in conditions:
        return len(frame)
    covered = pd.Series(False, index=frame.index)
    for condition in conditions:
        covered |= masks[condition]
    return int(covered.sum())
