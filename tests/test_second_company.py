"""The second sample company (Fabrikam): other vendors' exports, exactly its planted exceptions.

BambooHR, Google Workspace, GitLab, Jira Cloud and people-by-e-mail LMS and screening exports,
written by `python -m evidence_lib.synth --vendors second`. The expected exceptions and
near-misses are the generator's ground truth translated to Fabrikam's keys (never the
validator's output); the planted cases its exports cannot show are listed in
planted_not_shown.csv beside a scope decision in evidence.yaml.
"""

import filecmp
import shutil

import pandas as pd
import pytest
import yaml

from evidence_lib.period import parse_period
from evidence_lib.sources.detect import propose
from evidence_lib.sources.folder import load_folder
from evidence_lib.synth.areas import add_control_areas
from evidence_lib.synth.populations import POPULATION_FILE
from evidence_lib.synth.second import SCOPE, UNWRITABLE_NEAR_MISSES, build_second_company
from evidence_lib.synth.writers_second import SET_ASIDE_FILE, write_second_company
from evidence_lib.validate import validate
from tests.conftest import ROOT
from tests.corpus import PlantedRecords

SECOND = ROOT / "data" / "samples" / "fabrikam-2026-Q3"
PERIOD = parse_period("2026-Q3")
ANSWER_KEYS = ("expected_exceptions.csv", "near_misses.csv", SET_ASIDE_FILE)
# Formats `evidence init` proposes instead of the committed ones (none since init scores the
# canonical columns a format can feed rather than the share of its candidate names present).
INIT_PROPOSES_INSTEAD: dict[str, str] = {}


def _keys(frame: pd.DataFrame) -> set[tuple]:
    return set(map(tuple, frame.astype(str).values))


def _answer(name: str) -> pd.DataFrame:
    return pd.read_csv(SECOND / name, keep_default_na=False, dtype=str)


@pytest.fixture(scope="module")
def evidence():
    return load_folder(SECOND)


@pytest.fixture(scope="module")
def validation(evidence):
    return validate(evidence, PERIOD)


def test_committed_second_sample_is_the_generators_output(tmp_path):
    """A golden folder: `make sample` writes it, byte for byte; nobody edits it."""
    write_second_company(build_second_company(180, PERIOD), tmp_path)
    add_control_areas(tmp_path, PERIOD, availability_in_scope=False)  # as `python -m evidence_lib.synth` does
    committed = sorted(p.relative_to(SECOND) for p in SECOND.rglob("*") if p.is_file())
    assert committed == sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    for relative in committed:
        assert filecmp.cmp(SECOND / relative, tmp_path / relative, shallow=False), relative


def test_every_export_loads_in_its_vendor_shape(evidence):
    assert all(not o.problems for o in evidence.outcomes), [o.problems for o in evidence.outcomes if o.problems]
    formats = {o.declared.path: o.declared.format for o in evidence.outcomes}
    assert {"bamboohr_employees_csv", "google_workspace_users_csv", "gitlab_merge_requests_json", "jira_cloud_csv",
            "lms_completions_by_email_csv", "screening_by_email_csv"} <= set(formats.values())
    assert not {"okta_users_csv", "github_pull_requests_json", "jira_issues_csv", "workday_workers_xlsx",
                "lms_completions_csv", "screening_vendor_csv"} & set(formats.values())


def test_exceptions_are_exactly_the_planted_ones(validation):
    found = _keys(validation.exception_keys())
    assert found == _keys(_answer("expected_exceptions.csv"))  # none missed, none invented
    assert not found & _keys(_answer("near_misses.csv"))


def test_no_rule_is_an_error_and_every_rule_with_planted_cases_finds_them(validation):
    expected = _answer("expected_exceptions.csv")
    for result in validation.rules:
        assert result.status != "error", (result.rule.rule_id, result.reason)
        planted = (expected["rule"] == result.rule.rule_id).sum()
        assert result.exception_count == planted, result.rule.rule_id
    tested = {r.rule.rule_id for c in validation.controls for r in c.rules if r.status != "out_of_scope"}
    assert set(expected["rule"]) == tested


def test_cases_the_exports_cannot_show_are_listed_with_a_scope_decision(validation):
    set_aside = _answer(SET_ASIDE_FILE)
    assert len(set_aside) >= 10 and (set_aside["why"] != "").all()
    found = _keys(validation.exception_keys())
    expected = _keys(_answer("expected_exceptions.csv"))
    for case in set_aside.itertuples():
        key = (case.control, case.rule, case.system, case.record_key)
        if case.planted_as == "near_miss_now_expected":  # the export cannot draw that boundary: flagged
            assert key in expected and key in found, key
        else:
            reasons = SCOPE if case.planted_as == "expected" else {**SCOPE, **UNWRITABLE_NEAR_MISSES}
            assert case.why == reasons[(case.rule, case.system)], key
            assert key not in found and key not in expected, key
    declared = yaml.safe_load((SECOND / "evidence.yaml").read_text(encoding="utf-8"))["scope"]
    assert {(d["rule"], d["system"]) for d in declared if "rule" in d} == set(SCOPE)
    assert {d["control"] for d in declared if "rule" not in d} == {"A1.2", "A1.3"}  # Availability not reported on
    assert all(d["reason"] and d["decided_by"] and d["decided_on"] for d in declared)


def test_every_planted_record_exists_in_the_loaded_evidence(evidence):
    known = PlantedRecords(evidence)
    for name in ANSWER_KEYS:
        for row in _answer(name).itertuples():
            assert row in known, (name, row)


def test_init_proposes_the_committed_declaration(tmp_path):
    folder = tmp_path / "fabrikam"
    shutil.copytree(SECOND, folder)
    (folder / "evidence.yaml").unlink()
    proposal = propose(folder, ignore=(*ANSWER_KEYS, POPULATION_FILE))
    assert not proposal.unplaced
    proposed = {f.path: (f.evidence_type, f.format, f.system) for f in proposal.files}
    committed = yaml.safe_load((SECOND / "evidence.yaml").read_text(encoding="utf-8"))["files"]
    assert set(proposed) == {f["path"] for f in committed}
    for f in committed:
        evidence_type, fmt, system = proposed[f["path"]]
        assert (evidence_type, system) == (f["type"], f.get("system")), f["path"]
        assert fmt == INIT_PROPOSES_INSTEAD.get(f["path"], f["format"]), f["path"]
