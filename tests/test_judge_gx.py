"""GX's own objects as judge.py uses them: what it keeps across one suite changes no verdict."""

from __future__ import annotations

import contextlib
from pathlib import Path

from great_expectations.expectations.expectation import Expectation

from evidence_lib import judge
from evidence_lib.period import parse_period
from evidence_lib.sources.folder import load_folder
from evidence_lib.validate import validate

SAMPLE = Path(__file__).resolve().parent.parent / "data" / "samples" / "2026-Q3"


def _everything(validation) -> list[tuple]:
    judged = [*validation.controls, *([validation.integrity] if validation.integrity else [])]
    return [(r.rule.rule_id, r.status, r.population, r.reason, tuple(r.population_keys), r.walk,
             None if r.exceptions is None else r.exceptions.to_csv(index=False))
            for control in judged for r in control.rules]


def test_keeping_each_expectations_configuration_changes_nothing_the_run_reports(monkeypatch):
    evidence, period = load_folder(SAMPLE), parse_period("2026-Q3")
    kept = _everything(validate(evidence, period))
    monkeypatch.setattr(judge, "_configurations_kept", contextlib.nullcontext)
    rebuilt = _everything(validate(evidence, period))
    assert kept == rebuilt
    assert sum(1 for rule in kept if rule[1] == judge.EXCEPTIONS) > 10  # the comparison saw failing rows


def test_gx_gets_its_own_configuration_property_back_even_when_a_suite_raises():
    built = Expectation.__dict__["configuration"]
    with contextlib.suppress(RuntimeError), judge._configurations_kept():
        assert Expectation.__dict__["configuration"] is not built
        raise RuntimeError("a suite failed half way")
    assert Expectation.__dict__["configuration"] is built
