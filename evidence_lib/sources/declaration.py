"""`evidence.yaml`, read into a typed Declaration: every key known, every value checked.

    company: Northwind Analytics
    period: 2026-Q3
    exported_at: 2026-10-01T06:00:00Z     # default for every file
    domains: [northwind.example]          # the company's own e-mail domains
    placeholders: ["n/a", "-", "tbd"]     # words meaning "no value" in any column ([] turns it off)
    scope:                                # rules or controls that cannot be tested, and who decided so
      - rule: access_review_complete
        system: billing-db
        reason: decommissioned on 2026-07-02
        decided_by: CISO
        decided_on: 2026-07-03
    ignore: [README.md]                   # files here that are not evidence
    files:
      - path: accounts/okta_users.csv
        type: accounts
        system: okta
        format: okta_users_csv            # a built-in mapping, or a .yaml of your own in the folder
        exported_at: 2026-10-01T06:05:00Z
        encoding: cp1252                  # optional read overrides: encoding, delimiter, sheet
        bad_rows: quarantine              # keep untypeable rows aside instead of failing
        source: "Okta admin console: Reports > User export (CSV)"   # where it came from: system and
        extracted_by: it-ops@northwind.example                      #   report, query or API call; who ran it
        control_total: {count: 182, source: Okta admin console user count}   # or just `control_total: 182`
      - path: hr/workers.xlsx             # a built-in format, adjusted for this one file:
        type: hr_roster
        format: workday_workers_xlsx
        header_row: 1                     # the row holding the column names (this report has no title row)
        columns: {email: Work Email, manager_id: [Manager ID, Supervisor ID]}   # a name, or candidates
        values: {status: {Garden Leave: leave}}                                 # merged over the format's

A key the workbench does not know is an error, not ignored: `exportedAt:` silently ignored
would leave the export time undeclared.

Where each export came from (all optional, each shown in the inventory and every report):
- `source`: the system and the report, query or API call that produced the file, in words;
- `extracted_by`: who ran it;
- `exported_at`: when the export was taken. `extracted_at:` is another name for the same field
  (a file, or the top level, may give one of them, never both); it is also the as-of time of the
  file's evidence, so there is one time, not two that could disagree;
- `control_total`: how many records an independent screen shows for the same population (the HRIS
  headcount, the identity provider's user count), a whole number >= 0, optionally with where it was
  read: `{count: 58, source: Workday headcount screen}`. It is compared with the file's rows read
  (`Provenance.rows_read`: the data rows in the file, blank rows excluded, before any row is set aside
  or filtered by the format's `keep_rows:`); a difference is a problem of the evidence and an error for
  every rule that uses the file (`EvidenceSet.control_total_gaps`).
"""

from __future__ import annotations

import difflib
import hashlib
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pandas as pd

from evidence_lib.errors import DeclarationError, EvidenceError, LoadError, Problem, located, quote
from evidence_lib.period import parse_period
from evidence_lib.sources.contain import relative_name, resolve_inside
from evidence_lib.sources.limits import MAX_YAML_BYTES, read_regular_file
from evidence_lib.sources.load import BAD_ROW_POLICIES
from evidence_lib.sources.mapping import DEFAULT_PLACEHOLDERS, normalise_system, not_a_column
from evidence_lib.sources.safe_yaml import load_yaml
from evidence_lib.sources.schemas import SCHEMAS, EvidenceType

DECLARATION = "evidence.yaml"
TOP_KEYS = ("company", "period", "exported_at", "extracted_at", "domains", "placeholders", "scope", "ignore",
            "files")
FILE_KEYS = ("path", "type", "system", "format", "exported_at", "extracted_at", "encoding", "delimiter", "sheet",
             "header_row", "columns", "values", "bad_rows", "source", "extracted_by", "control_total")
EXPORT_TIME_KEYS = ("exported_at", "extracted_at")  # one field, two names: when the export was taken
CONTROL_TOTAL_KEYS = ("count", "source")
SCOPE_KEYS = ("rule", "control", "system", "reason", "decided_by", "decided_on")
_READ_OVERRIDES = ("encoding", "delimiter", "sheet", "header_row")
_DOMAIN = re.compile(r"(?:[^\W_](?:[\w-]{0,61}[^\W_])?\.)+(?:[^\W\d_]{2,63}|xn--[\w-]{1,59})")


@dataclass(frozen=True)
class Declared:
    path: str  # relative to the folder, as written in evidence.yaml
    evidence_type: EvidenceType
    format: str
    system: str | None = None
    exported_at: str | None = None  # when the export was taken (`extracted_at:` in evidence.yaml is the same)
    read_overrides: dict = field(default_factory=dict)  # encoding, delimiter, sheet, header_row
    columns: dict = field(default_factory=dict)  # canonical -> the export's column names (candidates)
    values: dict = field(default_factory=dict)  # canonical -> {vendor value: canonical value}
    bad_rows: str = "fail"
    relative: str = ""  # the file actually read, relative to the folder (symbolic links and ./ resolved)
    source: str | None = None  # the system and report, query or API call that produced the export
    extracted_by: str | None = None  # who ran it
    control_total: int | None = None  # records an independent screen counts; compared with rows_read
    control_total_source: str | None = None  # that screen, e.g. "HRIS headcount screen"


@dataclass(frozen=True)
class ScopeDecision:
    """A rule or a control that this company's evidence cannot test, with who decided so and why."""

    rule: str | None
    control: str | None
    system: str | None
    reason: str
    decided_by: str
    decided_on: str  # ISO date


@dataclass(frozen=True)
class Declaration:
    folder: Path
    company: str
    period: str | None  # the label of evidence_lib.period.parse_period (2026-q3 -> 2026-Q3)
    files: tuple[Declared, ...]
    ignore: tuple[str, ...]
    domains: tuple[str, ...] = ()
    placeholders: tuple[str, ...] = DEFAULT_PLACEHOLDERS
    scope: tuple[ScopeDecision, ...] = ()
    exported_at: str | None = None
    sha256: str = ""  # of evidence.yaml's bytes


def read_declaration(folder: Path) -> Declaration:
    folder = Path(folder)
    shown = str(folder / DECLARATION)
    data = _declaration_bytes(folder, shown)
    spec = load_yaml(data, shown, DeclarationError, "fix the indentation or quoting there")
    if not isinstance(spec, dict) or not isinstance(spec.get("files"), list) or not spec["files"]:
        raise DeclarationError([located(shown, "evidence.yaml needs a non-empty `files:` list",
                                        "declare each export with path, type and format")])
    problems: list[Problem] = []
    _unknown_keys(spec, TOP_KEYS, "evidence.yaml", shown, problems)
    exported_at = _export_time(spec, "", shown, problems)
    files = [d for n, e in enumerate(spec["files"], start=1)
             if (d := _declared(e, n, folder, shown, exported_at, problems))]
    _duplicate_paths(files, shown, problems)
    declaration = Declaration(
        folder=folder,
        company=str(spec.get("company") or ""),
        period=_period(spec.get("period"), shown, problems),
        files=tuple(files),
        ignore=tuple(str(i) for i in _list(spec, "ignore", shown, problems)),
        domains=_domains(spec, shown, problems),
        placeholders=_placeholders(spec, shown, problems),
        scope=tuple(d for n, e in enumerate(_list(spec, "scope", shown, problems), start=1)
                    if (d := _scope_decision(e, n, shown, problems))),
        exported_at=exported_at,
        sha256=hashlib.sha256(data).hexdigest(),
    )
    if problems:
        raise DeclarationError(problems)
    return declaration


def check_period(declaration: Declaration, period_label: str, *, allow_mismatch: bool = False) -> None:
    """Refuse to judge a folder declared for one period as evidence of another."""
    try:
        requested = parse_period(period_label).label
    except EvidenceError:
        requested = str(period_label).strip()
    if declaration.period is None or declaration.period == requested or allow_mismatch:
        return
    raise DeclarationError([located(str(declaration.folder / DECLARATION),
                                    f"the evidence is declared for period {declaration.period}, "
                                    f"not for the requested {requested}",
                                    f"pass --period {declaration.period} or --allow-period-mismatch")])


def _declaration_bytes(folder: Path, shown: str) -> bytes:
    if not folder.is_dir():
        raise DeclarationError([located(str(folder), "the evidence folder does not exist", "check the path")])
    path = resolve_inside(folder, DECLARATION, shown, DECLARATION)
    if not path.exists():
        raise DeclarationError([located(shown, "the folder has no evidence.yaml",
                                        "write one that declares each export (see README: the evidence folder)")])
    try:
        return read_regular_file(path, shown, max_bytes=MAX_YAML_BYTES)
    except LoadError as exc:
        raise DeclarationError(exc.problems) from None


def _unknown_keys(entry: dict, known: tuple[str, ...], where: str, shown: str, problems: list[Problem]) -> None:
    for key in entry:
        if key not in known:
            close = difflib.get_close_matches(str(key).replace("At", "_at").lower(), known, n=1)
            hint = (f"did you mean `{close[0]}`? " if close else "") + f"known: {', '.join(known)}"
            problems.append(located(shown, f"{where}: unknown key {quote(key)}", hint))


def _declared(entry, number: int, folder: Path, shown: str, exported_at: str | None,
              problems: list[Problem]) -> Declared | None:
    where = f"files[{number}]"
    if not isinstance(entry, dict):
        problems.append(located(shown, f"{where} is not an object", "give path, type and format"))
        return None
    unknown = sorted(str(k) for k in set(entry) - set(FILE_KEYS))
    missing = [k for k in ("path", "type", "format") if not entry.get(k)]
    if unknown:
        problems.append(located(shown, f"{where} has unknown key(s) {unknown}", f"known: {sorted(FILE_KEYS)}"))
    if missing:
        problems.append(located(shown, f"{where} lacks {', '.join(missing)}", "every file needs path, type and format"))
        return None
    where = f"{where} ({quote(entry['path'])[1:-1]})"
    if entry["type"] not in SCHEMAS:
        problems.append(located(shown, f"{where}: unknown evidence type {quote(entry['type'])}",
                                f"use one of {', '.join(SCHEMAS)}"))
        return None
    bad_rows = entry.get("bad_rows", "fail")
    if bad_rows not in BAD_ROW_POLICIES:
        problems.append(located(shown, f"{where}: bad_rows must be one of {BAD_ROW_POLICIES}", "fix the value"))
        return None
    try:
        resolved = resolve_inside(folder, str(entry["path"]), shown, where)
        if str(entry["format"]).endswith((".yaml", ".yml")):
            resolve_inside(folder, str(entry["format"]), shown, f"{where}: format")
    except DeclarationError as exc:
        problems += exc.problems
        return None
    schema = SCHEMAS[entry["type"]]
    control_total, control_total_source = _control_total(entry, where, shown, problems)
    return Declared(
        path=str(entry["path"]),
        evidence_type=EvidenceType(entry["type"]),
        format=str(entry["format"]),
        system=normalise_system(entry["system"]) if entry.get("system") else None,
        exported_at=_export_time(entry, where, shown, problems, default=exported_at),
        read_overrides=_read_overrides(entry, where, shown, problems),
        columns=_column_overrides(entry.get("columns"), schema, where, shown, problems),
        values=_value_overrides(entry.get("values"), schema, where, shown, problems),
        bad_rows=bad_rows,
        relative=relative_name(folder, resolved),
        source=_text(entry, "source", "Okta admin console: Reports > User export (CSV)", where, shown, problems),
        extracted_by=_text(entry, "extracted_by", "it-ops@northwind.example", where, shown, problems),
        control_total=control_total,
        control_total_source=control_total_source,
    )


def _export_time(entry: dict, where: str, shown: str, problems: list[Problem],
                 default: str | None = None) -> str | None:
    """`exported_at:` or its other name `extracted_at:`, never both; else the default (the top level's)."""
    given = [key for key in EXPORT_TIME_KEYS if entry.get(key) not in (None, "")]
    prefix = f"{where}: " if where else ""
    if len(given) > 1:
        problems.append(located(shown, f"{prefix}both exported_at and extracted_at are given",
                                "they name one time, when the export was taken: keep `exported_at:` only"))
        return None
    if not given:
        return default
    return _timestamp(entry[given[0]], f"{prefix}{given[0]}", shown, problems)


def _text(entry: dict, key: str, example: str, where: str, shown: str, problems: list[Problem]) -> str | None:
    """An optional free-text field; written but empty, or not text (a list, a map, yes/no), is an error."""
    if key not in entry:
        return None
    value = entry[key]
    empty = value is None or (isinstance(value, str) and not value.strip())
    if empty or isinstance(value, bool) or not isinstance(value, (str, int, float)):
        problems.append(located(shown, f"{where}: {key} " + ("is empty" if empty else f"{quote(value)} is not text"),
                                f"write it in words, e.g. `{key}: {example}`, or remove the key"))
        return None
    return str(value).strip()


def _control_total(entry: dict, where: str, shown: str, problems: list[Problem]) -> tuple[int | None, str | None]:
    """`control_total: 58` or `control_total: {count: 58, source: HRIS headcount screen}`."""
    if "control_total" not in entry:
        return None, None
    value, before = entry["control_total"], len(problems)
    count, screen = value, None
    if isinstance(value, dict):
        _unknown_keys(value, CONTROL_TOTAL_KEYS, f"{where}: control_total", shown, problems)
        count = value.get("count")
        screen = _text(value, "source", "Workday headcount screen", f"{where}: control_total", shown, problems)
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        said = ("has no count" if count is None else f"{quote(count)} is quoted: a count is a number"
                if isinstance(count, str) else f"{quote(count)} is not a count of records")
        problems.append(located(shown, f"{where}: control_total {said}",
                                "give the number an independent screen shows (e.g. the HRIS headcount) as a "
                                "whole number, e.g. `control_total: 58` or "
                                "`control_total: {count: 58, source: Workday headcount screen}`"))
    return (None, None) if len(problems) > before else (count, screen)


def _read_overrides(entry: dict, where: str, shown: str, problems: list[Problem]) -> dict:
    overrides = {k: entry[k] for k in _READ_OVERRIDES if k in entry}
    row = overrides.get("header_row")
    if "header_row" in overrides and (isinstance(row, bool) or not isinstance(row, int) or row < 1):
        problems.append(located(shown, f"{where}: header_row {quote(row)} is not a row number",
                                "give the 1-based row of the file that holds the column names, e.g. `header_row: 2`"))
        del overrides["header_row"]
    return overrides


def _column_overrides(value, schema, where: str, shown: str, problems: list[Problem]) -> dict:
    """`columns: {canonical: "Vendor Column" | [candidates]}` for one file."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        problems.append(located(shown, f"{where}: `columns:` must map canonical columns to the export's columns",
                                "e.g. `columns: {email: Work Email}`"))
        return {}
    columns = {}
    for name, sources in value.items():
        names = [sources] if isinstance(sources, str) else sources
        if _canonical(name, "columns", schema, where, shown, problems) and _names(names):
            columns[str(name)] = tuple(str(n).strip() for n in names)
        elif not _names(names):
            problems.append(located(shown, f"{where}: columns: {quote(name)} needs the export's column name "
                                           "or a list of candidate names", "e.g. `email: [Work Email, Email]`"))
    return columns


def _value_overrides(value, schema, where: str, shown: str, problems: list[Problem]) -> dict:
    """`values: {canonical: {vendor value: canonical value}}` for one file."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        problems.append(located(shown, f"{where}: `values:` must map canonical columns to value maps",
                                "e.g. `values: {status: {Garden Leave: leave}}`"))
        return {}
    values = {}
    for name, value_map in value.items():
        if not isinstance(value_map, dict):
            problems.append(located(shown, f"{where}: values: {quote(name)} needs a map of vendor values",
                                    "e.g. `status: {Garden Leave: leave}`"))
        elif _canonical(name, "values", schema, where, shown, problems):
            values[str(name)] = dict(value_map)
    return values


def _canonical(name, key: str, schema, where: str, shown: str, problems: list[Problem]) -> bool:
    reason = not_a_column(str(name), schema)
    if reason:
        problems.append(located(shown, f"{where}: {key}: {quote(name)} is {reason}",
                                f"use one of {', '.join(schema.names)}"))
    return reason is None


def _names(value) -> bool:
    return isinstance(value, list) and bool(value) and all(
        isinstance(n, (str, int, float)) and not isinstance(n, bool) and str(n).strip() for n in value)


def _duplicate_paths(files: list[Declared], shown: str, problems: list[Problem]) -> None:
    """One file declared twice, however spelled (`hr/x.xlsx`, `./hr/x.xlsx`, a link to it)."""
    first: dict[str, Declared] = {}
    for declared in files:
        if declared.relative in first:
            earlier = first[declared.relative].path
            spelled = "" if earlier == declared.path else f" (as '{earlier}')"
            problems.append(located(shown, f"'{declared.path}' is declared more than once{spelled}",
                                    "declare each file once"))
        first.setdefault(declared.relative, declared)


def _list(spec: dict, key: str, shown: str, problems: list[Problem]) -> list:
    value = spec.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        problems.append(located(shown, f"`{key}:` must be a list", f"write one item a line under `{key}:`, as `- ...`"))
        return []
    return value


def _period(value, shown: str, problems: list[Problem]) -> str | None:
    if value is None or value == "":
        return None
    try:
        return parse_period(str(value)).label
    except (EvidenceError, ValueError):
        problems.append(located(shown, f"period {quote(value)} is not a period",
                                "use a quarter (2026-Q3), a month (2026-08) or dates 2026-07-15..2026-09-30"))
        return None


def _timestamp(value, where: str, shown: str, problems: list[Problem]) -> str | None:
    if value is None or value == "":
        return None
    text = str(value).strip()
    try:
        # "now" and "today" parse too, but are not the time of an export.
        parsed = pd.Timestamp(text) if text[:1].isdigit() else pd.NaT
    except (ValueError, TypeError, OverflowError):
        parsed = pd.NaT
    if pd.isna(parsed):
        problems.append(located(shown, f"{where}: {quote(value)} is not a date and time",
                                "write it as ISO 8601, e.g. 2026-10-01T06:00:00Z"))
        return None
    return text


def _domains(spec: dict, shown: str, problems: list[Problem]) -> tuple[str, ...]:
    domains = []
    for value in _list(spec, "domains", shown, problems):
        domain = str(value).strip().casefold().removeprefix("@") if isinstance(value, str) else ""
        if not _DOMAIN.fullmatch(domain):
            problems.append(located(shown, f"domains: {quote(value)} is not an e-mail domain",
                                    "write the part after the @, e.g. northwind.example"))
        elif domain not in domains:
            domains.append(domain)
    return tuple(domains)


def _placeholders(spec: dict, shown: str, problems: list[Problem]) -> tuple[str, ...]:
    if "placeholders" not in spec:
        return DEFAULT_PLACEHOLDERS
    words = []
    for value in _list(spec, "placeholders", shown, problems):
        # YAML reads `- null`, `- yes` or `- -` as something else than the word: ask for quotes.
        if not isinstance(value, (str, int, float)) or isinstance(value, bool) or not str(value).strip():
            problems.append(located(shown, f"placeholders: {quote(value)} is not a word",
                                    'quote each word, e.g. "-", "n/a", "null"'))
            continue
        word = str(value).strip().casefold()
        if word not in words:
            words.append(word)
    return tuple(words)


def _scope_decision(entry, number: int, shown: str, problems: list[Problem]) -> ScopeDecision | None:
    where = f"scope[{number}]"
    if not isinstance(entry, dict):
        problems.append(located(shown, f"{where} is not an object", "give rule or control, reason, decided_by, "
                                                                    "decided_on"))
        return None
    before = len(problems)
    _unknown_keys(entry, SCOPE_KEYS, where, shown, problems)
    texts = {key: str(entry[key]).strip() if entry.get(key) is not None else "" for key in SCOPE_KEYS}
    if bool(texts["rule"]) == bool(texts["control"]):
        problems.append(located(shown, f"{where} needs exactly one of `rule:` or `control:`",
                                "scope out one rule, or a whole control, per entry"))
    for key in ("reason", "decided_by", "decided_on"):
        if not texts[key]:
            problems.append(located(shown, f"{where} lacks `{key}:`",
                                    "a scope decision says why, who decided, and when (YYYY-MM-DD)"))
    decided_on = _iso_date(entry.get("decided_on"))
    if texts["decided_on"] and decided_on is None:
        problems.append(located(shown, f"{where}: decided_on {quote(entry['decided_on'])} is not a date",
                                "write it as YYYY-MM-DD"))
    if len(problems) > before:
        return None
    return ScopeDecision(
        rule=texts["rule"] or None,
        control=texts["control"] or None,
        system=normalise_system(texts["system"]) if texts["system"] else None,
        reason=texts["reason"],
        decided_by=texts["decided_by"],
        decided_on=decided_on,
    )


def _iso_date(value) -> str | None:
    if isinstance(value, date):  # YAML reads an unquoted 2026-07-03 as a date already
        return value.isoformat()[:10]
    try:
        return date.fromisoformat(str(value).strip()).isoformat()
    except ValueError:
        return None
