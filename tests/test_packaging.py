"""The project's own files agree with each other: pyproject, environment.yml, README, CI.

What the wheel carries (mappings, suites, notebooks, templates, sample) is asserted on a built
wheel, in tests/test_wheel.py.
"""

import re
import tomllib

import yaml

from tests.conftest import ROOT


def _requirement(text):
    name, _, bound = re.match(r"([A-Za-z0-9_.-]+)(\[[^\]]*\])?(.*)", text.strip()).groups()
    return name.lower().replace("_", "-"), bound.replace(" ", "")


def test_environment_yml_declares_the_same_packages_and_bounds():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = dict(_requirement(r) for r in project["dependencies"] + project["optional-dependencies"]["test"])
    conda = yaml.safe_load((ROOT / "environment.yml").read_text())["dependencies"]
    declared = dict(_requirement(d) for d in conda if isinstance(d, str))
    assert declared.pop("pip") == "" and declared.pop("python") == project["requires-python"]
    assert declared == wanted


def test_readme_first_screen_gives_the_two_commands_and_ci_runs_the_second():
    first_screen = "\n".join((ROOT / "README.md").read_text().splitlines()[:20])
    assert "make demo" in first_screen and "make test" in first_screen
    assert "make test" in (ROOT / ".ci" / "run").read_text()
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^demo:.*\n(\t.*\n)*\t\$\(BIN\)/evidence run --period \$\(PERIOD\) --evidence-dir \$\(SAMPLE\)",
                     makefile, re.M)
    assert re.search(r"^test:.*\n\t\$\(BIN\)/ruff check evidence_lib tests benchmarks examples\n"
                     r"\t\$\(BIN\)/python -m pytest", makefile, re.M)
