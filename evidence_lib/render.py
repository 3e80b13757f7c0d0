"""Auditor HTML: executed notebooks rendered self-contained, and the package's index page.

The nbconvert template (notebooks/templates/auditor) extends JupyterLab's and empties the
blocks that load require.js, MathJax, mermaid and widgets from a CDN, so a report opens
offline with no request leaving the file. In place of JupyterLab's stylesheet (~260 KB) a
report carries report.css, the few rules it uses with the same look (and code.css, ansi.css
only when it shows code or ANSI-coloured output), without their comments and indentation. Code is
hidden unless asked for. A process builds one exporter per variant (with or without code) and compiles its
template once: a worker rendering several reports pays for that once.
"""

from __future__ import annotations

import functools
import html
import re
from pathlib import Path
from typing import TYPE_CHECKING

from evidence_lib.project import TEMPLATES_DIR, shown_folder

if TYPE_CHECKING:
    from nbconvert import HTMLExporter
    from nbformat import NotebookNode

REPORT_TEMPLATE = "auditor"
INDEX_TEMPLATE = "package-index.html.j2"
HIDDEN_CELL_TAG = "remove_cell"
ANSI_ESCAPE = "\x1b["
_COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)


def compact(text: str) -> str:
    """Our stylesheets and script as a page carries them: without /* comments */, indentation and blank
    lines (a line stays a line, so a script's statements end where they did). For our own files only:
    neither may hold "/*" inside a string or a regular expression."""
    return "\n".join(line.strip() for line in _COMMENT.sub("", str(text)).splitlines() if line.strip())


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


def report_exporter(with_code: bool = False, *, template_name: str = REPORT_TEMPLATE,
                    template_dirs: tuple[str, ...] = ()) -> HTMLExporter:
    """The HTML exporter of the auditor's reports, its template compiled: built once per process and
    variant, then reused (each report costs only its own rendering). Calling it ahead, in a thread
    while a kernel runs, takes that cost off the first report.

    `template_dirs` are folders of further templates, searched before notebooks/templates, whose
    templates may extend 'auditor/index.html.j2' (a test renders a report with JupyterLab's
    stylesheet through one)."""
    return _exporter(with_code, template_name, tuple(map(str, template_dirs)))


@functools.lru_cache(maxsize=4)
def _exporter(with_code: bool, template_name: str, template_dirs: tuple[str, ...]) -> HTMLExporter:
    from nbconvert import HTMLExporter
    from nbconvert.preprocessors import TagRemovePreprocessor
    from traitlets.config import Config

    # Pygments' colours are for code cells: a report without code does not carry them.
    config = Config({"CSSHTMLHeaderPreprocessor": {"enabled": with_code}})
    exporter = HTMLExporter(config=config, extra_template_basedirs=[*template_dirs, str(TEMPLATES_DIR)],
                            extra_template_paths=[str(TEMPLATES_DIR)], template_name=template_name)
    exporter.exclude_input = not with_code
    exporter.exclude_input_prompt = exporter.exclude_output_prompt = True
    exporter.embed_images = True
    exporter.register_filter("shown", for_people)
    exporter.register_filter("compact", compact)
    exporter.register_preprocessor(TagRemovePreprocessor(remove_cell_tags={HIDDEN_CELL_TAG}, enabled=True), True)
    exporter.register_preprocessor(_note_ansi_outputs, True)
    _ = exporter.template  # compiled now, once (nbconvert keeps it until a template setting changes)
    return exporter


def has_ansi_output(notebook: NotebookNode) -> bool:
    """Whether an output of the notebook holds an ANSI escape (a traceback, coloured text): nbconvert turns
    those into the ansi-* classes that ansi.css colours."""
    for cell in notebook.cells:
        for output in cell.get("outputs", ()):
            texts = [output.get("text", ""), *output.get("traceback", ()), output.get("data", {}).get("text/plain", "")]
            if any(ANSI_ESCAPE in ("".join(t) if isinstance(t, list) else str(t)) for t in texts):
                return True
    return False


def _note_ansi_outputs(notebook: NotebookNode, resources: dict) -> tuple[NotebookNode, dict]:
    """A preprocessor: tells the template (resources.ansi_outputs) whether the report needs ansi.css."""
    resources["ansi_outputs"] = has_ansi_output(notebook)
    return notebook, resources


def report_html(notebook: NotebookNode, *, header: dict, with_code: bool = False) -> str:
    """An executed notebook as the auditor's self-contained HTML page, under the run's header."""
    body, _ = report_exporter(with_code).from_notebook_node(notebook, resources={"evidence": header})
    return body


def render_report(executed: Path, target: Path, *, header: dict, with_code: bool = False) -> None:
    """executed.ipynb -> report.html, with the run's header (controls, period, run, preparer, parameters,
    input hashes)."""
    import nbformat

    from evidence_lib.package import write_text_atomically

    notebook = nbformat.read(executed, as_version=4)
    write_text_atomically(target, report_html(notebook, header=header, with_code=with_code))


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
    environment.filters["compact"] = compact
    write_text_atomically(target, environment.get_template(INDEX_TEMPLATE).render(**summary))
