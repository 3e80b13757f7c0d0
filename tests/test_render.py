"""Reports are rendered by one exporter per process and variant, with a stylesheet of their own.

(How the stylesheet looks against JupyterLab's is compared in Chromium: tests/test_browser.py.)
"""

import re

import nbformat

from evidence_lib.render import compact, report_exporter, report_html

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


def failed(notebook_node: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The notebook with a cell as a failed run leaves it: a traceback in ANSI colours."""
    notebook_node.cells.append(nbformat.v4.new_code_cell("1 / 0", outputs=[nbformat.v4.new_output(
        "error", ename="ZeroDivisionError", evalue="division by zero",
        traceback=["\x1b[0;31mZeroDivisionError\x1b[0m: division by zero"])]))
    return notebook_node


def test_a_report_carries_the_rules_of_code_cells_and_ansi_colours_only_when_it_shows_them():
    plain = head(report_html(notebook("Title"), header=HEADER))
    assert ".jp-RenderedHTMLCommon table {" in plain
    assert ".ansi-red-fg" not in plain and ".cm-editor" not in plain and "--jp-cell-editor" not in plain
    with_code = head(report_html(notebook("Title"), header=HEADER, with_code=True))
    assert ".cm-editor pre { padding: 0 5px; }" in with_code and "--jp-cell-editor-background" in with_code
    assert ".ansi-red-fg" not in with_code
    page = report_html(failed(notebook("Title")), header=HEADER)
    assert ".jp-RenderedText pre .ansi-red-fg { color: #e75c58; }" in head(page)
    assert 'class="ansi-red-fg"' in page  # what that rule colours
    assert ".cm-editor" not in head(page)


def test_stylesheets_and_script_reach_a_report_without_comments_or_indentation():
    page = report_html(notebook("Title"), header=HEADER)
    blocks = [b.strip() for b in re.findall(r"<(?:style|script)[^>]*>(.*?)</(?:style|script)>", page, re.DOTALL)]
    assert any("makeSortable" in b for b in blocks) and any(".evidence-table-tools" in b for b in blocks)
    assert [b for b in blocks if "/*" in b or "\n " in b or "\n\n" in b] == []
    written = "a { x: 1; } /* a rule\n   of two lines */\n\n  b {\n    y: 2;\n  }\n"
    assert compact(written) == "a { x: 1; }\nb {\ny: 2;\n}"
