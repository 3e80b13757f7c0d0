"""Validate once per run: a notebook given the run's prepared validation shows exactly what it computes alone."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from evidence_lib import area as tested_area
from evidence_lib.area_files import exception_table, results_document
from evidence_lib.charts import chart_png
from evidence_lib.notebook_runner import NotebookTask, execute_tasks
from evidence_lib.project import SAMPLES_DIR
from evidence_lib.shared_validation import (
    SHARED_DIR_VARIABLE,
    AreaRequest,
    area_key,
    find_area,
    prepare_areas,
    preparing_marker,
)
from evidence_lib.sources.folder import read_declaration
from tests.conftest import opening_an_area

SAMPLE = SAMPLES_DIR / "2026-Q3"
ACCESS = ("CC6.1", "CC6.3")
PARAMETERS = {"dormant_days": 60}  # not the default: the prepared result must follow the notebook's value


@pytest.fixture(scope="module")
def shared_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("shared")
    prepare_areas(SAMPLE, "2026-Q3", "2026-10-01", [AreaRequest(ACCESS, PARAMETERS, ("days_since_login",)),
                                                    AreaRequest((), {})], folder)
    return folder


def _open(**changes) -> tested_area.TestedArea:
    options = {"period": "2026-Q3", "evidence_dir": str(SAMPLE), "as_of": "2026-10-01", "parameters": PARAMETERS}
    return tested_area.TestedArea.open(ACCESS, **{**options, **changes})


def test_a_notebook_finding_the_runs_key_shows_exactly_what_it_computes_alone(shared_dir, monkeypatch):
    alone = _open()
    monkeypatch.setenv(SHARED_DIR_VARIABLE, str(shared_dir))
    shared = _open()

    assert alone.shared_key is None and shared.shared_key is not None
    with_key, without = results_document(shared), results_document(alone)
    assert with_key.pop("shared_validation") == shared.shared_key and without.pop("shared_validation") is None
    assert with_key == without
    assert exception_table(shared).equals(exception_table(alone))
    assert sum(r.exception_count for r in shared.tested().rules) > 0  # the comparison compared exceptions
    assert alone.prepared_charts == {} and list(shared.prepared_charts) == ["days_since_login"]
    assert shared.prepared_charts["days_since_login"] == chart_png("days_since_login", alone.tested())


def test_the_inventory_taking_the_runs_loaded_evidence_shows_exactly_what_it_loads_alone(shared_dir, monkeypatch):
    options = {"period": "2026-Q3", "evidence_dir": str(SAMPLE), "as_of": "2026-10-01"}
    alone = tested_area.TestedArea.open([], **options)
    monkeypatch.setenv(SHARED_DIR_VARIABLE, str(shared_dir))
    shared = tested_area.TestedArea.open([], **options)

    assert alone.shared_key is None and shared.shared_key is not None and shared.validation is None
    with_key, without = results_document(shared), results_document(alone)
    assert with_key.pop("shared_validation") == shared.shared_key and without.pop("shared_validation") is None
    assert with_key == without and len(without["inventory"]) > 20  # every export of the sample, hashed


@pytest.mark.parametrize("changes", [{"parameters": {"dormant_days": 61}}, {"as_of": "2026-10-02"},
                                     {"period": "2026-09"}, {"control_ids": ("CC6.1",)}, {"parameters": {}}],
                         ids=["parameter", "as-of", "period", "controls", "default-parameter"])
def test_a_notebook_opened_differently_from_what_the_run_prepared_finds_nothing(shared_dir, monkeypatch, changes):
    monkeypatch.setenv(SHARED_DIR_VARIABLE, str(shared_dir))
    asked = {"folder": SAMPLE, "period_label": "2026-Q3", "as_of": "2026-10-01", "parameters": PARAMETERS,
             "control_ids": ACCESS}
    assert find_area(**asked) is not None
    assert find_area(**{**asked, **{("period_label" if k == "period" else k): v for k, v in changes.items()}}) is None


def test_the_key_names_every_evidence_file_and_the_controls(tmp_path):
    folder = shutil.copytree(SAMPLE, tmp_path / "evidence")
    before = area_key(folder, "2026-Q3", None, {}, ACCESS)
    assert area_key(folder, "2026-Q3", None, {}, ("CC6.1",)) != before
    export = folder / read_declaration(folder).files[0].relative
    export.write_bytes(export.read_bytes() + b"\n")
    assert area_key(folder, "2026-Q3", None, {}, ACCESS) != before


def test_a_kernel_that_finds_its_key_imports_neither_gx_nor_matplotlib(shared_dir):
    printed = opening_an_area(
        f"area = ControlArea.open({list(ACCESS)!r}, period='2026-Q3', evidence_dir={str(SAMPLE)!r}, "
        f"as_of='2026-10-01', parameters={PARAMETERS!r}); area.conclusion(); area.chart('days_since_login'); "
        f"print(area.tested.status, 'great_expectations' in sys.modules, 'matplotlib' in sys.modules)", shared_dir)
    assert printed.split()[-3:] == ["exceptions", "False", "False"]


def test_a_notebook_run_alone_shows_exactly_what_its_kernel_replayed_in_the_package(sample_run, tmp_path):
    """Plain papermill (no run: the kernel loads, validates and draws itself) with the parameters the run gave
    the notebook, against the package's executed notebook, whose kernel replayed the cells the run's worker
    recorded (recorded.py): every output, results.json and exceptions.csv."""
    import nbformat

    from evidence_lib.project import PROJECT_DIR

    in_package = sample_run[1] / "73_backups"
    packaged = nbformat.read(in_package / "executed.ipynb", 4)
    parameters = {**packaged.metadata.papermill.parameters, "results_dir": str(tmp_path / "alone")}
    alone = tmp_path / "alone.ipynb"
    finished = subprocess.run([sys.executable, "-m", "papermill", "notebooks/73_backups.ipynb", str(alone),
                               "--no-progress-bar", "-y", json.dumps(parameters)], cwd=PROJECT_DIR,
                              capture_output=True, text=True, timeout=300, env=_environment())
    assert finished.returncode == 0, finished.stderr
    shown = _outputs(packaged)
    assert any("image/png" in o.get("data", {}) for cell in shown for o in cell)  # the chart is among them
    assert _outputs(nbformat.read(alone, 4)) == shown
    assert (tmp_path / "alone" / "exceptions.csv").read_bytes() == (in_package / "exceptions.csv").read_bytes()
    results = [json.loads(folder.joinpath("results.json").read_text()) for folder in (tmp_path / "alone", in_package)]
    assert results[0].pop("shared_validation") is None and results[1].pop("shared_validation")
    assert results[0] == results[1]


def _outputs(notebook) -> list[list[dict]]:
    """Each code cell's outputs as the report shows them: the stream a kernel flushed in pieces joined."""
    cells = []
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        outputs: list[dict] = []
        for output in cell.get("outputs", []):
            output = {k: v for k, v in output.items() if k != "execution_count"}
            if outputs and output["output_type"] == "stream" and outputs[-1].get("name") == output.get("name"):
                outputs[-1] = {**outputs[-1], "text": outputs[-1]["text"] + output["text"]}
            else:
                outputs.append(output)
        cells.append(outputs)
    return cells


def test_every_notebook_of_the_sample_run_used_the_runs_validation(sample_run):
    _, run_dir = sample_run
    used = {folder.name: json.loads((folder / "results.json").read_text())["shared_validation"]
            for folder in run_dir.iterdir() if (folder / "results.json").is_file()}
    manifest = json.loads((run_dir / "manifest.json").read_text())
    recorded = {n["name"]: n["shared_validation"] for n in manifest["notebooks"]}
    assert recorded == used  # the manifest says which notebooks took the run's validation, under which key
    # and that each kernel replayed the cells the run's worker recorded for it, importing no pandas
    assert {n["name"]: n["cells_replayed"] for n in manifest["notebooks"]} == dict.fromkeys(used, True)
    assert "00_inventory" in used  # tests no control, and takes the evidence the run loaded
    assert used and all(len(key or "") == 64 for key in used.values()), used
    assert len(set(used.values())) == len(used)  # one key per set of controls


def _environment() -> dict:
    import os

    return {k: v for k, v in os.environ.items() if k != SHARED_DIR_VARIABLE}


@dataclass(frozen=True)
class _WaitsForTheNotebook:
    """A preparation (run in a worker) that ends only once a notebook of the run has written its results:
    only a run that starts its notebooks beside the preparation ever lets it end early."""

    shared_dir: Path
    results: Path

    def __call__(self) -> dict:
        deadline = time.monotonic() + 120
        while not self.results.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        (self.shared_dir / ("notebook ran first" if self.results.exists() else "notebook waited")).touch()
        return {}


def test_notebooks_start_beside_the_preparation_and_the_run_says_when_it_is_over(tmp_path):
    from tests.test_redteam_run import stand_in_notebooks

    notebooks, shared = stand_in_notebooks(tmp_path / "notebooks"), tmp_path / "shared"
    shared.mkdir()
    folder = tmp_path / "40_people"
    folder.mkdir()
    preparation = _WaitsForTheNotebook(shared, folder / "results.json")
    task = NotebookTask(notebooks / "40_people.ipynb", folder, {"period": "2026-Q3", "evidence_dir": str(SAMPLE),
                                                                "results_dir": str(folder)},
                        header={"title": "stand-in", "controls": [], "period": "2026-Q3", "run_id": "test",
                                "generated_at": "2026-10-01T00:00:00+00:00", "prepared_by": "tests",
                                "parameters": {}, "inputs": {}},
                        after=preparation)
    [outcome] = execute_tasks([task], jobs=2, progress=False, label="2026-Q3")
    assert outcome.status == "pass", outcome.error
    assert sorted(p.name for p in shared.iterdir()) == ["notebook ran first"]  # and no longer 'preparing'


def _in_a_moment(action) -> threading.Thread:
    thread = threading.Thread(target=lambda: (time.sleep(0.5), action()))
    thread.start()
    return thread


def test_a_kernel_started_beside_the_preparation_waits_for_its_part(shared_dir, tmp_path, monkeypatch):
    run_folder = tmp_path / "run"
    run_folder.mkdir()
    preparing_marker(run_folder).touch()
    monkeypatch.setenv(SHARED_DIR_VARIABLE, str(run_folder))
    asked = {"folder": SAMPLE, "period_label": "2026-Q3", "as_of": "2026-10-01", "parameters": PARAMETERS,
             "control_ids": ACCESS}
    key = area_key(**asked)

    def store() -> None:  # as the preparation stores a part: written aside, then renamed
        shutil.copyfile(shared_dir / f"{key}.pickle", run_folder / "part.partial")
        (run_folder / "part.partial").replace(run_folder / f"{key}.pickle")

    started, storing = time.monotonic(), _in_a_moment(store)
    found = find_area(**asked)
    storing.join()
    assert found is not None and found.key == key and time.monotonic() - started >= 0.5


def test_a_kernel_whose_part_never_comes_computes_it_once_the_preparation_is_over(tmp_path, monkeypatch):
    run_folder = tmp_path / "run"
    run_folder.mkdir()
    preparing_marker(run_folder).touch()
    monkeypatch.setenv(SHARED_DIR_VARIABLE, str(run_folder))
    started, ending = time.monotonic(), _in_a_moment(preparing_marker(run_folder).unlink)
    found = find_area(SAMPLE, "2026-Q3", "2026-10-01", PARAMETERS, ACCESS)
    ending.join()
    assert found is None and time.monotonic() - started >= 0.5


def test_a_run_worker_defers_scipy_stats_until_it_is_used():
    """GX imports scipy.stats (`from scipy import stats`) for an expectation no suite uses; a run's worker
    (skip_unused_slow_imports) binds it without loading it, and loads it when first used."""
    script = ("import sys; from evidence_lib.notebook_runner import skip_unused_slow_imports; "
              "skip_unused_slow_imports(); from scipy import stats; "
              "print('scipy.stats._stats_py' in sys.modules, 'rfc3987_syntax' in sys.modules and "
              "sys.modules['rfc3987_syntax'] is None); "
              "print(stats.entropy([0.5, 0.5], [0.9, 0.1]))")
    found = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert found.returncode == 0, found.stderr
    deferred, skipped, entropy = found.stdout.split()[-3:]
    assert (deferred, skipped) == ("False", "True")
    # used, it is the real module: KL divergence of (1/2, 1/2) from (9/10, 1/10), by hand
    assert float(entropy) == pytest.approx(0.5 * math.log(0.5 / 0.9) + 0.5 * math.log(0.5 / 0.1))
