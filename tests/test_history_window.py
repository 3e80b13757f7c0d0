"""The four-quarter company (synth --periods) through `evidence run` and `evidence history`.

The runs are the real `run_period` (plan, evidence hashes, manifest, package, verification) with its
notebooks executed in-process: each does what the notebook's cells do — `ControlArea.open` on the
notebook's controls, then `save` — without a kernel (a kernel's start and a papermill run cost more
than the validation itself). Only the access notebooks run (CC6.1, CC6.2, CC6.3: where the window's
exceptions are planted), on a company of 40 people.

The oracle is the generator's own plan (expected_window.csv), never an earlier output of history.
"""

from __future__ import annotations

import json
import time
from itertools import pairwise

import pandas as pd
import pytest

from evidence_lib.controls import load_catalog
from evidence_lib.history import judge_window, read_runs
from evidence_lib.notebook_runner import NotebookOutcome
from evidence_lib.period import parse_period
from evidence_lib.present import ControlArea
from evidence_lib.run import run_period
from evidence_lib.synth.window import EXPECTED_WINDOW_FILE, build_window, period_range, write_window

#: what `evidence run` passes every notebook; the rest of a notebook's parameters are its thresholds
RUN_PARAMETERS = {"period", "evidence_dir", "as_of", "mask_pii", "mask_key_file", "run_id", "results_dir"}
CONTROLS = ("CC6.1", "CC6.2", "CC6.3")

pytestmark = pytest.mark.slow  # the module's fixture: three runs, about 25 s of CPU


def execute_in_process(tasks, jobs, progress, label):
    """execute_tasks' stand-in: each notebook's two calls (open its controls, save its results) in this process."""
    catalog = load_catalog()
    outcomes = []
    for task in tasks:
        started, given = time.perf_counter(), task.parameters
        controls = [c.control_id for c in catalog.controls if c.notebook == task.notebook.name]
        area = ControlArea.open(controls, period=given["period"], evidence_dir=given["evidence_dir"],
                                as_of=given.get("as_of"), mask_pii=given.get("mask_pii", False),
                                mask_key_file=given.get("mask_key_file"), run_id=given.get("run_id"),
                                parameters={k: v for k, v in given.items() if k not in RUN_PARAMETERS})
        area.save(given["results_dir"])
        (task.folder / "report.html").write_text("<p>executed in-process by tests/test_history_window.py</p>")
        results = json.loads((task.folder / "results.json").read_text(encoding="utf-8"))
        outcomes.append(NotebookOutcome(task.folder.name, results["status"], round(time.perf_counter() - started, 2),
                                        results=results))
    return outcomes


@pytest.fixture(scope="module")
def window(tmp_path_factory) -> dict:
    """The company over 2026-Q1..2026-Q4 (Q4's evidence missing), each period with evidence run once."""
    root = tmp_path_factory.mktemp("window")
    company = build_window(40, period_range("2026-Q1..2026-Q4"), seed=7)
    write_window(company, root / "evidence")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("evidence_lib.run.execute_tasks", execute_in_process)
        for label in company.companies:
            run_period(label, evidence_dir=root / "evidence" / label, out=root / "runs", only=CONTROLS, jobs=1,
                       progress=False)
    expected = pd.read_csv(root / "evidence" / EXPECTED_WINDOW_FILE, dtype=str, keep_default_na=False)
    judged = judge_window(read_runs(root / "runs"), parse_period("2026-01-01..2026-12-31"))
    return {"root": root, "company": company, "expected": expected, "history": judged}


def test_history_names_exactly_the_planted_recurring_remediated_and_new_exceptions(window):
    planted = window["expected"][window["expected"]["kind"] != "gap"]
    columns = ["kind", "control", "rule", "system", "record_key", "from_period", "to_period"]
    assert set(planted["kind"]) == {"recurring", "remediated", "new"}
    found = {tuple(row) for row in window["history"].changes[columns].itertuples(index=False)}
    assert found == {tuple(row) for row in planted[columns].itertuples(index=False)}


def test_the_period_without_evidence_is_the_only_gap(window):
    gaps = window["expected"][window["expected"]["kind"] == "gap"]
    assert list(gaps["from_period"]) == ["2026-Q4"]
    assert [(g["period"], g["control"]) for g in window["history"].gaps] == [("2026-Q4", "")]
    assert not window["history"].failed


def test_each_period_judged_its_planted_exceptions_and_its_generator_counted_populations(window):
    """Every rule of the three controls in every period: the exceptions of expected_exceptions.csv, and the
    population the generator counted (expected_populations.csv) — so "remediated" is a key still judged."""
    history, evidence = window["history"], window["root"] / "evidence"
    for label in window["company"].companies:
        cells = history.matrix[history.matrix["period"] == label].set_index("rule")
        planted = pd.read_csv(evidence / label / "expected_exceptions.csv", dtype=str, keep_default_na=False)
        populations = pd.read_csv(evidence / label / "expected_populations.csv", keep_default_na=False)
        populations = populations[populations["control"].isin(CONTROLS)].set_index("rule")["population"]
        assert set(cells["status"]) <= {"pass", "exceptions"}, label
        assert cells["population"].sort_index().to_dict() == populations.sort_index().to_dict(), label
        assert cells["exceptions"].sum() == len(planted), label
        found = history.exceptions[history.exceptions["period"] == label]
        assert {tuple(r) for r in found[["rule", "system", "record_key"]].itertuples(index=False)} == \
               {tuple(r) for r in planted[["rule", "system", "record_key"]].itertuples(index=False)}, label


def test_the_periods_are_one_company(window):
    """People keep their ids, hire dates and e-mail addresses; accounts keep their creation times."""
    companies = list(window["company"].companies.values())
    for earlier, later in pairwise(companies):
        people = {p.employee_id: (p.hire_date, p.email) for p in later.people}
        assert all(people[p.employee_id] == (p.hire_date, p.email) for p in earlier.people)
        created = {(a.system, a.account_id): a.created_at for a in later.accounts}
        kept = [(a.system, a.account_id) for a in earlier.accounts if (a.system, a.account_id) in created]
        assert len(kept) >= 0.9 * len(earlier.accounts)
        assert all(created[key] == a.created_at for a in earlier.accounts
                   if (key := (a.system, a.account_id)) in created)
    assert len(companies[-1].people) > len(companies[0].people)  # people join


def test_the_evidence_folders_are_what_the_generator_writes_again(window, tmp_path):
    write_window(build_window(40, period_range("2026-Q1..2026-Q4"), seed=7), tmp_path)
    written = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    evidence = window["root"] / "evidence"
    assert written == sorted(p.relative_to(evidence) for p in evidence.rglob("*") if p.is_file())
    assert all((tmp_path / p).read_bytes() == (evidence / p).read_bytes() for p in written)


def test_a_window_without_a_missing_period_or_too_short_is_refused():
    with pytest.raises(Exception, match="at least three periods"):
        build_window(40, period_range("2026-Q1..2026-Q2"))
    with pytest.raises(Exception, match="--periods"):
        period_range("2026-Q1..2026-06")

