"""Vendor management (CC9.2): the vendor exports load in their vendors' shapes, review ages count in calendar
months (inclusive at the boundary), names match without case or surrounding spaces, and on a generated
company the rules find exactly the exceptions evidence_lib.synth_vendors planted."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import great_expectations as gx
import pandas as pd
import pytest

from evidence_lib.controls import load_catalog
from evidence_lib.period import parse_period
from evidence_lib.project import EXPECTATIONS_DIR
from evidence_lib.results import PASS
from evidence_lib.sources.load import load_file
from evidence_lib.sources.mapping import builtin_mappings, load_mapping
from evidence_lib.vendor_views import months_before, review_cutoff, vendor_review_view, vendor_view
from tests.corpus import company_with_area

FIXTURES = Path(__file__).parent / "fixtures" / "vendors"
PERIOD = parse_period("2026-Q3")
CITED = ("drata_vendors_json", "vanta_vendors_json")
GUESSED = ("vanta_vendor_security_reviews_json",)
RULES = ("critical_vendor_reviewed", "customer_data_vendor_reviewed", "active_vendor_has_owner",
         "vendor_review_names_known_vendor")


def load(fmt: str, fixture: Path | str):
    return load_file(FIXTURES / fixture, load_mapping(builtin_mappings()[fmt]))


def column(frame: pd.DataFrame, name: str) -> list:
    return [None if pd.isna(v) else v for v in frame[name].tolist()]


@pytest.mark.parametrize("name", CITED + GUESSED)
def test_each_vendor_shape_cites_its_vendor_page_and_says_which_parts_are_guessed(name):
    path = builtin_mappings()[name]
    mapping = load_mapping(path)
    text = path.read_text(encoding="utf-8")
    assert mapping.evidence_type in ("vendors", "vendor_reviews") and text.startswith("# Source:")
    assert "\nsource: {url:" in text and "https://" in mapping.description
    assert ("GUESS" in text and "found: false" in text) == (name in GUESSED)


def test_drata_vendors_as_the_api_documents_them():
    frame = load("drata_vendors_json", "drata_vendors.json").frame
    assert column(frame, "vendor_id") == ["1", "2"] and column(frame, "name") == ["Acme", "Globex Payroll"]
    assert column(frame, "critical") == [False, True] and column(frame, "handles_customer_data") == [True, False]
    assert column(frame, "owner") == ["sally.smith@example.com", None]  # an empty user object names no one
    assert column(frame, "status") == ["active", "offboarded"]
    assert column(frame, "offboarded_at") == [None, pd.Timestamp("2026-08-01")]


def test_vanta_vendors_as_the_api_documents_them_without_a_customer_data_column():
    loaded = load("vanta_vendors_json", "vanta_vendors.json")
    frame = loaded.frame
    assert column(frame, "critical") == [False, True]  # inherent risk HIGH, CRITICAL
    assert column(frame, "owner") == ["6626afb14c912f0a50e85619", None]
    assert column(frame, "status") == ["active", "active"]  # MANAGED
    assert column(frame, "handles_customer_data") == [None, None]
    assert "handles_customer_data" not in loaded.provenance.columns_used  # so the rule needing it errors


def test_vanta_security_reviews_name_their_vendor_by_id():
    frame = load("vanta_vendor_security_reviews_json", "vanta_vendor_security_reviews.json").frame
    assert column(frame, "vendor_id") == ["6696e9bca247cbdf1c8e5054", "b3e8f2c0e1d4a5b6c7d8e9f0"]
    assert column(frame, "kind") == ["security_review", "security_review"]
    assert column(frame, "outcome") == ["approved", None]  # an open review has no decision yet
    assert column(frame, "reviewed_at") == [pd.Timestamp("2024-03-10", tz="UTC"), None]


def test_generic_vendor_and_review_csvs(tmp_path):
    vendors = tmp_path / "vendors.csv"
    vendors.write_text("vendor_id,name,critical,owner,customer_data,status,onboarded\n"
                       "V1,Acme,yes,ann@example.com,no,in use,2024-01-02\n", encoding="utf-8")
    frame = load_file(vendors, load_mapping(builtin_mappings()["generic_vendors_csv"])).frame
    assert column(frame, "status") == ["active"] and column(frame, "critical") == [True]
    reviews = tmp_path / "reviews.csv"
    reviews.write_text("review_id,vendor,type,period_end,reviewed_at,outcome\n"
                       "R1,Acme,SOC 2 Type II,2026-03-31,2026-05-02T10:00:00Z,Approved with conditions\n",
                       encoding="utf-8")
    frame = load_file(reviews, load_mapping(builtin_mappings()["generic_vendor_reviews_csv"])).frame
    assert column(frame, "kind") == ["soc2_type2"] and column(frame, "outcome") == ["approved_with_conditions"]
    assert column(frame, "report_date") == [pd.Timestamp("2026-03-31")]


def test_review_age_counts_calendar_months_back_from_the_period_end_inclusive():
    end = pd.Timestamp("2026-09-30")
    assert months_before(end, pd.Timestamp("2025-09-30")) == 12  # exactly 12 months: within 12
    assert months_before(end, pd.Timestamp("2025-09-29")) == 13  # a day older: outside
    assert months_before(end, pd.Timestamp("2026-09-30")) == 0
    assert months_before(end, pd.Timestamp("2026-01-15")) == 9
    assert months_before(pd.Timestamp("2024-02-29"), pd.Timestamp("2023-02-28")) == 12  # month ends clamp
    assert review_cutoff(PERIOD, 12) == pd.Timestamp("2025-09-30")


def _vendors(rows):
    names = ["vendor_id", "name", "status", "critical", "handles_customer_data", "owner"]
    frame = pd.DataFrame(rows, columns=names)
    frame["critical"] = frame["critical"].astype("boolean")
    frame["handles_customer_data"] = frame["handles_customer_data"].astype("boolean")
    frame["data_shared"] = None
    return frame


def _reviews(rows):
    frame = pd.DataFrame(rows, columns=["review_id", "vendor_id", "vendor_name", "kind", "report_date", "outcome"])
    frame["report_date"] = pd.to_datetime(frame["report_date"])
    frame["reviewed_at"] = pd.to_datetime(frame["report_date"] + pd.Timedelta(days=10)).dt.tz_localize("UTC")
    frame["reviewer"] = "sec@example.com"
    return frame


def _roster():
    return pd.DataFrame({"employee_id": ["E1", "E2"], "name": ["Ann", "Bo"],
                         "email": ["ann@example.com", "bo@example.com"],
                         "termination_date": pd.to_datetime([None, "2026-08-01"])})


def test_names_match_without_case_or_spaces_and_unknown_or_shared_names_are_shown():
    vendors = _vendors([("V1", "Acme Corp", "active", True, True, "ann@example.com"),
                        ("V2", "Twin", "active", False, False, "ann@example.com"),
                        ("V3", " twin", "active", False, False, "ann@example.com")])
    reviews = _reviews([("R1", None, "  ACME CORP ", "soc2_type2", "2026-03-31", "approved"),
                        ("R2", None, "Acme Corporation", "soc2_type2", "2026-03-31", "approved"),
                        ("R3", None, "TWIN", "iso27001", "2026-03-31", "approved"),
                        ("R4", "V9", "Acme Corp", "security_review", "2026-03-31", "approved"),
                        ("R5", "V1", None, "security_review", "2026-03-31", "approved")])
    view = vendor_review_view(reviews, vendors, period=PERIOD).set_index("review_id")
    assert view["vendor_match"].to_dict() == {"R1": "by name", "R2": "unknown vendor name",
                                              "R3": "ambiguous vendor name", "R4": "unknown vendor id",
                                              "R5": "by id"}
    assert len(view) == len(reviews)  # nothing dropped


def test_blank_flags_fail_closed_and_only_approved_dated_reports_count():
    vendors = _vendors([("V1", "Undated", "active", True, False, "ann@example.com"),
                        ("V2", "Unsaid", "active", None, None, None),
                        ("V3", "Leaver owned", "active", False, False, "BO@example.com"),
                        ("V4", "Rejected", "active", True, False, "vanta-user-6626"),
                        ("V5", "Gone", "offboarded", True, True, None)])
    reviews = _reviews([("R1", "V1", None, "soc2_type2", None, "approved"),
                        ("R2", "V2", None, "soc2_type2", "2025-09-30", "approved"),
                        ("R3", "V4", None, "security_review", "2026-06-01", "rejected")])
    view = vendor_view(vendors, reviews, _roster(), period=PERIOD, as_of=pd.Timestamp("2026-10-01 06:00", tz="UTC"),
                       params={"vendor_review_months": 12}).set_index("vendor_id")
    assert pd.isna(view.loc["V1", "review_age_months"])  # a SOC 2 report without its date does not count
    assert view.loc["V2", "criticality"] == "not reported" and view.loc["V2", "needs_review_as_critical"]
    assert view.loc["V2", "customer_data"] == "not reported" and view.loc["V2", "needs_review_for_customer_data"]
    assert view.loc["V2", "review_age_months"] == 12 and view.loc["V2", "owner_state"] == "missing"
    assert view.loc["V3", "owner_state"] == "left the company"
    assert view.loc["V4", "owner_state"] == "named, not in the HR roster"
    assert pd.isna(view.loc["V4", "review_age_months"])  # a rejected review does not count
    assert not view.loc["V5", "in_use"] and not view.loc["V5", "needs_review_as_critical"]
    assert len(view) == len(vendors)


def test_the_vendor_suites_open_in_plain_gx_and_name_cc92():
    catalog = load_catalog()
    rules = {r.rule_id: r for r in catalog.control("CC9.2").rules}
    assert set(rules) == set(RULES)
    for name in ("vendors.json", "vendor_reviews.json"):
        spec = json.loads((EXPECTATIONS_DIR / name).read_text(encoding="utf-8"))
        assert len(gx.ExpectationSuite(**spec).expectations) == len(spec["expectations"])
        for expectation in spec["expectations"]:
            meta = expectation["meta"]
            assert meta["controls"] == ["CC9.2"] and meta["rule"] == rules[meta["rule_id"]].text
    control = catalog.control("CC9.2")
    assert control.iso27001 and control.notebook == "70_vendors.ipynb"
    assert catalog.parameters["vendor_review_months"].default == 12


# -- the generated company ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def company(tmp_path_factory):
    from evidence_lib.synth_vendors import add_to_folder, vendor_evidence

    folder = tmp_path_factory.mktemp("company")
    planted, validation = company_with_area(folder, PERIOD, vendor_evidence, add_to_folder, ("CC9.2",))
    return folder, planted, validation


def _results(validation):
    return {r.rule.rule_id: r for c in validation.controls for r in c.rules}


def _found(results) -> set[tuple[str, str, str, str]]:
    found = set()
    for rule_id, result in results.items():
        key = "review_id" if rule_id == "vendor_review_names_known_vendor" else "vendor_id"
        found |= {("CC9.2", rule_id, "", str(k)) for k in result.exceptions[key]}
    return found


def test_found_exceptions_equal_the_planted_ones_and_near_misses_are_clean(company):
    _, planted, validation = company
    results = _results(validation)
    assert _found(results) == set(planted.expected)
    assert not _found(results) & set(planted.near_misses)
    assert {rule for _, rule, _, _ in planted.expected} == set(results) == set(RULES)
    assert {rule for _, rule, _, _ in planted.near_misses} == set(RULES)


def test_populations_are_the_generators_and_dates_are_checked(company):
    _, planted, validation = company
    assert {(c, rule, n) for c, rule, n, _ in planted.populations} == {
        ("CC9.2", rule_id, r.population) for rule_id, r in _results(validation).items()}
    dates = {r.rule.rule_id: r for r in validation.integrity.rules}["dates_plausible"]
    assert dates.status == PASS
    assert planted.date_values > 0


def test_the_folder_declares_the_exports_and_appends_the_expectations(company):
    folder, planted, _ = company
    with (folder / "expected_exceptions.csv").open(encoding="utf-8") as handle:
        rows = {tuple(row) for row in csv.reader(handle)}
    assert set(planted.expected) <= rows
    declared = (folder / "evidence.yaml").read_text(encoding="utf-8")
    assert "generic_vendors_csv" in declared and "generic_vendor_reviews_csv" in declared


def test_the_vendor_chart_draws_every_vendor_needing_a_review_against_the_limit(company):
    import matplotlib

    matplotlib.use("Agg")
    from evidence_lib.charts import CHARTS

    _, planted, validation = company
    figure = CHARTS["vendor_review_age"](validation)
    axes = figure.axes[0]
    needing = {v.vendor_id for v in planted.vendors if v.in_use and (v.critical is not False
                                                                     or v.customer_data is not False)}
    labels = {t.get_text() for t in axes.get_yticklabels()}
    assert len(labels) == len(needing)
    assert any(line.get_linestyle() == "--" for line in axes.get_lines())  # the limit


def test_the_exports_are_deterministic(company, tmp_path):
    from evidence_lib.synth_vendors import REVIEWS_FILE, VENDORS_FILE, vendor_evidence

    folder, planted, _ = company
    copy = tmp_path / "again"
    shutil.copytree(folder, copy)
    again = vendor_evidence(copy, PERIOD)
    assert again.expected == planted.expected and again.near_misses == planted.near_misses
    for name in (VENDORS_FILE, REVIEWS_FILE):
        assert (copy / name).read_bytes() == (folder / name).read_bytes()
