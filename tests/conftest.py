import fcntl
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from evidence_lib.cli import main
from evidence_lib.shared_validation import SHARED_DIR_VARIABLE

ROOT = Path(__file__).resolve().parent.parent
PERIOD = "2026-Q3"
SAMPLE = ROOT / "data" / "samples" / PERIOD
NOTEBOOKS = ROOT / "notebooks"
#: the folder of the notebooks' prepared validations, named to the workers by the controller (see below)
NBVAL_SHARED = "EVIDENCE_TEST_NBVAL_SHARED"
#: the one control notebook nbval runs with nothing prepared: its kernel imports GX and validates, as
#: a notebook opened alone in JupyterLab does
STANDALONE_NOTEBOOK = "30_change_management.ipynb"


def evidence(*args, cwd=None) -> subprocess.CompletedProcess:
    """The `evidence` command in its own process, as a scheduler runs it."""
    return subprocess.run([sys.executable, "-m", "evidence_lib.cli", *map(str, args)], capture_output=True,
                          text=True, cwd=cwd, timeout=900)


def opening_an_area(statements: str, shared_dir: Path | None = None) -> str:
    """What Python statements after `from evidence_lib.present import ControlArea` print, in a fresh
    interpreter as a notebook's kernel starts: in a run's worker (shared_dir named to it) or alone (None)."""
    environment = {k: v for k, v in os.environ.items() if k != SHARED_DIR_VARIABLE}
    if shared_dir is not None:
        environment[SHARED_DIR_VARIABLE] = str(shared_dir)
    finished = subprocess.run([sys.executable, "-c", f"import sys; from evidence_lib.present import ControlArea; "
                               f"{statements}"], capture_output=True, text=True, timeout=300, env=environment)
    assert finished.returncode == 0, finished.stderr
    return finished.stdout


def _run_sample(out: Path) -> tuple[subprocess.CompletedProcess, Path]:
    finished = evidence("run", "--period", PERIOD, "--evidence-dir", SAMPLE, "--out", out, "--jobs", 2)
    runs = list((out / PERIOD).iterdir())
    assert len(runs) == 1, (finished.stdout, finished.stderr)
    return finished, runs[0]


@pytest.fixture(scope="session")
def sample_run(tmp_path_factory):
    """One `evidence run` of the sample period (--jobs 2), shared by the package and browser tests.

    Under pytest-xdist a session fixture runs once per worker: the run is made once for the whole
    session instead, by the first worker to ask (under a lock, in the session's shared temporary
    folder), and the others read its record. Every user only reads the package or copies it."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return _run_sample(tmp_path_factory.mktemp("packages"))
    shared = tmp_path_factory.getbasetemp().parent  # this session's, common to its workers
    record = shared / "sample_run.json"
    with (shared / "sample_run.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not record.is_file():
            out = shared / "sample_run"
            shutil.rmtree(out, ignore_errors=True)  # a worker whose run failed its assertion above
            finished, run_dir = _run_sample(out)
            record.write_text(json.dumps({"args": [str(a) for a in finished.args], "returncode": finished.returncode,
                                          "stdout": finished.stdout, "stderr": finished.stderr,
                                          "run_dir": str(run_dir)}))
    done = json.loads(record.read_text())
    return (subprocess.CompletedProcess(done["args"], done["returncode"], done["stdout"], done["stderr"]),
            Path(done["run_dir"]))


@pytest.fixture
def sample_copy(tmp_path) -> Path:
    """A private copy of the sample evidence folder, to corrupt."""
    target = tmp_path / "evidence"
    shutil.copytree(SAMPLE, target)
    return target


@pytest.fixture
def run_cli():
    def run(*args):
        return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)

    return run


# -- nbval: validate once for every notebook ---------------------------------------------------------
#
# nbval executes each notebook with its default parameters, and each kernel would import GX and load
# and validate the sample itself (about 8 s a notebook). The controller instead prepares, in one
# background process, what each control notebook opens (shared_validation.prepare_areas, the run's
# own mechanism, keyed by the evidence's hashes, the code, the period, as-of and parameters), and
# only while an nbval cell runs does the worker name that folder in EVIDENCE_SHARED_VALIDATION, so
# the kernel nbval starts finds it. A notebook whose key does not match (or that starts before the
# preparation finished) validates itself; the verdicts are the same either way (test_shared_validation).
# STANDALONE_NOTEBOOK is never prepared, and no other test sees the variable.


def prepare_notebook_validations(folder: str) -> None:
    """Each control notebook's validation, as it opens it with its default parameters, stored under its key."""
    import ast

    import papermill

    from evidence_lib.parameters import resolve_parameters
    from evidence_lib.run import outline, plan
    from evidence_lib.shared_validation import AreaRequest, prepare_areas

    known, requests = resolve_parameters(), []
    for name, controls in plan().items():
        if controls and name != STANDALONE_NOTEBOOK:
            declared = papermill.inspect_notebook(str(NOTEBOOKS / name))
            requests.append(AreaRequest(tuple(controls), {k: ast.literal_eval(v["default"])
                                                          for k, v in declared.items() if k in known},
                                        outline(NOTEBOOKS / name).charts))
    prepare_areas(SAMPLE, PERIOD, None, requests, Path(folder))


def _runs_notebooks(config) -> bool:
    for arg in config.args:
        path = (Path(config.invocation_params.dir) / arg.split("::")[0]).resolve()
        if path == NOTEBOOKS or NOTEBOOKS in path.parents or path in NOTEBOOKS.parents:
            return True
    return False


_PREPARING = pytest.StashKey[tuple]()


class NotebookValidations:
    """A plugin (registered, so that it sees the items under notebooks/ too, which this conftest's own
    hooks do not): before nbval starts a notebook's kernel (in its file's setup), name the prepared
    folder; before any other test, unname it."""

    def __init__(self, folder: str):
        self.folder = folder

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item):
        if item.path.suffix == ".ipynb" and item.path.name != STANDALONE_NOTEBOOK:
            os.environ[SHARED_DIR_VARIABLE] = self.folder
        elif os.environ.get(SHARED_DIR_VARIABLE) == self.folder:
            del os.environ[SHARED_DIR_VARIABLE]


def pytest_configure(config):
    if not hasattr(config, "workerinput") and not os.environ.get(NBVAL_SHARED) and _runs_notebooks(config):
        folder = tempfile.mkdtemp(prefix="evidence-nbval-shared-")  # mode 0700
        os.environ[NBVAL_SHARED] = folder  # xdist's workers, started after this, inherit it
        process = subprocess.Popen([sys.executable, "-c", "from tests.conftest import prepare_notebook_validations "
                                                          f"as prepare; prepare({folder!r})"],
                                   cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        config.stash[_PREPARING] = (folder, process)
    if os.environ.get(NBVAL_SHARED):
        config.pluginmanager.register(NotebookValidations(os.environ[NBVAL_SHARED]), "evidence-nbval-validations")


def pytest_unconfigure(config):
    folder, process = config.stash.get(_PREPARING, (None, None))
    if process is None:
        return
    if process.poll() is None:
        process.kill()
    process.wait()
    os.environ.pop(NBVAL_SHARED, None)
    shutil.rmtree(folder, ignore_errors=True)
