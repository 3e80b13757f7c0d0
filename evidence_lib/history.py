"""A Type 2 window: the verified packages of many periods, read together (DESIGN §8).

Collect, then judge: `read_runs` finds every package under a runs folder and verifies it (a package
that fails verification is kept in the list, never used); `judge_window` takes the latest complete
run of each period of the window and states what an auditor of the window asks — which periods have
no evidence, each rule's verdict period by period, and which exceptions recur, were remediated or are
new. Reporting the result (HTML, CSV, JSON, hashed) is history_report.py's.

A period rests on its latest run that verifies and did not end in error (else on its latest verified
run that judged any control); a period with no such run is an evidence gap, and so is each control in
error in the run used. An exception is the same one across periods when its control, rule, system and record key
(as exceptions.csv names it) are the same. An exception absent from the next period is remediated only while its
record is still in the rule's population there (the population keys of the notebook's results.json); a record
that left the population (an account deleted, say) is `left`, not remediated. Without population keys (a masked
run, an older package) it is taken as remediated.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cache
from itertools import pairwise
from pathlib import Path

import pandas as pd

from evidence_lib.errors import EvidenceError
from evidence_lib.package import INCOMPLETE_PREFIX, MANIFEST, PackageError, sha256_file, verify
from evidence_lib.period import Period, parse_period
from evidence_lib.results import ERROR, EXCEPTIONS, PASS

#: manifest.json `kind` of a window history package: found in a runs folder, never read as a period's run
HISTORY_KIND = "window_history"
#: an exception's identity across periods
KEY = ["control", "rule", "system", "record_key"]
#: what happened to an exception between two consecutive periods that both ran
RECURRING, REMEDIATED, NEW = "recurring", "remediated", "new"
#: absent from the next period because its record left the rule's population there: not a remediation
LEFT = "left"
MONTH = re.compile(r"\d{4}-\d{2}")
#: a run folder's name (evidence_lib.package.new_run_id): one without its manifest is a broken package
RUN_ID = re.compile(r"\d{8}T\d{6}Z-[0-9a-f]+")


class HistoryError(EvidenceError):
    """A runs folder, window or entity that cannot be read as asked."""


@dataclass
class FoundRun:
    """One package found under the runs folder, with what verifying it said."""

    path: Path
    period: Period | None
    run_id: str
    status: str = ""
    problem: str = ""  # why it cannot be used ("" when it verified)
    manifest: dict = field(default_factory=dict, repr=False)
    manifest_sha256: str = ""
    note: str = ""  # what the window made of it: used, earlier run, outside the window...


def entity_root(runs_dir: Path, entity: str | None) -> Path:
    """RUNS_DIR, or RUNS_DIR/<entity> when packages are laid out per entity."""
    runs_dir = Path(runs_dir)
    if entity is not None and (not entity.strip() or entity in (".", "..") or re.search(r"[/\\]", entity)):
        raise HistoryError(f"--entity {entity!r}: give the entity's folder name under {runs_dir}, one path part")
    root = runs_dir / entity if entity else runs_dir
    if not root.is_dir():
        raise HistoryError(f"{root}: no such folder of runs (<runs>/{'<entity>/' if entity else ''}<period>/<run-id>)")
    return root


def read_runs(root: Path) -> list[FoundRun]:
    """Every package under root/<period>/<run-id>/, verified; unfinished runs (.incomplete-*) and window
    histories are skipped. A folder of a period that is not a readable, intact package is listed with why."""
    found = []
    for period_dir in sorted(p for p in Path(root).iterdir() if p.is_dir() and not p.name.startswith(".")):
        for run_dir in sorted(p for p in period_dir.iterdir() if p.is_dir()):
            if run_dir.name.startswith(INCOMPLETE_PREFIX) or run_dir.is_symlink():
                continue
            if not RUN_ID.fullmatch(run_dir.name) and not (run_dir / MANIFEST).exists():
                continue  # a folder that is no run (a report folder under --out, say), not a broken one
            run = _read_run(run_dir)
            if run is not None:
                found.append(run)
    return found


def _read_run(run_dir: Path) -> FoundRun | None:
    run = FoundRun(run_dir, _folder_period(run_dir), run_dir.name)  # until its manifest says
    try:
        run.manifest = json.loads((run_dir / MANIFEST).read_text(encoding="utf-8"))
        if run.manifest.get("kind") == HISTORY_KIND:
            return None
        run.period = parse_period(run.manifest["period"]["label"])
        run.status = str(run.manifest["status"])
        run.run_id = str(run.manifest.get("run_id", run_dir.name))
        run.manifest_sha256 = sha256_file(run_dir / MANIFEST)
        verification = verify(run_dir)
    except FileNotFoundError:
        run.problem = f"{MANIFEST} not found: not a finished package"
        return run
    except (ValueError, KeyError, TypeError, AttributeError, EvidenceError, OSError) as exc:
        run.problem = f"{MANIFEST} unreadable ({type(exc).__name__}: {exc})" if not isinstance(exc, PackageError) \
            else str(exc)
        return run
    if not verification.ok:
        run.problem = "fails verification: " + "; ".join(verification.lines())
    return run


def _folder_period(run_dir: Path) -> Period | None:
    """The period its folder names: where a package whose manifest cannot be read belongs."""
    try:
        return parse_period(run_dir.parent.name)
    except EvidenceError:
        return None


# -- the window -----------------------------------------------------------------------------------

def window_periods(window: Period, every: str) -> list[Period]:
    """Each month or quarter lying wholly inside the window, in order."""
    periods, day = [], window.start
    while day <= window.end:
        label = f"{day.year}-{day.month:02d}" if every == "month" else f"{day.year}-Q{(day.month - 1) // 3 + 1}"
        period = parse_period(label)
        if window.start <= period.start and period.end <= window.end:
            periods.append(period)
        day = period.end + timedelta(days=1)
    return periods


def default_window(runs: list[FoundRun]) -> Period:
    """From the first verified period's start to the last one's end."""
    periods = [r.period for r in runs if r.period and not r.problem]
    if not periods:
        raise HistoryError("no verified package found: give --window, or point at a folder of evidence packages")
    return parse_period(f"{min(p.start for p in periods)}..{max(p.end for p in periods)}")


def period_kind(runs: list[FoundRun]) -> str:
    """month when every verified package is a month's, else quarter."""
    labels = [r.period.label for r in runs if r.period and not r.problem]
    return "month" if labels and all(MONTH.fullmatch(label) for label in labels) else "quarter"


@dataclass
class WindowHistory:
    """What the window shows, judged: ready for a report, nothing rendered."""

    window: Period
    entity: str | None
    every: str
    periods: list[Period]  # the window's periods, in order (with any custom period a used run covers)
    runs: list[FoundRun]  # every package found, each with its note
    used: dict[str, FoundRun]  # period label -> the run the window rests on
    matrix: pd.DataFrame  # control, title, rule, period, status, exceptions, population, open, responded
    exceptions: pd.DataFrame  # KEY + period, response_status: every exception of every used run
    changes: pd.DataFrame  # kind, KEY, from_period, to_period, response_status
    gaps: list[dict]  # period, control ("" for the whole period), reason
    summaries: dict[str, str]  # control -> one paragraph for the Type 2 reader
    cautions: list[str] = field(default_factory=list)  # what limits comparing periods, stated

    @property
    def failed(self) -> list[FoundRun]:
        """Packages failing verification whose period is in the window, or unknown (an unreadable manifest)."""
        return [r for r in self.runs if r.problem and (r.period is None or (self.window.start <= r.period.start
                                                       and r.period.end <= self.window.end))]

    @property
    def status(self) -> str:
        if self.gaps or self.failed:
            return ERROR
        return EXCEPTIONS if self.matrix["exceptions"].sum() else PASS


def judge_window(runs: list[FoundRun], window: Period | None = None, *, entity: str | None = None,
                 every: str | None = None) -> WindowHistory:
    """The latest complete run of each period in the window, its matrix, gaps and exception changes."""
    window = window or default_window(runs)
    every = every or period_kind(runs)
    expected = window_periods(window, every)
    used = _choose(runs, window)
    periods = sorted({p.label: p for p in expected + [r.period for r in used.values()]}.values(),
                     key=lambda p: (p.start, p.end))
    matrix = _matrix(used, periods)
    exceptions = _exceptions(used, matrix)
    gaps = _gaps(expected, runs, used, matrix)
    changes = _changes(exceptions, matrix, [p.label for p in periods], _population_reader(used, matrix))
    history = WindowHistory(window, entity, every, periods, runs, used, matrix, exceptions, changes, gaps, {})
    history.summaries = {control: summary(history, control) for control in matrix["control"].unique()}
    history.cautions = cautions(used)
    return history


def _choose(runs: list[FoundRun], window: Period) -> dict[str, FoundRun]:
    """period -> the run the window rests on: its latest verified run that did not end in error, else its
    latest verified run that judged at least one control (its controls in error become gaps); run ids
    start with their UTC time. Every run not used is noted with why."""
    used: dict[str, FoundRun] = {}
    for run in runs:
        if run.problem:
            run.note = "not used: " + run.problem
        elif not (window.start <= run.period.start and run.period.end <= window.end):
            run.note = "outside the window"
        elif not _judged_any(run):
            run.note = "not used: the run ended in error and judged no control"
        else:
            label = run.period.label
            if label not in used or _preference(run) > _preference(used[label]):
                used[label] = run
    for run in runs:
        chosen = used.get(run.period.label) if run.period else None
        if chosen is run:
            run.note = "used" + (" (its only verified runs ended in error)" if run.status == ERROR else "")
        elif chosen is not None and not run.note:
            run.note = f"{'earlier' if run.run_id < chosen.run_id else 'later'} run, superseded by {chosen.run_id}" \
                       + (" (this one ended in error)" if run.status == ERROR else "")
    return used


def _preference(run: FoundRun) -> tuple:
    return run.status != ERROR, run.run_id


def _judged_any(run: FoundRun) -> bool:
    return any(c.get("status") != ERROR for c in run.manifest.get("controls", []))


def _matrix(used: dict[str, FoundRun], periods: list[Period]) -> pd.DataFrame:
    rows = []
    for period in periods:
        run = used.get(period.label)
        for control in (run.manifest.get("controls", []) if run else []):
            for rule in control.get("rules", []):
                rows.append({"control": control["control"], "title": control.get("title", ""), "rule": rule["rule"],
                             "period": period.label, "status": rule["status"],
                             "exceptions": int(rule["exception_count"]), "population": int(rule["population"]),
                             "notebook": control.get("notebook", "")})
            if not control.get("rules"):  # a control in error names no rule: its row says so
                rows.append({"control": control["control"], "title": control.get("title", ""), "rule": "",
                             "period": period.label, "status": control["status"], "exceptions": 0,
                             "population": 0, "notebook": control.get("notebook", "")})
    columns = ["control", "title", "rule", "period", "status", "exceptions", "population", "notebook"]
    return pd.DataFrame(rows, columns=columns).astype({"exceptions": "int64", "population": "int64"})


def _exceptions(used: dict[str, FoundRun], matrix: pd.DataFrame) -> pd.DataFrame:
    """Every exception row of the used runs' exceptions.csv, for the rules of their controls (not the
    integrity checks), with its response status where responses.yaml gave one."""
    frames = []
    for (label, notebook), _rules in matrix[matrix["exceptions"] > 0].groupby(["period", "notebook"]):
        path = used[label].path / notebook / "exceptions.csv"
        if not path.is_file():
            continue
        rows = pd.read_csv(path, dtype=str, keep_default_na=False)
        for column in ("system", "response_status"):
            if column not in rows:
                rows[column] = ""
        rows["period"] = label
        frames.append(rows[[*KEY, "period", "response_status"]])
    columns = [*KEY, "period", "response_status"]
    found = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)
    judged = matrix[["control", "rule", "period"]].drop_duplicates()
    return found.merge(judged, on=["control", "rule", "period"])[columns].reset_index(drop=True)


def _gaps(expected: list[Period], runs: list[FoundRun], used: dict[str, FoundRun], matrix: pd.DataFrame
          ) -> list[dict]:
    gaps = []
    for period in expected:
        if period.label in used:
            continue
        tried = [r for r in runs if r.period and r.period.label == period.label]
        reason = ("no package" if not tried else "only runs that ended in error" if any(not r.problem for r in tried)
                  else "no package that passes verification")
        gaps.append({"period": period.label, "control": "", "reason": f"no verified evidence: {reason}"})
    failing = matrix[matrix["status"] == ERROR].groupby(["period", "control"])["rule"].apply(list)
    for (label, control), rules in failing.items():
        named = ", ".join(r for r in rules if r) or "the control"
        gaps.append({"period": label, "control": control, "reason": f"{named} could not be judged (error)"})
    return gaps


#: (control, rule, period) -> the rule's population keys (system, record key) in that period, None if not stored
Population = Callable[[str, str, str], frozenset | None]


def _population_reader(used: dict[str, FoundRun], matrix: pd.DataFrame) -> Population:
    """Each rule's population keys, read from its notebook's results.json (verified with its package) when asked."""
    notebooks = {(r.control, r.rule, r.period): r.notebook for r in matrix.itertuples(index=False)}

    @cache
    def keys_of(label: str, notebook: str) -> dict[tuple[str, str], frozenset]:
        try:
            document = json.loads((used[label].path / notebook / "results.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return {(control.get("control"), rule.get("rule")): frozenset(
                    ("" if system is None else str(system), str(key)) for system, key in rule["population_keys"])
                for control in document.get("controls", []) if isinstance(control, dict)
                for rule in control.get("rules", []) if isinstance(rule, dict) and rule.get("population_keys")}

    def population(control: str, rule: str, label: str) -> frozenset | None:
        notebook = notebooks.get((control, rule, label))
        return keys_of(label, notebook).get((control, rule)) if notebook else None

    return population


def _changes(exceptions: pd.DataFrame, matrix: pd.DataFrame, labels: list[str],
             population: Population = lambda control, rule, label: None) -> pd.DataFrame:
    """Between each two consecutive periods where a rule was judged in both: the exceptions found in
    both (recurring), in the first only (remediated, or left when the record left the rule's population)
    and in the second only (new)."""
    judged = set(map(tuple, matrix.loc[matrix["status"].isin([PASS, EXCEPTIONS]), ["control", "rule", "period"]]
                     .itertuples(index=False)))
    keys: dict[tuple, dict[tuple, str]] = {}
    for row in exceptions.itertuples(index=False):
        keys.setdefault((row.control, row.rule, row.period), {})[(row.system, row.record_key)] = row.response_status
    rows = []
    for before, after in pairwise(labels):
        for control, rule in matrix[["control", "rule"]].drop_duplicates().itertuples(index=False):
            if (control, rule, before) not in judged or (control, rule, after) not in judged:
                continue
            first, second = keys.get((control, rule, before), {}), keys.get((control, rule, after), {})
            gone = first.keys() - second.keys()
            judged_after = population(control, rule, after) if gone else None
            left = set() if judged_after is None else gone - judged_after
            for kind, found, status in ((RECURRING, first.keys() & second.keys(), second),
                                        (REMEDIATED, gone - left, first), (LEFT, left, first),
                                        (NEW, second.keys() - first.keys(), second)):
                rows += [{"kind": kind, "control": control, "rule": rule, "system": system, "record_key": key,
                          "from_period": before, "to_period": after, "response_status": status[(system, key)]}
                         for system, key in sorted(found)]
    return pd.DataFrame(rows, columns=["kind", *KEY, "from_period", "to_period", "response_status"])


def cautions(used: dict[str, FoundRun]) -> list[str]:
    """Runs whose PII was masked with a key of that run only: their record keys are pseudonyms that no
    other period shares, so their exceptions look new (and the previous period's remediated)."""
    return [f"{label}: names and e-mail addresses were masked with a key of run {run.run_id} only, so its "
            f"record keys match no other period's: recurring, remediated and new are not meaningful next to it "
            f"(run with --mask-pii --mask-key FILE, the same file every period)"
            for label, run in sorted(used.items()) if _masked_per_run(run)]


def _masked_per_run(run: FoundRun) -> bool:
    options = run.manifest.get("options") or {}
    return bool(options.get("mask_pii")) and options.get("mask_key") != "user-supplied"


def summary(history: WindowHistory, control: str) -> str:
    """One paragraph: in how many periods the control operated without exception, what each period with
    exceptions found and what became of them, and the periods without evidence."""
    rows = history.matrix[history.matrix["control"] == control]
    unit = "month(s)" if history.every == "month" else "quarter(s)"
    labels = [p.label for p in history.periods]
    grouped = dict(iter(rows.groupby("period", sort=False)))
    by_period = {label: grouped.get(label, rows.iloc[:0]) for label in labels}
    judged = [label for label, r in by_period.items() if len(r) and (r["status"] != ERROR).all()]
    clean = [label for label in judged if not by_period[label]["exceptions"].sum()]
    parts = [f"{control} operated without exception in {len(clean)} of {len(labels)} {unit} of the window"]
    changes = history.changes[history.changes["control"] == control]
    by_from = dict(iter(changes.groupby("from_period", sort=False)))
    for label in judged:
        found = by_period[label][by_period[label]["exceptions"] > 0]
        if found.empty:
            continue
        listed = ", ".join(f"{r.rule} {r.exceptions}" for r in found.itertuples())
        text = f"{label}: {int(found['exceptions'].sum())} exception(s) ({listed})"
        later = by_from.get(label, changes.iloc[:0])
        remediated, recurring = (later["kind"] == REMEDIATED).sum(), (later["kind"] == RECURRING).sum()
        if len(later):
            following = later["to_period"].iloc[0]
            text += f", {remediated} remediated by {following}, {recurring} still found in {following}"
            if left := (later["kind"] == LEFT).sum():
                text += f", {left} no longer in the population in {following}"
        parts.append(text)
    missing = [label for label in labels if label not in judged]
    if missing:
        parts.append(f"no judged evidence for {', '.join(missing)}")
    return "; ".join(parts) + "."

