"""Where the project's own files are: notebooks and their templates, suites, the bundled sample."""

from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
NOTEBOOKS_DIR = PROJECT_DIR / "notebooks"
TEMPLATES_DIR = NOTEBOOKS_DIR / "templates"
EXPECTATIONS_DIR = PROJECT_DIR / "expectations"
SAMPLES_DIR = PROJECT_DIR / "data" / "samples"
