"""End to end: `evidence run` on the sample company, the package it writes, and `evidence verify`."""

import dataclasses
import getpass
import hashlib
import html
import json
import re
import shutil
import subprocess
from datetime import UTC, datetime

import pandas as pd
import pytest
import yaml
from markupsafe import escape

from evidence_lib.controls import load_catalog
from evidence_lib.package import (
    MANIFEST,
    PackageBuilder,
    PackageError,
    hash_tree,
    neutralise_formula,
    new_run_id,
    verify,
)
from evidence_lib.project import NOTEBOOKS_DIR
from evidence_lib.run import EXPLORE_NOTEBOOK, RunError, default_preparer, plan_run, run_period
from tests.conftest import PERIOD, SAMPLE, evidence


def results_exceptions(run_dir):
    """(control, rule, system, record_key) of every exception in every results.json of the package, the record key
    made as expected_exceptions.csv writes it: the rule's view's key columns (the catalog's), joined with ':'."""
    catalog = load_catalog()
    views = {rule.rule_id: catalog.views[rule.view].key for rule in catalog.rules}
    found = set()
    for path in run_dir.glob("*/results.json"):
        for control in json.loads(path.read_text())["controls"]:
            for rule in control["rules"]:
                named = [column for column in views[rule["rule"]] if column != "system"]
                for row in rule["exceptions"]:
                    key = ":".join(str(row[column]) for column in named)
                    found.add((control["control"], rule["rule"], row.get("system") or "", key))
    return found


def test_sample_period_run_finds_exactly_the_planted_exceptions(sample_run):
    finished, run_dir = sample_run
    assert finished.returncode == 1, finished.stderr  # the sample company has exceptions, and no errors
    expected = pd.read_csv(SAMPLE / "expected_exceptions.csv", dtype=str, keep_default_na=False)
    assert results_exceptions(run_dir) == set(expected.itertuples(index=False, name=None))
    assert f"open {run_dir / 'index.html'}" in finished.stdout


def test_package_layout_and_manifest(sample_run):
    _, run_dir = sample_run
    notebooks = sorted(p.stem for p in NOTEBOOKS_DIR.glob("*.ipynb") if p.name != EXPLORE_NOTEBOOK)  # --with-explore
    assert sorted(p.name for p in run_dir.iterdir() if p.is_dir()) == notebooks
    for name in notebooks:
        assert {p.name for p in (run_dir / name).iterdir()} == {"executed.ipynb", "report.html", "results.json",
                                                                   "exceptions.csv"}
    manifest = json.loads((run_dir / MANIFEST).read_text())
    assert manifest["run_id"] == run_dir.name and manifest["exit_code"] == 1
    assert manifest["outputs"] == hash_tree(run_dir, skip=(MANIFEST,))
    answer_key = {"expected_exceptions.csv", "near_misses.csv", "expected_populations.csv"}
    assert manifest["inputs"]["evidence"] == {f: h for f, h in hash_tree(SAMPLE).items() if f not in answer_key}
    assert set(manifest["inputs"]["notebooks"]) == {f"{n}.ipynb" for n in notebooks}
    assert {"python", "pandas", "great-expectations", "papermill", "nbconvert"} <= set(manifest["tools"])
    assert manifest["started_at"] <= manifest["finished_at"] and manifest["project_commit"]
    assert manifest["parameters"]["deprovision_sla_days"] == 1
    assert not [p for p in run_dir.parent.iterdir() if p.name.startswith(".")], "no half-written run is left behind"


def test_index_shows_every_control_with_its_status_and_exception_count(sample_run):
    _, run_dir = sample_run
    page = (run_dir / "index.html").read_text()
    expected = pd.read_csv(SAMPLE / "expected_exceptions.csv", dtype=str, keep_default_na=False)
    responses = yaml.safe_load((SAMPLE / "responses.yaml").read_text())["responses"]
    for control in load_catalog().controls:
        count = int((expected["control"] == control.control_id).sum())
        row = page.split(f"<td>{control.control_id}</td>", 1)[1].split("</tr>", 1)[0]
        assert '<span class="status exceptions">exceptions</span>' in row
        # the sample's responses.yaml answers planted exceptions; one with an expiry has lapsed
        responded = sum(1 for r in responses if r["control"] == control.control_id and "expires" not in r
                        and ((expected["rule"] == r["rule"]) & (expected["record_key"] == r["key"])).any())
        assert f'<td class="number">{count}<br><small>{count - responded} open, {responded} responded</small></td>' \
            in row
        assert f'href="{control.notebook.removesuffix(".ipynb")}/report.html"' in row


def test_reports_hide_code_and_carry_the_run_header(sample_run):
    _, run_dir = sample_run
    report = (run_dir / "20_offboarding" / "report.html").read_text()
    assert "ControlArea.open" not in report  # code hidden without --with-code
    assert run_dir.name in report and "CC6.2 Registration and removal of access" in report
    assert hash_tree(SAMPLE)["accounts/okta_users.csv"] in report
    assert "data:image/png;base64," in report  # the chart is embedded, not linked
    for external in ('src="http', "src='http", 'href="http', "require.min.js", "mathjax", "mermaid"):
        assert external not in report.lower()


def test_exceptions_csv_lists_every_exception_of_the_notebook(sample_run):
    _, run_dir = sample_run
    table = pd.read_csv(run_dir / "20_offboarding" / "exceptions.csv", dtype=str, keep_default_na=False)
    expected = pd.read_csv(SAMPLE / "expected_exceptions.csv", dtype=str, keep_default_na=False)
    assert sorted(zip(table["rule"], table["record_key"])) == sorted(
        zip(*expected.loc[expected["control"] == "CC6.2", ["rule", "record_key"]].T.values))


def _git_user_or_login(folder) -> str:
    """What the README says the default preparer is, asked of git and the OS directly."""
    found = subprocess.run(["git", "-C", str(folder), "config", "user.name"], capture_output=True, text=True)
    return found.stdout.strip() if found.returncode == 0 and found.stdout.strip() else getpass.getuser()


def test_the_preparer_is_in_the_manifest_every_report_header_and_the_index(sample_run):
    _, run_dir = sample_run
    preparer = _git_user_or_login(SAMPLE)
    assert json.loads((run_dir / MANIFEST).read_text())["prepared_by"] == preparer
    reports = sorted(run_dir.glob("*/report.html"))
    assert len(reports) == len([p for p in NOTEBOOKS_DIR.glob("*.ipynb") if p.name != EXPLORE_NOTEBOOK])
    for report in reports:
        assert f"<tr><th>Prepared by</th><td>{escape(preparer)}</td></tr>" in report.read_text(), report
    index = (run_dir / "index.html").read_text()
    assert f"<tr><th>Prepared by</th><td>{escape(preparer)}</td></tr>" in index
    assert "<tr><th>Reviewed by</th>" in index and "evidence verify" in index


def test_the_run_prints_the_manifest_sha256_on_its_last_line(sample_run):
    finished, run_dir = sample_run
    digest = hashlib.sha256((run_dir / MANIFEST).read_bytes()).hexdigest()
    assert finished.stdout.splitlines()[-1] == f"manifest sha256: {digest}"


def test_the_preparer_option_reaches_the_manifest_and_a_blank_one_is_refused(run_cli, tmp_path, monkeypatch):
    from tests.test_redteam_run import stand_in_notebooks  # notebooks that finish in a second

    monkeypatch.setitem(run_period.__kwdefaults__, "notebooks_dir", stand_in_notebooks(tmp_path / "notebooks"))
    monkeypatch.setattr("evidence_lib.run._sharing_validation", lambda tasks, *_: tasks)  # unread
    out = tmp_path / "out"
    blank = run_cli("run", "--period", PERIOD, "--evidence-dir", SAMPLE, "--out", out, "--only", "CC1.4",
                    "--preparer", " ")
    assert blank.exit_code == 2 and "--preparer ' ': give the preparer's name" in blank.stderr
    assert not out.exists()
    finished = run_cli("run", "--period", PERIOD, "--evidence-dir", SAMPLE, "--out", out, "--only", "CC1.4",
                       "--jobs", 1, "--preparer", "Ana Ruiz")
    assert finished.exit_code == 0, finished.output
    (run_dir,) = (out / PERIOD).iterdir()
    manifest = (run_dir / MANIFEST).read_bytes()
    assert json.loads(manifest)["prepared_by"] == "Ana Ruiz"
    assert finished.stdout.splitlines()[-1] == f"manifest sha256: {hashlib.sha256(manifest).hexdigest()}"


def test_the_default_preparer_is_the_git_user_of_the_evidence_folder_else_the_login_name(tmp_path, monkeypatch):
    repository = tmp_path / "evidence"
    subprocess.run(["git", "init", "-q", str(repository)], check=True)
    subprocess.run(["git", "-C", str(repository), "config", "user.name", "Ana  Ruiz"], check=True)
    assert default_preparer(repository) == "Ana Ruiz"
    monkeypatch.setattr("evidence_lib.run.subprocess.run", _no_git)
    monkeypatch.setattr("evidence_lib.run.getpass.getuser", lambda: "aruiz")
    assert default_preparer(repository) == "aruiz"


def _no_git(*args, **kwargs):
    raise FileNotFoundError(2, "No such file or directory", "git")


def test_the_plan_checks_and_resolves_every_argument_and_is_frozen(tmp_path):
    plan = plan_run(PERIOD, evidence_dir=SAMPLE, out=tmp_path / "out", only=("CC1.4",), preparer=" Ana\n Ruiz ",
                    parameters={"dormant_days": 60})
    # controls.yaml: CC1.4 is tested by 40_people, which also tests CC2.2 (the notebook opens both, so its
    # header names both and the run prepares both); the inventory notebook always runs
    assert dict(plan.notebooks) == {"00_inventory.ipynb": (), "40_people.ipynb": ("CC1.4", "CC2.2")}
    assert plan.preparer == "Ana Ruiz" and plan.parameters["dormant_days"] == 60
    assert plan.evidence_dir == SAMPLE.resolve() and plan.period.label == PERIOD
    with pytest.raises(dataclasses.FrozenInstanceError):
        plan.jobs = 4
    for blank in ("", "  ", "\n", "x" * 201):
        with pytest.raises(RunError, match="--preparer"):
            plan_run(PERIOD, evidence_dir=SAMPLE, out=tmp_path / "out", preparer=blank)
    assert not (tmp_path / "out").exists()


def test_verify_passes_then_names_a_changed_added_and_missing_file(sample_run, tmp_path):
    _, run_dir = sample_run
    assert evidence("verify", run_dir).returncode == 0
    copy = tmp_path / run_dir.name
    shutil.copytree(run_dir, copy)
    for path in copy.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    report = copy / "10_access" / "report.html"
    data = bytearray(report.read_bytes())
    data[len(data) // 2] ^= 0x01
    report.write_bytes(bytes(data))
    (copy / "40_people" / "exceptions.csv").unlink()
    (copy / "notes.txt").write_text("added later")
    checked = evidence("verify", copy)
    assert checked.returncode == 1
    assert checked.stdout.splitlines()[:3] == ["changed: 10_access/report.html", "added:   notes.txt",
                                               "missing: 40_people/exceptions.csv"]


def test_verify_checks_evidence_in_hand_against_the_evidence_the_run_tested(sample_run, sample_copy):
    _, run_dir = sample_run
    assert evidence("verify", run_dir, "--evidence", sample_copy).returncode == 0
    completions = sample_copy / "people" / "lms_completions.csv"
    completions.write_text(completions.read_text() + "\n")
    checked = evidence("verify", run_dir, "--evidence", sample_copy)
    assert checked.returncode == 1 and checked.stdout.splitlines()[0] == "changed: people/lms_completions.csv"


def test_verify_refuses_a_folder_that_is_not_a_package(tmp_path):
    checked = evidence("verify", tmp_path)
    assert checked.returncode == 2 and "manifest.json not found" in checked.stderr


def test_second_run_of_the_period_gets_a_new_id_and_leaves_the_first_untouched(sample_run, tmp_path):
    # the shared package, copied into an out folder of this test's own (other workers read the shared one)
    first = tmp_path / "out" / PERIOD / sample_run[1].name
    shutil.copytree(sample_run[1], first)
    before = hash_tree(first)
    out = first.parent.parent
    finished = evidence(
        "run",
        "--period",
        PERIOD,
        "--evidence-dir",
        SAMPLE,
        "--out",
        out.name,  # relative, as in the README
        "--only",
        "CC1.4",
        "--jobs",
        1,
        "--mask-pii",
        "--with-code",
        cwd=out.parent,
    )
    assert finished.returncode == 1, finished.stderr
    runs = sorted(p.name for p in first.parent.iterdir())
    assert len(runs) == 2 and first.name in runs
    assert hash_tree(first) == before
    second = first.parent / next(r for r in runs if r != first.name)
    assert {p.name for p in (second / "40_people").iterdir()} >= {"results.json", "exceptions.csv"}
    assert sorted(p.name for p in second.iterdir() if p.is_dir()) == ["00_inventory", "40_people"]
    # --mask-pii: the people behind CC1.4's exceptions are not named anywhere in what the run wrote
    names = _people_named_in(first / "40_people" / "results.json", "background_check_before_hire")
    assert len(names) == 3
    written = "".join(p.read_text() for p in (second / "40_people").iterdir())
    assert not [n for n in names if n in written] and "person-" in written
    shown = re.sub(r"<[^>]+>", "", (second / "40_people" / "report.html").read_text())
    assert "area = ControlArea.open(" in html.unescape(shown)  # --with-code


def _people_named_in(results_path, rule_id):
    controls = json.loads(results_path.read_text())["controls"]
    return {row["name"] for c in controls for r in c["rules"] if r["rule"] == rule_id for row in r["exceptions"]}


def test_run_refuses_unknown_parameters_and_controls_before_writing_anything(tmp_path):
    for args, message in ((["--period", PERIOD, "--param", "sla=3"], "unknown parameter"),
                          (["--period", PERIOD, "--only", "CC9.9"], "unknown control"),
                          (["--start", "2026-07-01"], "both --start and --end"),
                          (["--start", "2026-09-30", "--end", "2026-07-01"], "is after end")):
        finished = evidence("run", "--evidence-dir", SAMPLE, "--out", tmp_path, *args)
        assert finished.returncode == 2 and message in finished.stderr
    assert not list(tmp_path.iterdir())


def test_hostile_evidence_is_inert_in_html_and_csv(sample_copy, tmp_path):
    okta = sample_copy / "accounts" / "okta_users.csv"
    text = okta.read_text(encoding="utf-8-sig")
    text = text.replace("Noah García", "<script>alert(1)</script>").replace(
        "Noah Jensen", '"=HYPERLINK(""http://x"",""y"")"')
    okta.write_text("\ufeff" + text, encoding="utf-8")
    preparer = 'Ana <img src=x onerror="alert(2)"> Ruiz'
    result = run_period(PERIOD, evidence_dir=sample_copy, out=tmp_path / "out", only=("CC6.1",), progress=False,
                        preparer=preparer)
    report = (result.run_dir / "10_access" / "report.html").read_text()
    assert "<script>alert(1)</script>" not in report
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in report
    assert json.loads((result.run_dir / MANIFEST).read_text())["prepared_by"] == preparer
    for page in (report, (result.run_dir / "index.html").read_text()):
        assert "<img src=x" not in page and "Prepared by</th><td>Ana &lt;img src=x onerror=" in page
    table = pd.read_csv(result.run_dir / "10_access" / "exceptions.csv", dtype=str, keep_default_na=False)
    names = set(table["display_name"])
    assert "'=HYPERLINK(\"http://x\",\"y\")" in names and "<script>alert(1)</script>" in names
    assert not any(value.startswith(("=", "+", "-", "@")) for value in table.to_numpy().ravel())


def test_a_notebook_that_raises_yields_exit_2_an_error_row_and_html_showing_the_error(tmp_path, monkeypatch):
    # What the run does with a notebook that raises does not depend on the notebook: the stand-in 40_people
    # (CC1.4) raises half-way through its cell, and the run must still render it, name it and exit 2.
    from tests.test_redteam_run import stand_in_notebooks

    notebooks = stand_in_notebooks(tmp_path / "notebooks", before='raise RuntimeError("planted failure in the middle")')
    monkeypatch.setattr("evidence_lib.run._sharing_validation", lambda tasks, *_: tasks)
    result = run_period(PERIOD, evidence_dir=SAMPLE, out=tmp_path / "out", only=("CC1.4",), notebooks_dir=notebooks,
                        progress=False)
    assert result.exit_code == 2
    folder = result.run_dir / "40_people"
    assert (folder / "executed.ipynb").is_file() and not (folder / "results.json").exists()
    assert "planted failure in the middle" in (folder / "report.html").read_text()
    index = (result.run_dir / "index.html").read_text()
    row = index.split("<td>CC1.4</td>", 1)[1].split("</tr>", 1)[0]
    assert '<span class="status error">error</span>' in row and "planted failure in the middle" in row
    manifest = json.loads((result.run_dir / MANIFEST).read_text())
    assert manifest["exit_code"] == 2 and set(manifest["outputs"]) >= {"40_people/report.html"}


def test_formula_cells_are_neutralised_and_other_values_kept():
    assert [neutralise_formula(v) for v in ["=1+1", "+1", "-2", "@SUM(A1)", "\tx", "ok", 5, None]] == \
        ["'=1+1", "'+1", "'-2", "'@SUM(A1)", "'\tx", "ok", 5, None]


def test_a_finished_run_is_never_overwritten(tmp_path):
    builder = PackageBuilder(tmp_path, PERIOD, run_id="20260101T000000Z-aaaaaa")
    (builder.work_dir / "note.txt").write_text("first")
    first = builder.finish({})
    with pytest.raises(PackageError, match="never overwritten"):
        PackageBuilder(tmp_path, PERIOD, run_id="20260101T000000Z-aaaaaa")
    assert (first / "note.txt").read_text() == "first" and verify(first).ok
    assert new_run_id() != new_run_id()


def test_runs_of_one_period_started_together_do_not_collide(tmp_path):
    same_second = datetime(2026, 10, 1, 6, 0, tzinfo=UTC)
    builders = [PackageBuilder(tmp_path, PERIOD, run_id=new_run_id(same_second)) for _ in range(2)]
    for number, builder in enumerate(builders):
        (builder.work_dir / "n.txt").write_text(str(number))
    finished = [b.finish({}) for b in reversed(builders)]
    assert finished[0] != finished[1] and all(verify(f).ok for f in finished)
    assert sorted((f / "n.txt").read_text() for f in finished) == ["0", "1"]
