"""Red team on the run: it never certifies evidence it did not test, never reports a crash as a result,
never publishes a half-written package, and never leaves its workers or kernels behind.

Most cases run in-process (CliRunner, library calls). Runs that must execute notebooks use
stand-in notebooks that start a kernel and write results.json in a second; only the signal
tests start the real `evidence run` on the sample, and kill it before it finishes.
"""

import errno
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import psutil
import pytest
import yaml

from evidence_lib.package import INCOMPLETE_PREFIX, MANIFEST, PackageBuilder, PackageError, hash_tree, verify
from evidence_lib.period import parse_period
from evidence_lib.run import (
    NotebookOutcome,
    RunError,
    _judge_inputs,
    _mask_key,
    check_as_of,
    check_evidence_period,
    run_period,
)
from evidence_lib.sources.folder import files_read, load_folder
from tests.conftest import PERIOD, ROOT, SAMPLE

Q3 = parse_period(PERIOD)

# -- stand-in notebooks ---------------------------------------------------------------------------

STAND_IN = '''
import hashlib, json, pathlib, yaml
folder = pathlib.Path(evidence_dir)
CONTROLS = {controls!r}
IGNORED = set(yaml.safe_load((folder / "evidence.yaml").read_text()).get("ignore", []))
{before}
inventory = [{{"file": p.relative_to(folder).as_posix(), "sha256": hashlib.sha256(p.read_bytes()).hexdigest()}}
             for p in sorted(folder.rglob("*")) if p.is_file() and p.relative_to(folder).as_posix() not in IGNORED]
{after}
results = {{"status": "pass", "inventory": inventory,
           "controls": [{{"control": c, "title": c, "status": "pass", "rules": []}} for c in CONTROLS]}}
pathlib.Path(results_dir, "results.json").write_text(json.dumps(results))
'''


def stand_in_notebooks(folder: Path, *, before: str = "", after: str = "") -> Path:
    """00_inventory and 40_people (CC1.4, CC2.2, as the real one) that hash the evidence folder and report
    a pass; the code in `before`/`after` runs, in 40_people only, before and after the hashing."""
    folder.mkdir()
    for name, controls in (("00_inventory.ipynb", []), ("40_people.ipynb", ["CC1.4", "CC2.2"])):
        parameters = nbformat.v4.new_code_cell("period = None\nevidence_dir = None\nmask_pii = False\n"
                                               "mask_key_file = None\nrun_id = None\nresults_dir = None")
        parameters.metadata["tags"] = ["parameters"]
        body = STAND_IN.format(controls=controls, before=before if controls else "", after=after if controls else "")
        notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(f"# Stand-in {name}"), parameters,
                                                   nbformat.v4.new_code_cell(body)])
        notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nbformat.write(notebook, folder / name)
    return folder


@pytest.fixture
def with_stand_ins(monkeypatch, tmp_path):
    """`evidence run` (in-process) executes the stand-in notebooks instead of the project's."""
    def install(**code) -> Path:
        notebooks = stand_in_notebooks(tmp_path / "notebooks", **code)
        monkeypatch.setitem(run_period.__kwdefaults__, "notebooks_dir", notebooks)
        # The stand-ins never open a ControlArea: the run's shared validation (GX, every export loaded and
        # validated, in a worker: seconds) would be prepared for nobody. test_shared_validation tests it.
        monkeypatch.setattr("evidence_lib.run._sharing_validation", lambda tasks, *_: tasks)
        return notebooks
    return install


def only_run(out: Path) -> Path:
    runs = [p for p in (out / PERIOD).iterdir()]
    assert len(runs) == 1 and not runs[0].name.startswith("."), runs
    return runs[0]


# -- 3a: evidence edited during the run -----------------------------------------------------------

def test_a_file_edited_during_the_run_and_restored_makes_the_notebook_that_read_it_an_error(
        with_stand_ins, sample_copy, tmp_path, run_cli):
    with_stand_ins(before='target = folder / "people" / "lms_completions.csv"\noriginal = target.read_bytes()\n'
                          'target.write_bytes(original + b"EMP-9999,Security Awareness Training,2026-08-01\\n")',
                   after="target.write_bytes(original)")
    out = tmp_path / "out"
    finished = run_cli("run", "--period", PERIOD, "--evidence-dir", sample_copy, "--out", out, "--jobs", 1,
                       "--only", "CC1.4")
    assert finished.exit_code == 2, finished.output
    run_dir = only_run(out)
    manifest = json.loads((run_dir / MANIFEST).read_text())
    notebooks = {n["name"]: n for n in manifest["notebooks"]}
    assert notebooks["00_inventory"]["status"] == "pass"
    assert notebooks["40_people"]["status"] == "error"
    assert "people/lms_completions.csv" in notebooks["40_people"]["error"]
    assert [(c["control"], c["status"]) for c in manifest["controls"]] == [("CC1.4", "error"), ("CC2.2", "error")]
    assert all("people/lms_completions.csv" in c["reason"] for c in manifest["controls"])
    # the folder was restored: the final re-hash alone would have certified it
    assert verify(run_dir, sample_copy).ok


def test_a_notebook_whose_results_do_not_say_what_it_read_is_an_error():
    hashes = {"a.csv": "1" * 64}
    silent = NotebookOutcome("40_people", "pass", 1.0, results={"status": "pass", "controls": []})
    honest = NotebookOutcome("10_access", "pass", 1.0, results={"inventory": [{"file": "./a.csv", "sha256": "1" * 64}]})
    other = NotebookOutcome(
        "20_offboarding", "pass", 1.0, results={"inventory": [{"file": "a.csv", "sha256": "2" * 64}]}
    )
    _judge_inputs([silent, honest, other], hashes)
    assert (silent.status, honest.status, other.status) == ("error", "pass", "error")
    assert "results.json has no inventory" in silent.error
    assert other.error.startswith("evidence changed during the run: a.csv")


# -- 3b: as-of outside the period ----------------------------------------------------------------

@pytest.mark.parametrize("as_of, message", [
    ("1900-01-01", "--as-of 1900-01-01 is outside 2026-Q3: allowed from 2026-07-01"),
    ("2026-06-30", "--as-of 2026-06-30 is outside 2026-Q3"),
    ("2027-11-05", "to 2027-11-04 (400 days after its end)"),
    ("yesterday", "--as-of 'yesterday' is not a date"),
])
def test_an_as_of_date_outside_the_period_is_exit_2_and_nothing_is_written(run_cli, tmp_path, as_of, message):
    out = tmp_path / "out"
    finished = run_cli("run", "--period", PERIOD, "--evidence-dir", SAMPLE, "--out", out, "--as-of", as_of)
    assert finished.exit_code == 2 and message in finished.stderr
    assert not out.exists()
    checked = run_cli("check", SAMPLE, "--period", PERIOD, "--as-of", as_of)
    assert checked.exit_code == 2 and message in checked.stderr


def test_the_as_of_bounds_are_the_period_start_and_400_days_after_its_end():
    # 2026-09-30 + 365 days = 2027-09-30; + 31 (October) + 4 = 2027-11-04, counted by hand
    for accepted in ("2026-07-01", "2026-09-30T23:59:59Z", "2027-11-04", "2027-11-04T23:00:00+00:00"):
        assert check_as_of(accepted, Q3) == accepted
    with pytest.raises(RunError):
        check_as_of("2026-06-30T23:59:59", Q3)


# -- 3c: evidence declared for another period ----------------------------------------------------

def test_evidence_declared_for_another_period_is_refused_unless_allowed(run_cli, sample_copy, tmp_path):
    declaration = sample_copy / "evidence.yaml"
    declaration.write_text(declaration.read_text().replace("period: 2026-Q3", "period: 2026-Q2"))
    out = tmp_path / "out"
    finished = run_cli("run", "--period", PERIOD, "--evidence-dir", sample_copy, "--out", out)
    assert finished.exit_code == 2 and "2026-Q2" in finished.stderr and "--allow-period-mismatch" in finished.stderr
    assert not out.exists()
    checked = run_cli("check", sample_copy, "--period", PERIOD)
    assert checked.exit_code == 2 and "2026-Q2" in checked.stderr and checked.stdout == ""
    check_evidence_period(sample_copy, Q3, allow_mismatch=True)  # no error


# -- 3e: write failures ---------------------------------------------------------------------------

def test_out_that_is_an_existing_file_is_exit_2_naming_it(run_cli, tmp_path):
    out = tmp_path / "out.txt"
    out.write_text("not a folder")
    finished = run_cli("run", "--period", PERIOD, "--evidence-dir", SAMPLE, "--out", out)
    assert finished.exit_code == 2, finished.output
    assert str(out) in finished.stderr and "cannot write the evidence package" in finished.stderr
    assert out.read_text() == "not a folder"


def _disk_full_under(out: Path, monkeypatch):
    real_replace = os.replace

    def replace(source, target, *args, **kwargs):
        if str(out) in str(target):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(source))
        return real_replace(source, target, *args, **kwargs)

    monkeypatch.setattr(os, "replace", replace)


def test_a_disk_full_while_finishing_a_package_publishes_nothing(tmp_path, monkeypatch):
    builder = PackageBuilder(tmp_path, PERIOD)
    _disk_full_under(tmp_path, monkeypatch)
    with pytest.raises(PackageError) as caught, builder.writing():
        (builder.work_dir / "report.html").write_text("<p>done</p>")
        builder.finish({})
    assert "No space left on device" in str(caught.value) and str(builder.work_dir) in str(caught.value)
    assert list((tmp_path / PERIOD).iterdir()) == []


def test_a_disk_full_during_a_run_is_exit_2_naming_the_path_and_publishes_nothing(
        with_stand_ins, run_cli, tmp_path, monkeypatch):
    with_stand_ins()
    out = tmp_path / "out"
    _disk_full_under(out, monkeypatch)  # the parent's writes (index, manifest); workers write in their own process
    finished = run_cli("run", "--period", PERIOD, "--evidence-dir", SAMPLE, "--out", out, "--only", "CC1.4")
    assert finished.exit_code == 2, finished.output
    assert "No space left on device" in finished.stderr and str(out / PERIOD / INCOMPLETE_PREFIX) in finished.stderr
    assert list((out / PERIOD).iterdir()) == []


# -- 2: exit codes ----------------------------------------------------------------------------------

@pytest.mark.parametrize("raised", [ZeroDivisionError("boom"), ValueError("an unexpected value"),
                                    KeyError("column"), FileNotFoundError(2, "No such file", "x")])
def test_an_unexpected_exception_is_exit_3_with_the_traceback_in_a_file(run_cli, monkeypatch, tmp_path, raised):
    def broken(*args, **kwargs):
        raise raised

    monkeypatch.setattr("evidence_lib.package.verify", broken)
    finished = run_cli("verify", tmp_path)
    assert finished.exit_code == 3
    line = finished.stderr.strip()
    assert len(line.splitlines()) == 1 and line.startswith(f"internal error: {type(raised).__name__}: ")
    path = Path(line.rsplit("(traceback in ", 1)[1].rstrip(")"))
    assert "Traceback (most recent call last)" in path.read_text() and "def broken" not in line
    path.unlink()


def test_ctrl_c_in_any_command_is_exit_130(run_cli, monkeypatch, tmp_path):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("evidence_lib.package.verify", interrupted)
    assert run_cli("verify", tmp_path).exit_code == 130


def test_the_exit_codes_are_documented_in_help(run_cli):
    shown = run_cli("--help").output
    for code in ("0 ", "1 ", "2 ", "3 ", "130", "143"):
        assert f"  {code}" in shown


# -- 3f: unfinished runs --------------------------------------------------------------------------

def test_clean_lists_and_removes_unfinished_runs_and_never_a_finished_one(run_cli, tmp_path):
    finished = PackageBuilder(tmp_path, PERIOD)
    (finished.work_dir / "index.html").write_text("done")
    finished_dir = finished.finish({})
    left_q3 = PackageBuilder(tmp_path, PERIOD).work_dir
    left_q2 = PackageBuilder(tmp_path, "2026-Q2").work_dir
    listed = run_cli("clean", tmp_path)
    assert (
        listed.exit_code == 0
        and f"unfinished: {left_q3}" in listed.output
        and f"unfinished: {left_q2}" in listed.output
    )
    assert left_q3.is_dir() and left_q2.is_dir()
    removed = run_cli("clean", tmp_path, "--period", "2026-q3", "--yes")
    assert removed.exit_code == 0 and f"removing: {left_q3}" in removed.output and str(left_q2) not in removed.output
    assert not left_q3.exists() and left_q2.is_dir()
    assert verify(finished_dir).ok
    assert "no unfinished runs" in run_cli("clean", tmp_path, "--period", PERIOD).output


# -- 4: the PII mask key ---------------------------------------------------------------------------

SEE_KEY = '''
import os, stat
key = pathlib.Path(mask_key_file)
pathlib.Path(evidence_dir).parent.joinpath("seen_key.json").write_text(json.dumps({
    "path": str(key), "text": key.read_text(), "mode": stat.S_IMODE(os.stat(key).st_mode),
    "folder_mode": stat.S_IMODE(os.stat(key.parent).st_mode)}))
'''


def test_a_per_run_mask_key_is_private_outside_the_package_and_gone_after_the_run(with_stand_ins, run_cli, tmp_path):
    with_stand_ins(after=SEE_KEY)
    evidence_dir = tmp_path / "evidence"
    evidence_dir.mkdir()  # the stand-ins write seen_key.json beside the evidence folder
    (evidence_dir / "evidence.yaml").write_text((SAMPLE / "evidence.yaml").read_text())
    out = tmp_path / "out"
    finished = run_cli("run", "--period", PERIOD, "--evidence-dir", evidence_dir, "--out", out, "--only", "CC1.4",
                       "--mask-pii")
    assert finished.exit_code == 0, finished.output
    run_dir = only_run(out)
    seen = json.loads((tmp_path / "seen_key.json").read_text())
    assert (seen["mode"], seen["folder_mode"]) == (0o600, 0o700) and len(seen["text"]) == 64
    assert not Path(seen["path"]).exists() and not Path(seen["path"]).is_relative_to(out)
    manifest = json.loads((run_dir / MANIFEST).read_text())
    assert manifest["options"]["mask_pii"] is True and manifest["options"]["mask_key"] == "per-run"
    written = b"".join(p.read_bytes() for p in run_dir.rglob("*") if p.is_file())
    assert seen["text"].encode() not in written
    # the (deleted) key file's path is in executed.ipynb's injected-parameters cell, papermill's record of the run


def test_mask_key_options_are_checked_before_anything_is_written(run_cli, tmp_path):
    short = tmp_path / "short.key"
    short.write_text("abc")
    out = tmp_path / "out"
    alone = run_cli("run", "--period", PERIOD, "--evidence-dir", SAMPLE, "--out", out, "--mask-key", short)
    assert alone.exit_code == 2 and f"--mask-key {short}: the key is only used with --mask-pii" in alone.stderr
    weak = run_cli("run", "--period", PERIOD, "--evidence-dir", SAMPLE, "--out", out, "--mask-key", short, "--mask-pii")
    assert weak.exit_code == 2 and str(short) in weak.stderr and "fewer than" in weak.stderr
    assert not out.exists()


def test_a_user_key_file_is_used_as_it_is(tmp_path):
    key = tmp_path / "mask.key"
    key.write_text("k" * 64)
    with _mask_key(True, key) as (path, kind):
        assert (path, kind) == (str(key), "user-supplied")
    assert key.read_text() == "k" * 64
    with _mask_key(False, None) as (path, kind):
        assert (path, kind) == (None, None)


# -- 3g: the manifest hashes what was read ---------------------------------------------------------

@pytest.mark.parametrize("company", ["2026-Q3", "fabrikam-2026-Q3", "custom mapping, a file missing, a wrong format"])
def test_the_files_a_run_records_as_read_are_those_loading_reads(sample_copy, company):
    """The run hashes what loading reads without parsing it (folder.files_read): the same files, same hashes."""
    folder = SAMPLE.parent / company
    if company.startswith("custom"):
        folder = sample_copy
        (folder / "mappings").mkdir()
        (folder / "mappings" / "okta.yaml").write_text(
            (ROOT / "evidence_lib" / "sources" / "mappings" / "okta_users_csv.yaml").read_text())
        text = (folder / "evidence.yaml").read_text().replace("format: okta_users_csv", "format: mappings/okta.yaml")
        (folder / "evidence.yaml").write_text(text.replace("format: jira_issues_csv", "format: okta_users_csv", 1))
        (folder / "people" / "screening_results.csv").unlink()
    loaded = load_folder(folder)
    assert files_read(folder) == loaded.files_read()
    if company.startswith("custom"):
        assert "mappings/okta.yaml" in loaded.files_read() and len(loaded.problems) >= 2


def test_the_manifest_lists_every_file_read_with_custom_mappings_and_verify_sees_a_changed_mapping(
        with_stand_ins, sample_copy, tmp_path, run_cli):
    with_stand_ins()
    mapping = sample_copy / "mappings" / "okta.yaml"
    mapping.parent.mkdir()
    mapping.write_text((ROOT / "evidence_lib" / "sources" / "mappings" / "okta_users_csv.yaml").read_text())
    declaration = sample_copy / "evidence.yaml"
    declaration.write_text(declaration.read_text().replace("format: okta_users_csv", "format: mappings/okta.yaml"))
    (sample_copy / "notes.txt").write_text("present, not declared")
    key = tmp_path / "mask.key"
    key.write_text("user-key-" * 8)
    out = tmp_path / "out"
    finished = run_cli("run", "--period", PERIOD, "--evidence-dir", sample_copy, "--out", out, "--only", "CC1.4",
                       "--mask-pii", "--mask-key", key)
    assert finished.exit_code == 0, finished.output
    run_dir = only_run(out)
    manifest = json.loads((run_dir / MANIFEST).read_text())
    assert manifest["options"]["mask_key"] == "user-supplied" and key.read_text() == "user-key-" * 8
    assert b"user-key-" not in b"".join(p.read_bytes() for p in run_dir.rglob("*") if p.is_file())
    inputs = manifest["inputs"]
    declared = [f["path"] for f in yaml.safe_load(declaration.read_text())["files"]]
    assert set(inputs["read"]) == {"evidence.yaml", "responses.yaml", "mappings/okta.yaml", *declared}
    assert inputs["evidence"]["notes.txt"] and "notes.txt" not in inputs["read"]
    # every file of the folder but those evidence.yaml ignores (the sample's answer keys)
    ignored = set(yaml.safe_load(declaration.read_text())["ignore"])
    assert inputs["evidence"] == {f: h for f, h in hash_tree(sample_copy).items() if f not in ignored}
    assert ignored & {"expected_exceptions.csv", "near_misses.csv"}
    mapping.write_text(mapping.read_text() + "# edited after the run\n")
    checked = subprocess.run([sys.executable, "-m", "evidence_lib.cli", "verify", run_dir, "--evidence", sample_copy],
                             capture_output=True, text=True)
    assert checked.returncode == 1 and checked.stdout.splitlines()[0] == "changed: mappings/okta.yaml"


# -- 3d: workers die with the run --------------------------------------------------------------------

def _start_run(out: Path, *options: str, sigint_ignored: bool = False) -> subprocess.Popen:
    # A parent may start the run with SIGINT ignored (a background job of a script): the run inherits that.
    ignore = (lambda: signal.signal(signal.SIGINT, signal.SIG_IGN)) if sigint_ignored else None
    return subprocess.Popen([sys.executable, "-m", "evidence_lib.cli", "run", "--period", PERIOD, "--evidence-dir",
                             str(SAMPLE), "--out", str(out), "--jobs", "2", *options],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=ignore)


def _family_once_kernels_run(run: subprocess.Popen, timeout: float = 120) -> list[psutil.Process]:
    """The run's descendants as soon as a notebook kernel is among them."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert run.poll() is None, run.communicate()
        family = psutil.Process(run.pid).children(recursive=True)
        if any("ipykernel" in " ".join(_cmdline(p)) for p in family):
            return family
        time.sleep(0.2)
    raise AssertionError("no kernel started")


def _cmdline(process: psutil.Process) -> list[str]:
    try:
        return process.cmdline()
    except psutil.Error:
        return []


def _survivors(family: list[psutil.Process], grace: float) -> list[str]:
    deadline = time.monotonic() + grace
    while True:
        alive = [p for p in family if _alive(p)]
        if not alive or time.monotonic() > deadline:
            return [f"{p.pid} {' '.join(_cmdline(p))[:120]}" for p in alive]
        time.sleep(0.2)


def _alive(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def test_killing_the_run_kills_its_workers_and_kernels(tmp_path, run_cli):
    out = tmp_path / "out"
    run = _start_run(out)
    family = _family_once_kernels_run(run)
    run.kill()
    run.wait(timeout=30)
    assert not _survivors(family, grace=10)
    leftover = [p for p in (out / PERIOD).iterdir()]
    assert len(leftover) == 1 and leftover[0].name.startswith(INCOMPLETE_PREFIX)
    # the next run of the period names it; `evidence clean` removes it
    refused = run_cli("run", "--period", PERIOD, "--evidence-dir", SAMPLE, "--out", out, "--as-of", "1900-01-01")
    assert refused.exit_code == 2 and f"warning: {leftover[0]} is an unfinished run" in refused.stderr
    assert run_cli("clean", out, "--yes").exit_code == 0 and not leftover[0].exists()


@pytest.mark.parametrize("signum, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_an_interrupted_run_stops_its_workers_and_publishes_nothing(tmp_path, signum, code):
    out = tmp_path / "out"
    run = _start_run(out)
    family = _family_once_kernels_run(run)
    started = time.monotonic()
    run.send_signal(signum)
    _, stderr = run.communicate(timeout=60)
    assert run.returncode == code, stderr
    assert time.monotonic() - started < 20, "the run waited for its notebooks instead of stopping them"
    assert "nothing was published" in stderr
    # stopped by the run itself, not later by their own watch on the run (which polls every 0.5 s)
    assert not _survivors(family, grace=0.3)
    assert list((out / PERIOD).iterdir()) == []


def test_an_interrupt_stops_a_run_started_with_sigint_ignored(tmp_path):
    out = tmp_path / "out"
    run = _start_run(out, "--only", "CC1.4", sigint_ignored=True)
    _family_once_kernels_run(run)
    run.send_signal(signal.SIGINT)
    _, stderr = run.communicate(timeout=60)
    assert run.returncode == 130 and "nothing was published" in stderr, stderr
    assert list((out / PERIOD).iterdir()) == []


def test_per_run_key_folder_mode_is_private():
    with _mask_key(True, None) as (path, kind):
        assert kind == "per-run"
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert not Path(path).exists()


def test_check_json_to_an_unwritable_path_is_exit_2_naming_it(run_cli, tmp_path, monkeypatch):
    class Judged:  # the rules are not what this test is about: a stand-in validation, instantly
        status, as_of = "pass", __import__("pandas").Timestamp("2026-10-01", tz="UTC")

        def summary(self):
            import pandas as pd

            return pd.DataFrame({"status": ["pass"], "exceptions": [0]})

        def as_dict(self):
            return {}

    monkeypatch.setattr(sys.modules["evidence_lib.validate"], "validate", lambda *a, **k: Judged())
    target = tmp_path / "results.json"
    target.mkdir()  # a folder where the file should go
    finished = run_cli("check", SAMPLE, "--period", PERIOD, "--json", target)
    assert finished.exit_code == 2 and f"error: {target}: cannot write the results" in finished.stderr


@pytest.mark.parametrize("escape", ["dotdot path", "symlinked file", "outside mapping", "symlinked folder"])
def test_evidence_reaching_outside_its_folder_is_exit_2_and_no_package(run_cli, sample_copy, tmp_path, escape):
    outside = tmp_path / "outside"
    outside.mkdir()
    roster = sample_copy / "accounts" / "okta_users.csv"
    (outside / "okta_users.csv").write_bytes(roster.read_bytes())
    spec = yaml.safe_load((sample_copy / "evidence.yaml").read_text())
    okta = next(f for f in spec["files"] if f["path"] == "accounts/okta_users.csv")
    if escape == "dotdot path":
        roster.unlink()
        okta["path"] = "../outside/okta_users.csv"
    elif escape == "symlinked file":
        roster.unlink()
        roster.symlink_to(outside / "okta_users.csv")
    elif escape == "outside mapping":
        from evidence_lib.sources.mapping import builtin_mappings

        (outside / "okta.yaml").write_text(
            builtin_mappings()["okta_users_csv"]
            .read_text()
            .replace("mfa_enabled: {from: MFA Enrolled}", "mfa_enabled: {constant: true}")
        )
        okta["format"] = "../outside/okta.yaml"
    else:
        shutil.move(str(sample_copy / "accounts"), str(outside / "accounts"))
        (sample_copy / "accounts").symlink_to(outside / "accounts", target_is_directory=True)
    (sample_copy / "evidence.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    out = tmp_path / "packages"
    result = run_cli("run", "--period", "2026-Q3", "--evidence-dir", sample_copy, "--out", out)
    assert result.exit_code == 2, result.output
    assert "outside the evidence folder" in result.output and "okta" in result.output, result.output
    assert not out.exists() or not any(p.name[0].isdigit() for p in out.rglob("*") if p.is_dir())


def test_pdf_prints_every_report_and_the_index_into_the_hashed_package(with_stand_ins, run_cli, sample_copy,
                                                                        tmp_path):
    with_stand_ins()
    out = tmp_path / "out"
    finished = run_cli("run", "--period", PERIOD, "--evidence-dir", sample_copy, "--out", out, "--only", "CC1.4",
                       "--pdf")
    assert finished.exit_code == 0, finished.output
    run_dir = only_run(out)
    manifest = json.loads((run_dir / MANIFEST).read_text())
    assert {"index.pdf", "00_inventory/report.pdf", "40_people/report.pdf"} <= set(manifest["outputs"])
    assert manifest["options"]["pdf"] is True and verify(run_dir).ok
    text = subprocess.run(["pdftotext", "-layout", run_dir / "index.pdf", "-"], capture_output=True, text=True,
                          check=True).stdout
    assert "CC1.4" in text and manifest["run_id"] in text
