"""What the sample run's package stores, and that it stays small (issue 16: package size).

Measured on the sample period (11 notebooks): 2.37 MB before (reports 869 KB, executed notebooks 744 KB);
2.00 MB after (reports 706 KB, executed notebooks 549 KB). The budgets below are those figures with some
room, so that growing evidence does not fail them but an inlined stylesheet, an indented table or a
full-colour chart does.
"""

import json
import re

KB = 1000
#: per file kind, in bytes, for the sample period's 11 notebooks
BUDGETS = {"report.html": 780 * KB, "executed.ipynb": 610 * KB, "assessment-results.json": 180 * KB}


def sizes(run_dir) -> dict[str, int]:
    found: dict[str, int] = {}
    for path in run_dir.rglob("*"):
        if path.is_file():
            found[path.name] = found.get(path.name, 0) + path.stat().st_size
    return found


def test_reports_notebooks_and_the_oscal_document_stay_within_their_budgets(sample_run):
    _, run_dir = sample_run
    measured = sizes(run_dir)
    assert {name: measured[name] for name in BUDGETS if measured[name] > BUDGETS[name]} == {}, measured


def test_every_output_of_an_executed_notebook_is_stored_once_in_one_mime_type(sample_run):
    """A table is text/html alone and a chart image/png alone: no text/plain "<IPython.core.display.HTML
    object>" beside them; a table's HTML is one string, not a line per cell."""
    _, run_dir = sample_run
    notebooks = sorted(run_dir.glob("*/executed.ipynb"))
    assert len(notebooks) >= 5
    kinds = set()
    for path in notebooks:
        for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
            for output in cell.get("outputs", []):
                data = output.get("data", {})
                if data:
                    assert len(data) == 1, (path.parent.name, cell["id"], sorted(data))
                    kinds.update(data)
                html = "".join(data.get("text/html", ""))
                assert not re.search(r">\s+<", html.split("</style>")[-1]), (path.parent.name, cell["id"])
    assert kinds == {"text/html", "image/png"}


def test_a_report_shows_its_chart_and_tables_with_the_stylesheet_and_script_it_uses_only(sample_run):
    _, run_dir = sample_run
    page = (run_dir / "10_access" / "report.html").read_text(encoding="utf-8")
    assert page.count('src="data:image/png;base64,') == 1 and page.count('class="dataframe evidence-table"') >= 5
    head = page.split("<body", 1)[0]
    assert ".jp-RenderedHTMLCommon table {" in head and "/*" not in head
    assert ".ansi-red-fg" not in head and ".cm-editor" not in head  # no traceback, no code in this report
