"""Explain an exception: each check with this record's value and its threshold, and the export row."""

import csv
import io

import pandas as pd
import pytest

from evidence_lib.controls import load_catalog
from evidence_lib.explain import ExplainError
from evidence_lib.trail import Trail
from tests.conftest import SAMPLE

EXPECTED = pd.read_csv(SAMPLE / "expected_exceptions.csv", dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def trail():
    return Trail.open(SAMPLE)


def planted(rule: str):
    return EXPECTED[EXPECTED["rule"] == rule].to_dict("records")


def export_row(source: dict) -> dict:
    """The export's row as csv.DictReader reads it (the sample's CSVs are UTF-8 or Latin-1)."""
    path = SAMPLE / source["source_file"]
    encoding = "latin-1" if path.name == "billing_db_accounts.csv" else "utf-8-sig"
    rows = list(csv.DictReader(io.StringIO(path.read_text(encoding=encoding))))
    return {k.strip(): v for k, v in rows[int(source["source_row"]) - 2].items()}


def test_a_late_deprovisioning_is_explained_by_its_lag_against_the_sla(trail):
    sla = load_catalog().parameters["deprovision_sla_days"].default
    for row in planted("deprovisioned_within_sla"):
        explanation = trail.explain("deprovisioned_within_sla", row["record_key"], row["system"] or None)
        (failed,) = explanation.failed
        assert failed.statement.startswith(f"deprovision_lag_days at most {sla} (deprovision_sla_days)")
        assert float(failed.value) > sla and explanation.under_condition
        if explanation.source["source_file"].endswith(".csv"):
            cells = {v.strip().casefold() for v in export_row(explanation.source).values()}
            assert row["record_key"].casefold() in cells


def test_a_missing_mfa_is_explained_from_the_vendors_own_cell(trail):
    for row in planted("mfa_enabled"):
        explanation = trail.explain("mfa_enabled", row["record_key"], row["system"])
        assert [c.statement.split(" (")[0] for c in explanation.failed] == ["mfa is one of [True]"]
        if explanation.source["source_file"].endswith(".csv"):
            vendor = export_row(explanation.source)
            mfa = next(v for k, v in vendor.items() if k in ("mfa_active", "MFA Enrolled", "mfa"))
            assert mfa.strip().casefold() in ("false", "no", "0", "")
            assert f": {mfa}" in explanation.source["source_values"]


def test_a_record_that_passes_says_every_check_held(trail):
    dormant = trail.validation.views["accounts"]
    fine = dormant[dormant["enabled"] & (dormant["days_since_login"] < 30)].iloc[0]
    explanation = trail.explain("no_dormant_accounts", fine["account_id"], fine["system"])
    assert explanation.checks and not explanation.failed


def test_unknown_rules_records_and_ambiguous_systems_are_errors_saying_what_to_give(trail):
    with pytest.raises(ExplainError, match="unknown rule"):
        trail.explain("mfa_everywhere", "x")
    with pytest.raises(ExplainError, match="give the record_key"):
        trail.explain("mfa_enabled", "nobody-at-all")
    twice = trail.validation.views["accounts"]["account_id"].value_counts()
    shared = twice[twice > 1].index[0]
    with pytest.raises(ExplainError, match="give system="):
        trail.explain("mfa_enabled", shared)


def test_the_explanation_escapes_evidence_text_in_html(trail):
    row = planted("mfa_enabled")[0]
    html = trail.explain("mfa_enabled", row["record_key"], row["system"])._repr_html_()
    assert "<script" not in html and html.startswith("<div class='explanation'>")
