"""The evidence inventory: one line per declared file, for `evidence check` and notebooks.

Besides what was read, each line says where the export came from as evidence.yaml declares it
(source, extracted_by, exported_at — `extracted_at:` there is the same field) and reconciles its
rows read to its control total: `reconciled` is "57 = 57", "57 ≠ 58 (1 missing)" or "" (no total).
"""

from __future__ import annotations

import pandas as pd

from evidence_lib.sources.folder import EvidenceSet

COLUMNS = ["file", "type", "system", "format", "rows_read", "rows_kept", "sha256", "problems",
           "source", "extracted_by", "exported_at", "control_total", "reconciled"]
ORIGIN = {"source": "", "extracted_by": "", "exported_at": "", "control_total": None, "reconciled": ""}


def inventory(evidence: EvidenceSet) -> pd.DataFrame:
    """Files, what they hold, how many rows were read and kept, their hash, what is wrong, and where
    each came from (a control total that does not reconcile is listed among the file's problems)."""
    rows = []
    for outcome in evidence.outcomes:
        declared, loaded = outcome.declared, outcome.loaded
        provenance = loaded.provenance if loaded else None
        problems = [p.message for p in outcome.problems] + [gap for gap in [outcome.control_total_gap()] if gap]
        notes = _notes(provenance) if provenance else []
        rows.append({
            "file": declared.path,
            "type": declared.evidence_type,
            "system": declared.system or "",
            "format": declared.format,
            "rows_read": provenance.rows_read if provenance else None,
            "rows_kept": provenance.rows_kept if provenance else None,
            "sha256": provenance.sha256 if provenance else "",
            "problems": "; ".join(problems + notes) if problems else "ok" + (f" ({'; '.join(notes)})" if notes else ""),
            "source": declared.source or "",
            "extracted_by": declared.extracted_by or "",
            "exported_at": declared.exported_at or "",
            "control_total": declared.control_total,
            "reconciled": outcome.reconciled(),
        })
    for name in evidence.undeclared:
        rows.append({"file": name, "type": "", "system": "", "format": "", "rows_read": None, "rows_kept": None,
                     "sha256": "", "problems": "present but not declared in evidence.yaml", **ORIGIN})
    frame = pd.DataFrame(rows, columns=COLUMNS)
    return frame.astype({"rows_read": "Int64", "rows_kept": "Int64", "control_total": "Int64"})


def _notes(provenance) -> list[str]:
    """What a reader of the inventory must know about a file that loaded."""
    notes = []
    if provenance.rows_read == 0:  # only evidence that may rightly be empty loads so
        notes.append("0 rows (header only)")
    if provenance.rows_rejected:
        notes.append(f"{provenance.rows_rejected} row(s) set aside as data-quality exceptions")
    for reason, rows in getattr(provenance, "filtered", {}).items():
        notes.append(f"{len(rows)} row(s) left out by the mapping: {reason}")
    if provenance.blank_rows:
        notes.append(f"{provenance.blank_rows} blank row(s) skipped")
    if provenance.absent_columns:
        notes.append(f"no column for: {', '.join(provenance.absent_columns)}")
    return notes


SET_ASIDE_COLUMNS = ["file", "row", "problem"]


def set_aside_rows(evidence: EvidenceSet) -> pd.DataFrame:
    """One line per row kept aside (bad_rows: quarantine): which file, which source row, what was wrong."""
    rows = [{"file": outcome.declared.path, "row": int(row), "problem": problem}
            for outcome in evidence.outcomes if outcome.loaded is not None and len(outcome.loaded.rejected)
            for row, problem in outcome.loaded.rejected["problem"].items()]
    return pd.DataFrame(rows, columns=SET_ASIDE_COLUMNS).astype({"row": "Int64"})


def format_table(frame: pd.DataFrame, widths: dict[str, int] | None = None) -> str:
    """A plain-text table for terminals and logs: no wrapping, long cells cut with an ellipsis."""
    widths = widths or {}
    cells = [[_cell(v, widths.get(c)) for c, v in row.items()] for _, row in frame.iterrows()]
    header = list(frame.columns)
    sizes = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(header)]
    numeric = [pd.api.types.is_numeric_dtype(frame[c]) for c in header]
    def line(values):
        return "  ".join(v.rjust(s) if n else v.ljust(s) for v, s, n in zip(values, sizes, numeric)).rstrip()
    return "\n".join([line(header), line(["-" * s for s in sizes]), *map(line, cells)])


def _cell(value, width: int | None) -> str:
    text = "" if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value)
    if width and len(text) > width:
        return text[: width - 1] + "…"
    return text
