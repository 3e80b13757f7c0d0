"""Risk assessment (CC3.2, CC3.4): the register exports load in their vendors' shapes, ratings and scores
normalise to one scale, blanks fail closed, and on generated companies of both vendor sets the rules find
exactly the risk exceptions evidence_lib.synth_risk planted."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import great_expectations as gx
import pandas as pd
import pytest

from evidence_lib.controls import load_catalog
from evidence_lib.errors import LoadError
from evidence_lib.parameters import resolve_parameters
from evidence_lib.period import parse_period
from evidence_lib.project import EXPECTATIONS_DIR
from evidence_lib.risk_views import register_review_view, risk_view
from evidence_lib.sources.load import load_file
from evidence_lib.sources.mapping import builtin_mappings, load_mapping
from tests.corpus import company_with_area

FIXTURES = Path(__file__).parent / "fixtures" / "risk"
PERIOD = parse_period("2026-Q3")
AS_OF = pd.Timestamp("2026-10-01 06:00", tz="UTC")
CONTROLS = ("CC3.2", "CC3.4")
GUESSED = ("servicenow_risk_csv", "drata_risk_register_csv")
OWN_LAYOUT = ("generic_risk_register_csv", "generic_risk_register_reviews_csv")


def load(fmt: str, path: Path):
    return load_file(path, load_mapping(builtin_mappings()[fmt]), system="register")


def utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def column(frame: pd.DataFrame, name: str) -> list:
    return [None if pd.isna(v) else v for v in frame[name].tolist()]


@pytest.mark.parametrize("name", GUESSED + OWN_LAYOUT)
def test_each_risk_shape_cites_its_source_and_says_which_headers_are_guessed(name):
    path = builtin_mappings()[name]
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# Source:")
    if name in GUESSED:
        assert "\nsource: {url:" in text and "https://" in load_mapping(path).description
        assert "GUESS" in text and "found: false" in text


def test_servicenow_risk_list_as_its_form_documents_it():
    frame = load("servicenow_risk_csv", FIXTURES / "servicenow_risks.csv").frame
    assert column(frame, "risk_id") == ["RISK0010001", "RISK0010002", "RISK0010003"]
    assert column(frame, "status") == ["open", "closed", "open"]  # Monitor, Retired, Review
    assert column(frame, "residual_rating") == ["critical", "medium", "high"]  # Very High, Moderate, HIGH
    assert column(frame, "treatment") == ["mitigate", "transfer", "accept"]
    assert column(frame, "owner") == ["Ana Ruiz", "Ben Ode", None]
    assert column(frame, "due_date") == [pd.Timestamp("2026-12-15"), pd.Timestamp("2026-03-01"),
                                         pd.Timestamp("2026-09-15")]
    assert column(frame, "extended_due_date") == [None, None, pd.Timestamp("2026-10-31")]
    assert column(frame, "extension_approved_at") == [None, None, utc("2026-09-10 09:30")]
    assert column(frame, "system") == ["register"] * 3


def test_drata_risk_register_with_numeric_scores_and_untreated():
    frame = load("drata_risk_register_csv", FIXTURES / "drata_risk_register.csv").frame
    assert column(frame, "risk_id") == ["DRA-69", "DRA-12", "CUSTOM-1"]
    assert column(frame, "status") == ["open", "closed", "open"]  # Active, Archived
    assert column(frame, "treatment") == ["mitigate", "transfer", "untreated"]
    assert column(frame, "residual_score") == ["16", "6", None]
    assert column(frame, "residual_rating") == [None, None, None]  # Drata scores, it does not rate
    assert column(frame, "treatment_completed_at") == [None, utc("2026-01-15"), None]
    assert column(frame, "extended_due_date") == [None, None, None]  # Drata records no extensions


def test_generic_register_and_reviews_csv(tmp_path):
    risks = tmp_path / "risks.csv"
    risks.write_text("id,name,status,rating,owner_email,response,target_date\n"
                     "R1,Phishing,active,Very High,a@x.example,mitigation,2026-11-01\n", encoding="utf-8")
    frame = load("generic_risk_register_csv", risks).frame
    assert column(frame, "status") == ["open"] and column(frame, "residual_rating") == ["critical"]
    assert column(frame, "treatment") == ["mitigate"] and column(frame, "owner") == ["a@x.example"]
    reviews = tmp_path / "reviews.csv"
    reviews.write_text("review_date,reviewed_by\n2026-08-14,ciso@x.example\n", encoding="utf-8")
    frame = load("generic_risk_register_reviews_csv", reviews).frame
    assert column(frame, "reviewed_at") == [utc("2026-08-14")] and column(frame, "system") == ["register"]


def test_an_unparseable_due_date_is_a_located_load_problem(tmp_path):
    path = tmp_path / "risks.csv"
    path.write_text("risk_id,status,rating,due_date\nR1,open,high,next quarter\n", encoding="utf-8")
    with pytest.raises(LoadError, match=r"row 2:column 'due_date': cannot read 'next quarter' as due_date"):
        load("generic_risk_register_csv", path)


def _risks(rows) -> pd.DataFrame:
    names = ["system", "risk_id", "status", "residual_rating", "residual_score", "owner", "treatment", "due_date",
             "treatment_completed_at", "extended_due_date", "extension_approver", "extension_approved_at"]
    frame = pd.DataFrame(rows, columns=names)
    for dated in ("due_date", "extended_due_date"):
        frame[dated] = pd.to_datetime(frame[dated])
    for stamped in ("treatment_completed_at", "extension_approved_at"):
        frame[stamped] = pd.to_datetime(frame[stamped], utc=True)
    frame["title"] = None
    frame["last_reviewed_at"] = pd.to_datetime(pd.Series([None] * len(frame)), utc=True)
    return frame


def test_blank_and_unreadable_ratings_are_judged_and_extensions_count_only_when_independently_approved():
    risks = _risks([
        ("r", "BLANK", "open", None, None, "ann", "mitigate", "2026-12-01", None, None, None, None),
        ("r", "SCORE", "open", None, "4x5", "ann", "mitigate", "2026-12-01", None, None, None, None),
        ("r", "EDGE", "open", None, "15", "ann", "mitigate", "2026-10-01", None, None, None, None),
        ("r", "UNDER", "open", None, "14", "ann", None, "2026-01-01", None, None, None, None),
        ("r", "SELF", "open", "high", None, "Ann", "accept", "2026-09-01", None, "2026-12-01", "ANN ", "2026-08-30"),
        ("r", "OK", "open", "critical", None, "ann", "accept", "2026-09-01", None, "2026-10-01", "bo", "2026-08-30"),
        ("r", "DONE", "open", "high", None, "ann", "mitigate", "2026-09-01", "2026-09-20", None, None, None),
    ])
    view = risk_view(risks, as_of=AS_OF, params=resolve_parameters({})).set_index("risk_id")
    assert view.loc["BLANK", "rating_check"] == "not rated" and view.loc["BLANK", "judged"]
    assert view.loc["SCORE", "rating_check"] == "unreadable score" and view.loc["SCORE", "judged"]
    assert view.loc["EDGE", "level"] == "high" and view.loc["EDGE", "days_past_due"] == 0
    assert view.loc["UNDER", "level"] == "low" and not view.loc["UNDER", "judged"]
    assert not view.loc["SELF", "extension_counted"] and view.loc["SELF", "days_past_due"] == 30
    assert view.loc["OK", "extension_counted"] and view.loc["OK", "days_past_due"] == 0
    assert view.loc["DONE", "treatment_done"]
    assert view.loc["UNDER", "treatment_plan"] == "no treatment"


def test_a_register_without_a_review_in_time_keeps_no_days():
    risks = _risks([("a", "R1", "open", "low", None, "x", "accept", "2026-12-01", None, None, None, None)])
    reviews = pd.DataFrame({"system": ["b", "b"], "reviewer": ["x", "y"],
                            "reviewed_at": pd.to_datetime(["2025-09-30 23:00", "2026-10-01 01:00"], utc=True)})
    view = register_review_view(risks, reviews, period=PERIOD, as_of=AS_OF).set_index("register")
    assert pd.isna(view.loc["a", "review_days_before_period_end"]) and view.loc["a", "reviews_on_record"] == 0
    assert view.loc["b", "review_days_before_period_end"] == 365 and view.loc["b", "reviewer"] == "x"


def test_the_risk_suites_open_in_plain_gx_and_name_their_controls():
    catalog = load_catalog()
    rules = {r.rule_id: r for control in CONTROLS for r in catalog.control(control).rules}
    for name in ("risks.json", "risk_registers.json"):
        spec = json.loads((EXPECTATIONS_DIR / name).read_text(encoding="utf-8"))
        assert len(gx.ExpectationSuite(**spec).expectations) == len(spec["expectations"])
        for expectation in spec["expectations"]:
            meta = expectation["meta"]
            assert meta["controls"] == [rules[meta["rule_id"]].control_id] and meta["rule"] == rules[
                meta["rule_id"]].text
    for control in CONTROLS:
        assert catalog.control(control).iso27001 and catalog.control(control).notebook == "71_risk.ipynb"


# -- generated companies of both vendor sets ---------------------------------------------------------------

def _generate(folder: Path, vendors: str):
    from evidence_lib.synth_risk import add_to_folder, risk_evidence

    planted, validation = company_with_area(folder, PERIOD, risk_evidence, add_to_folder, CONTROLS, vendors)
    return folder, planted, validation


@pytest.fixture(scope="module", params=["first", "second"])
def company(request, tmp_path_factory):
    return _generate(tmp_path_factory.mktemp(f"company-{request.param}"), request.param)


def _results(validation):
    return {r.rule.rule_id: r for c in validation.controls for r in c.rules}


def test_found_exceptions_equal_the_planted_ones_and_near_misses_are_clean(company):
    _, planted, validation = company
    found = {tuple(row) for row in validation.exception_keys().astype(str).values}
    assert found == set(planted.expected)
    assert not found & set(planted.near_misses)
    assert {rule for _, rule, _, _ in planted.expected} == set(_results(validation))


def test_near_misses_are_in_their_rules_populations(company):
    _, planted, validation = company
    risks = validation.views["risks"].set_index("risk_id")
    for _, rule, _, key in planted.near_misses:
        if rule == "high_risk_owned_and_treated":
            assert risks.loc[key, "judged"], key
    from evidence_lib.synth_risk import RISK_REVIEW_DAYS, SECURITY

    registers = validation.views["risk_registers"].set_index("register")
    assert registers.loc[SECURITY, "review_days_before_period_end"] == RISK_REVIEW_DAYS  # on the boundary


def test_populations_and_dates_are_the_generators(company):
    _, planted, validation = company
    assert {(c, rule, n) for c, rule, n, _ in planted.populations} == {
        (r.rule.control_id, rule_id, r.population) for rule_id, r in _results(validation).items()}
    dates = {r.rule.rule_id: r for r in validation.integrity.rules}["dates_plausible"]
    assert dates.population == planted.date_values and dates.exception_count == 0


def test_the_folder_declares_the_exports_and_appends_the_expectations(company):
    folder, planted, _ = company
    with (folder / "expected_exceptions.csv").open(encoding="utf-8") as handle:
        rows = {tuple(row) for row in csv.reader(handle)}
    assert set(planted.expected) <= rows
    assert "risk_register_reviews" in (folder / "evidence.yaml").read_text(encoding="utf-8")


def test_the_exports_are_deterministic(company, tmp_path):
    import shutil

    from evidence_lib.synth_risk import FILES, REVIEW_FILES, risk_evidence

    folder, planted, _ = company
    copy = tmp_path / "again"
    shutil.copytree(folder, copy)
    again = risk_evidence(copy, PERIOD)
    assert again.expected == planted.expected and again.near_misses == planted.near_misses
    for name in (*FILES.values(), *REVIEW_FILES.values()):
        assert (copy / name).read_bytes() == (folder / name).read_bytes()


def test_no_risk_evidence_builds_empty_views_so_the_rules_are_errors_not_crashes():
    from evidence_lib.sources.apply import empty_frame
    from evidence_lib.sources.schemas import SCHEMAS

    risks, reviews = empty_frame(SCHEMAS["risks"]), empty_frame(SCHEMAS["risk_register_reviews"])
    assert risk_view(risks, as_of=AS_OF, params=resolve_parameters({})).empty
    assert register_review_view(risks, reviews, period=PERIOD, as_of=AS_OF).empty
