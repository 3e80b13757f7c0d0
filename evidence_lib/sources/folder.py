"""The evidence folder contract: `evidence.yaml` declares every export of one period.

    company: Northwind Analytics
    period: 2026-Q3
    exported_at: 2026-10-01T06:00:00Z     # default for every file
    ignore: [README.md]                   # files here that are not evidence
    files:
      - path: accounts/okta_users.csv
        type: accounts
        system: okta
        format: okta_users_csv            # a built-in mapping, or a .yaml of your own
        exported_at: 2026-10-01T06:05:00Z
        encoding: cp1252                  # optional read overrides: encoding, delimiter, sheet
        bad_rows: quarantine              # keep untypeable rows aside instead of failing

Loading a folder loads every declared file and keeps going past failures, so one bad
export does not hide the state of the others.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import yaml

from evidence_lib.errors import DeclarationError, EvidenceError, Problem, ProblemsError, located
from evidence_lib.sources.load import BAD_ROW_POLICIES, LoadedEvidence, load_file
from evidence_lib.sources.mapping import empty_frame, load_mapping, resolve_mapping
from evidence_lib.sources.schemas import SCHEMAS

DECLARATION = "evidence.yaml"
_FILE_KEYS = {"path", "type", "system", "format", "exported_at", "encoding", "delimiter", "sheet", "bad_rows"}
_READ_OVERRIDES = ("encoding", "delimiter", "sheet")


@dataclass(frozen=True)
class Declared:
    path: str  # relative to the folder, as written in evidence.yaml
    evidence_type: str
    format: str
    system: str | None = None
    exported_at: str | None = None
    read_overrides: dict = field(default_factory=dict)
    bad_rows: str = "fail"


@dataclass(frozen=True)
class Declaration:
    folder: Path
    company: str
    period: str | None
    files: tuple[Declared, ...]
    ignore: tuple[str, ...]


@dataclass
class FileOutcome:
    declared: Declared
    loaded: LoadedEvidence | None = None
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.loaded is not None and not self.problems


@dataclass
class EvidenceSet:
    """Everything loaded from one folder, failures included."""

    declaration: Declaration
    outcomes: list[FileOutcome]
    undeclared: list[str]

    @property
    def problems(self) -> list[Problem]:
        found = [p for o in self.outcomes for p in o.problems]
        found += [located(str(self.declaration.folder / name), "file present but not declared in evidence.yaml",
                          "declare it under `files:` or list it under `ignore:`") for name in self.undeclared]
        return found

    @property
    def ok(self) -> bool:
        return not self.problems

    def loaded(self, evidence_type: str) -> list[LoadedEvidence]:
        return [o.loaded for o in self.outcomes if o.loaded is not None and o.declared.evidence_type == evidence_type]

    def failed(self, evidence_type: str) -> list[FileOutcome]:
        return [o for o in self.outcomes if o.loaded is None and o.declared.evidence_type == evidence_type]

    def frame(self, evidence_type: str) -> pd.DataFrame:
        """All files of one type as one frame (accounts: one file per system)."""
        frames = [e.frame.reset_index() for e in self.loaded(evidence_type)]
        if not frames:
            return empty_frame(SCHEMAS[evidence_type]).reset_index()
        return pd.concat(frames, ignore_index=True)


def read_declaration(folder: Path) -> Declaration:
    folder = Path(folder)
    path = folder / DECLARATION
    shown = str(path)
    if not folder.is_dir():
        raise DeclarationError([located(str(folder), "the evidence folder does not exist", "check the path")])
    if not path.is_file():
        raise DeclarationError([located(shown, "the folder has no evidence.yaml",
                                        "write one that declares each export (see README: the evidence folder)")])
    try:
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise DeclarationError([located(shown, f"not valid YAML: {getattr(exc, 'problem', exc)}",
                                        "fix the indentation or quoting there",
                                        row=mark.line + 1 if mark else None)]) from None
    except UnicodeDecodeError:
        raise DeclarationError([located(shown, "evidence.yaml is not UTF-8 text", "save it as UTF-8")]) from None
    if not isinstance(spec, dict) or not isinstance(spec.get("files"), list) or not spec["files"]:
        raise DeclarationError([located(shown, "evidence.yaml needs a non-empty `files:` list",
                                        "declare each export with path, type and format")])
    problems: list[Problem] = []
    files = []
    for number, entry in enumerate(spec["files"], start=1):
        declared = _declared(entry, number, shown, spec, problems)
        if declared:
            files.append(declared)
    seen: dict[str, int] = {}
    for declared in files:
        seen[declared.path] = seen.get(declared.path, 0) + 1
    problems += [located(shown, f"'{p}' is declared {n} times", "declare each file once") for p, n in seen.items() if n > 1]
    if problems:
        raise DeclarationError(problems)
    return Declaration(
        folder=folder,
        company=str(spec.get("company", "")),
        period=str(spec["period"]) if spec.get("period") else None,
        files=tuple(files),
        ignore=tuple(str(i) for i in spec.get("ignore", ())),
    )


def _declared(entry, number: int, shown: str, spec: dict, problems: list[Problem]) -> Declared | None:
    where = f"files[{number}]"
    if not isinstance(entry, dict):
        problems.append(located(shown, f"{where} is not an object", "give path, type and format"))
        return None
    unknown = set(entry) - _FILE_KEYS
    missing = [k for k in ("path", "type", "format") if not entry.get(k)]
    if unknown:
        problems.append(located(shown, f"{where} has unknown key(s) {sorted(unknown)}", f"known: {sorted(_FILE_KEYS)}"))
    if missing:
        problems.append(located(shown, f"{where} lacks {', '.join(missing)}", "every file needs path, type and format"))
        return None
    if entry["type"] not in SCHEMAS:
        problems.append(located(shown, f"{where} ({entry['path']}): unknown evidence type '{entry['type']}'",
                                f"use one of {', '.join(SCHEMAS)}"))
        return None
    bad_rows = entry.get("bad_rows", "fail")
    if bad_rows not in BAD_ROW_POLICIES:
        problems.append(located(shown, f"{where}: bad_rows must be one of {BAD_ROW_POLICIES}", "fix the value"))
        return None
    exported_at = entry.get("exported_at", spec.get("exported_at"))
    return Declared(
        path=str(entry["path"]),
        evidence_type=entry["type"],
        format=str(entry["format"]),
        system=str(entry["system"]) if entry.get("system") else None,
        exported_at=str(exported_at) if exported_at else None,
        read_overrides={k: entry[k] for k in _READ_OVERRIDES if k in entry},
        bad_rows=bad_rows,
    )


def load_folder(folder: Path, *, progress: bool = False) -> EvidenceSet:
    """Every declared file loaded (or its problems); progress=True shows a bar on stderr per file."""
    from tqdm import tqdm

    declaration = read_declaration(folder)
    files = tqdm(declaration.files, desc="loading evidence", unit="file", disable=not progress, leave=False)
    outcomes = [_load_one(declaration, declared) for declared in files]
    return EvidenceSet(declaration=declaration, outcomes=outcomes, undeclared=_undeclared(declaration))


def _load_one(declaration: Declaration, declared: Declared) -> FileOutcome:
    folder = declaration.folder
    shown = str(folder / declared.path)
    try:
        mapping = load_mapping(resolve_mapping(declared.format, folder, str(folder / DECLARATION)))
        if mapping.evidence_type != declared.evidence_type:
            raise DeclarationError([located(shown, f"format '{declared.format}' maps {mapping.evidence_type}, "
                                                   f"but the file is declared as {declared.evidence_type}",
                                            "pick a format for this evidence type")])
        loaded = load_file(
            folder / declared.path,
            mapping,
            display_path=shown,
            system=declared.system,
            exported_at=declared.exported_at,
            read_overrides=declared.read_overrides,
            bad_rows=declared.bad_rows,
        )
        return FileOutcome(declared, loaded)
    except ProblemsError as exc:
        return FileOutcome(declared, problems=exc.problems)
    except EvidenceError as exc:
        return FileOutcome(declared, problems=[located(shown, str(exc))])


def _undeclared(declaration: Declaration) -> list[str]:
    folder = declaration.folder
    known = {Path(d.path).as_posix() for d in declaration.files} | {DECLARATION}
    known |= {Path(d.format).as_posix() for d in declaration.files if d.format.endswith((".yaml", ".yml"))}
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
