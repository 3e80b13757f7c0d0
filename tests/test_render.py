"""Reports are rendered by one exporter per process and variant, with a stylesheet of their own.

(How the stylesheet looks against JupyterLab's is compared in Chromium: tests/test_browser.py.)
"""

import re

import nbformat

from evidence_lib.render import report_exporter, report_html

HEADER = {"title": "Inventory — 2026-Q3", "controls": [], "period": "2026-Q3", "run_id": "20261001T060000Z-abc123",
          "generated_at": "2026-10-01T06:00:00+00:00", "prepared_by": "tests", "status": "pass", "error": "",
          "parameters": {"as_of": None}, "inputs": {"evidence.yaml": "0" * 64}}


def notebook(text: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell(f"# {text}"),
        nbformat.v4.new_code_cell("import math\nmath.pi", outputs=[
            nbformat.v4.new_output("execute_result", {"text/plain": "3.14159"}, execution_count=1)]),
    ], metadata={"language_info": {"name": "python", "pygments_lexer": "ipython3"}})


def head(page: str) -> str:
    return page.split("<body", 1)[0]


def test_every_report_of_a_variant_is_rendered_by_one_exporter_and_one_compiled_template():
    exporter = report_exporter(False)
    template = exporter.template
    first, second = (report_html(notebook(text), header=HEADER) for text in ("First", "Second"))
    assert ">First<" in first and ">Second<" in second and "3.14159" in second
    assert report_exporter(False) is exporter and exporter.template is template
    assert report_exporter(True) is not exporter and report_exporter(True) is report_exporter(True)


def test_a_report_carries_our_small_stylesheet_offline_and_pygments_colours_only_with_its_code():
    without, with_code = (report_html(notebook("Title"), header=HEADER, with_code=code) for code in (False, True))
    assert "math.pi" not in without and "math" in with_code
    for page in (without, with_code):
        assert ".jp-RenderedHTMLCommon table {" in head(page)  # ours
        assert "Jupyter Development Team" not in page and "--md-red-50" not in page  # not JupyterLab's
        assert len(head(page).encode()) < 30_000
        assert not re.search(r"(src|href)=[\"']?(https?:)?//|@import|url\((?!data:)", page)  # nothing to fetch
    assert ".highlight .kn" not in without and ".highlight .kn" in with_code
