"""Run a view's GX suite and return each rule's population, verdict and exception rows.

GX runs from an ephemeral context held by a `SuiteRunner` (no gx/ folder, analytics and progress
bars off in its own configuration: nothing is written to the environment). Before trusting GX,
each rule's population is counted here: GX passes an empty batch vacuously, and an auditor must
read "0 people hired in the period", not "pass".
"""

from __future__ import annotations

import warnings
from functools import cache

import numpy as np
import pandas as pd

from evidence_lib.controls import Catalog, Rule
from evidence_lib.results import ERROR, EXCEPTIONS, PASS, RuleResult
from evidence_lib.views import TRACE_COLUMNS
from evidence_lib.walk import rule_steps

STRING_CONDITION_DEPRECATION = (
    r"(Passing a string to the row_condition parameter|The condition_parser parameter) is deprecated"
)


class SuiteRunner:
    """One ephemeral GX context and the whole-frame batch definition of each view in it."""

    def __init__(self):
        import great_expectations as gx
        from great_expectations.data_context.types.base import (
            DataContextConfig,
            InMemoryStoreBackendDefaults,
            ProgressBarsConfig,
        )

        config = DataContextConfig(analytics_enabled=False, store_backend_defaults=InMemoryStoreBackendDefaults(),
                                   progress_bars=ProgressBarsConfig(globally=False, metric_calculations=False))
        self._context = gx.get_context(mode="ephemeral", project_config=config)
        self._source = self._context.data_sources.add_pandas("evidence")

    def batch_definition(self, view: str):
        try:
            asset = self._source.get_asset(view)
        except LookupError:
            asset = self._source.add_dataframe_asset(view)
            asset.add_batch_definition_whole_dataframe("whole")
        return asset.get_batch_definition("whole")

    def run(self, view: str, frame: pd.DataFrame, suite, params: dict):
        """Validate the suite on the frame. This is what Batch.validate and ValidationDefinition.run
        do inside (GX's v1 Validator), minus one of their two fetches of the batch: GX fingerprints
        a pandas batch by hashing all of it each time it is fetched."""
        from great_expectations.validator.v1_validator import Validator

        validator = Validator(
            batch_definition=self.batch_definition(view), batch_parameters={"dataframe": frame},
            # GX reports failing rows by the frame's index labels (unique here), which it collects
            # vectorised; asking it for key columns costs a Python lookup per failing row. The
            # labels are turned back into the view's keys by the caller.
            result_format={"result_format": "COMPLETE", "return_unexpected_index_query": False},
        )
        return validator.validate_expectation_suite(
            suite, expectation_parameters={k: v for k, v in params.items() if not isinstance(v, str)})


@cache
def default_runner() -> SuiteRunner:
    """The runner a caller gets when it brings none: one per process, made on first use (GX's
    import and context cost seconds). Pass a SuiteRunner of your own to keep contexts apart."""
    return SuiteRunner()


def judge_view(view: str, frame: pd.DataFrame, rules: list[Rule], catalog: Catalog, params: dict,
               excluded: dict[str, pd.Series | None] | None = None, *,
               runner: SuiteRunner | None = None) -> dict[str, RuleResult]:
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
    covered = {rule_id: _covered(frame, spec, rule_id, masks, outside.get(rule_id)) for rule_id in wanted}
    populations = {rule_id: int(mask.sum()) for rule_id, mask in covered.items()}
    walks = {rule_id: tuple(rule_steps(frame, _conditions(spec, rule_id), masks, outside.get(rule_id)))
             for rule_id in wanted}
    results: dict[str, RuleResult] = {}
    empty = {rule_id for rule_id, n in populations.items() if n == 0}
    spec["expectations"] = [e for e in spec["expectations"] if e["meta"]["rule_id"] not in empty]
    by_id = {r.rule_id: r for r in rules}
    for rule_id in empty:
        results[rule_id] = RuleResult(by_id[rule_id], ERROR, 0, reason=f"the population is empty: no rows of the "
                                      f"{view} view fall under this rule; confirm the evidence is complete",
                                      walk=walks[rule_id])
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
        outcome = (runner or default_runner()).run(view, batch_frame, gx.ExpectationSuite(**suite_spec), params)
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
        shown = list(rule.show) + [c for c in TRACE_COLUMNS if c in full.columns and c not in rule.show]
        rows = full.loc[sorted(labels)].drop_duplicates(subset=key).reset_index(drop=True)[shown]
        results[rule_id] = RuleResult(rule, EXCEPTIONS if labels else PASS, populations[rule_id], rows,
                                      walk=walks[rule_id], population_keys=_keys(full[covered[rule_id]], key))
    return results


def _keys(rows: pd.DataFrame, key: list[str]) -> tuple[tuple[str, str], ...]:
    """(system, record key) of every row of a population, sorted: what `evidence sample` draws from."""
    from evidence_lib.results import record_keys

    if rows.empty or not [c for c in key if c != "system"]:
        return ()
    systems = rows["system"].fillna("").astype(str) if "system" in rows else pd.Series("", index=rows.index)
    return tuple(sorted(zip(systems, record_keys(rows, tuple(key)))))


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


def _conditions(spec: dict, rule_id: str) -> set[str | None]:
    return {e["kwargs"].get("row_condition") for e in spec["expectations"] if e["meta"]["rule_id"] == rule_id}


def _covered(frame: pd.DataFrame, spec: dict, rule_id: str, masks: dict[str, pd.Series],
             outside: pd.Series | None = None) -> pd.Series:
    """Rows under the rule (its population): the union of its expectations' row conditions, less rows scoped out."""
    conditions = _conditions(spec, rule_id)
    covered = pd.Series(None in conditions, index=frame.index)
    for condition in conditions - {None}:
        covered |= masks[condition]
    if outside is not None:
        covered &= ~outside
    return covered
