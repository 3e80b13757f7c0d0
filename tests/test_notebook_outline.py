"""What a run reads of a notebook before executing it (run.outline), against papermill's own reading."""

from __future__ import annotations

import nbformat
import papermill
import pytest

from evidence_lib.project import NOTEBOOKS_DIR
from evidence_lib.run import outline

PARAMETERS_CELL = '''# parameters of a notebook someone else wrote
period = "2026-Q3"  # a quarter
threshold: int = 30
owners = {
    "a": 1,
}
label: "str" = 'x'  # a string annotation
'''


def _notebook(tmp_path, cells) -> str:
    notebook = nbformat.v4.new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = tmp_path / "someone_elses.ipynb"
    nbformat.write(notebook, path)
    return path


@pytest.mark.parametrize("name", sorted(p.name for p in NOTEBOOKS_DIR.glob("*.ipynb")))
def test_the_parameters_a_run_may_pass_are_those_papermill_finds(name):
    assert outline(NOTEBOOKS_DIR / name).parameters == set(papermill.inspect_notebook(str(NOTEBOOKS_DIR / name)))


def test_a_notebook_written_elsewhere_is_read_as_papermill_reads_it(tmp_path):
    path = _notebook(tmp_path, [
        nbformat.v4.new_markdown_cell("Some text first\n\n# Not a title: the cell does not open with it"),
        nbformat.v4.new_code_cell(PARAMETERS_CELL, metadata={"tags": ["setup", "parameters"]}),
        nbformat.v4.new_markdown_cell("# Access review\n\nmore text"),
        nbformat.v4.new_code_cell('area.chart("days_since_login")\narea.chart( \'no_such_chart\' )\n'
                                  'plot(area.chart)\narea.chart("days_since_login")'),
    ])
    read = outline(path)
    assert read.parameters == {"period", "threshold", "owners", "label"} == set(papermill.inspect_notebook(str(path)))
    assert read.title == "Access review"
    assert read.charts == ("days_since_login",)  # once, known charts only
    assert not read.opens_area  # no ControlArea.open: nothing of it for the run's worker to record


def test_a_notebook_without_a_parameters_cell_or_title_declares_nothing(tmp_path):
    path = _notebook(tmp_path, [nbformat.v4.new_code_cell("x = 1")])
    assert outline(path).parameters == frozenset() and outline(path).title == "someone_elses"


def test_the_notebooks_opening_a_control_area_are_those_whose_cells_a_run_records():
    opening = {p.stem for p in NOTEBOOKS_DIR.glob("*.ipynb") if outline(p).opens_area}
    # every control notebook and the inventory; the exploration notebook follows a trail instead
    assert opening == {p.stem for p in NOTEBOOKS_DIR.glob("[0-7]*.ipynb")} and "90_explore" not in opening
