"""Policies (CC1.1): the policy list and acknowledgement exports load in their vendors' shapes, only the
current version's acknowledgement counts, and on a generated company the rules find exactly the
exceptions evidence_lib.synth_policies planted."""

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
from evidence_lib.policy_views import policy_acknowledgement_view, policy_view
from evidence_lib.project import EXPECTATIONS_DIR
from evidence_lib.sources.load import load_file
from evidence_lib.sources.mapping import builtin_mappings, load_mapping
from tests.corpus import company_with_area

FIXTURES = Path(__file__).parent / "fixtures" / "policies"
PERIOD = parse_period("2026-Q3")
CITED = ("drata_policies_json",)
GUESSED = ("drata_assigned_policies_json",)
GENERIC = ("generic_policies_csv", "generic_policy_acknowledgements_csv")
RULES = ("new_hire_acknowledged_policies", "staff_acknowledged_policies_annually", "policy_reviewed_and_approved")


def load(fmt: str, fixture: str):
    return load_file(FIXTURES / fixture, load_mapping(builtin_mappings()[fmt]))


def utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def column(frame: pd.DataFrame, name: str) -> list:
    return [None if pd.isna(v) else v for v in frame[name].tolist()]


@pytest.mark.parametrize("name", CITED + GUESSED + GENERIC)
def test_each_policy_shape_cites_its_source_and_says_which_headers_are_guessed(name):
    path = builtin_mappings()[name]
    mapping = load_mapping(path)
    text = path.read_text(encoding="utf-8")
    assert mapping.evidence_type in ("policies", "policy_acknowledgements") and text.startswith("# Source:")
    assert "\nsource: {url:" in text
    assert ("https://" in mapping.description) == (name not in GENERIC)
    assert ("GUESS" in text) == (name in GUESSED)
    assert ("found: false" in text) == (name not in CITED)


def test_drata_policies_as_the_api_documents_them():
    frame = load("drata_policies_json", "drata_policies.json").frame
    assert column(frame, "policy_id") == ["1", "7"]
    assert column(frame, "title") == ["Acceptable Use Policy", "Engineering Change Policy"]
    assert column(frame, "current_version") == ["1", "3"]
    assert column(frame, "required_for_all") == [True, False]  # scope ALL, GROUP
    assert column(frame, "status") == ["active", "archived"]
    assert column(frame, "approved_at") == [utc("2025-07-01 16:45:55.246"), None]
    assert column(frame, "approved_by") == ["Sally Smith", None]  # the owner approves; none expanded: nobody
    assert column(frame, "reviewed_at") == [None, None]


def test_drata_assigned_policies_keep_only_acknowledged_records():
    loaded = load("drata_assigned_policies_json", "drata_assigned_policies.json")
    frame = loaded.frame
    assert loaded.provenance.rows_read == 2 and len(frame) == 1  # the unacknowledged one is counted out
    assert column(frame, "email") == ["sally.smith@example.com"]
    assert column(frame, "policy") == ["1"] and column(frame, "version") == ["1"]
    assert column(frame, "acknowledged_at") == [utc("2025-07-01 16:45:55.246")]


def test_generic_policy_list_and_acknowledgements():
    policies = load("generic_policies_csv", "generic_policies.csv").frame
    assert column(policies, "required_for_all") == [True, False]
    assert column(policies, "approved_by") == ["Dana Chief", None]
    assert column(policies, "reviewed_at") == [None, utc("2026-01-05 09:00")]
    acks = load("generic_policy_acknowledgements_csv", "generic_policy_acknowledgements.csv").frame
    assert column(acks, "employee_id") == ["E100", None]
    assert column(acks, "email") == [None, "ana.ruiz@example.com"]
    assert column(acks, "policy") == ["POL-1", "Code of Conduct"]
    assert column(acks, "version") == ["3.0", "3.0"]


def _roster():
    return pd.DataFrame({
        "employee_id": ["E1", "E2", "E3", "E4"], "name": ["Ann", "Bo", "Cy", "Di"],
        "email": ["ann@example.com", "bo@example.com", "cy@example.com", "di@example.com"],
        "worker_type": ["employee", "employee", "contractor", "employee"],
        "status": ["active", "active", "active", "terminated"],
        "hire_date": pd.to_datetime(["2020-01-01", "2026-07-01", "2020-01-01", "2020-01-01"]),
        "termination_date": pd.to_datetime([None, None, None, "2026-08-01"]), "department": ["IT"] * 4,
    })


def _policies(rows):
    frame = pd.DataFrame(rows, columns=["policy_id", "title", "current_version", "required_for_all", "status",
                                        "approved_at", "approved_by", "reviewed_at"])
    frame["required_for_all"] = frame["required_for_all"].astype("boolean")
    for dated in ("approved_at", "reviewed_at"):
        frame[dated] = pd.to_datetime(frame[dated], utc=True)
    return frame


def _acks(rows):
    frame = pd.DataFrame(rows, columns=["employee_id", "email", "policy", "version", "acknowledged_at"])
    frame["acknowledged_at"] = pd.to_datetime(frame["acknowledged_at"], utc=True)
    return frame


POLICIES = _policies([
    ("P1", "Code of Conduct", "4", True, "active", "2026-03-01", "Dana", None),
    ("P2", "Travel", "1", False, "active", "2020-01-01", None, None),        # not required of everyone
    ("P3", "Security Policy", "2", None, None, "2025-06-01", " ", "2026-02-01"),  # audience unknown: required
])


def test_only_the_current_version_counts_and_blanks_fail_closed():
    acks = _acks([
        ("E1", None, "P1", "3", "2026-09-01"),                 # an older version: does not count
        (None, " ANN@Example.com ", "security policy", " 2 ", "2026-09-02"),  # by e-mail and title, spaced
        (None, "cy@example.com", "P1", None, "2026-09-03"),    # no version: not shown to be current
        ("E2", None, "P1", "4", "2026-07-20"),
    ])
    view = policy_acknowledgement_view(_roster(), POLICIES, acks, period=PERIOD, as_of=utc("2026-10-01 06:00"))
    view = view.set_index(["employee_id", "policy_id"])
    assert set(view.index) == {(e, p) for e in ("E1", "E2", "E3") for p in ("P1", "P3")}  # E4 left, P2 optional
    assert pd.isna(view.loc[("E1", "P1"), "days_since_acknowledged"])
    assert view.loc[("E1", "P1"), "latest_version_acknowledged"] == "3"
    assert view.loc[("E1", "P3"), "days_since_acknowledged"] == 29
    assert pd.isna(view.loc[("E3", "P1"), "days_since_acknowledged"])
    assert view.loc[("E2", "P1"), "hired_in_period"] and view.loc[("E2", "P1"), "days_to_acknowledge"] == 19
    assert view.loc[("E2", "P3"), "days_to_acknowledge"] == 92  # none yet: the days so far, late


def test_policy_review_reads_the_later_of_review_and_approval_and_needs_a_named_approver():
    view = policy_view(POLICIES, period=PERIOD).set_index("policy_id")
    assert view["required"].to_dict() == {"P1": True, "P2": False, "P3": True}
    assert view.loc["P1", "approval_state"] == "approved" and view.loc["P1", "days_since_review"] == 213
    assert view.loc["P3", "approval_state"] == "no approver named"  # a blank name names nobody
    assert view.loc["P3", "days_since_review"] == 241  # reviewed 2026-02-01, after the approval


def test_the_policy_suites_open_in_plain_gx_and_name_cc11():
    catalog = load_catalog()
    control = catalog.control("CC1.1")
    rules = {r.rule_id: r for r in control.rules}
    assert set(rules) == set(RULES)
    for name in ("policies.json", "policy_acknowledgements.json"):
        spec = json.loads((EXPECTATIONS_DIR / name).read_text(encoding="utf-8"))
        assert len(gx.ExpectationSuite(**spec).expectations) == len(spec["expectations"])
        for expectation in spec["expectations"]:
            meta = expectation["meta"]
            assert meta["controls"] == ["CC1.1"] and meta["rule"] == rules[meta["rule_id"]].text
    assert control.iso27001 == ("A.5.1", "A.6.2") and control.notebook == "72_policies.ipynb"


# -- the generated company ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def company(tmp_path_factory):
    from evidence_lib.synth_policies import add_to_folder, policy_evidence

    folder = tmp_path_factory.mktemp("company")
    planted, validation = company_with_area(folder, PERIOD, policy_evidence, add_to_folder, ("CC1.1",))
    return (folder, planted, {r.rule.rule_id: r for c in validation.controls for r in c.rules},
            {r.rule.rule_id: r for r in validation.integrity.rules})


def _found(results) -> set[tuple[str, str, str, str]]:
    found = set()
    for rule_id, result in results.items():
        rows = result.exceptions
        keys = rows["policy_id"].astype(str) if rule_id == "policy_reviewed_and_approved" else (
            rows["employee_id"].astype(str) + ":" + rows["policy_id"].astype(str))
        found |= {("CC1.1", rule_id, "", k) for k in keys}
    return found


def test_found_exceptions_equal_the_planted_ones_and_near_misses_are_clean(company):
    _, planted, results, _ = company
    assert _found(results) == set(planted.expected)
    assert not _found(results) & set(planted.near_misses)
    assert {rule for _, rule, _, _ in planted.expected} == set(results) == set(RULES)
    assert {rule for _, rule, _, _ in planted.near_misses} == set(RULES)


def test_populations_are_the_generators(company):
    _, planted, results, integrity = company
    assert {(c, rule, n) for c, rule, n, _ in planted.populations} == {
        ("CC1.1", rule_id, r.population) for rule_id, r in results.items()} | {
        ("IPE", "acknowledgements_resolved", integrity["acknowledgements_resolved"].population)}
    assert integrity["acknowledgements_resolved"].status == "pass"  # every generated acknowledgement resolves


def test_an_acknowledgement_naming_no_one_or_no_listed_policy_is_shown_not_left_out(company, tmp_path):
    """Stray rows appended to the export: each is an exception of acknowledgements_resolved, at its own row,
    saying which of person and policy it fails to name; the control rules' verdicts are unchanged."""
    from evidence_lib.sources.folder import load_folder
    from evidence_lib.synth_policies import ACKS_FILE
    from evidence_lib.validate import validate

    folder, _, results, _ = company
    copy = tmp_path / "company"
    shutil.copytree(folder, copy)
    acks = copy / ACKS_FILE
    lines = acks.read_bytes().decode("utf-8").splitlines()
    known = next(csv.reader([lines[1]]))  # a real acknowledgement: its person and its policy
    strays = [["E99999", "nobody@elsewhere.example", known[2], known[3], known[4]],  # no one in the roster
              [known[0], known[1], "Policy that is not on the list", "1", known[4]],  # no listed policy
              ["E99998", "", "Retired policy", "1", known[4]]]  # neither
    acks.write_bytes("\r\n".join(lines + [",".join(row) for row in strays]).encode("utf-8") + b"\r\n")
    _declare_count(copy, ACKS_FILE, len(lines) - 1 + len(strays))
    validation = validate(load_folder(copy), PERIOD, controls=("CC1.1",))
    rule = next(r for r in validation.integrity.rules if r.rule.rule_id == "acknowledgements_resolved")
    rows = rule.exceptions
    # CSV rows are numbered as the file's lines, the header being line 1
    assert rows["row"].tolist() == [len(lines) + 1, len(lines) + 2, len(lines) + 3]
    assert rows[["names_person", "names_policy"]].values.tolist() == [[False, True], [True, False], [False, False]]
    assert rule.status == "exceptions" and rule.population == len(lines) - 1 + len(strays)
    assert {r.rule.rule_id: (r.status, r.exception_count) for c in validation.controls for r in c.rules} == {
        rule_id: (r.status, r.exception_count) for rule_id, r in results.items()}


def _declare_count(folder: Path, path: str, count: int) -> None:
    """The export's control total restated for the rows added (else its reconciliation fails first)."""
    import yaml

    declaration = folder / "evidence.yaml"
    document = yaml.safe_load(declaration.read_text())
    entry = next(f for f in document["files"] if f["path"] == path)
    entry["control_total"]["count"] = count
    declaration.write_text(yaml.safe_dump(document, sort_keys=False))


def test_the_folder_declares_the_exports_and_appends_the_expectations(company):
    folder, planted, _, _ = company
    with (folder / "expected_exceptions.csv").open(encoding="utf-8") as handle:
        rows = {tuple(row) for row in csv.reader(handle)}
    assert set(planted.expected) <= rows
    declared = (folder / "evidence.yaml").read_text(encoding="utf-8")
    assert "drata_policies_json" in declared and "generic_policy_acknowledgements_csv" in declared


def test_the_exports_are_deterministic(company, tmp_path):
    import shutil

    from evidence_lib.synth_policies import ACKS_FILE, POLICIES_FILE, policy_evidence

    folder, planted, _, _ = company
    copy = tmp_path / "again"
    shutil.copytree(folder, copy)
    again = policy_evidence(copy, PERIOD)
    assert again.expected == planted.expected and again.near_misses == planted.near_misses
    for name in (POLICIES_FILE, ACKS_FILE):
        assert (copy / name).read_bytes() == (folder / name).read_bytes()
