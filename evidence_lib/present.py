"""What a notebook shows: the evidence a control area rests on, its results, exception rows and charts.

A notebook cell is one call here. Everything dynamic that reaches HTML is escaped (pandas
escapes table cells; headings are built with html.escape), because evidence is untrusted text.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from evidence_lib.controls import Catalog, load_catalog
from evidence_lib.inventory import inventory as inventory_table
from evidence_lib.masking import PiiMask, load_mask_key, mask_for
from evidence_lib.period import Period, parse_period
from evidence_lib.project import PROJECT_DIR
from evidence_lib.results import ERROR, EXCEPTIONS, OUT_OF_SCOPE, PASS, RuleResult, Validation, record_keys
from evidence_lib.sources.folder import EvidenceSet, load_folder
from evidence_lib.validate import validate

STATUS_COLOURS = {PASS: "#1b7f3b", EXCEPTIONS: "#b35c00", ERROR: "#b00020", OUT_OF_SCOPE: "#5f6368"}


@dataclass
class ControlArea:
    """One notebook's subject: some controls, tested on one period's evidence."""

    control_ids: tuple[str, ...]
    period: Period
    evidence_dir: Path
    evidence: EvidenceSet
    validation: Validation | None
    catalog: Catalog
    mask: PiiMask | None = None
    run_id: str | None = None

    @classmethod
    def open(cls, control_ids, *, period: str, evidence_dir: str, as_of: str | None = None,
             parameters: dict | None = None, mask_pii: bool = False, mask_key_file: str | None = None,
             run_id: str | None = None) -> ControlArea:
        """Load and test. Papermill does not type-check parameters, so they are checked here."""
        if not isinstance(period, str):
            raise TypeError(f"period must be text such as '2026-Q3', got {period!r}")
        if as_of is not None and not isinstance(as_of, str):
            raise TypeError(f"as_of must be an ISO date or time as text, e.g. '2026-10-01', got {as_of!r}")
        catalog = load_catalog()
        unknown = [c for c in control_ids if c not in {x.control_id for x in catalog.controls}]
        if unknown:
            raise ValueError(f"unknown control(s) {unknown}; the catalog has "
                             f"{[c.control_id for c in catalog.controls]}")
        parsed = parse_period(period)
        # One rule wherever the kernel runs (JupyterLab in notebooks/, papermill from anywhere):
        # a relative evidence folder is relative to the project folder.
        folder = Path(evidence_dir)
        folder = folder if folder.is_absolute() else PROJECT_DIR / folder
        evidence = load_folder(folder)
        validation = None
        if control_ids:
            stamp = pd.Timestamp(as_of) if as_of else None
            if stamp is not None:
                stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
            validation = validate(evidence, parsed, as_of=stamp, parameters=parameters or {}, catalog=catalog,
                                  controls=tuple(control_ids))
        if mask_key_file is not None and not isinstance(mask_key_file, str):
            raise TypeError(f"mask_key_file must be a path as text, got {mask_key_file!r}")
        # The key comes from outside the evidence (a key file, else random for this session only):
        # a key derived from what the package publishes lets anyone confirm a guessed name. A relative
        # key file is from the project folder, as the evidence folder is.
        key_file = None if mask_key_file is None else str(PROJECT_DIR / mask_key_file)
        mask = mask_for(evidence, load_mask_key(key_file)) if mask_pii else None
        return cls(tuple(control_ids), parsed, folder, evidence, validation, catalog, mask, run_id)

    # -- what the notebook shows -------------------------------------------------------------

    def header(self):
        from IPython.display import HTML

        lines = [("Period", f"{self.period.label} ({self.period.start} to {self.period.end})"),
                 ("Evidence folder", str(self.evidence_dir))]
        if self.validation is not None:
            lines.append(("Evidence as of", f"{self.validation.as_of:%Y-%m-%d %H:%M} UTC"))
            lines.append(("Parameters", ", ".join(f"{k} = {v}" for k, v in self.validation.parameters.items())))
        if self.run_id:
            lines.append(("Run", self.run_id))
        if self.mask:
            lines.append(("Personal data", "names and e-mail addresses are masked with stable pseudonyms"))
        rows = "".join(f"<tr><th style='text-align:left'>{html.escape(k)}</th><td style='text-align:left'>"
                       f"{html.escape(v)}</td></tr>" for k, v in lines)
        return HTML(f"<table>{rows}</table>")

    def inventory(self) -> pd.DataFrame:
        """The files this area's controls rest on (every file for the inventory notebook), with SHA-256."""
        table = inventory_table(self.evidence)
        if self.validation is not None:
            needed = {t for c in self.validation.controls for r in c.rules for t in r.rule.evidence}
            table = table[table["type"].isin(needed)]
        return _all_rows(table.reset_index(drop=True))

    def population(self) -> pd.DataFrame:
        """Per rule: how many records it applies to, how many failed, and the verdict."""
        return _all_rows(self._validation().summary())

    def show_control(self, control_id: str) -> None:
        """The control's criterion, and for each rule its statement, verdict and exception rows."""
        from IPython.display import HTML, display

        control = next(c for c in self._validation().controls if c.control_id == control_id)
        spec = self.catalog.control(control_id)
        display(HTML(f"<h2>{html.escape(control_id)} — {html.escape(spec.title)}</h2>"
                     f"<p>{html.escape(spec.criterion)}</p>"
                     f"<p>ISO/IEC 27001:2022 Annex A: {html.escape(', '.join(spec.iso27001) or 'none')}. "
                     f"Result: {_badge(control.status)}</p>"))
        self._show_rules(control.rules)

    def show_integrity(self) -> None:
        """The completeness-and-accuracy checks of the evidence these controls rest on, and every row
        set aside as unreadable: a control rule whose evidence failed them is an error, not a pass."""
        from IPython.display import HTML, display

        from evidence_lib.integrity import load_integrity
        from evidence_lib.inventory import set_aside_rows

        checks = self._validation().integrity
        display(HTML(f"<h2>Evidence integrity — {html.escape(load_integrity(self.catalog.folder).title)}</h2>"
                     "<p>Before any control rule is judged, the evidence itself is tested: implausible dates, "
                     "status fields that cannot be read, systems whose exports cannot show what a rule needs. "
                     "A control rule that uses a column failing these checks is reported as an error.</p>"
                     f"<p>Result: {_badge(checks.status if checks else PASS)}</p>"))
        if checks:
            self._show_rules(checks.rules)
        aside = set_aside_rows(self.evidence)
        if len(aside):
            display(HTML(f"<h3>Rows set aside as unreadable</h3><p>{len(aside)} row(s) were kept out of the "
                         "evidence (bad_rows: quarantine). Every rule using their files is an error.</p>"))
            display(_all_rows(aside))

    def _show_rules(self, rules: list[RuleResult]) -> None:
        from IPython.display import HTML, display

        for result in rules:
            display(HTML(f"<h3>{html.escape(result.rule.rule_id)}</h3><p>{html.escape(result.rule.text)}</p>"
                         f"<p>{_badge(result.status)} {html.escape(_verdict(result))}</p>"))
            if result.exception_count:
                display(_all_rows(self._masked(result.exceptions)))

    def chart(self, name: str) -> None:
        """A chart of the view behind a rule, where a person would rather look than read."""
        import matplotlib.pyplot as plt
        from IPython.display import display

        figure = CHARTS[name](self._validation())
        display(figure)
        plt.close(figure)

    def conclusion(self) -> None:
        """A plain-text verdict per rule: stable on the same evidence, so nbval can check it."""
        if self.validation is None:
            table = inventory_table(self.evidence)
            problems = int((~table["problems"].str.startswith("ok")).sum())
            print(f"{len(table)} file(s), {int(table['rows_kept'].fillna(0).sum())} row(s) kept, "
                  f"{problems} file(s) with problems")
            for _, row in table.iterrows():
                print(f"  {row['file']}: {row['type']} {row['rows_kept']} row(s) sha256 {row['sha256'][:12]}")
            return
        for control in self.validation.judged:
            print(f"{control.control_id} {control.title}: {control.status}")
            for r in control.rules:
                print(f"  {r.rule.rule_id}: {r.status}, population {r.population}, exceptions {r.exception_count}")

    def save(self, results_dir: str | None) -> None:
        """results.json and exceptions.csv for the evidence package (nothing when run interactively)."""
        if not results_dir:
            return
        from evidence_lib.package import write_csv_atomically, write_json_atomically

        folder = Path(results_dir)
        write_json_atomically(folder / "results.json", self.results())
        write_csv_atomically(folder / "exceptions.csv", self.exception_rows())

    # -- what the package keeps ---------------------------------------------------------------

    def status(self) -> str:
        if self.validation is not None:
            return self.validation.status
        return ERROR if self.evidence.problems or self.evidence.undeclared else PASS

    def results(self) -> dict:
        document = {"controls": [], "status": self.status(), "period": {"label": self.period.label}}
        document["schema_version"] = 1  # of docs/results.schema.json: a change of shape bumps both
        if self.validation is not None:
            document.update(self.validation.map_exceptions(self._masked).as_dict())
        files = inventory_table(self.evidence)
        document["inventory"] = files.astype(object).where(files.notna(), None).to_dict(orient="records")
        document["pii_masked"] = bool(self.mask)
        document["files_read"] = self.evidence.files_read()  # the run compares them with its own hashes
        return document

    def exception_rows(self) -> pd.DataFrame:
        """Every exception of the area as one table: control, rule, record key, then the rule's columns."""
        frames = []
        for result in (self.validation.rules if self.validation is not None else []):
            if result.exception_count:
                rows = self._masked(result.exceptions)
                key = record_keys(rows, self.catalog.views[result.rule.view].key)
                frames.append(pd.concat([pd.DataFrame({"control": result.rule.control_id, "rule": result.rule.rule_id,
                                                       "record_key": key}, index=rows.index),
                                         rows.astype(object)], axis=1))
        if not frames:
            return pd.DataFrame(columns=["control", "rule", "record_key"])
        return pd.concat(frames, ignore_index=True)

    def _validation(self) -> Validation:
        if self.validation is None:
            raise ValueError("this area tests no controls: open it with at least one control id")
        return self.validation

    def _masked(self, frame: pd.DataFrame) -> pd.DataFrame:
        return self.mask.frame(frame) if self.mask else frame


def _verdict(result: RuleResult) -> str:
    """What happened to a rule, in words: tested and passed, failed rows, or why it could not pass."""
    notes = f" ({result.reason})" if result.reason and result.status in (PASS, EXCEPTIONS) else ""
    if result.status == PASS:
        return f"{result.population} record(s) tested, none failed{notes}"
    if result.status == EXCEPTIONS:
        return f"{result.exception_count} of {result.population} record(s) failed{notes}"
    if result.status == OUT_OF_SCOPE:
        return f"not tested — {result.reason}"
    if result.population:
        return f"cannot pass: {result.reason} ({result.exception_count} of {result.population} record(s) failed)"
    return f"not tested: {result.reason}"


def _badge(status: str) -> str:
    return (f"<strong style='color:{STATUS_COLOURS[status]}'>{html.escape(status.upper())}</strong>")


def _all_rows(frame: pd.DataFrame):
    """A table that shows every row: an auditor must see each exception, not pandas' first and last five."""
    from IPython.display import HTML

    return HTML(frame.to_html(index=False, na_rep="", escape=True, max_rows=None, max_cols=None, border=0,
                              justify="left"))


# -- charts ---------------------------------------------------------------------------------------

def _figure(title: str):
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(8, 3.6), dpi=96)
    axes.set_title(title, fontsize=11, loc="left")
    axes.spines[["top", "right"]].set_visible(False)
    return figure, axes


def _finish(figure, axes, *, limit: tuple[float, str], xlabel: str, ylabel: str, vertical: bool = False,
            dates: bool = True):
    """The rule's threshold as a dashed line, axis labels and legend: every chart reads the same way."""
    value, label = limit
    (axes.axvline if vertical else axes.axhline)(value, color=STATUS_COLOURS[ERROR], linestyle="--", label=label)
    axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
    axes.legend(fontsize=8)
    if dates:
        figure.autofmt_xdate()
    return figure


def days_since_login_chart(validation: Validation):
    accounts = validation.views["accounts"]
    tracked = accounts[accounts["enabled"] & accounts["days_since_login"].notna()]
    limit = validation.parameters["dormant_days"]
    figure, axes = _figure(f"Enabled accounts by days since last login (dormant after {limit} days)")
    by_system = {system: rows["days_since_login"].dropna() for system, rows in tracked.groupby("system")}
    longest = int(tracked["days_since_login"].max()) if tracked["days_since_login"].notna().any() else limit
    axes.hist(list(by_system.values()), bins=range(0, max(longest, limit) + 14, 7), stacked=True,
              label=list(by_system))
    return _finish(figure, axes, limit=(limit, f"{limit} days"), vertical=True, dates=False,
                   xlabel="days since last login (or since creation if never used)", ylabel="accounts")


def deprovision_lag_chart(validation: Validation):
    accounts = validation.views["accounts"]
    leavers = accounts[accounts["terminated_in_period"]].copy()
    sla = validation.parameters["deprovision_sla_days"]
    figure, axes = _figure(f"Days from termination to disabling, per leaver account (SLA {sla} day(s))")
    disabled = leavers[leavers["deprovision_lag_days"].notna()].sort_values("termination_date")
    late = disabled["deprovision_lag_days"] > sla
    axes.scatter(disabled["termination_date"], disabled["deprovision_lag_days"],
                 c=[STATUS_COLOURS[ERROR] if x else STATUS_COLOURS[PASS] for x in late], s=18)
    not_disabled = int(leavers["deprovision_lag_days"].isna().sum())
    return _finish(figure, axes, limit=(sla, f"SLA: {sla} day(s)"), ylabel="days to disable",
                   xlabel=f"termination date ({not_disabled} account(s) with no disable time are not plotted)")


def approval_lag_chart(validation: Validation):
    changes = validation.views["changes"]
    window = validation.parameters["emergency_review_days"]
    figure, axes = _figure("Approval time relative to first deployment, per change (above 0: approved after deploying)")
    for change_type, rows in changes.groupby("change_type"):
        axes.scatter(rows["first_deployed_at"], rows["approval_after_deploy_days"], s=14, label=change_type)
    axes.axhline(0, color="#555555", linewidth=0.8)
    unapproved = int(changes["approved_at"].isna().sum())
    return _finish(figure, axes, limit=(window, f"emergency window: {window} day(s)"),
                   xlabel=f"first deployment ({unapproved} unapproved change(s) not plotted)",
                   ylabel="days from deploy to approval")


def training_lag_chart(validation: Validation):
    hires = validation.views["new_hires"].sort_values("hire_date")
    due = validation.parameters["training_due_days"]
    figure, axes = _figure(f"Days from hire to security training, per new hire (due within {due} days)")
    trained = hires["training_completed_at"].notna()
    axes.scatter(hires.loc[trained, "hire_date"], hires.loc[trained, "training_days_after_hire"], s=16,
                 color=STATUS_COLOURS[PASS], label="trained")
    axes.scatter(hires.loc[~trained, "hire_date"], hires.loc[~trained, "training_days_after_hire"], s=16,
                 marker="x", color=STATUS_COLOURS[ERROR], label="not yet trained (days so far)")
    return _finish(figure, axes, limit=(due, f"due: {due} days"), xlabel="hire date", ylabel="days after hire")


CHARTS = {"days_since_login": days_since_login_chart, "deprovision_lag": deprovision_lag_chart,
          "approval_lag": approval_lag_chart, "training_lag": training_lag_chart}
