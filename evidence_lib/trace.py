"""Trace an exception row to its source: the export, the row (or JSON record) and the vendor's own
values of the columns the rule used, so an auditor can open the file and find the line."""

from __future__ import annotations

import pandas as pd

from evidence_lib.sources.folder import EvidenceSet
from evidence_lib.views import TRACE_COLUMNS

VENDOR_VALUES = "source_values"


def with_vendor_values(rows: pd.DataFrame, evidence: EvidenceSet, used: dict[str, frozenset[str]]) -> pd.DataFrame:
    """The exception rows with `source_values` ("Okta User Status: ACTIVE; Last Login Date: …"): the
    export's cells, as read, behind the canonical columns the rule uses (`used`: evidence type ->
    columns). Rows that name no source file (a view built from several records) are left blank."""
    if not len(rows) or not set(TRACE_COLUMNS) <= set(rows.columns):
        return rows
    files = {o.declared.relative: o.loaded for o in evidence.outcomes if o.loaded is not None}
    values = [_cells(files.get(file), row, used) for file, row in zip(rows["source_file"], rows["source_row"])]
    return rows.assign(**{VENDOR_VALUES: pd.Series(values, index=rows.index, dtype="str")})


def _cells(loaded, row, used: dict[str, frozenset[str]]) -> str:
    if loaded is None or pd.isna(row) or int(row) not in loaded.raw.index:
        return ""
    provenance = loaded.provenance
    columns = used.get(provenance.evidence_type) or provenance.columns_used.keys()
    headers = dict.fromkeys(part for column in sorted(columns)
                            for part in str(provenance.columns_used.get(column, "")).split("+")
                            if part in loaded.raw.columns)
    cells = loaded.raw.loc[int(row)]
    shown = "; ".join(f"{header.strip()}: {cells[header]}" for header in headers)
    return f"[sheet {provenance.sheet}] {shown}" if provenance.sheet else shown
