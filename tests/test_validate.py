"""Validation of the sample company: exactly the planted exceptions, and errors where evidence fails."""

import json

import pandas as pd
import pytest
import yaml

from evidence_lib.parameters import ParameterError
from evidence_lib.period import parse_period
from evidence_lib.responses import COLUMNS as RESPONSE_COLUMNS
from evidence_lib.sources.folder import load_folder
from evidence_lib.validate import validate
from tests.conftest import SAMPLE

PERIOD = parse_period("2026-Q3")


@pytest.fixture(scope="module")
def baseline():
    return validate(load_folder(SAMPLE), PERIOD)


def _keys(frame):
    return set(map(tuple, frame.astype(str).values))


def test_exceptions_are_exactly_the_planted_ones(baseline):
    expected = pd.read_csv(SAMPLE / "expected_exceptions.csv", keep_default_na=False, dtype=str)
    found = baseline.exception_keys()
    assert _keys(found) == _keys(expected)  # no planted violation missed, none invented
    near = pd.read_csv(SAMPLE / "near_misses.csv", keep_default_na=False, dtype=str)
    assert not (_keys(near) & _keys(found))


def test_every_rule_reports_a_population_and_the_rows_an_auditor_needs(baseline):
    # A period with no successful restore test cannot sit beside the sample's planted failed restore tests and
    # their successful retries: that rule's failing case is tests/test_backups.py's.
    passing = {r.rule.rule_id for r in baseline.rules if r.status == "pass" and r.rule.control_id != "IPE"}
    assert passing == {"restore_tested_in_period"}
    for result in (r for control in baseline.controls for r in control.rules):
        assert result.population > 0 and result.status in ("exceptions", "pass")
        if result.status == "pass":
            continue
        # the rule's columns, then where each row came from (trace to source)
        assert list(result.exceptions.columns) == [*result.rule.show, "source_file", "source_row", "source_values",
                                                   *RESPONSE_COLUMNS]
    late = next(r for r in baseline.rules if r.rule.rule_id == "deprovisioned_within_sla").exceptions
    assert sorted(late["deprovision_lag_days"].astype(int)) == [3, 4, 5, 12]


def test_a_longer_deprovisioning_sla_clears_the_shorter_lags(baseline):
    relaxed = validate(load_folder(SAMPLE), PERIOD, parameters={"deprovision_sla_days": 4})
    before = next(r for r in baseline.rules if r.rule.rule_id == "deprovisioned_within_sla").exceptions
    after = next(r for r in relaxed.rules if r.rule.rule_id == "deprovisioned_within_sla").exceptions
    assert set(after["account_id"]) == set(before.loc[before["deprovision_lag_days"] > 4, "account_id"])
    assert len(after) == 2


def test_a_stricter_sla_catches_the_boundary_case():
    strict = validate(load_folder(SAMPLE), PERIOD, parameters={"deprovision_sla_days": 0})
    late = next(r for r in strict.rules if r.rule.rule_id == "deprovisioned_within_sla").exceptions
    near = pd.read_csv(SAMPLE / "near_misses.csv", keep_default_na=False)
    boundary = near.loc[near["rule"] == "deprovisioned_within_sla", "record_key"].item()
    assert boundary in set(late["account_id"]) and (late["deprovision_lag_days"] >= 1).all()


def test_dormancy_threshold_is_a_parameter():
    relaxed = validate(load_folder(SAMPLE), PERIOD, parameters={"dormant_days": 180})
    dormant = next(r for r in relaxed.rules if r.rule.rule_id == "no_dormant_accounts").exceptions
    assert len(dormant) == 2 and (dormant["days_since_login"] > 180).all()


def test_unknown_parameter_is_refused():
    with pytest.raises(ParameterError, match="unknown parameter"):
        validate(load_folder(SAMPLE), PERIOD, parameters={"deprovision_days": 3})


def test_undeclared_evidence_type_is_an_error_not_a_pass(sample_copy):
    spec = yaml.safe_load((sample_copy / "evidence.yaml").read_text())
    spec["files"] = [f for f in spec["files"] if f["type"] != "background_checks"]
    spec["ignore"].append("people/screening_results.csv")
    (sample_copy / "evidence.yaml").write_text(yaml.safe_dump(spec))
    result = next(r for r in validate(load_folder(sample_copy), PERIOD).rules
                  if r.rule.rule_id == "background_check_before_hire")
    assert result.status == "error" and "no background_checks evidence is declared" in result.reason


def test_an_empty_population_is_an_error_that_says_so():
    early = validate(load_folder(SAMPLE), parse_period("2019-Q1"))
    by_rule = {r.rule.rule_id: r for r in early.rules}
    for rule in ("deployment_has_ticket", "deprovisioned_within_sla", "emergency_retro_approval"):
        assert by_rule[rule].status == "error" and by_rule[rule].population == 0
        assert "the population is empty" in by_rule[rule].reason
    assert early.status == "error"


def test_cli_prints_the_control_table_and_writes_json(run_cli, tmp_path):
    out = tmp_path / "results.json"
    result = run_cli("check", SAMPLE, "--period", "2026-Q3", "--json", out, "--param", "dormant_days=180")
    assert result.exit_code == 1, result.output  # the sample has exceptions
    assert "CC6.3    no_dormant_accounts" in result.output
    # the planted exceptions less the two accounts dormant only under 90 days; the 9 integrity rules and A1.3's
    # restore_tested_in_period pass
    planted = len(pd.read_csv(SAMPLE / "expected_exceptions.csv"))
    assert f"52 rules: 10 pass, 42 with {planted - 2} exception(s), 0 error(s)." in result.output
    document = json.loads(out.read_text())
    declared = yaml.safe_load((SAMPLE / "evidence.yaml").read_text())["files"]
    assert document["parameters"]["dormant_days"] == 180 and len(document["inventory"]) == len(declared)
    rule = next(r for c in document["controls"] for r in c["rules"] if r["rule"] == "mfa_enabled")
    assert rule["exception_count"] == 7 and {"system", "account_id"} <= set(rule["exceptions"][0])


def test_cli_exit_code_2_when_evidence_fails(run_cli, sample_copy):
    (sample_copy / "people" / "lms_completions.csv").unlink()
    result = run_cli("check", sample_copy, "--period", "2026-Q3")
    assert result.exit_code == 2
    assert "training_within_due_days" in result.output and "error" in result.output


def test_validating_some_controls_judges_only_their_rules_with_the_same_results(baseline):
    narrowed = validate(load_folder(SAMPLE), parse_period("2026-Q3"), controls=("CC8.1",))
    assert [c.control_id for c in narrowed.controls] == ["CC8.1"] and set(narrowed.views) == {"deployments", "changes"}
    everything = baseline.exception_keys()
    assert narrowed.exception_keys().equals(everything[everything["control"] == "CC8.1"].reset_index(drop=True))
