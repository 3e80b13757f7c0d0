"""Load one declared evidence file: read, map, type, check keys, count and hash."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd

from evidence_lib.errors import LoadError, Problem, located, shorten
from evidence_lib.sources.apply import apply_mapping
from evidence_lib.sources.limits import read_regular_file
from evidence_lib.sources.mapping import Mapping, normalise_system
from evidence_lib.sources.readers import ReadOptions, read_table

BAD_ROW_POLICIES = ("fail", "quarantine")


@dataclass(frozen=True)
class Provenance:
    """Where a frame came from, enough for an auditor to re-perform the load."""

    path: str
    sha256: str
    bytes: int
    evidence_type: str
    system: str | None
    mapping: str
    mapping_sha256: str
    rows_read: int  # data rows in the file, blank rows excluded
    rows_kept: int
    rows_rejected: int  # set aside as data-quality exceptions (bad_rows: quarantine)
    blank_rows: int
    exported_at: str | None
    sheet: str | None = None
    # The mapping file relative to the evidence folder, or `builtin:<name>` for a shipped format.
    mapping_path: str | None = None
    # Canonical column -> the export's column that fed it (`a+b` when combined, `constant`, `declared`).
    columns_used: dict[str, str] = field(default_factory=dict)
    # Mapped columns that are not required and that this export has no column for: left empty.
    absent_columns: tuple[str, ...] = ()
    # What evidence.yaml changed of the format for this file (header_row, sheet, columns, values...).
    overrides: dict = field(default_factory=dict)
    # Rows the format says are not this evidence (its `keep_rows:`, e.g. pull requests closed without
    # merging): left out of the frame, counted, never silent. rows_read = kept + rejected + filtered.
    rows_filtered: int = 0
    filtered: dict[str, tuple[int, ...]] = field(default_factory=dict)  # reason -> source row numbers

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class LoadedEvidence:
    frame: pd.DataFrame  # canonical columns; index = source row number
    provenance: Provenance
    # Rows that could not be typed, kept aside when the analyst asked for it (bad_rows: quarantine):
    # index = source row number, a `problem` column, then the vendor's raw cells as read.
    rejected: pd.DataFrame = field(default_factory=pd.DataFrame)
    # The vendor's own cells, as read, of the source columns the mapping used (index = source row
    # number): what an exception row is traced back to, so an auditor can find the line in the export.
    raw: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def load_file(path: Path, mapping: Mapping, *, display_path: str | None = None, **options) -> LoadedEvidence:
    """Read a regular file (size-capped) and load it; `options` are load_data's."""
    shown = display_path or str(path)
    return load_data(read_regular_file(Path(path), shown), mapping, display_path=shown, **options)


def load_data(
    data: bytes,
    mapping: Mapping,
    *,
    display_path: str,
    system: str | None = None,
    exported_at: str | None = None,
    read_overrides: dict | None = None,
    bad_rows: str = "fail",
    placeholders: tuple[str, ...] = (),
    mapping_path: str | None = None,
) -> LoadedEvidence:
    """One export's bytes typed by its mapping; `placeholders` are words meaning "no value" in any column."""
    shown = display_path
    system = normalise_system(system) if system else None
    options = read_options(mapping.read, read_overrides or {}, shown)
    raw = read_table(data, shown, options, allow_empty=mapping.schema.may_be_empty)
    declared = {"system": system} if system else {}
    typed = apply_mapping(raw, mapping, shown, declared, placeholders)
    frame, rejected = typed.frame, pd.DataFrame()
    if typed.problems:
        if bad_rows != "quarantine":
            raise LoadError(typed.problems)
        frame, rejected = _set_aside(typed.frame, raw.frame, typed.problems)
    _check_keys(frame, mapping, shown)
    provenance = Provenance(
        path=shown,
        sha256=sha256_of(data),
        bytes=len(data),
        evidence_type=mapping.evidence_type,
        system=system,
        mapping=mapping.name,
        mapping_sha256=mapping.sha256,
        rows_read=len(raw.frame),
        rows_kept=len(frame),
        rows_rejected=len(rejected),
        blank_rows=raw.blank_rows,
        exported_at=exported_at,
        sheet=raw.sheet,
        mapping_path=mapping_path or _mapping_label(mapping),
        columns_used=typed.columns_used,
        absent_columns=typed.absent,
        overrides={**(read_overrides or {}), **mapping.overrides},
        rows_filtered=sum(len(rows) for rows in typed.filtered.values()),
        filtered=typed.filtered,
    )
    used = [c for c in raw.frame.columns if c in _source_headers(typed.columns_used)]
    return LoadedEvidence(frame=frame, provenance=provenance, rejected=rejected, raw=raw.frame[used])


def _source_headers(columns_used: dict[str, str]) -> set[str]:
    """The export's headers behind the canonical columns (`a+b` when a mapping combined two)."""
    return {part for label in columns_used.values() for part in str(label).split("+")}


def read_options(mapping_read: ReadOptions, overrides: dict, shown: str) -> ReadOptions:
    """The mapping's read options with a file's own; `header_row: N` (1-based) replaces `skip_rows`."""
    overrides = dict(overrides)
    if "header_row" in overrides:
        if mapping_read.format == "json":
            raise LoadError([located(shown, "a JSON export has no header row", "remove `header_row:` for this file "
                                                                               "in evidence.yaml")])
        overrides["skip_rows"] = int(overrides.pop("header_row")) - 1
    return ReadOptions(**{**mapping_read.__dict__, **overrides})


def _mapping_label(mapping: Mapping) -> str:
    from evidence_lib.sources.mapping import BUILTIN_DIR

    builtin = Path(mapping.path).parent.resolve() == BUILTIN_DIR.resolve()
    return f"builtin:{Path(mapping.path).stem}" if builtin else str(mapping.path)


def _set_aside(frame: pd.DataFrame, raw: pd.DataFrame, problems: list[Problem]):
    reasons: dict[int, list[str]] = {}
    for problem in problems:
        reasons.setdefault(problem.row, []).append(f"{problem.column}: {problem.message}")
    rows = sorted(reasons)
    rejected = raw.loc[rows].copy()
    rejected.insert(0, "problem", ["; ".join(reasons[r]) for r in rows])
    return frame.drop(index=rows), rejected


def _check_keys(frame: pd.DataFrame, mapping: Mapping, path: str) -> None:
    schema = mapping.schema
    if not schema.key_must_be_unique:
        return
    key = list(schema.key)
    duplicated = frame.duplicated(subset=key, keep=False)
    if not duplicated.any():
        return
    problems = []
    for _, group in frame[duplicated].groupby(key, sort=False, dropna=False):
        first, *others = group.index.tolist()
        # A key part this export leaves empty (a roster keyed by id, without e-mails) says nothing: not shown.
        named = [k for k in key if pd.notna(group.iloc[0][k])] or key
        value = ", ".join(f"{k}={shorten(group.iloc[0][k])}" for k in named)
        for row in others:
            problems.append(located(path, f"duplicate key {value} (first at row {first})",
                                    "each record must appear once: remove the duplicate row or re-export",
                                    row=int(row), column="+".join(named)))
    raise LoadError(problems)
