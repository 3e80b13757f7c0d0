"""Differential: the fast path (judge_view) against plain GX running the suites as written.

judge_view (evidence_lib.judge, re-exported by validate) runs each view's suite through GX's
internal v1 Validator, with every row condition applied outside GX (columns blanked outside the
condition) and failing rows read back by index label. An auditor re-running the plain JSON
suites with GX's public 1.x API — row conditions, condition_parser and all — must find the same
failing records, rule by rule. The reference judge below uses only that public API (ephemeral
context, pandas data source, whole-dataframe batch definition, ValidationDefinition.run with
COMPLETE results keyed by the view's key columns); it shares no code with the fast path beyond
reading the catalog and its parameters.
"""

from __future__ import annotations

import math

import great_expectations as gx
import numpy as np
import pandas as pd
import pytest
from great_expectations.data_context.types.base import (
    DataContextConfig,
    InMemoryStoreBackendDefaults,
    ProgressBarsConfig,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evidence_lib.controls import load_catalog
from evidence_lib.parameters import resolve_parameters
from evidence_lib.period import parse_period
from evidence_lib.sources.folder import load_folder
from evidence_lib.validate import EXCEPTIONS, judge_view, validate
from tests.conftest import PERIOD, SAMPLE

CATALOG = load_catalog()
CONTROL_VIEWS = ("accounts", "deployments", "changes", "new_hires", "staff")


class PlainGX:
    """The reference judge: one ephemeral context, one validation definition per view, the
    suite JSON unmodified. Failing records are read by the view's key columns, as an auditor would."""

    def __init__(self):
        config = DataContextConfig(analytics_enabled=False, store_backend_defaults=InMemoryStoreBackendDefaults(),
                                   progress_bars=ProgressBarsConfig(globally=False, metric_calculations=False))
        self.context = gx.get_context(mode="ephemeral", project_config=config)
        self.source = self.context.data_sources.add_pandas("plain")
        self.definitions: dict[str, gx.ValidationDefinition] = {}

    def definition(self, view: str) -> gx.ValidationDefinition:
        if view not in self.definitions:
            batch = self.source.add_dataframe_asset(view).add_batch_definition_whole_dataframe("whole")
            suite = self.context.suites.add(gx.ExpectationSuite(**CATALOG.suite_json(view)))
            self.definitions[view] = self.context.validation_definitions.add(
                gx.ValidationDefinition(data=batch, suite=suite, name=view))
        return self.definitions[view]

    def judge(self, view: str, frame: pd.DataFrame, params: dict) -> tuple[dict[str, set], dict[str, dict]]:
        """rule id -> the keys of the records plain GX reports as unexpected, and
        rule id -> row condition -> how many rows GX tested under it (element_count)."""
        key = list(CATALOG.views[view].key)
        if not frame.index.is_unique:  # GX looks failing rows up by index label: a repeated one breaks it
            frame = frame.reset_index(drop=True)
        outcome = self.definition(view).run(
            batch_parameters={"dataframe": frame},
            expectation_parameters={name: v for name, v in params.items() if not isinstance(v, str)},
            result_format={"result_format": "COMPLETE", "unexpected_index_column_names": key},
        )
        failing: dict[str, set[tuple]] = {}
        tested: dict[str, dict[str, int]] = {}
        for result in outcome.results:
            rule_id = result.expectation_config.meta["rule_id"]
            assert not (result.exception_info or {}).get("raised_exception"), (rule_id, result.exception_info)
            found = failing.setdefault(rule_id, set())
            found.update(tuple(row[k] for k in key) for row in result.result.get("unexpected_index_list") or [])
            condition = repr(result.expectation_config.kwargs.get("row_condition"))
            tested.setdefault(rule_id, {})[condition] = result.result["element_count"]
        return failing, tested


@pytest.fixture(scope="module")
def plain() -> PlainGX:
    return PlainGX()


def fast_judge(view: str, frame: pd.DataFrame, params: dict) -> tuple[dict[str, set], dict[str, int]]:
    """rule id -> the keys of the fast path's exception rows, and rule id -> its population
    (judge_view without scope exclusions; a generated frame gets the columns rules only show)."""
    key = list(CATALOG.views[view].key)
    rules = [r for r in CATALOG.rules if r.view == view]
    results = judge_view(view, _shown(view, frame), rules, CATALOG, params)
    assert set(results) == {r.rule_id for r in rules}
    failing = {}
    for rule_id, result in results.items():
        assert set(key) <= set(result.exceptions.columns) or result.exceptions.empty, rule_id
        keys = set(map(tuple, result.exceptions[key].itertuples(index=False))) if len(result.exceptions) else set()
        assert (result.status == EXCEPTIONS) == bool(keys), (rule_id, result.status, result.reason)
        failing[rule_id] = keys
    return failing, {rule_id: result.population for rule_id, result in results.items()}


def assert_same_verdicts(plain: PlainGX, view: str, frame: pd.DataFrame, params: dict) -> dict[str, set]:
    """The same failing records per rule; and each rule's population is the rows GX tested
    (under one row condition: exactly; under several: at least each, at most all of them)."""
    reference, tested = plain.judge(view, frame, params)
    fast, population = fast_judge(view, frame, params)
    assert set(reference) == set(fast), view
    differing = {rule_id: {"plain GX only": reference[rule_id] - fast[rule_id],
                           "fast path only": fast[rule_id] - reference[rule_id]}
                 for rule_id in reference if reference[rule_id] != fast[rule_id]}
    assert not differing, (view, differing, frame)
    for rule_id, counts in tested.items():
        if len(counts) == 1:
            assert population[rule_id] == next(iter(counts.values())), (rule_id, population[rule_id], counts)
        else:
            assert max(counts.values()) <= population[rule_id] <= sum(counts.values()), (rule_id, counts)
    return reference


# The sample company --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def sample() -> dict[str, pd.DataFrame]:
    return validate(load_folder(SAMPLE), parse_period(PERIOD)).views


@pytest.mark.parametrize("view", CONTROL_VIEWS)
def test_sample_company_fails_the_same_records_under_plain_gx(plain, sample, view):
    reference = assert_same_verdicts(plain, view, sample[view], resolve_parameters())
    assert any(reference.values()), f"the sample plants exceptions in the {view} view"


# Generated frames -------------------------------------------------------------------------------

def _show_columns(view: str) -> set[str]:
    return {c for r in CATALOG.rules if r.view == view for c in r.show}


def _shown(view: str, frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with every column a rule shows but no expectation reads filled with None."""
    missing = sorted(_show_columns(view) - set(frame))
    return frame.assign(**{name: pd.Series([None] * len(frame), index=frame.index, dtype="object")
                           for name in missing})


def _frame(columns: dict[str, list], flags: set[str], days: set[str], draw) -> pd.DataFrame:
    """The columns the suite reads, typed as the views type them: flags plain bool or nullable
    boolean, text object (None) or str (NaN), day counts float64 (NaN); any index."""
    n = len(next(iter(columns.values())))
    boolean = draw(st.sampled_from(["bool", "boolean"]))
    text = draw(st.sampled_from(["object", "str"]))
    frame = pd.DataFrame(index=range(n))
    for name, values in columns.items():
        if name in flags:
            has_na = any(v is None for v in values)
            frame[name] = pd.Series(values, dtype="boolean" if boolean == "boolean" or has_na else "bool")
        elif name in days:
            frame[name] = pd.Series([np.nan if v is None else v for v in values], dtype="float64")
        else:
            frame[name] = pd.Series(values, dtype=text)
    index = draw(st.sampled_from(["range", "reversed", "labels", "repeated"]))
    if index == "reversed":
        frame.index = range(n - 1, -1, -1)
    elif index == "labels":
        frame.index = [f"r{i}" for i in range(n)]
    elif index == "repeated":
        frame.index = [i // 2 for i in range(n)]
    return frame


def _days(draw, thresholds: list[int]):
    """A frame's palette of day counts: each threshold exactly, zero of both signs and unknown
    (NaN), plus a few drawn from one either side, fractions, the wrong sign, far off."""
    near = sorted({float(t + d) for t in thresholds for d in (-1, -0.5, 0.5, 1)}
                  | {-1.0, -30.0, 1e-9, -1e-9, 400.0, math.inf})
    extra = draw(st.lists(st.sampled_from(near) | st.floats(-500, 500, allow_nan=False), max_size=4))
    return st.sampled_from([float(t) for t in thresholds] + [0.0, -0.0, None] + extra)


def _keys(draw, n: int, make) -> list:
    """n keys, up to three rows repeating an earlier row's key."""
    keys = [make(i) for i in range(n)]
    for _ in range(draw(st.integers(0, 3))):
        i = draw(st.integers(1, n - 1))
        keys[i] = keys[draw(st.integers(0, i - 1))]
    return keys


def _flag(nullable: bool = False):
    return st.sampled_from([True, False, None]) if nullable else st.booleans()


@st.composite
def account_frames(draw):
    params = resolve_parameters({"dormant_days": draw(st.sampled_from([1, 30, 90])),
                                 "deprovision_sla_days": draw(st.sampled_from([0, 1, 4]))})
    n = draw(st.integers(5, 40))
    systems = ["okta", "github", "aws-prod"]
    keys = _keys(draw, n, lambda i: (draw(st.sampled_from(systems)), f"user{i}"))
    names = ["ada", "admin", "admin.2", "administrator", "Admin", "root", "rooted", "test-1", "testing",
             "shared_x", "guest", "demo", "temp", "tmp.x", "generic", "team", "teams", "x.admin", "", None]
    before_hire = _days(draw, [0])
    lag_days = _days(draw, [params["deprovision_sla_days"]])
    dormant = _days(draw, [params["dormant_days"]])
    rows = [{
        "system": system, "account_id": account_id, "account_name_folded": account_id.strip().casefold(),
        "local_name": draw(st.sampled_from(names)),
        "enabled": draw(_flag()), "builtin": draw(_flag()), "is_service": draw(_flag()),
        "mfa": draw(_flag(nullable=True)), "used_in_period": draw(_flag(nullable=True)),
        "owner_status": draw(st.sampled_from(["active", "terminated", "leave", "unresolved", "ambiguous",
                                              "service", "Terminated", None])),
        "has_owner": draw(_flag()), "creation_recorded": draw(_flag()),
        "created_days_before_hire": draw(before_hire),
        "terminated_in_period": draw(_flag()),
        "deprovision_lag_days": draw(lag_days),
        "in_review_scope": draw(_flag()), "is_admin": draw(_flag()),
        "review_decision": draw(st.sampled_from(["approve", "revoke", "modify", "missing", "Approve", None])),
        "days_since_login": draw(dormant),
    } for system, account_id in keys]
    flags = {"enabled", "builtin", "is_service", "mfa", "used_in_period", "has_owner", "creation_recorded",
             "terminated_in_period", "in_review_scope", "is_admin"}
    columns = {c: [r[c] for r in rows] for c in rows[0]}
    days = {"created_days_before_hire", "deprovision_lag_days", "days_since_login"}
    return _frame(columns, flags, days, draw), params


@st.composite
def change_frames(draw):
    params = resolve_parameters({"emergency_review_days": draw(st.sampled_from([0, 2, 5]))})
    n = draw(st.integers(5, 40))
    keys = _keys(draw, n, lambda i: f"ENG-{100 + i}")
    lag = _days(draw, [0, params["emergency_review_days"]])
    rows = [{
        "ticket_id": ticket_id,
        "change_type": draw(st.sampled_from(["standard", "normal", "emergency", "Emergency", "", None])),
        "approver_independent": draw(_flag(nullable=True)),
        "approval_after_deploy_days": draw(lag),
        "testing_evidence": draw(st.sampled_from(["CI run 123", "manual QA", " ", None])),
    } for ticket_id in keys]
    columns = {c: [r[c] for r in rows] for c in rows[0]}
    return _frame(columns, {"approver_independent"}, {"approval_after_deploy_days"}, draw), params


EXAMPLES = settings(max_examples=12, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@EXAMPLES
@given(example=account_frames())
def test_generated_accounts_fail_the_same_records_under_plain_gx(plain, example):
    frame, params = example
    assert_same_verdicts(plain, "accounts", frame, params)


@EXAMPLES
@given(example=change_frames())
def test_generated_changes_fail_the_same_records_under_plain_gx(plain, example):
    frame, params = example
    assert_same_verdicts(plain, "changes", frame, params)


# Differences found -----------------------------------------------------------------------------

@pytest.mark.xfail(strict=True, raises=ValueError, reason=(
    "a row condition on a nullable flag holding <NA>: plain GX (DataFrame.query) leaves the row out "
    "of the condition and answers; the fast path (evidence_lib.walk.condition_mask) casts the condition's "
    "result with .astype(bool) and raises 'cannot convert float NaN to bool'. Not reachable from validate(): "
    "views._flag makes every flag plain bool. Decide whether unknown means outside (GX) or an error."))
def test_a_condition_on_an_unknown_flag_is_judged_as_plain_gx_judges_it(plain):
    frame = pd.DataFrame({
        "system": ["okta", "okta"], "account_id": ["ada", "bo"], "account_name_folded": ["ada", "bo"],
        "local_name": ["ada", "admin"],
        "enabled": pd.array([True, None], dtype="boolean"),
        "builtin": [False, False], "is_service": [False, False], "mfa": [True, False],
        "used_in_period": [False, False], "owner_status": ["active", "active"],
        "has_owner": [True, True], "creation_recorded": [True, True], "created_days_before_hire": [0.0, 0.0],
        "terminated_in_period": [False, False], "deprovision_lag_days": [np.nan, np.nan],
        "in_review_scope": [True, True], "is_admin": [False, False], "review_decision": ["approve", "approve"],
        "days_since_login": [1.0, 1.0]})
    # Plain GX answers (bo is outside "enabled == True", so not judged); the fast path raises.
    assert_same_verdicts(plain, "accounts", frame, resolve_parameters())
