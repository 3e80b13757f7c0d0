"""Auditor HTML: executed notebooks rendered self-contained, and the package's index page.

The nbconvert template (notebooks/templates/auditor) extends JupyterLab's and empties the
blocks that load require.js, MathJax, mermaid and widgets from a CDN, so a report opens
offline with no request leaving the file. Code is hidden unless asked for.
"""

from __future__ import annotations

import html
from pathlib import Path

from evidence_lib.project import TEMPLATES_DIR, shown_folder

REPORT_TEMPLATE = "auditor"
INDEX_TEMPLATE = "package-index.html.j2"
HIDDEN_CELL_TAG = "remove_cell"


def for_people(value: object, name: str = "") -> str:
    """A parameter's or option's value as a reader of the package reads it: never `None` or `[]`,
    no machine paths (manifest.json keeps the raw values)."""
    if value is None:
        return "the export time (default)" if name == "as_of" else "default"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return ", ".join(map(str, value)) if value else "all"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if name.endswith("_dir") and isinstance(value, str) and Path(value).is_absolute():
        return shown_folder(Path(value))
    return str(value)


def render_report(executed: Path, target: Path, *, header: dict, with_code: bool = False) -> None:
    """executed.ipynb -> report.html, with the run's header (controls, period, run, preparer, parameters,
    input hashes)."""
    import nbformat
    from nbconvert import HTMLExporter
    from nbconvert.preprocessors import TagRemovePreprocessor

    from evidence_lib.package import write_text_atomically

    exporter = HTMLExporter(extra_template_basedirs=[str(TEMPLATES_DIR)], template_name=REPORT_TEMPLATE)
    exporter.exclude_input = not with_code
    exporter.exclude_input_prompt = exporter.exclude_output_prompt = True
    exporter.embed_images = True
    exporter.register_filter("shown", for_people)
    exporter.register_preprocessor(TagRemovePreprocessor(remove_cell_tags={HIDDEN_CELL_TAG}, enabled=True), True)
    notebook = nbformat.read(executed, as_version=4)
    body, _ = exporter.from_notebook_node(notebook, resources={"evidence": header})
    write_text_atomically(target, body)


def render_failure_page(target: Path, *, header: dict, error: str) -> None:
    """When even the executed notebook cannot be rendered, the report still says what happened."""
    from evidence_lib.package import write_text_atomically

    write_text_atomically(target, f"<!DOCTYPE html><html lang='en'><meta charset='utf-8'><title>"
                                  f"{html.escape(header.get('title', 'report'))}</title><body><h1>Error</h1>"
                                  f"<p>Run {html.escape(str(header.get('run_id', '')))}, prepared by "
                                  f"{html.escape(str(header.get('prepared_by', 'unknown')))}</p>"
                                  f"<pre>{html.escape(error)}</pre></body></html>")


def render_index(target: Path, summary: dict) -> None:
    """index.html: every control's status and exception count at a glance, linked to its report, and who
    prepared the package (reviewers sign off beside it, in signoffs/, after it is sealed)."""
    import jinja2

    from evidence_lib.package import write_text_atomically

    environment = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES_DIR), autoescape=True,
                                     undefined=jinja2.StrictUndefined)
    environment.filters["shown"] = for_people
    write_text_atomically(target, environment.get_template(INDEX_TEMPLATE).render(**summary))
