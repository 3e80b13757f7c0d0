"""Notebooks are committed without outputs, except the cells nbval checks.

`python -m evidence_lib.notebook_outputs` re-executes every notebook on the sample company and
keeps only the outputs of cells marked NBVAL_CHECK_OUTPUT: their stored output is the expected
result that `pytest --nbval-lax` compares against. Run it after changing what such a cell prints,
and read the diff: it is a change to the expected evidence.
"""

from __future__ import annotations

import sys
from pathlib import Path

CHECK_MARK = "# NBVAL_CHECK_OUTPUT"
VOLATILE_METADATA = ("execution", "papermill", "collapsed", "scrolled")


def is_checked(cell) -> bool:
    return cell.cell_type == "code" and cell.source.lstrip().startswith(CHECK_MARK)


def strip_unchecked(notebook) -> None:
    """Clear every output and execution count except on checked cells; drop run-specific metadata."""
    for cell in notebook.cells:
        for key in VOLATILE_METADATA:
            cell.metadata.pop(key, None)
        if cell.cell_type != "code":
            continue
        if is_checked(cell):
            cell.execution_count = 1
            for output in cell.outputs:
                if "execution_count" in output:
                    output["execution_count"] = 1
        else:
            cell.outputs, cell.execution_count = [], None
    for key in ("papermill", "widgets"):
        notebook.metadata.pop(key, None)


def refresh(notebook_path: Path) -> None:
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.read(notebook_path, as_version=4)
    NotebookClient(notebook, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(notebook_path.parent)}}).execute()
    strip_unchecked(notebook)
    nbformat.write(notebook, notebook_path)


def main(paths: list[str]) -> None:
    from evidence_lib.project import NOTEBOOKS_DIR

    for path in [Path(p) for p in paths] or sorted(NOTEBOOKS_DIR.glob("*.ipynb")):
        print(f"executing {path.name} ...", flush=True)
        refresh(path)


if __name__ == "__main__":
    main(sys.argv[1:])
