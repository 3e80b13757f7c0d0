"""A kernel replays the cells the run's worker recorded for it: no pandas, the same outputs and files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from evidence_lib.controls import load_catalog
from evidence_lib.project import SAMPLES_DIR
from evidence_lib.recorded import RecordedArea, find_recording, record_cells, recording
from evidence_lib.shared_validation import SHARED_DIR_VARIABLE
from evidence_lib.showing import ShownArea
from tests.conftest import opening_an_area

SAMPLE = SAMPLES_DIR / "2026-Q3"
ACCESS = ("CC6.1", "CC6.3")
OPTIONS = {"period": "2026-Q3", "evidence_dir": str(SAMPLE), "as_of": "2026-10-01",
           "parameters": {"dormant_days": 60}, "run_id": "20261001T000000Z-abc123"}


@pytest.fixture(scope="module")
def recorded(tmp_path_factory) -> tuple[Path, ShownArea]:
    """The access area computed here, and the folder holding the recording of its cells."""
    shared_dir = tmp_path_factory.mktemp("shared")
    area = ShownArea.open(list(ACCESS), **OPTIONS)
    assert record_cells(area, ACCESS, ("days_since_login",), OPTIONS, shared_dir) is not None
    return shared_dir, area


def test_a_kernel_replaying_its_recording_imports_no_pandas_and_writes_what_the_area_writes(recorded, tmp_path):
    shared_dir, area = recorded
    area.save(str(tmp_path / "computed"))
    printed = opening_an_area(
        f"area = ControlArea.open({list(ACCESS)!r}, **{OPTIONS!r}); area.conclusion(); area.show_control('CC6.1'); "
        f"area.chart('days_since_login'); area.save({str(tmp_path / 'replayed')!r}); "
        f"print(type(area).__name__, 'pandas' in sys.modules, 'great_expectations' in sys.modules)", shared_dir)
    assert printed.split()[-3:] == ["RecordedArea", "False", "False"]
    # the conclusion's line for CC6.1's MFA rule, which the sample plants exceptions for (outside a kernel,
    # display() prints nothing the test reads: only the conclusion is text)
    assert "  mfa_enabled: exceptions, population" in printed
    for name in ("results.json", "exceptions.csv"):
        assert (tmp_path / "replayed" / name).read_bytes() == (tmp_path / "computed" / name).read_bytes()


def test_a_recording_is_found_only_for_the_arguments_and_the_evidence_it_was_made_for(recorded, tmp_path,
                                                                                      monkeypatch):
    shared_dir, _ = recorded
    monkeypatch.setenv(SHARED_DIR_VARIABLE, str(shared_dir))
    assert find_recording(ACCESS, OPTIONS) is not None
    assert find_recording(ACCESS, {**OPTIONS, "parameters": {"dormant_days": 61}}) is None
    assert find_recording(ACCESS, {**OPTIONS, "mask_pii": True}) is None
    assert find_recording(("CC6.1",), OPTIONS) is None
    changed = tmp_path / "evidence"
    shutil.copytree(SAMPLE, changed)
    assert find_recording(ACCESS, {**OPTIONS, "evidence_dir": str(changed)}) is None  # another folder
    monkeypatch.delenv(SHARED_DIR_VARIABLE)
    assert find_recording(ACCESS, OPTIONS) is None  # outside a run's worker


def test_a_recording_changes_with_any_byte_of_the_evidence(recorded, tmp_path, monkeypatch):
    evidence = tmp_path / "evidence"
    shutil.copytree(SAMPLE, evidence)
    options = {**OPTIONS, "evidence_dir": str(evidence)}
    shared_dir = tmp_path / "shared"
    shared_dir.mkdir()
    record_cells(recorded[1], ACCESS, (), options, shared_dir)
    monkeypatch.setenv(SHARED_DIR_VARIABLE, str(shared_dir))
    assert find_recording(ACCESS, options) is not None
    roster = next(evidence.rglob("*.csv"))
    roster.write_bytes(roster.read_bytes() + b"\n")
    assert find_recording(ACCESS, options) is None


def test_a_recording_changes_with_the_pii_mask_key(recorded, tmp_path, monkeypatch):
    key_file = tmp_path / "mask.key"
    key_file.write_text("a" * 64)
    options = {**OPTIONS, "mask_pii": True, "mask_key_file": str(key_file)}
    record_cells(recorded[1], ACCESS, (), options, tmp_path)
    monkeypatch.setenv(SHARED_DIR_VARIABLE, str(tmp_path))
    assert find_recording(ACCESS, options) is not None
    key_file.write_text("b" * 64)  # other pseudonyms: what was recorded is no longer what the kernel would show
    assert find_recording(ACCESS, options) is None


def test_the_recording_holds_each_call_of_the_notebook_in_order(recorded):
    shared_dir, area = recorded
    calls = json.loads(next(shared_dir.glob("*.cells.json")).read_text())["calls"]
    assert set(calls) == {"header()", "inventory()", "population()", "show_integrity()", "conclusion()",
                          "show_control('CC6.1')", "show_control('CC6.3')", "chart('days_since_login')"}
    with recording() as shown:
        area.show_control("CC6.3")
    assert calls["show_control('CC6.3')"] == {"outputs": shown, "returned": None}
    assert {kind for kind, _ in calls["conclusion()"]["outputs"]} == {"stdout"}  # printed, line by line
    printed = [text.split(":")[0] for _, text in calls["conclusion()"]["outputs"]]
    for control in map(load_catalog().control, ACCESS):  # a line a control, then one a rule
        assert printed.index(control.control_id + " " + control.title) < min(
            printed.index("  " + rule.rule_id) for rule in control.rules)
    assert calls["header()"]["outputs"] == [] and "Run</th><td>20261001T000000Z-abc123" in calls["header()"]["returned"]


def test_a_call_that_was_not_recorded_is_computed_by_the_opened_area():
    opened = []

    class Computed:
        def population(self):
            return "computed population"

        results = "the area's own results"

    area = RecordedArea({"calls": {}, "files": {}}, lambda: opened.append(1) or Computed())
    assert area.population() == "computed population"
    assert area.results == "the area's own results"
    assert opened == [1]  # opened once, when first needed



def test_a_worker_records_nothing_and_computes_nothing_for_a_notebook_the_run_did_not_prepare(tmp_path,
                                                                                            monkeypatch):
    """The preparation failed (no part stored, none under way): the kernel computes, once, as alone."""
    from evidence_lib import area as tested_area
    from evidence_lib.notebook_runner import NotebookTask, Preparation, _record_cells
    from evidence_lib.shared_validation import AreaRequest

    computed_here = []

    def computed(*_, **__):
        computed_here.append(1)
        raise RuntimeError("the worker loaded or validated the evidence itself")

    monkeypatch.setattr(tested_area, "judge_area", computed)
    monkeypatch.setattr(tested_area, "load_folder", computed)
    monkeypatch.setenv(SHARED_DIR_VARIABLE, str(tmp_path))
    request = AreaRequest(ACCESS, OPTIONS["parameters"], ("days_since_login",))
    task = NotebookTask(Path("10_access.ipynb"), tmp_path / "10_access", {**OPTIONS, "dormant_days": 60}, {},
                        after=Preparation(SAMPLE, "2026-Q3", "2026-10-01", (request,), tmp_path), area=request)
    assert _record_cells(task) is None
    assert computed_here == [] and list(tmp_path.iterdir()) == []
