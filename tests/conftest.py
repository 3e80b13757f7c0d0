import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from evidence_lib.cli import main

ROOT = Path(__file__).resolve().parent.parent
PERIOD = "2026-Q3"
SAMPLE = ROOT / "data" / "samples" / PERIOD


def evidence(*args, cwd=None) -> subprocess.CompletedProcess:
    """The `evidence` command in its own process, as a scheduler runs it."""
    return subprocess.run([sys.executable, "-m", "evidence_lib.cli", *map(str, args)], capture_output=True,
                          text=True, cwd=cwd, timeout=900)


@pytest.fixture(scope="session")
def sample_run(tmp_path_factory):
    """One `evidence run` of the sample period (--jobs 2), shared by the package and browser tests."""
    out = tmp_path_factory.mktemp("packages")
    finished = evidence("run", "--period", PERIOD, "--evidence-dir", SAMPLE, "--out", out, "--jobs", 2)
    runs = list((out / PERIOD).iterdir())
    assert len(runs) == 1, (finished.stdout, finished.stderr)
    return finished, runs[0]


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
