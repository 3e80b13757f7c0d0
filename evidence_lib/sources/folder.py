"""The evidence folder: `evidence.yaml` (see declaration.py) and every export it declares.

Loading a folder loads every declared file and keeps going past failures, so one bad
export does not hide the state of the others. Every file read lies inside the folder and is
hashed (`EvidenceSet.files_read`); two declarations of one file, two files with the same
bytes, and one key in two files of one evidence type are problems, never silently merged.
A file whose rows read differ from its declared `control_total` is a problem too
(`EvidenceSet.control_total_gaps`): its rows still load, but no rule using it can pass.
"""

from __future__ import annotations

import contextlib
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from evidence_lib.errors import (
    DeclarationError,
    EvidenceError,
    LoadError,
    MappingError,
    Problem,
    ProblemsError,
    located,
    shorten,
)
from evidence_lib.sources.apply import empty_frame
from evidence_lib.sources.contain import relative_name
from evidence_lib.sources.declaration import (  # noqa: F401 - the folder's public names
    DECLARATION,
    Declaration,
    Declared,
    ScopeDecision,
    check_period,
    read_declaration,
)
from evidence_lib.sources.limits import MAX_YAML_BYTES, read_regular_file
from evidence_lib.sources.load import LoadedEvidence, load_data
from evidence_lib.sources.mapping import Mapping, load_mapping, resolve_mapping, with_overrides
from evidence_lib.sources.responses_file import RESPONSES, Responses, read_responses
from evidence_lib.sources.schemas import SCHEMAS

RECONCILE_HINT = "re-export, or correct control_total with its source"


@dataclass
class FileOutcome:
    declared: Declared
    loaded: LoadedEvidence | None = None
    problems: list[Problem] = field(default_factory=list)
    sha256: str | None = None  # of the bytes read, even when they did not load
    mapping_read: tuple[str, str] | None = None  # (path in the folder, sha256) of a custom mapping file

    @property
    def ok(self) -> bool:
        return self.loaded is not None and not self.problems

    def reconciled(self) -> str:
        """Rows read against the declared control total: "57 = 57", "57 ≠ 58 (1 missing)",
        "59 ≠ 58 (1 extra)"; "" when no total is declared or the file did not load."""
        total = self.declared.control_total
        if total is None or self.loaded is None:
            return ""
        read = self.loaded.provenance.rows_read
        if read == total:
            return f"{read} = {total}"
        return f"{read} ≠ {total} ({abs(total - read)} {'missing' if read < total else 'extra'})"

    def control_total_gap(self) -> str | None:
        """Why this file's rows do not reconcile to its control total, or None when they do (or none is
        declared, or the file did not load: then its load problems already say what is wrong)."""
        total, declared = self.declared.control_total, self.declared
        if total is None or self.loaded is None or self.loaded.provenance.rows_read == total:
            return None
        read = self.loaded.provenance.rows_read
        screen = f" ({declared.control_total_source})" if declared.control_total_source else ""
        difference = abs(total - read)
        rows = f"{difference} row{'s' if difference != 1 else ''}"
        differs = f"{rows} missing" if read < total else f"{rows} more than the control total counts"
        return f"has {read} data row{'s' if read != 1 else ''} but its control total{screen} says {total}: {differs}"


@dataclass
class EvidenceSet:
    """Everything loaded from one folder, failures included."""

    declaration: Declaration
    outcomes: list[FileOutcome]
    undeclared: list[str]
    # Management's responses to exceptions (responses.yaml beside evidence.yaml), checked for shape.
    responses: Responses = field(default_factory=Responses)

    @property
    def problems(self) -> list[Problem]:
        found = [p for o in self.outcomes for p in o.problems]
        found += [located(str(self.declaration.folder / o.declared.path), gap, RECONCILE_HINT)
                  for o in self.outcomes if (gap := o.control_total_gap())]
        found += [located(str(self.declaration.folder / name), "file present but not declared in evidence.yaml",
                          "declare it under `files:` or list it under `ignore:`") for name in self.undeclared]
        return found

    @property
    def ok(self) -> bool:
        return not self.problems

    def loaded(self, evidence_type: str) -> list[LoadedEvidence]:
        return [o.loaded for o in self.outcomes if o.loaded is not None and o.declared.evidence_type == evidence_type]

    def failed(self, evidence_type: str) -> list[FileOutcome]:
        """Files of this type that did not load, or loaded with a problem (a key also in another file)."""
        return [o for o in self.outcomes if not o.ok and o.declared.evidence_type == evidence_type]

    def frame(self, evidence_type: str) -> pd.DataFrame:
        """All files of one type as one frame (accounts: one file per system)."""
        frames = [e.frame.reset_index() for e in self.loaded(evidence_type)]
        if not frames:
            return empty_frame(SCHEMAS[evidence_type]).reset_index()
        return pd.concat(frames, ignore_index=True)

    def control_total_gaps(self, evidence_type: str | None = None) -> dict[str, str]:
        """File (relative posix path) -> a sentence saying by how much its rows read differ from its
        declared control total, for every loaded file (of `evidence_type`, or of any type) that does not
        reconcile. Each is an error for every rule using the file: what it tested is not the population
        the independent screen counts. Files without a total, or that did not load, are not listed."""
        return {o.declared.relative: f"{o.declared.relative} {gap} — {RECONCILE_HINT}" for o in self.outcomes
                if (evidence_type is None or o.declared.evidence_type == evidence_type)
                and (gap := o.control_total_gap())}

    def files_read(self) -> dict[str, str]:
        """Relative posix path -> sha256 of exactly the files read: evidence.yaml, exports, custom mappings."""
        read = {DECLARATION: self.declaration.sha256}
        for outcome in self.outcomes:
            if outcome.sha256:
                read[outcome.declared.relative] = outcome.sha256
            if outcome.mapping_read:
                read[outcome.mapping_read[0]] = outcome.mapping_read[1]
        if self.responses.sha256:
            read[RESPONSES] = self.responses.sha256
        return dict(sorted(read.items()))


def load_folder(folder: Path, *, progress: bool = False) -> EvidenceSet:
    """Every declared file loaded (or its problems); progress=True shows a bar on stderr per file."""
    from tqdm import tqdm

    declaration = read_declaration(folder)
    files = tqdm(declaration.files, desc="loading evidence", unit="file", disable=not progress, leave=False)
    outcomes = [_load_one(declaration, declared) for declared in files]
    _same_bytes(outcomes, declaration.folder)
    _keys_across_files(outcomes, declaration.folder)
    return EvidenceSet(declaration=declaration, outcomes=outcomes, undeclared=_undeclared(declaration),
                       responses=read_responses(declaration.folder))


def files_read(folder: Path) -> dict[str, str]:
    """What `load_folder(folder).files_read()` answers — every file loading reads, with its SHA-256 —
    without parsing the exports: the same files are read and hashed, in the same way."""
    declaration = read_declaration(folder)
    outcomes = []
    for declared in declaration.files:
        outcome = FileOutcome(declared)
        with contextlib.suppress(EvidenceError):  # a file loading could not read is not read here either
            _read_one(declaration, declared, outcome)
        outcomes.append(outcome)
    return EvidenceSet(declaration=declaration, outcomes=outcomes, undeclared=[],
                       responses=read_responses(declaration.folder)).files_read()


def _read_one(declaration: Declaration, declared: Declared, outcome: FileOutcome) -> tuple[Mapping, bytes]:
    """The file's mapping and bytes, their hashes kept on the outcome."""
    folder = declaration.folder
    shown = str(folder / declared.path)
    mapping = _mapping(declaration, declared, outcome)
    if mapping.evidence_type != declared.evidence_type:
        raise DeclarationError([located(shown, f"format '{declared.format}' maps {mapping.evidence_type}, "
                                               f"but the file is declared as {declared.evidence_type}",
                                        "pick a format for this evidence type")])
    mapping = with_overrides(mapping, declared.columns, declared.values, str(folder / DECLARATION),
                             f"'{declared.path}'")
    data = read_regular_file(folder / declared.relative, shown)
    outcome.sha256 = hashlib.sha256(data).hexdigest()
    return mapping, data


def _load_one(declaration: Declaration, declared: Declared) -> FileOutcome:
    shown = str(declaration.folder / declared.path)
    outcome = FileOutcome(declared)
    try:
        mapping, data = _read_one(declaration, declared, outcome)
        outcome.loaded = load_data(
            data,
            mapping,
            display_path=shown,
            system=declared.system,
            exported_at=declared.exported_at,
            read_overrides=declared.read_overrides,
            bad_rows=declared.bad_rows,
            placeholders=declaration.placeholders,
            mapping_path=outcome.mapping_read[0] if outcome.mapping_read else None,
        )
    except ProblemsError as exc:
        outcome.problems = exc.problems
    except EvidenceError as exc:
        outcome.problems = [located(shown, shorten(str(exc), 500))]
    return outcome


def _mapping(declaration: Declaration, declared: Declared, outcome: FileOutcome) -> Mapping:
    """The file's mapping; a custom one is read from inside the folder, and its hash kept."""
    folder = declaration.folder
    path = resolve_mapping(declared.format, folder, str(folder / DECLARATION), where=f"'{declared.path}': format")
    if not declared.format.endswith((".yaml", ".yml")):
        return load_mapping(path)
    try:
        data = read_regular_file(path, str(path), max_bytes=MAX_YAML_BYTES)
    except LoadError as exc:
        raise MappingError(exc.problems) from None
    outcome.mapping_read = (relative_name(folder, path), hashlib.sha256(data).hexdigest())
    return load_mapping(path, data)


def _same_bytes(outcomes: list[FileOutcome], folder: Path) -> None:
    """One export declared twice under two names (a copy) would count its rows twice."""
    first: dict[str, FileOutcome] = {}
    for outcome in outcomes:
        if not outcome.sha256:
            continue
        earlier = first.setdefault(outcome.sha256, outcome)
        if earlier is not outcome:
            outcome.problems.append(located(str(folder / outcome.declared.path),
                                            f"has the same bytes as '{earlier.declared.path}'",
                                            "declare each export once: remove the copy"))


def _keys_across_files(outcomes: list[FileOutcome], folder: Path) -> None:
    """A key must be unique across all files of its type (not accounts: a duplicate id there is a finding)."""
    for evidence_type, schema in SCHEMAS.items():
        files = [o for o in outcomes if o.declared.evidence_type == evidence_type and o.ok]
        if not schema.key_must_be_unique or len(files) < 2:
            continue
        key = list(schema.key)
        seen: dict[tuple, tuple[FileOutcome, int]] = {}
        for outcome in files:
            frame = outcome.loaded.frame
            for row, values in zip(frame.index, frame[key].itertuples(index=False, name=None)):
                earlier = seen.setdefault(values, (outcome, int(row)))
                if earlier[0] is not outcome:
                    named = [(k, v) for k, v in zip(key, values) if pd.notna(v)] or list(zip(key, values))
                    shown_key = ", ".join(f"{k}={shorten(v)}" for k, v in named)  # empty key parts say nothing
                    outcome.problems.append(located(
                        str(folder / outcome.declared.path),
                        f"duplicate key {shown_key}: also in '{earlier[0].declared.path}' row {earlier[1]}",
                        "each record must appear in one file only: remove it from one export or re-export",
                        row=int(row), column="+".join(key)))


def evidence_hashes(folder: Path) -> dict[str, str]:
    """relative path -> sha256 of every file of the evidence folder but those its evidence.yaml
    ignores (`ignore:`, e.g. a README or an answer key): what a run lists as its evidence inputs."""
    folder = Path(folder)
    try:
        ignored = set(read_declaration(folder).ignore)
    except EvidenceError:
        ignored = set()  # the run refuses such a folder before hashing; verify still names every file
    found = {}
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder).as_posix()
        if path.is_file() and not (relative in ignored or any(path.match(pattern) for pattern in ignored)):
            found[relative] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def _undeclared(declaration: Declaration) -> list[str]:
    folder = declaration.folder
    known = {d.relative for d in declaration.files} | {Path(d.path).as_posix() for d in declaration.files}
    known |= {DECLARATION, RESPONSES} | {Path(d.format).as_posix().removeprefix("./") for d in declaration.files
                              if d.format.endswith((".yaml", ".yml"))}
    ignored = set(declaration.ignore)
    found = []
    for path in sorted(folder.rglob("*")):
        if not path.is_file():
            continue
        relative = path.relative_to(folder).as_posix()
        if relative in known or relative in ignored or any(path.match(pattern) for pattern in ignored):
            continue
        if any(part.startswith(".") for part in path.relative_to(folder).parts):
            continue
        found.append(relative)
    return found
