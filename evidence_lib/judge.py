"""Run a view's GX suite and return each rule's population, verdict and exception rows.

GX runs from an ephemeral context held by a `SuiteRunner` (no gx/ folder, analytics and progress
bars off in its own configuration: nothing is written to the environment). Before trusting GX,
each rule's population is counted here: GX passes an empty batch vacuously, and an auditor must
read "0 people hired in the period", not "pass".
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import cache

import numpy as np
import pandas as pd

from evidence_lib.controls import Catalog, Rule
from evidence_lib.results import ERROR, EXCEPTIONS, PASS, RuleResult
from evidence_lib.views import TRACE_COLUMNS
from evidence_lib.walk import condition_mask, rule_steps

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
        with _configurations_kept():
            return validator.validate_expectation_suite(
                suite, expectation_parameters={k: v for k, v in params.items() if not isinstance(v, str)})


_KEEPING = threading.Lock()


@contextmanager
def _configurations_kept() -> Iterator[None]:
    """GX 1.x rebuilds an expectation's configuration (a pydantic dict() and a new
    ExpectationConfiguration) each time its `configuration` property is read — once per
    argument name while it plans the metrics, about seventy times per expectation, half the
    time of a validation. While one suite is validated, each expectation object keeps the first
    configuration built from it: GX reads those as values and changes only deep copies of them
    (tests/test_judge_gx.py shows the verdicts, rows and populations identical either way)."""
    from great_expectations.expectations.expectation import Expectation

    built = Expectation.configuration
    kept: dict[int, tuple[object, object]] = {}

    def configuration(expectation):
        found = kept.get(id(expectation))
        if found is None or found[0] is not expectation:
            found = kept[id(expectation)] = (expectation, built.fget(expectation))
        return found[1]

    with _KEEPING:  # the property is the class's: one suite at a time keeps configurations
        Expectation.configuration = property(configuration, doc=built.__doc__)
        try:
            yield
        finally:
            Expectation.configuration = built


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
    masks = {c: condition_mask(frame, c) for c in {e["kwargs"].get("row_condition") for e in spec["expectations"]} if c}
    outside = {rule_id: mask.reset_index(drop=True) for rule_id, mask in (excluded or {}).items() if mask is not None}
    covered = {rule_id: _covered(frame, spec, rule_id, masks, outside.get(rule_id)) for rule_id in wanted}
    populations = {rule_id: int(mask.sum()) for rule_id, mask in covered.items()}
    clause_masks = dict(masks)  # a clause that is a whole condition is evaluated once
    walks = {rule_id: tuple(rule_steps(frame, _conditions(spec, rule_id), masks, outside.get(rule_id), clause_masks))
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
        # GX also copies every column of a batch each time a metric leaves out null rows, so each
        # tested column is a batch of its own.
        batch_frame, suite_spec = _conditions_applied(frame, spec, masks, outside)
        for tested, expectations in _by_column(suite_spec["expectations"]).items():
            suite = gx.ExpectationSuite(**{**suite_spec, "expectations": expectations})
            outcome = (runner or default_runner()).run(view, batch_frame[list(tested)], suite, params)
            for result in outcome.results:
                rule_id = result.expectation_config.meta["rule_id"]
                if result.exception_info and result.exception_info.get("raised_exception"):
                    raise RuntimeError(f"GX could not evaluate {rule_id}: "
                                       f"{result.exception_info['exception_message']}")
                failing[rule_id].update(result.result.get("unexpected_index_list") or [])
    population = _PopulationBase(full, key)
    for rule_id, found in failing.items():
        rule = by_id[rule_id]
        labels = np.unique(np.fromiter(found, dtype=np.int64, count=len(found)))
        if rule_id in outside:
            labels = labels[~outside[rule_id].to_numpy(dtype=bool)[labels]]
        shown = list(rule.show) + [c for c in TRACE_COLUMNS if c in full.columns and c not in rule.show]
        rows = full.loc[labels].drop_duplicates(subset=key).reset_index(drop=True)[shown]
        results[rule_id] = RuleResult(rule, EXCEPTIONS if len(labels) else PASS, populations[rule_id], rows,
                                      walk=walks[rule_id], population_keys=population.keys(covered[rule_id]))
    return results


class _PopulationBase:
    """(system, record key) of every row of a view, sorted once, when first asked for, and shared
    by the view's rules: the keys of ten million accounts as Python tuples, once per rule, would
    take gigabytes and most of the time of a validation."""

    def __init__(self, frame: pd.DataFrame, key: list[str]):
        from evidence_lib.results import record_keys

        self.named = bool([c for c in key if c != "system"])
        if not self.named or frame.empty:
            return
        self.systems = (frame["system"].fillna("").astype(str) if "system" in frame
                        else pd.Series("", index=frame.index, dtype=str))
        self.records = record_keys(frame, tuple(key))
        self._sorted = None

    def keys(self, mask: pd.Series) -> Sequence[tuple[str, str]]:
        if not self.named or not mask.any():
            return ()
        return PopulationKeys(self, mask.to_numpy(dtype=bool))

    def sorted(self):
        """The view's systems and keys in Python's order of (system, key) tuples, and that order
        (positions in the view); None when a key is not text (then Python sorts the population)."""
        if self._sorted is None:
            self._sorted = _arrow_sorted(self.systems, self.records) or False
        return self._sorted or None


def _arrow_sorted(systems: pd.Series, records: pd.Series):
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        columns = [pa.chunked_array([pa.array(s.to_numpy(dtype=object), from_pandas=True)])
                   if not hasattr(s.array, "__arrow_array__") else pa.chunked_array(s.array.__arrow_array__())
                   for s in (systems, records)]
        columns = [c.cast(pa.large_string()) for c in columns]
    except (pa.ArrowException, TypeError, ValueError):
        return None  # not all text (or not encodable as UTF-8)
    if any(c.null_count for c in columns):
        return None
    # Arrow orders text by its UTF-8 bytes, which is the order of code points: Python's order of str.
    order = pc.sort_indices(pa.table(columns, names=["system", "key"]),
                            sort_keys=[("system", "ascending"), ("key", "ascending")])
    return (columns[0].take(order).combine_chunks(), columns[1].take(order).combine_chunks(),
            order.to_numpy(zero_copy_only=False))


class PopulationKeys(Sequence):
    """A rule's population keys as RuleResult.population_keys means them — (system, record key) of
    every record tested, sorted — without a Python tuple per record until they are read (written
    to results.json, sampled). Equal to the tuple of the same pairs."""

    _CHUNK = 1 << 16

    def __init__(self, base: _PopulationBase, mask: np.ndarray):
        self._base, self._mask, self._count = base, mask, int(mask.sum())

    def __len__(self) -> int:
        return self._count

    def _positions(self) -> np.ndarray | None:
        done = self._base.sorted()
        return None if done is None else np.flatnonzero(self._mask[done[2]])

    def _python(self) -> list[tuple[str, str]]:
        mask = self._mask
        return sorted(zip(self._base.systems[mask], self._base.records[mask]))

    def _pairs(self, positions: np.ndarray):
        systems, records, _ = self._base.sorted()
        for start in range(0, len(positions), self._CHUNK):
            chunk = positions[start:start + self._CHUNK]
            yield from zip(systems.take(chunk).to_pylist(), records.take(chunk).to_pylist())

    def __iter__(self):
        positions = self._positions()
        if positions is None:
            yield from self._python()
        else:
            yield from self._pairs(positions)

    def __getitem__(self, index):
        positions = self._positions()
        if positions is None:
            return tuple(self._python())[index]
        if isinstance(index, slice):
            return tuple(self._pairs(positions[index]))
        return next(self._pairs(positions[[index]]))

    def __eq__(self, other) -> bool:
        if isinstance(other, PopulationKeys) and other._base is self._base:
            return bool(np.array_equal(self._mask, other._mask))
        return isinstance(other, Sequence) and len(other) == len(self) and tuple(self) == tuple(other)

    def __hash__(self) -> int:
        return hash(tuple(self))

    def __repr__(self) -> str:
        return f"PopulationKeys({len(self)} records)"


def _conditions_applied(frame: pd.DataFrame, spec: dict, masks: dict[str, pd.Series],
                        outside: dict[str, pd.Series] | None = None) -> tuple[pd.DataFrame, dict]:
    """The suite without row conditions, and a frame in which each condition is already applied.

    An expectation with a row condition tests its own copy of its column, blank (null) on the
    rows outside the condition: GX leaves nulls out of every column-map expectation, so those
    rows are not tested. A not-null expectation tests instead whether the value is present,
    counting rows outside the condition as present. Rows a rule scopes out (`outside`) are
    blanked the same way in its own copy. Rows keep their labels, so GX's failing rows are the
    view's rows. Flags become nullable booleans, so blanking them keeps a compact dtype rather
    than Python objects (cheaper to hash: GX fingerprints the batch).
    """
    outside = outside or {}
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
        scoped = outside.get(expectation["meta"]["rule_id"])
        if "column_list" in kwargs:
            if condition:
                raise ValueError(f"{expectation['meta']['rule_id']}: a row condition on a multi-column "
                                 f"expectation is not supported")
            # Whether rows repeat is the same question on each value's code as on the value, and
            # codes are cheaper for GX to compare and to fingerprint than ten million texts.
            # (Rows scoped out are tested here and left out of the exceptions afterwards.)
            coded = {f"{c} (code)": _codes(frame[c]) for c in kwargs["column_list"]}
            columns.update(coded)
            kwargs["column_list"] = list(coded)
        elif not condition and scoped is None:
            columns[kwargs["column"]] = compact(kwargs["column"])
        else:
            mask = masks[condition] if condition else pd.Series(True, index=frame.index)
            where = f" if {condition}" if condition else ""
            if scoped is not None:
                mask = mask & ~scoped
                where += f" in the scope of {expectation['meta']['rule_id']}"
            values = frame[kwargs["column"]]
            if expectation["type"] == "expect_column_values_to_not_be_null":
                name = f"{kwargs['column']} present{where}"
                columns[name] = pd.Series(np.where(mask & values.isna(), np.nan, 1.0), index=frame.index)
            else:
                name = f"{kwargs['column']}{where}"
                if name not in columns:
                    # A pattern is matched on the text itself: a categorical would only be turned back into text.
                    text = "regex" in expectation["type"] and pd.api.types.is_string_dtype(values)
                    columns[name] = (values if text else compact(kwargs["column"])).where(mask)
            kwargs["column"] = name
        expectations.append({**expectation, "kwargs": kwargs})
    return pd.DataFrame(columns, index=frame.index), {**spec, "expectations": expectations}


def _by_column(expectations: list[dict]) -> dict[tuple[str, ...], list[dict]]:
    """The expectations grouped by the batch columns each tests, in the suite's order."""
    groups: dict[tuple[str, ...], list[dict]] = {}
    for expectation in expectations:
        kwargs = expectation["kwargs"]
        groups.setdefault(tuple(kwargs["column_list"]) if "column_list" in kwargs else (kwargs["column"],),
                          []).append(expectation)
    return groups


def _compact(values: pd.Series) -> pd.Series:
    if pd.api.types.is_bool_dtype(values):
        return values.astype("boolean")
    if pd.api.types.is_string_dtype(values) and not isinstance(values.dtype, pd.CategoricalDtype):
        return values.astype("category")
    return values


def _codes(values: pd.Series) -> pd.Series:
    """Each value's code (equal values, equal codes); a missing value stays missing."""
    codes, _ = pd.factorize(values, use_na_sentinel=True)
    return pd.Series(np.where(codes < 0, np.nan, codes.astype("float64")), index=values.index)


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
