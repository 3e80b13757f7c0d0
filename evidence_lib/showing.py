"""What a notebook shows of a tested area, computed: the evidence it rests on, its results, exception rows
and charts. Notebooks open it through present.ControlArea (which replays the run's recording instead,
when there is one: recorded.py).

A notebook cell is one call here. Everything shown goes through recorded.show and recorded.say, so that
a run's worker can record it. Everything dynamic that reaches HTML is escaped (pandas
escapes table cells; headings are built with html.escape), because evidence is untrusted text.
"""

from __future__ import annotations

import base64
import html
import re

import pandas as pd

from evidence_lib.area import TestedArea
from evidence_lib.area_files import exception_table, results_document, write_area_files
from evidence_lib.charts import CHARTS, STATUS_COLOURS, chart_png
from evidence_lib.inventory import inventory as inventory_table
from evidence_lib.project import shown_folder
from evidence_lib.recorded import Html, say, show
from evidence_lib.responses import COLUMNS as RESPONSE_COLUMNS
from evidence_lib.results import EXCEPTIONS, OUT_OF_SCOPE, PASS, RuleResult, Validation
from evidence_lib.sources.folder import EvidenceSet
from evidence_lib.trace import VENDOR_VALUES
from evidence_lib.views import TRACE_COLUMNS
from evidence_lib.walk import NO_SAMPLING

__all__ = ["CHARTS", "ShownArea"]


class ShownArea:
    """What a notebook shows of a tested control area. Each method is one notebook cell."""

    def __init__(self, tested: TestedArea):
        self.tested = tested

    @classmethod
    def open(cls, control_ids, **options) -> ShownArea:
        """Load and test the area (TestedArea.open's options), ready to show."""
        return cls(TestedArea.open(control_ids, **options))

    @property
    def validation(self) -> Validation | None:
        return self.tested.validation

    @property
    def evidence(self) -> EvidenceSet:
        return self.tested.evidence

    # -- what the notebook shows -------------------------------------------------------------

    def header(self) -> Html:
        lines = [("Period", f"{self.tested.period.label} ({self.tested.period.start} to {self.tested.period.end})"),
                 ("Evidence folder", shown_folder(self.tested.evidence_dir))]
        if self.validation is not None:
            lines.append(("Evidence as of", f"{self.validation.as_of:%Y-%m-%d %H:%M} UTC"))
            lines.append(("Parameters", ", ".join(f"{k} = {v}" for k, v in self.validation.parameters.items())))
        if self.tested.run_id:
            lines.append(("Run", self.tested.run_id))
        if self.tested.mask:
            lines.append(("Personal data", "names and e-mail addresses are masked with stable pseudonyms"))
        rows = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in lines)
        return Html(f"{_FIELDS_LEFT_ALIGNED}<table class='evidence-fields'>{rows}</table>")

    def inventory(self) -> Html:
        """The files this area's controls rest on (every file for the inventory notebook), with SHA-256."""
        table = inventory_table(self.evidence)
        if self.validation is not None:
            needed = {t for c in self.validation.controls for r in c.rules for t in r.rule.evidence}
            table = table[table["type"].isin(needed)]
        return _all_rows(self._masked(table.reset_index(drop=True)))

    def population(self) -> Html:
        """Per rule: how many records it applies to, how many failed, and the verdict."""
        return _all_rows(self._validation().summary())

    def show_control(self, control_id: str) -> None:
        """The control's criterion, and for each rule its statement, verdict and exception rows."""
        control = next(c for c in self._validation().controls if c.control_id == control_id)
        spec = self.tested.catalog.control(control_id)
        show(Html(f"<h2>{html.escape(control_id)} — {html.escape(spec.title)}</h2>"
                     f"<p>{html.escape(spec.criterion)}</p>"
                     f"<p>ISO/IEC 27001:2022 Annex A: {html.escape(', '.join(spec.iso27001) or 'none')}. "
                     f"Result: {_badge(control.status)}</p>"
                     f"<p class='deficiency-summary'>{html.escape(control.deficiency_summary())}</p>"))
        self._show_rules(control.rules)
        stale = [r for r in self._validation().stale_responses if r.control == control_id]
        if stale:
            show(Html(f"<h3>Stale responses</h3><p>{len(stale)} response(s) in responses.yaml match no "
                         "exception of this control: the exception was fixed, or the key is wrong. They are not "
                         "applied.</p>"))
            show(_all_rows(pd.DataFrame([r.as_dict() for r in stale])))

    def show_integrity(self) -> None:
        """The completeness-and-accuracy checks of the evidence these controls rest on, and every row
        set aside as unreadable: a control rule whose evidence failed them is an error, not a pass."""
        from evidence_lib.integrity import load_integrity
        from evidence_lib.inventory import set_aside_rows

        checks = self._validation().integrity
        show(Html(f"<h2>Evidence integrity — {html.escape(load_integrity(self.tested.catalog.folder).title)}</h2>"
                     "<p>Before any control rule is judged, the evidence itself is tested: implausible dates, "
                     "status fields that cannot be read, systems whose exports cannot show what a rule needs. "
                     "A control rule that uses a column failing these checks is reported as an error.</p>"
                     f"<p>Result: {_badge(checks.status if checks else PASS)}</p>"))
        if checks:
            self._show_rules(checks.rules)
        aside = set_aside_rows(self.evidence)
        if len(aside):
            show(Html(f"<h3>Rows set aside as unreadable</h3><p>{len(aside)} row(s) were kept out of the "
                         "evidence (bad_rows: quarantine). Every rule using their files is an error.</p>"))
            show(_all_rows(aside))

    def _show_rules(self, rules: list[RuleResult]) -> None:
        for result in rules:
            severity = f" <span class='severity'>severity: {html.escape(result.rule.severity)}</span>" \
                if result.rule.severity else ""
            show(Html(f"<h3>{html.escape(result.rule.rule_id)}</h3><p>{html.escape(result.rule.text)}</p>"
                         f"<p>{_badge(result.status)} {html.escape(_verdict(result))}{severity}</p>"))
            if result.walk:
                show(Html(_walk_table(result)))
            if result.exception_count:
                rows = self._masked(result.exceptions)
                traced = [c for c in (*TRACE_COLUMNS, VENDOR_VALUES) if c in rows]
                blank = [c for c in RESPONSE_COLUMNS[1:] if c in rows and not rows[c].astype(bool).any()]
                show(_all_rows(rows.drop(columns=traced + blank)))
                if traced:
                    key = [c for c in self.tested.catalog.views[result.rule.view].key if c in rows]
                    show(Html("<details class='trace'><summary>Where each row came from: the export, its row "
                                 "and the vendor's own values</summary>"
                                 f"{_table_html(rows[key + traced])}</details>"))

    def chart(self, name: str) -> None:
        """A chart of the view behind a rule, where a person would rather look than read: the one the
        run drew from this same validation when it prepared it, else drawn here."""
        png = self.tested.prepared_charts.get(name) or chart_png(name, self._validation())
        show({"image/png": base64.b64encode(png).decode("ascii")})

    def conclusion(self) -> None:
        """A plain-text verdict per rule: stable on the same evidence, so nbval can check it."""
        if self.validation is None:
            table = inventory_table(self.evidence)
            problems = int((~table["problems"].str.startswith("ok")).sum())
            say(f"{len(table)} file(s), {int(table['rows_kept'].fillna(0).sum())} row(s) kept, "
                  f"{problems} file(s) with problems")
            for _, row in table.iterrows():
                say(f"  {row['file']}: {row['type']} {row['rows_kept']} row(s) sha256 {row['sha256'][:12]}")
            return
        for control in self.validation.judged:
            say(f"{control.control_id} {control.title}: {control.status}")
            for r in control.rules:
                say(f"  {r.rule.rule_id}: {r.status}, population {r.population}, exceptions {r.exception_count}")

    def save(self, results_dir: str | None) -> None:
        """results.json and exceptions.csv for the evidence package (nothing when run interactively)."""
        if results_dir:
            write_area_files(self.tested, results_dir)

    def results(self) -> dict:
        return results_document(self.tested)

    def exception_rows(self) -> pd.DataFrame:
        return exception_table(self.tested)

    def _validation(self) -> Validation:
        return self.tested.tested()

    def _masked(self, frame: pd.DataFrame) -> pd.DataFrame:
        return self.tested.masked(frame)


def _verdict(result: RuleResult) -> str:
    """What happened to a rule, in words: tested and passed, failed rows, or why it could not pass."""
    notes = f" ({result.reason})" if result.reason and result.status in (PASS, EXCEPTIONS) else ""
    if result.status == PASS:
        return f"{result.population} record(s) tested, none failed{notes}"
    if result.status == EXCEPTIONS:
        return (f"{result.exception_count} of {result.population} record(s) failed: "
                f"{result.exception_count - result.responded} open, {result.responded} responded{notes}")
    if result.status == OUT_OF_SCOPE:
        return f"not tested — {result.reason}"
    if result.population:
        return f"cannot pass: {result.reason} ({result.exception_count} of {result.population} record(s) failed)"
    return f"not tested: {result.reason}"


def _walk_table(result: RuleResult) -> str:
    """The population walk above the exceptions: each step, its count, and why records left it."""
    rows = "".join(f"<tr><td>{html.escape(step.step)}</td><td class='count'>{step.count}</td>"
                   f"<td>{html.escape(step.reason)}</td></tr>" for step in result.walk)
    return (f"<table class='population-walk'><caption>Population walk</caption><thead><tr><th>step</th>"
            f"<th>records</th><th>left, and why</th></tr></thead><tbody>{rows}</tbody></table>"
            f"<p class='no-sampling'>{html.escape(NO_SAMPLING)}</p>")


def _badge(status: str) -> str:
    return (f"<strong style='color:{STATUS_COLOURS[status]}'>{html.escape(status.upper())}</strong>")


def _all_rows(frame: pd.DataFrame) -> Html:
    """A table that shows every row: an auditor must see each exception, not pandas' first and last five."""
    return Html(_table_html(frame))


# JupyterLab right-aligns every cell of an HTML output: evidence is mostly text, read from the left. One rule
# for the table's class, not a style on every cell.
_LEFT_ALIGNED = ("<style>table.evidence-table td, table.evidence-table th {text-align: left; "
                 "vertical-align: top;}</style>")
_FIELDS_LEFT_ALIGNED = "<style>table.evidence-fields td, table.evidence-fields th {text-align: left;}</style>"
#: the line breaks and indentation pandas puts between a table's tags (cell text is escaped: no < or > in it)
_BETWEEN_TAGS = re.compile(r">\s+<")


def _table_html(frame: pd.DataFrame) -> str:
    """The frame as one compact HTML table: no whitespace between its tags, which the page would not show and
    the notebook would store line by line (as much as the table's own text)."""
    table = _for_people(frame).to_html(index=False, na_rep="", escape=True, max_rows=None, max_cols=None,
                                       border=False, justify="left", classes="evidence-table")
    return _LEFT_ALIGNED + _BETWEEN_TAGS.sub("><", table)


def _for_people(frame: pd.DataFrame) -> pd.DataFrame:
    """Numbers as a person reads them: whole numbers without `.0`, others to one decimal (days,
    mostly). Only what is shown: results.json and exceptions.csv keep the raw values."""
    shown = frame.copy()
    for column in shown.columns:
        values = shown[column]
        if not pd.api.types.is_float_dtype(values):
            continue
        finite = values.dropna()
        pattern = "{:.0f}" if (finite == finite.round()).all() else "{:.1f}"
        # as text, so a missing value stays blank (to_html writes pandas' <NA> for Int64)
        shown[column] = values.map(lambda v, pattern=pattern: "" if pd.isna(v) else pattern.format(v))
    return shown
