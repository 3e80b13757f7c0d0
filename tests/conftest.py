import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from evidence_lib.cli import main

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "data" / "samples" / "2026-Q3"


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
