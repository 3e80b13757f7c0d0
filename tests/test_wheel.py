"""The wheel carries everything a run reads, and `evidence run` works from it outside the checkout.

The wheel is built offline from a copy of the checkout (--no-build-isolation: the setuptools of the
test environment, see pyproject's test extras), so a build never writes into the work tree.
"""

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from tests.conftest import PERIOD, ROOT, SAMPLE

#: what building from the checkout never copies: its virtualenv, git, caches and outputs
NOT_SOURCES = shutil.ignore_patterns(".venv", ".git", "build", "dist", "out", "*.egg-info", "__pycache__",
                                     ".pytest_cache", ".hypothesis", ".ipynb_checkpoints")
#: named by hand, so that an empty glob of the checkout cannot make the comparison below pass
MUST_SHIP = ["evidence_lib/cli.py", "evidence_lib/sources/mappings/okta_users_csv.yaml",
             "evidence_lib/expectations/controls.yaml", "evidence_lib/expectations/accounts.json",
             "evidence_lib/notebooks/00_inventory.ipynb", "evidence_lib/notebooks/nbval_sanitize.cfg",
             "evidence_lib/notebooks/templates/auditor/conf.json",
             "evidence_lib/notebooks/templates/auditor/index.html.j2",
             "evidence_lib/notebooks/templates/package-index.html.j2",
             f"evidence_lib/data/samples/{PERIOD}/evidence.yaml"]


def _run(*args, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=900, **kwargs)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The project's wheel, built offline from a copy of the checkout as it is now."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"
    shutil.copytree(ROOT, source, ignore=NOT_SOURCES)
    built = _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
                 "--wheel-dir", work / "dist", source)
    assert built.returncode == 0, (f"building the wheel failed (the test extras bring setuptools>=70.1: "
                                   f"pip install -e '.[test]'):\n{built.stdout[-3000:]}\n{built.stderr[-3000:]}")
    (found,) = (work / "dist").glob("evidence_workbench-*.whl")
    return found


def _shipped(wheel: Path, prefix: str) -> set[str]:
    with zipfile.ZipFile(wheel) as archive:
        return {name for name in archive.namelist() if name.startswith(prefix) and not name.endswith("/")}


def _checkout(folder: str, pattern: str, packaged_as: str) -> set[str]:
    """The checkout's files under folder matching pattern, named as the wheel names them."""
    return {f"{packaged_as}/{p.relative_to(ROOT / folder).as_posix()}" for p in (ROOT / folder).glob(pattern)
            if p.is_file() and "__pycache__" not in p.parts and ".ipynb_checkpoints" not in p.parts}


def test_the_wheel_ships_every_module_and_mapping(wheel):
    expected = _checkout("evidence_lib", "**/*.py", "evidence_lib")
    expected |= _checkout("evidence_lib/sources/mappings", "*.yaml", "evidence_lib/sources/mappings")
    shipped = _shipped(wheel, "evidence_lib/") - _shipped(wheel, "evidence_lib/expectations/") \
        - _shipped(wheel, "evidence_lib/notebooks/") - _shipped(wheel, "evidence_lib/data/")
    assert shipped == expected


def test_the_wheel_ships_the_suites_notebooks_templates_and_sample(wheel):
    expected = _checkout("expectations", "controls.yaml", "evidence_lib/expectations")
    expected |= _checkout("expectations", "*.json", "evidence_lib/expectations")
    expected |= {n for n in _checkout("notebooks", "*.ipynb", "evidence_lib/notebooks") if not n.endswith(".out.ipynb")}
    expected |= _checkout("notebooks", "nbval_sanitize.cfg", "evidence_lib/notebooks")
    expected |= _checkout("notebooks/templates", "**/*", "evidence_lib/notebooks/templates")
    expected |= _checkout("data/samples", "**/*", "evidence_lib/data/samples")
    shipped = (_shipped(wheel, "evidence_lib/expectations/") | _shipped(wheel, "evidence_lib/notebooks/")
               | _shipped(wheel, "evidence_lib/data/"))
    assert shipped == expected


def test_the_hand_named_files_are_in_the_wheel(wheel):
    assert set(MUST_SHIP) <= _shipped(wheel, "")


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> Path:
    """A new virtualenv holding the wheel; its dependencies are the test environment's, by a .pth file."""
    venv = tmp_path_factory.mktemp("installed") / "venv"
    assert _run(sys.executable, "-m", "venv", "--without-pip", venv).returncode == 0
    python = venv / "bin" / "python"
    # Installed before the .pth exists: pip must not see (or touch) the test environment's own install.
    done = _run(sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index", wheel)
    assert done.returncode == 0, done.stderr
    purelib = Path(_run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").stdout.strip())
    # A plain path line: the test environment's own .pth files (its editable finder) are not run.
    dependencies = dict.fromkeys([sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]])
    (purelib / "_test_environment.pth").write_text("".join(f"{p}\n" for p in dependencies))
    return venv


def _environment() -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP")}
    # nbconvert's base templates and the python3 kernelspec are data files of the test environment's prefix
    env["JUPYTER_PATH"] = os.pathsep.join(filter(None, [str(Path(sys.prefix) / "share" / "jupyter"),
                                                        env.get("JUPYTER_PATH")]))
    return env


def test_the_installed_copy_finds_its_files_inside_the_package(installed, tmp_path):
    probe = _run(installed / "bin" / "python", "-c", "import json, evidence_lib.project as p; print(json.dumps({"
                 "'module': p.__file__, 'project': str(p.PROJECT_DIR), 'in_checkout': p.IN_CHECKOUT, "
                 "'files': [str(f) for f in (p.EXPECTATIONS_DIR / 'controls.yaml', p.TEMPLATES_DIR / 'auditor' / "
                 f"'conf.json', p.NOTEBOOKS_DIR / '00_inventory.ipynb', p.SAMPLES_DIR / '{PERIOD}' / "
                 "'evidence.yaml') if f.is_file()]}))", cwd=tmp_path, env=_environment())
    assert probe.returncode == 0, probe.stderr
    found = json.loads(probe.stdout)
    package = next(installed.glob("lib/python*/site-packages/evidence_lib"))
    assert Path(found["module"]) == package / "project.py"
    assert Path(found["project"]) == package and found["in_checkout"] is False
    assert [Path(f).relative_to(package).as_posix() for f in found["files"]] == [
        "expectations/controls.yaml", "notebooks/templates/auditor/conf.json", "notebooks/00_inventory.ipynb",
        f"data/samples/{PERIOD}/evidence.yaml"]


def test_evidence_run_from_the_installed_wheel_outside_the_checkout(installed, tmp_path):
    shutil.copytree(SAMPLE, tmp_path / "data" / "samples" / PERIOD)
    finished = _run(installed / "bin" / "evidence", "run", "--period", PERIOD, "--evidence-dir",
                    f"data/samples/{PERIOD}", "--out", tmp_path / "out", "--jobs", 2, "--only", "CC8.1",
                    cwd=tmp_path, env=_environment())
    # the sample company has change-management exceptions by design (expected_exceptions.csv)
    assert finished.returncode == 1, (finished.stdout, finished.stderr)
    (run_dir,) = (tmp_path / "out" / PERIOD).iterdir()
    assert (run_dir / "index.html").is_file()
    manifest = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["status"] == "exceptions"
    assert manifest["options"]["evidence_dir"] == str((tmp_path / "data" / "samples" / PERIOD).resolve())
    assert [n["name"] for n in manifest["notebooks"]] == ["00_inventory", "30_change_management"]
    assert all(n["error"] == "" for n in manifest["notebooks"])
    # papermill records the notebook it executed: the installed copy's, not the checkout's
    executed = json.loads((run_dir / "30_change_management" / "executed.ipynb").read_text(encoding="utf-8"))
    input_path = Path(executed["metadata"]["papermill"]["input_path"])
    assert input_path == next(installed.glob("lib/python*/site-packages/evidence_lib")) / "notebooks" / \
        "30_change_management.ipynb"
