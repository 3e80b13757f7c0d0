"""`evidence init`: recognise each export in a folder by its header and propose evidence.yaml.

Every file is read only as far as its header: the first rows of a CSV (delimiter and encoding
sniffed), of every sheet of a workbook, or the keys of a JSON list of records (the document, or
a list under a top-level key). readers.find_header_row finds a table's header: the row naming
the most columns some built-in mapping knows (cover sheets, title rows and CSV preambles sit
above it). The header is then scored against every built-in mapping:

    score = required found / required        (a canonical column is found when the columns
          + columns found / columns mapped     its rule reads are present: any candidate name)

Coverage counts canonical columns, not names, so a format that lists many candidate names for
one column is not penalised for the names an export does not use. A file is placed only when
every required column of a format is found and the score is at least PLACE_AT (half the
format's columns found); the best such format wins (ties: the more specific format — the larger
share of its names present —, the more columns found, the fewer read overrides, then the name).
Anything else is a question for the user,
with the closest format and the canonical columns missing, never a silent choice.
"""

from __future__ import annotations

import codecs
import difflib
import io
import json
import os
import re
import tempfile
from dataclasses import dataclass, field
from fnmatch import fnmatch
from itertools import islice
from pathlib import Path

import yaml

from evidence_lib.errors import EvidenceError, LoadError, ProblemsError, quote
from evidence_lib.sources.declaration import DECLARATION
from evidence_lib.sources.limits import check_json_depth, check_xlsx, read_regular_file
from evidence_lib.sources.mapping import FieldRule, Mapping, builtin_mappings, load_mapping
from evidence_lib.sources.readers import DELIMITERS, ReadOptions, find_header_row, normalise_header
from evidence_lib.sources.responses_file import RESPONSES
from evidence_lib.sources.schemas import SCHEMAS, EvidenceType

PROPOSED = DECLARATION + ".proposed"
MAX_SCAN = 30  # rows looked at for a header
PLACE_AT = 1.5  # a score below it (all required columns, but under half of the named ones) is a question
SAMPLE_RECORDS = 500  # JSON records whose keys name the columns
_SCAN_BYTES = 1024**2  # of a CSV, enough for MAX_SCAN rows
_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
_EXTENSIONS = {".csv": "csv", ".tsv": "csv", ".txt": "csv", ".xlsx": "xlsx", ".xlsm": "xlsx", ".json": "json"}
_ENVIRONMENTS = {"prod": "prod", "production": "prod", "prd": "prod", "dev": "dev", "development": "dev",
                 "staging": "staging", "stage": "staging", "stg": "staging", "test": "test", "qa": "qa",
                 "uat": "uat", "sandbox": "sandbox"}
# Words of a file name that say what kind of export it is, not which system it is from.
_EXPORT_WORDS = {"accounts", "account", "users", "user", "members", "member", "export", "exported", "report",
                 "list", "listing", "credential", "credentials", "iam", "org", "organization", "all", "data",
                 "latest", "final", "copy", "generic", "logins", "access", "csv", "json", "xlsx"}


@dataclass(frozen=True)
class Header:
    """A header found in a file: where it is, its cells, and how the file reads."""

    format: str  # csv | xlsx | json
    cells: tuple[str, ...]  # as written
    row: int = 1  # 1-based row of the header (JSON: 1)
    sheet: str | None = None
    sheet_index: int = 0
    encoding: str | None = None  # an encoding to declare (None: the loader's default reads it)
    delimiter: str = ","
    records: str = ""  # JSON: the key holding the list of records ("" = the document)


@dataclass(frozen=True)
class Match:
    """One built-in format scored against one header."""

    format: str
    evidence_type: str
    read_format: str
    required_found: int
    required_total: int
    named_found: int
    named_total: int
    columns_found: int  # canonical columns the format maps that this export can feed
    columns_total: int
    matched: tuple[str, ...]  # the format's column names present, as the mapping writes them
    missing: tuple[str, ...]  # required canonical columns without their source columns
    looked_for: tuple[str, ...]  # the same, each with the export's column names it is read from
    absent: tuple[str, ...]  # other canonical columns the export lacks (they load empty)

    @property
    def score(self) -> float:
        required = self.required_found / self.required_total if self.required_total else float(self.named_found > 0)
        return round(required + (self.columns_found / self.columns_total if self.columns_total else 0.0), 3)

    @property
    def complete(self) -> bool:
        """Every required column found."""
        return self.required_found == self.required_total and self.named_found > 0

    @property
    def placeable(self) -> bool:
        """The threshold for placing a file: every required column, and at least half the columns named."""
        return self.complete and self.score >= PLACE_AT

    def describe(self) -> str:
        return (f"score {self.score:.2f} (required {self.required_found}/{self.required_total}, "
                f"columns {self.columns_found}/{self.columns_total})")


@dataclass(frozen=True)
class FilePlacement:
    path: str  # relative to the folder, posix
    evidence_type: str
    format: str
    system: str | None
    header_row: int  # where the header was found (1-based)
    sheet: str | None  # the workbook sheet holding it
    score: float
    matched: tuple[str, ...]
    missing: tuple[str, ...]  # canonical columns of the format this export lacks (not required: they load empty)
    system_guessed: bool = False  # the file name does not say which system: confirm
    overrides: dict = field(default_factory=dict)  # what evidence.yaml must add: header_row, sheet, encoding...
    note: str = ""  # how it was found, and formats that match as well


@dataclass(frozen=True)
class Unplaced:
    path: str
    closest_format: str | None
    score: float
    missing: tuple[str, ...]  # required canonical columns of the closest format that the file lacks
    reason: str


@dataclass(frozen=True)
class Proposal:
    folder: Path
    files: tuple[FilePlacement, ...]
    unplaced: tuple[Unplaced, ...]
    ignored: tuple[str, ...]  # patterns and files for `ignore:`
    period: str | None = None
    company: str | None = None
    exported_guess: str | None = None  # the newest modification time of the placed files, ISO 8601 UTC

    @property
    def complete(self) -> bool:
        return not self.unplaced

    def to_yaml(self) -> str:
        return render(self)


# --- the formats ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Format:
    mapping: Mapping
    required: tuple[FieldRule, ...]  # rules of required canonical columns read from the file
    named: tuple[str, ...]  # every column name the mapping reads (sources and `when`), once each


def _formats() -> list[_Format]:
    formats = []
    for path in builtin_mappings().values():
        mapping = load_mapping(path)
        schema = mapping.schema
        rules = [r for r in mapping.rules if r.sources]
        named = {normalise_header(n): n for r in rules for n in (*r.sources, *r.when)}
        required = tuple(r for r in rules if schema.column(r.target).required)
        formats.append(_Format(mapping, required, tuple(dict.fromkeys(named.values()))))
    return formats


def _fed(rule: FieldRule, present: set[str]) -> bool:
    """The rule finds what it reads: a candidate of `from`, every source of the others (`optional`: any)."""
    found = [s for s in rule.sources if normalise_header(s) in present]
    if not all(normalise_header(w) in present for w in rule.when):
        return False
    if rule.combine == "from" or rule.optional:
        return bool(found)
    return len(found) == len(rule.sources)


def _looked_for(rule: FieldRule) -> str:
    """A required canonical column and the export's column(s) it is read from."""
    names = (*rule.sources, *rule.when)
    if names == (rule.target,):
        return rule.target
    return f"{rule.target} (from {' or '.join(names) if rule.combine == 'from' else ' and '.join(names)})"


def score(header: Header, fmt: _Format) -> Match:
    present = {normalise_header(c) for c in header.cells if str(c).strip()}
    mapping = fmt.mapping
    found = [n for n in fmt.named if normalise_header(n) in present]
    lacking = [r for r in fmt.required if not _fed(r, present)]
    read = [r for r in mapping.rules if r.sources]
    fed = {r.target for r in read if _fed(r, present)}
    absent = tuple(r.target for r in read if r not in fmt.required and r.target not in fed)
    return Match(format=mapping.name, evidence_type=mapping.evidence_type, read_format=mapping.read.format,
                 required_found=len(fmt.required) - len(lacking), required_total=len(fmt.required),
                 named_found=len(found), named_total=len(fmt.named),
                 columns_found=len(fed), columns_total=len({r.target for r in read}), matched=tuple(found),
                 missing=tuple(r.target for r in lacking), looked_for=tuple(_looked_for(r) for r in lacking),
                 absent=tuple(dict.fromkeys(absent)))


def _likeness(header: Header, fmt: _Format) -> float:
    """How much the header's names resemble the format's: orders formats that match nothing exactly."""
    cells = [normalise_header(c) for c in header.cells if str(c).strip()]
    return sum(max((difflib.SequenceMatcher(None, normalise_header(n), c).ratio() for c in cells), default=0)
               for n in fmt.named) / max(len(fmt.named), 1)


# --- finding the header -----------------------------------------------------------------------


def _decode(data: bytes) -> tuple[str, str | None]:
    """The text and an encoding to declare for it (None: BOM or UTF-8, which the loader reads unasked)."""
    for bom, name in _BOMS:
        if data.startswith(bom):
            return data.decode(name, errors="replace").lstrip("\ufeff"), None
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:  # bytes cp1252 leaves undefined
        return data.decode("latin-1"), "latin-1"


def _csv_headers(data: bytes, shown: str, known: set[str]) -> list[Header]:
    """The header under the delimiter that makes it name the most known columns (then the most columns)."""
    _text, encoding = _decode(data)
    if not data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) and len(data) > _SCAN_BYTES:
        data = data[: data.rfind(b"\n", 0, _SCAN_BYTES) + 1] or data[:_SCAN_BYTES]  # the first rows are enough
    best: tuple | None = None
    for delimiter in DELIMITERS:
        options = ReadOptions(format="csv", encoding=encoding or "auto", delimiter=delimiter)
        try:
            row, cells = find_header_row(data, shown, options, known, max_scan=MAX_SCAN)
        except LoadError:
            continue
        key = (sum(normalise_header(c) in known for c in cells), len(cells))
        if best is None or key > best[0]:
            best = (key, Header("csv", tuple(cells), row, encoding=encoding, delimiter=delimiter))
    return [best[1]] if best and best[1].cells else []


def _xlsx_headers(data: bytes, shown: str, known: set[str]) -> list[Header]:
    """The header of every sheet (a cover sheet's too: it scores nothing)."""
    import python_calamine as calamine

    check_xlsx(data, shown)
    try:
        names = list(calamine.CalamineWorkbook.from_filelike(io.BytesIO(data)).sheet_names)
    except Exception as exc:  # noqa: BLE001 - calamine raises its own zip/xml/password errors
        raise EvidenceError(f"not a readable XLSX workbook ({type(exc).__name__})") from None
    headers = []
    for index, name in enumerate(names):
        try:
            row, cells = find_header_row(data, shown, ReadOptions(format="xlsx", sheet=name), known, MAX_SCAN)
        except LoadError:  # an empty sheet
            continue
        headers.append(Header("xlsx", tuple(cells), row, sheet=name, sheet_index=index))
    return headers


def _json_headers(data: bytes, shown: str) -> list[Header]:
    text, encoding = _decode(data)
    check_json_depth(text, shown)
    try:
        document = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise EvidenceError(f"not valid JSON ({type(exc).__name__})") from None
    lists = {"": document} if isinstance(document, list) else (
        {k: v for k, v in document.items() if isinstance(v, list)} if isinstance(document, dict) else {})
    headers = []
    for key, records in lists.items():
        keys: dict[str, None] = {}
        for record in islice((r for r in records if isinstance(r, dict)), SAMPLE_RECORDS):
            keys.update(dict.fromkeys(_leaf_keys(record)))
        if keys:
            headers.append(Header("json", tuple(keys), encoding=encoding, records=key))
    return headers


def _leaf_keys(record: dict, prefix: str = "") -> list[str]:
    """The dotted columns the loader (json_normalize) makes of one record."""
    keys = []
    for key, value in record.items():
        if isinstance(value, dict) and value:
            keys += _leaf_keys(value, f"{prefix}{key}.")
        else:
            keys.append(f"{prefix}{key}")
    return keys


def _file_format(path: Path, data: bytes) -> str | None:
    by_name = _EXTENSIONS.get(path.suffix.casefold())
    if by_name:
        return by_name
    if data.startswith(b"PK\x03\x04"):
        return "xlsx"
    return "json" if data.lstrip()[:1] in (b"[", b"{") else None


# --- placing one file -------------------------------------------------------------------------


def place(relative: str, data: bytes, formats: list[_Format], shown: str) -> FilePlacement | Unplaced:
    """The best built-in format for one file's bytes, or why there is none."""
    kind = _file_format(Path(relative), data)
    if kind is None:
        return Unplaced(relative, None, 0.0, (), "not a CSV, XLSX or JSON export (by its name and its bytes)")
    known = {normalise_header(n) for f in formats for n in f.named}
    try:
        headers = {"csv": lambda: _csv_headers(data, shown, known), "xlsx": lambda: _xlsx_headers(data, shown, known),
                   "json": lambda: _json_headers(data, shown)}[kind]()
    except ProblemsError as exc:
        return Unplaced(relative, None, 0.0, (), exc.problems[0].message)
    except EvidenceError as exc:
        return Unplaced(relative, None, 0.0, (), str(exc))
    usable = [f for f in formats if (f.mapping.read.format == "json") == (kind == "json")]
    if not headers or not usable:
        return Unplaced(relative, None, 0.0, (), "no header row found in the first rows" if kind != "json"
                        else "no list of records (a list of objects, or one under a top-level key)")
    scored = [(score(h, f), h, f) for h in headers for f in usable]
    fits = sorted((s for s in scored if s[0].placeable and s[0].read_format == kind
                   and (kind != "json" or s[1].records == s[2].mapping.read.records)),
                  key=lambda s: (-s[0].score, -s[0].named_found / max(s[0].named_total, 1), -s[0].columns_found,
                                 len(_overrides(s[1], s[2].mapping.read)),
                                 s[1].sheet_index, s[0].format))
    if fits:
        return _placement(relative, fits, headers)
    return _unplaced(relative, kind, scored)


def _placement(relative: str, fits: list, headers: list[Header]) -> FilePlacement:
    match, header, fmt = fits[0]
    overrides = _overrides(header, fmt.mapping.read)
    others = [f"'{h.sheet}'" for h in headers if h.sheet and h.sheet != header.sheet]
    notes = []
    if header.row != 1 or others:
        notes.append(f"header on row {header.row}" + (f" of sheet '{header.sheet}'" if header.sheet else "")
                     + (f" (other sheets: {', '.join(others)})" if others else ""))
    tied = [m.format for m, _, _ in fits[1:] if m.score == match.score]
    if tied:
        notes.append(f"matches as well: {', '.join(dict.fromkeys(tied))}: check which export this is")
    fitting: dict[str, float] = {}
    for other, _, _ in fits[1:]:
        if other.score < match.score and other.format != match.format:
            fitting.setdefault(other.format, other.score)
    if fitting:
        notes.append("also fits, less well: " + ", ".join(f"{n} ({v:.2f})" for n, v in list(fitting.items())[:3]))
    system, guessed = (None, False)
    if match.evidence_type == "accounts":
        system, guessed = guess_system(fmt.mapping.name, relative)
    elif ("system" in SCHEMAS[EvidenceType(match.evidence_type)].declared
          and not any(rule.target == "system" for rule in fmt.mapping.rules)):  # the file cannot say which register
        system, guessed = guess_register(match.evidence_type, relative)
    return FilePlacement(path=relative, evidence_type=match.evidence_type, format=match.format, system=system,
                         header_row=header.row, sheet=header.sheet, score=match.score, matched=match.matched,
                         missing=match.absent, system_guessed=guessed, overrides=overrides, note="; ".join(notes))


def _overrides(header: Header, read) -> dict:
    """What evidence.yaml must say for this file beyond the format's own read options."""
    overrides: dict = {}
    if header.format == "xlsx":
        wanted = read.sheet if isinstance(read.sheet, str) else None
        if header.sheet != wanted and not (wanted is None and header.sheet_index == read.sheet):
            overrides["sheet"] = header.sheet
    if header.format != "json" and header.row != read.skip_rows + 1:
        overrides["header_row"] = header.row
    if header.encoding and header.encoding != read.encoding:
        overrides["encoding"] = header.encoding
    if header.format == "csv" and header.delimiter != read.delimiter:
        overrides["delimiter"] = header.delimiter
    return overrides


def _unplaced(relative: str, kind: str, scored: list) -> Unplaced:
    best_score = max(s[0].score for s in scored)
    tops = [s for s in scored if s[0].score == best_score]
    match, header, fmt = min(tops, key=lambda s: (-_likeness(s[1], s[2]), s[0].format))
    if match.complete and match.read_format != kind:
        reason = (f"its columns match format {match.format}, which reads {match.read_format}, but this file is "
                  f"{kind}: save it as {match.read_format}, or copy that mapping with `read: {{format: {kind}}}` "
                  f"and point `format:` at your copy")
    elif match.complete and not match.placeable:
        reason = (f"is this {match.format} ({match.evidence_type})? its required columns are present, but only "
                  f"{match.named_found} of the {match.named_total} columns it names "
                  f"({', '.join(match.matched)}): declare it yourself if it is")
    elif match.complete:  # JSON with its records under another key than the format reads
        reads = fmt.mapping.read.records
        reason = (f"its records under '{header.records}' match format {match.format}, which reads "
                  + (f"the list under '{reads}'" if reads else "a list at the top of the document")
                  + ": export the list itself, or copy that mapping with `read: {format: json, records: ...}`")
    elif match.named_found:
        reason = (f"is this {match.format} ({match.evidence_type})? "
                  f"these columns are missing: {', '.join(match.looked_for)}")
    else:
        reason = (f"no built-in format knows its columns ({', '.join(quote(c) for c in header.cells[:8])}); "
                  f"closest by name: {match.format} ({match.evidence_type}), which needs "
                  f"{', '.join(match.looked_for)}")
    return Unplaced(relative, match.format, match.score, match.missing, reason)


def guess_system(mapping_name: str, relative: str) -> tuple[str, bool]:
    """The system an accounts export is from, and whether that is a guess (the file name does not say it)."""
    words = [w for w in re.split(r"[^a-z0-9]+", Path(relative).stem.casefold()) if w and not w.isdigit()]
    vendor = mapping_name.split("_")[0].casefold()
    if vendor != "generic":
        environment = next((_ENVIRONMENTS[w] for w in words if w in _ENVIRONMENTS), None)
        return vendor + (f"-{environment}" if environment else ""), vendor not in words
    named = [w for w in words if w not in _EXPORT_WORDS]
    return ("-".join(named), False) if named else (Path(relative).stem.casefold(), True)


def guess_register(evidence_type: str, relative: str) -> tuple[str, bool]:
    """Which of several registers (a risk register, …) a file is, from the words of its name that are neither the
    evidence type's own (risk, register, reviews) nor an export's; a guess when no word is left."""
    words = [w for w in re.split(r"[^a-z0-9]+", Path(relative).stem.casefold()) if w and not w.isdigit()]
    own = {form for word in evidence_type.split("_") for form in (word, word.removesuffix("s"), word + "s")}
    named = [w for w in words if w not in own and w not in _EXPORT_WORDS]
    return ("-".join(named), False) if named else (Path(relative).stem.casefold(), True)


# --- the folder -------------------------------------------------------------------------------


def _skipped(relative: str, ignore: tuple[str, ...]) -> str | None:
    """Why a file is not looked at: `ignored` (the user's patterns or a README), `hidden`, `own`, or None."""
    parts = relative.split("/")
    if any(p.startswith(".") for p in parts):
        return "hidden"
    if relative in (DECLARATION, PROPOSED, RESPONSES):
        return "own"
    if relative in ignore or any(Path(relative).match(p) or fnmatch(relative, p) for p in ignore):
        return "ignored"
    if fnmatch(parts[-1].casefold(), "readme*"):
        return "readme"
    return None


def _walk(root: Path, ignore: tuple[str, ...]):
    """(relative path, file path or a reason it is not read) for every file, links not followed out."""
    for directory, folders, names in os.walk(root, followlinks=False):
        here = Path(directory)
        folders[:] = sorted(f for f in folders if not f.startswith("."))
        for name in sorted(folders):
            if (here / name).is_symlink():
                relative = (here / name).relative_to(root).as_posix()
                if _skipped(relative, ignore) is None:
                    yield relative, "a symbolic link to a folder: not followed"
        for name in sorted(names):
            path = here / name
            relative = path.relative_to(root).as_posix()
            why = _skipped(relative, ignore)
            if why:
                if why == "readme":
                    yield relative, "readme"
                continue
            if path.is_symlink() and not path.resolve().is_relative_to(root):
                yield relative, "a symbolic link leading outside the folder: not read"
                continue
            yield relative, path


def propose(folder: Path, *, ignore: tuple[str, ...] = (), period: str | None = None,
            company: str | None = None) -> Proposal:
    """Every file of `folder` placed under a built-in format, or listed with what it lacks."""
    from evidence_lib.period import parse_period

    root = Path(folder).resolve()
    if not root.is_dir():
        raise EvidenceError(f"{folder}: not a folder; give the folder holding the exports")
    if period:
        try:
            period = parse_period(period).label
        except ValueError as exc:
            raise EvidenceError(f"period {period}: {exc}") from None
    formats = _formats()
    placed, unplaced, readmes, times = [], [], [], []
    for relative, path in _walk(root, tuple(ignore)):
        if path == "readme":
            readmes.append(relative)
        elif isinstance(path, str):
            unplaced.append(Unplaced(relative, None, 0.0, (), path))
        else:
            shown = str(Path(folder) / relative)
            try:
                data = read_regular_file(path, shown)
            except ProblemsError as exc:
                unplaced.append(Unplaced(relative, None, 0.0, (), exc.problems[0].message))
                continue
            result = place(relative, data, formats, shown)
            (placed if isinstance(result, FilePlacement) else unplaced).append(result)
            if isinstance(result, FilePlacement):
                times.append(path.stat().st_mtime)
    guess = None
    if times:
        import pandas as pd

        guess = pd.Timestamp(max(times), unit="s", tz="UTC").floor("s").strftime("%Y-%m-%dT%H:%M:%SZ")
    return Proposal(folder=Path(folder), files=tuple(placed), unplaced=tuple(unplaced),
                    ignored=tuple(dict.fromkeys((*ignore, *readmes))), period=period, company=company,
                    exported_guess=guess)


# --- evidence.yaml --------------------------------------------------------------------------


def _scalar(value) -> str:
    return yaml.safe_dump([value], default_flow_style=True, allow_unicode=True, width=10**6).strip()[1:-1]


def render(proposal: Proposal) -> str:
    """The proposal as evidence.yaml, every choice explained in a comment beside it."""
    lines = [f"# Proposed by `evidence init`: {len(proposal.files)} file(s) placed by their header, "
             f"{len(proposal.unplaced)} not placed.",
             "# Check every entry before relying on it: a format is chosen by column names only."]
    lines.append(f"company: {_scalar(proposal.company)}" if proposal.company else
                 "company: ''   # fill in the company's name")
    lines.append(f"period: {_scalar(proposal.period)}" if proposal.period else
                 "# period: 2026-Q3   # fill in the audit period these exports cover")
    when = proposal.exported_guess or "2026-10-01T06:00:00Z"
    lines.append(f"# exported_at: {when}   # a guess from the files' modification times: "
                 "fill in when the exports were taken, then uncomment")
    if proposal.ignored:
        lines.append("ignore:")
        lines += [f"- {_scalar(p)}" for p in proposal.ignored]
    lines.append("files:" if proposal.files else "files: []   # nothing could be placed: see below")
    for placement in proposal.files:
        lines += _entry(placement)
    if proposal.unplaced:
        lines.append("# Not placed: declare these yourself (a mapping of your own) or list them under `ignore:`")
        for item in proposal.unplaced:
            lines.append(f"#   {item.path}: {item.reason}")
    return "\n".join(lines) + "\n"


def _entry(p: FilePlacement) -> list[str]:
    lines = [f"# {p.format}: score {p.score:.2f}; matched: {', '.join(p.matched)}"]
    if p.missing:
        lines.append(f"#   not in this export (they load empty): {', '.join(p.missing)}")
    if p.note:
        lines.append(f"#   {p.note}")
    lines.append(f"- path: {_scalar(p.path)}")
    lines.append(f"  type: {p.evidence_type}")
    if p.system is not None:
        comment = "   # guess: the file name does not say which system; confirm" if p.system_guessed else ""
        lines.append(f"  system: {_scalar(p.system)}{comment}")
    lines.append(f"  format: {p.format}")
    lines += [f"  {key}: {_scalar(value)}" for key, value in p.overrides.items()]
    return lines


def write_proposal(proposal: Proposal) -> Path:
    """evidence.yaml written atomically, never over an existing one: then evidence.yaml.proposed."""
    folder = Path(proposal.folder)
    text = proposal.to_yaml()
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=f".{DECLARATION}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as out:
            out.write(text)
        try:
            os.link(temporary, folder / DECLARATION)  # fails if it exists: no check-then-write race
            return folder / DECLARATION
        except FileExistsError:
            pass
        except OSError:  # a file system without hard links
            if not (folder / DECLARATION).exists():
                os.replace(temporary, folder / DECLARATION)
                return folder / DECLARATION
        os.replace(temporary, folder / PROPOSED)
        return folder / PROPOSED
    finally:
        Path(temporary).unlink(missing_ok=True)
