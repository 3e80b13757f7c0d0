"""The suites are plain GX 1.x JSON, and every expectation is tied to the control catalog."""

import json

import great_expectations as gx
import pytest

from evidence_lib.controls import load_catalog
from evidence_lib.integrity import INTEGRITY, load_integrity
from evidence_lib.project import EXPECTATIONS_DIR

CATALOG = load_catalog()
INTEGRITY_RULES = {c.rule.rule_id: c for c in load_integrity().rules}
SUITES = sorted(EXPECTATIONS_DIR.glob("*.json"))


@pytest.mark.parametrize("path", SUITES, ids=lambda p: p.name)
def test_every_suite_opens_in_gx_as_is(path):
    spec = json.loads(path.read_text())
    suite = gx.ExpectationSuite(**spec)
    assert suite.name == path.stem and len(suite.expectations) == len(spec["expectations"]) > 0


@pytest.mark.parametrize("path", SUITES, ids=lambda p: p.name)
def test_every_expectation_names_its_controls_rule_and_severity(path):
    rules = {r.rule_id: r for r in CATALOG.rules} | {k: c.rule for k, c in INTEGRITY_RULES.items()}
    for expectation in json.loads(path.read_text())["expectations"]:
        meta = expectation["meta"]
        assert meta["rule_id"] in rules, meta
        rule = rules[meta["rule_id"]]
        assert meta["rule"] == rule.text
        if rule.control_id == INTEGRITY:  # integrity rules name the controls they protect
            assert meta["controls"] == list(INTEGRITY_RULES[rule.rule_id].protects)
        else:
            assert rule.control_id in meta["controls"]
        assert meta["severity"] in {"high", "medium", "low"}
        assert CATALOG.views[rule.view].suite_file == path.name


def test_every_rule_in_the_catalog_has_an_expectation():
    covered = {e["meta"]["rule_id"] for view in CATALOG.views for e in CATALOG.suite_json(view)["expectations"]}
    assert {r.rule_id for r in CATALOG.rules} | set(INTEGRITY_RULES) == covered


def test_every_control_rule_says_which_columns_it_uses_and_integrity_protects_real_controls():
    uses = load_integrity().uses
    for rule in CATALOG.rules:
        assert set(uses[rule.rule_id]) <= set(rule.evidence) | {"hr_roster"}, rule.rule_id
    controls = {c.control_id for c in CATALOG.controls}
    assert all(set(c.protects) <= controls for c in INTEGRITY_RULES.values())


def test_catalog_covers_the_design_controls_with_at_least_14_rules():
    assert {c.control_id for c in CATALOG.controls} == {"CC1.1", "CC1.4", "CC2.2", "CC6.1", "CC6.2", "CC6.3", "CC6.8",
                                                         "CC3.2", "CC3.4", "CC7.1", "CC8.1", "CC9.2", "A1.2",
                                                         "A1.3"}
    assert len(CATALOG.rules) >= 14
    for control in CATALOG.controls:
        assert control.title and control.criterion and control.notebook.endswith(".ipynb")


def test_thresholds_reach_gx_as_suite_parameters():
    parameters = {json.dumps(e["kwargs"]) for v in CATALOG.views for e in CATALOG.suite_json(v)["expectations"]}
    for name in ("deprovision_sla_days", "dormant_days", "emergency_review_days", "training_due_days",
                 "training_refresh_days"):
        assert any(f'{{"$PARAMETER": "{name}"}}' in p for p in parameters), name
