"""A window history as a package: index.html (offline, one trend chart per control), CSV and JSON,
hashed in its own manifest.json, written whole or not at all and never over another (PackageBuilder),
so `evidence verify` checks it like any run. It renders what history.py judged; it decides nothing.

<out>/<window>/<run-id>/ with index.html, history.json, matrix.csv, changes.csv, exceptions.csv,
gaps.csv and runs.csv. Its manifest names every package it read with that package's manifest SHA-256.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from evidence_lib.charts import STATUS_COLOURS, palette_png
from evidence_lib.history import (
    HISTORY_KIND,
    LEFT,
    NEW,
    RECURRING,
    REMEDIATED,
    WindowHistory,
    entity_root,
    judge_window,
    read_runs,
)
from evidence_lib.package import PackageBuilder, write_csv_atomically, write_json_atomically, write_text_atomically
from evidence_lib.period import parse_period
from evidence_lib.project import TEMPLATES_DIR, shown_folder

HISTORY_SCHEMA_VERSION = 1
HISTORY_TEMPLATE = "window-history.html.j2"


def write_history(history: WindowHistory, out: Path, *, runs_dir: Path) -> Path:
    """Write the window's package under out/<window label>/<run-id>/ and return its folder."""
    document = history_document(history, runs_dir=runs_dir)
    builder = PackageBuilder(Path(out), history.window.label)
    with builder.writing():
        folder = builder.work_dir
        write_json_atomically(folder / "history.json", document)
        write_csv_atomically(folder / "matrix.csv", history.matrix.drop(columns=["notebook"]))
        write_csv_atomically(folder / "changes.csv", history.changes)
        write_csv_atomically(folder / "exceptions.csv", history.exceptions)
        write_csv_atomically(folder / "gaps.csv", pd.DataFrame(history.gaps, columns=["period", "control", "reason"]))
        write_csv_atomically(folder / "runs.csv", pd.DataFrame(document["packages"]))
        write_text_atomically(folder / "index.html", render_history(history, document, builder.run_id))
        return builder.finish({key: document[key] for key in ("schema_version", "kind", "status", "window", "entity",
                                                              "generated_at", "packages", "counts")})


def history_document(history: WindowHistory, *, runs_dir: Path) -> dict:
    """history.json: the window, every package read and what became of it, the matrix, gaps and changes."""
    window = history.window
    counts = {kind: int((history.changes["kind"] == kind).sum()) for kind in (RECURRING, REMEDIATED, LEFT, NEW)}
    counts.update(periods=len(history.periods), periods_used=len(history.used), gaps=len(history.gaps),
                  packages_failing_verification=len(history.failed))
    return {
        "schema_version": HISTORY_SCHEMA_VERSION, "kind": HISTORY_KIND, "status": str(history.status),
        "window": {"label": window.label, "start": window.start.isoformat(), "end": window.end.isoformat(),
                   "every": history.every, "periods": [p.label for p in history.periods]},
        "entity": history.entity, "runs_dir": shown_folder(Path(runs_dir)),
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "packages": [{"period": r.period.label if r.period else "", "run_id": r.run_id, "status": r.status,
                      "verified": not r.problem, "note": r.note or ("not used: " + r.problem if r.problem else ""),
                      "path": r.path.relative_to(Path(runs_dir)).as_posix() if r.path.is_relative_to(runs_dir)
                      else r.path.name, "manifest_sha256": r.manifest_sha256}
                     for r in sorted(history.runs, key=lambda r: (r.period.start.isoformat() if r.period else "",
                                                                  r.run_id))],
        "counts": counts,
        "summaries": history.summaries,
        "cautions": history.cautions,
        "gaps": history.gaps,
        "matrix": _records(history.matrix.drop(columns=["notebook"])),
        "changes": _records(history.changes),
        "exceptions": _records(history.exceptions),
    }


def _records(frame: pd.DataFrame) -> list[dict]:
    return frame.astype(object).where(frame.notna(), None).to_dict(orient="records")


def render_history(history: WindowHistory, document: dict, run_id: str) -> str:
    import jinja2

    environment = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES_DIR), autoescape=True,
                                     undefined=jinja2.StrictUndefined)
    controls = []
    for control, rows in history.matrix.groupby("control", sort=True):
        controls.append({"control": control, "title": rows["title"].iloc[0], "summary": history.summaries[control],
                         "chart": trend_chart(history, control), "rules": _rule_rows(history, rows)})
    return environment.get_template(HISTORY_TEMPLATE).render(
        **document, run_id=run_id, controls=controls, labels=[p.label for p in history.periods],
        responses=bool((history.exceptions["response_status"] != "").any()))


def _rule_rows(history: WindowHistory, rows: pd.DataFrame) -> list[dict]:
    """Per rule, one cell per period: status, exceptions of population, and open/responded where known."""
    exceptions = history.exceptions.assign(responded=history.exceptions["response_status"] == "responded",
                                           answered=history.exceptions["response_status"] != "")
    counted = exceptions.groupby(["control", "rule", "period"])[["responded", "answered"]].sum()
    table = []
    for rule, cells in rows.groupby("rule", sort=False):
        by_period = {}
        for cell in cells.itertuples():
            key = (cell.control, rule, cell.period)
            known = key in counted.index and counted.loc[key, "answered"] > 0
            by_period[cell.period] = {"status": cell.status, "exceptions": cell.exceptions,
                                      "population": cell.population,
                                      "responded": int(counted.loc[key, "responded"]) if known else None}
        table.append({"rule": rule or "(control)", "cells": by_period})
    return table


def trend_chart(history: WindowHistory, control: str) -> str:
    """Exceptions per rule over the window's periods, as a PNG data URI (no request leaves the page);
    a period without a judged verdict is a break in the line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [p.label for p in history.periods]
    rows = history.matrix[(history.matrix["control"] == control) & (history.matrix["rule"] != "")]
    figure, axes = plt.subplots(figsize=(7, 2.6), dpi=96)
    try:
        for rule, cells in rows.groupby("rule", sort=False):
            judged = cells[cells["status"] != "error"].set_index("period")["exceptions"]
            axes.plot(range(len(labels)), [judged.get(label, float("nan")) for label in labels], marker="o",
                      markersize=3 if len(labels) > 12 else 5, label=rule)
        step = max(1, -(-len(labels) // 12))  # at most 12 labelled ticks: a long window stays legible
        axes.set_xticks(range(0, len(labels), step), labels[::step], fontsize=8)
        axes.set_title(f"{control}: exceptions per rule", fontsize=10, loc="left")
        axes.set_ylabel("exceptions")
        axes.set_ylim(bottom=0)
        axes.spines[["top", "right"]].set_visible(False)
        axes.yaxis.get_major_locator().set_params(integer=True)
        for gap in {g["period"] for g in history.gaps if g["period"] in labels and g["control"] in ("", control)}:
            axes.axvspan(labels.index(gap) - 0.4, labels.index(gap) + 0.4, color=STATUS_COLOURS["error"], alpha=0.08)
        if len(rows):
            axes.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
        drawn = palette_png(figure)  # as a report's charts: flat colours exact, a third of the bytes
    finally:
        plt.close(figure)
    return "data:image/png;base64," + base64.b64encode(drawn).decode("ascii")


def history(runs_dir: Path, *, window: str | None = None, entity: str | None = None, out: Path | None = None,
            every: str | None = None) -> tuple[WindowHistory, Path]:
    """`evidence history`: read RUNS_DIR[/ENTITY], judge the window, write its package (default: beside the
    runs, where it is recognised as a history and never read as a period's run)."""
    root = entity_root(runs_dir, entity)
    judged = judge_window(read_runs(root), parse_period(window) if window else None, entity=entity, every=every)
    return judged, write_history(judged, Path(out) if out else root, runs_dir=root)
