"""Where the project's own files are: notebooks and their templates, suites, the bundled sample.

In a checkout (and its editable install) they are the top-level folders beside evidence_lib/.
A wheel carries the same folders inside the package, in the same shape (pyproject.toml maps
them: evidence_lib/notebooks, evidence_lib/expectations, evidence_lib/data/samples), so there
the package folder plays the project folder and every path below is found the same way.
"""

from importlib.resources import files
from pathlib import Path

#: the checkout this module sits in (meaningless for an installed wheel)
SOURCE_TREE = Path(__file__).resolve().parent.parent


def _project_dir() -> Path:
    """The folder holding notebooks/, expectations/ and data/samples/: the installed package, else the checkout."""
    package = files("evidence_lib")
    if isinstance(package, Path) and (package / "expectations" / "controls.yaml").is_file():
        return package.resolve()
    return SOURCE_TREE


PROJECT_DIR = _project_dir()
#: True when running from a source tree (editable install included), False from an installed wheel
IN_CHECKOUT = PROJECT_DIR == SOURCE_TREE
NOTEBOOKS_DIR = PROJECT_DIR / "notebooks"
TEMPLATES_DIR = NOTEBOOKS_DIR / "templates"
EXPECTATIONS_DIR = PROJECT_DIR / "expectations"
SAMPLES_DIR = PROJECT_DIR / "data" / "samples"


def shown_folder(folder: Path) -> str:
    """A folder as a reader of a package may see it: relative to the project when it is inside it, else
    by its name only (a machine's absolute paths say nothing to an auditor, and may say too much)."""
    try:
        return Path(folder).resolve().relative_to(PROJECT_DIR.resolve()).as_posix()
    except ValueError:
        return Path(folder).name
