"""`evidence reperform`: the same notebooks on the same evidence give the same verdicts; one changed row
shows as exactly the rule it changes.

The notebooks are stand-ins (a kernel each, a second or two) whose results.json this file writes: CC1.4's
rule has an exception per screening row not "Complete - Clear"; CC2.2's two rules count the training
rows, one with an exception per course not "Completed". The expected differences come from the rows
this file edits, not from the code under test. The notebooks run in this process, one after the other
(`in_process`), not in spawned workers: a worker's start costs more than a stand-in's whole run.
"""

import csv
import json
import shutil

import nbformat
import pytest

from evidence_lib import run as run_module
from evidence_lib.notebook_runner import run_notebook
from evidence_lib.package import MANIFEST
from evidence_lib.reperform import ReperformError, reperform
from evidence_lib.run import run_period
from tests.conftest import PERIOD, SAMPLE

SCREENING = "people/screening_results.csv"

STAND_IN = '''
import csv, hashlib, json, pathlib, yaml
folder = pathlib.Path(evidence_dir)
IGNORED = set(yaml.safe_load((folder / "evidence.yaml").read_text()).get("ignore", []))
inventory = [{"file": p.relative_to(folder).as_posix(), "sha256": hashlib.sha256(p.read_bytes()).hexdigest()}
             for p in sorted(folder.rglob("*")) if p.is_file() and p.relative_to(folder).as_posix() not in IGNORED]
def rows(name):
    with open(folder / name, newline="", encoding="utf-8") as stream:
        return list(csv.DictReader(stream))
def rule(rule_id, population, exceptions):
    return {"rule": rule_id, "text": rule_id, "status": "exceptions" if exceptions else "pass",
            "population": len(population), "exception_count": len(exceptions), "reason": "",
            "exceptions": exceptions}
screening, training = rows("people/screening_results.csv"), rows("people/lms_completions.csv")
CC14 = [rule("background_check_before_hire", screening,
             [{"employee_id": r["Candidate ID"], "system": ""} for r in screening
              if r["Report Status"] != "Complete - Clear"])]
CC22 = [rule("training_within_due_days", training,
             [{"employee_id": r["Employee ID"]} for r in training if r["Status"] != "Completed"]),
        rule("annual_training_current", training, [])]
controls = [{"control": c, "title": c, "status": "exceptions" if any(r["exceptions"] for r in rules) else "pass",
             "rules": rules} for c, rules in (("CC1.4", CC14), ("CC2.2", CC22))] if {controls!r} else []
results = {"status": "pass", "inventory": inventory, "controls": controls}
pathlib.Path(results_dir, "results.json").write_text(json.dumps(results))
'''


def stand_ins(folder):
    folder.mkdir()
    for name, tests in (("00_inventory.ipynb", False), ("40_people.ipynb", True)):
        parameters = nbformat.v4.new_code_cell("period = None\nevidence_dir = None\nmask_pii = False\n"
                                               "mask_key_file = None\nrun_id = None\nresults_dir = None\n"
                                               "as_of = None")
        parameters.metadata["tags"] = ["parameters"]
        notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(f"# Stand-in {name}"), parameters,
                                                   nbformat.v4.new_code_cell(STAND_IN.replace("{controls!r}",
                                                                                              repr(tests)))])
        notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nbformat.write(notebook, folder / name)
    return folder


def in_process(tasks, jobs, progress, label):
    """execute_tasks without worker processes: each notebook in turn, here."""
    return [run_notebook(task) for task in tasks]


@pytest.fixture(scope="module")
def stand_in_dir(tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(run_module, "execute_tasks", in_process)
        yield stand_ins(tmp_path_factory.mktemp("reperform") / "notebooks")


@pytest.fixture
def with_stand_ins(monkeypatch, stand_in_dir):
    monkeypatch.setitem(run_period.__kwdefaults__, "notebooks_dir", stand_in_dir)
    monkeypatch.setattr(run_module, "execute_tasks", in_process)
    return stand_in_dir


@pytest.fixture(scope="module")
def package(tmp_path_factory, stand_in_dir):
    """The stand-ins' package of the sample (CC1.4 and CC2.2, as of a fixed time), and the evidence it tested."""
    root = tmp_path_factory.mktemp("package")
    evidence = root / "evidence"
    shutil.copytree(SAMPLE, evidence)
    result = run_period(PERIOD, evidence_dir=evidence, out=root / "out", only=("CC1.4", "CC2.2"), jobs=2,
                        as_of="2026-10-01T06:00:00Z", notebooks_dir=stand_in_dir, progress=False,
                        preparer="Ana Ruiz")
    assert result.status in ("pass", "exceptions"), [o.error for o in result.outcomes]
    return result.run_dir, evidence


def edit_screening_row(evidence, candidate, status):
    path = evidence / SCREENING
    with open(path, newline="", encoding="utf-8") as stream:
        rows = list(csv.DictReader(stream))
    fields = list(rows[0])
    assert sum(r["Candidate ID"] == candidate for r in rows) == 1
    for row in rows:
        if row["Candidate ID"] == candidate:
            assert row["Report Status"] != status
            row["Report Status"] = status
    with open(path, "w", newline="", encoding="utf-8") as stream:
        writer = csv.DictWriter(stream, fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def test_reperforming_on_the_same_evidence_is_identical_and_sets_the_tool_versions_side_by_side(
        package, with_stand_ins, run_cli, tmp_path):
    run_dir, evidence = package
    record = tmp_path / "reperformance.json"
    finished = run_cli("reperform", run_dir, "--evidence", evidence, "--jobs", 2, "--json", record)
    assert finished.exit_code == 0, finished.output
    assert finished.output.strip().splitlines()[-1] == "re-performed: identical (3 rules compared)"
    written = json.loads(record.read_text())
    tools = json.loads((run_dir / MANIFEST).read_text())["tools"]
    assert {t: v["package"] for t, v in written["tools"].items()} == tools
    assert written["identical"] and written["differences"] == [] and written["inputs"] == []


def test_one_changed_evidence_row_is_named_with_exactly_the_rule_it_changes(package, with_stand_ins, tmp_path):
    run_dir, evidence = package
    changed = tmp_path / "evidence"
    shutil.copytree(evidence, changed)
    edit_screening_row(changed, "E10001", "Consider")  # E10001 is "Complete - Clear" in the sample
    result = reperform(run_dir, changed, jobs=2)
    assert not result.identical
    assert result.evidence.changed == [SCREENING] and not result.evidence.added and not result.evidence.missing
    assert len(result.differences) == 1, result.differences
    line = result.differences[0]
    assert line.startswith("CC1.4 background_check_before_hire: ")
    assert "exceptions only in the re-performance: E10001" in line
    assert result.rules_compared == 3


def test_a_package_that_fails_verification_is_not_reperformed(package, tmp_path):
    run_dir, evidence = package
    copy = tmp_path / run_dir.name
    shutil.copytree(run_dir, copy)
    results = copy / "40_people" / "results.json"
    results.chmod(0o644)
    results.write_text(results.read_text() + " ")
    with pytest.raises(ReperformError, match=r"differ from manifest\.json"):
        reperform(copy, evidence)


def test_the_package_verdicts_changed_by_hand_show_as_differences(package, tmp_path):
    from evidence_lib.reperform import compare_verdicts, package_verdicts

    run_dir, _ = package
    verdicts = package_verdicts(run_dir)
    assert set(verdicts) == {("CC1.4", "background_check_before_hire", "40_people"),
                             ("CC2.2", "training_within_due_days", "40_people"),
                             ("CC2.2", "annual_training_current", "40_people")}
    altered = dict(verdicts)
    was = altered[("CC2.2", "annual_training_current", "40_people")]
    altered[("CC2.2", "annual_training_current", "40_people")] = type(was)("error", was.population - 1, 0, frozenset())
    altered[("IPE", "dates_plausible", "40_people")] = type(was)("pass", 3, 0, frozenset())
    lines, compared = compare_verdicts(verdicts, altered)
    assert compared == 3 and lines == [f"CC2.2 annual_training_current: status {was.status} -> error; "
                                       f"population {was.population} -> {was.population - 1}",
                                       "IPE dates_plausible in 40_people: only in the re-performance"]
