"""Vendor mappings: YAML files that turn one vendor's export into a canonical frame.

A mapping says where each canonical column comes from and how its values read:

    columns:
      account_id: user                           # a source column, as the vendor names it
      mfa_enabled: {from: mfa_active}            # the same, spelled out
      enabled: {any_true: [password_enabled, access_key_1_active]}
      last_login_at: {latest: [password_last_used, access_key_1_last_used_date]}
      builtin: {from: user, values: {"<root_account>": true}, default: false}
      created_at: {from: Created, formats: ["%d/%b/%y %I:%M %p"], tz: Europe/London}
      ticket_ref: {concat: [title, body, head.ref]}
      enabled: {constant: true}
      is_admin: {from: Admin Roles, default: true, empty: false}   # any role named = admin
      disabled_at: {from: Status Changed, when: {Status: [SUSPENDED, DEPROVISIONED]}}

A mapping may also say which of the export's rows are the evidence at all (`keep_rows:`):
GitHub's closed pull requests include those closed without merging, which deployed nothing.

    keep_rows:
      - {column: merged_at, not_empty: true, reason: closed without being merged}
      - {column: state, keep: [merged], drop: [opened, closed, locked], reason: not merged}

Rows left out are counted by reason, never dropped silently; a value that is neither kept nor
dropped is a located error, so that a new vendor state cannot slip out of the population.

Adding a vendor export is writing one of these files; no code changes.

Only the sources of a column the schema marks `required` must be in an export. A column that
is not required and whose sources the export lacks loads empty and is recorded as absent, so
that the rules using it can say so instead of passing on nothing.
"""

from __future__ import annotations

import difflib
import hashlib
from dataclasses import dataclass, field, replace
from pathlib import Path

import pandas as pd

from evidence_lib.errors import DeclarationError, LoadError, MappingError, located, quote
from evidence_lib.sources.contain import resolve_inside
from evidence_lib.sources.readers import ReadOptions
from evidence_lib.sources.safe_yaml import load_yaml
from evidence_lib.sources.schemas import SCHEMAS, Schema

BUILTIN_DIR = Path(__file__).parent / "mappings"
COMBINERS = ("from", "any_true", "latest", "concat", "constant")
_RULE_KEYS = set(COMBINERS) | {"values", "default", "empty", "when", "formats", "tz", "sep", "optional", "sentinels",
                                "repeated"}
REPEATED_SEPARATOR = "; "
_READ_KEYS = {"format", "encoding", "delimiter", "sheet", "skip_rows", "records"}
NO_DEFAULT = object()

TRUE_WORDS = {"true", "t", "yes", "y", "1", "enabled", "on"}
FALSE_WORDS = {"false", "f", "no", "n", "0", "disabled", "off"}
EXPECTED = {
    "bool": "true/false, yes/no or 1/0",
    "date": "a date",
    "datetime": "a date and time",
}


@dataclass(frozen=True)
class FieldRule:
    target: str
    combine: str
    sources: tuple[str, ...] = ()
    constant: object = None
    values: dict = field(default_factory=dict)  # vendor value (case-folded) -> canonical value
    default: object = NO_DEFAULT
    empty: object = None  # the value an empty cell stands for; None = missing
    when: dict = field(default_factory=dict)  # source column -> values (case-folded) that make the value count
    formats: tuple[str, ...] = ("ISO8601",)
    tz: str = "UTC"
    sep: str = " "
    optional: bool = False
    sentinels: tuple[str, ...] = ()
    # A vendor that writes a multi-valued field as the same header repeated (Jira's CSV: one
    # "Custom field (Approvers)" column per approver) is read whole, the values joined with "; ".
    # Only where the mapping says so: elsewhere two columns with one header are ambiguous.
    repeated: bool = False


@dataclass(frozen=True)
class RowFilter:
    """Which rows of an export are the evidence; the others are left out, counted under `reason`."""

    columns: tuple[str, ...]  # candidate source columns, the first present is read
    reason: str
    not_empty: bool = False  # keep the rows with a value in the column
    keep: frozenset[str] = frozenset()  # or: keep these values (case-folded) ...
    drop: frozenset[str] = frozenset()  # ... leave these out; any other value is an error


@dataclass(frozen=True)
class Mapping:
    name: str
    path: Path
    sha256: str
    evidence_type: str
    description: str
    read: ReadOptions
    sentinels: tuple[str, ...]
    rules: tuple[FieldRule, ...]
    # What evidence.yaml changed of this mapping for one file (`columns:`, `values:`), as written.
    overrides: dict = field(default_factory=dict)
    keep_rows: tuple[RowFilter, ...] = ()
    # The vendor writes a word (one of its sentinels) wherever there is no value, so a blank cell in a
    # column the mapping reads was not written by the vendor: a located load problem, never "no value".
    never_blank: bool = False

    @property
    def schema(self) -> Schema:
        return SCHEMAS[self.evidence_type]


def builtin_mappings() -> dict[str, Path]:
    return {p.stem: p for p in sorted(BUILTIN_DIR.glob("*.yaml"))}


def resolve_mapping(reference: str, base_dir: Path, declared_in: str, where: str = "format") -> Path:
    """A built-in format name, or the path of the user's own mapping file inside the evidence folder."""
    if reference.endswith((".yaml", ".yml")):
        path = resolve_inside(base_dir, reference, declared_in, where, error=MappingError)
        if not path.is_file():
            raise MappingError([located(declared_in, f"{where}: mapping file '{reference}' does not exist "
                                                     "in the evidence folder",
                                        "put the mapping beside the evidence, or name a built-in format")])
        return path
    known = builtin_mappings()
    if reference not in known:
        close = difflib.get_close_matches(reference, known, n=3)
        hint = f"did you mean {', '.join(close)}?" if close else f"known formats: {', '.join(known)}"
        raise MappingError([located(declared_in, f"unknown vendor format '{reference}'",
                                    hint + " Or point `format:` at a mapping .yaml of your own.")])
    return known[reference]


def load_mapping(path: Path, data: bytes | None = None) -> Mapping:
    """A mapping from its file; `data`, when given, are the file's bytes already read (and hashed)."""
    where = str(path)
    if data is None:
        from evidence_lib.sources.limits import MAX_YAML_BYTES, read_regular_file

        try:
            data = read_regular_file(path, where, max_bytes=MAX_YAML_BYTES)
        except LoadError as exc:
            raise MappingError(exc.problems) from None
    spec = load_yaml(data, where, MappingError, "fix the mapping file")
    if not isinstance(spec, dict):
        raise MappingError([located(where, "a mapping is a YAML object", "see evidence_lib/sources/mappings/")])
    evidence_type = spec.get("evidence")
    if evidence_type not in SCHEMAS:
        raise MappingError([located(where, f"`evidence: {evidence_type}` is not an evidence type",
                                    f"use one of {', '.join(SCHEMAS)}")])
    schema = SCHEMAS[evidence_type]
    read = spec.get("read") or {}
    unknown_read = set(read) - _READ_KEYS
    problems = [located(where, f"unknown `read:` option(s) {sorted(unknown_read)}", f"known: {sorted(_READ_KEYS)}")
                ] if unknown_read else []
    rules = []
    for target, rule in (spec.get("columns") or {}).items():
        try:
            rules.append(_parse_rule(target, rule, schema))
        except ValueError as exc:
            problems.append(located(where, f"column '{target}': {exc}", "fix the mapping file"))
    never_blank = spec.get("never_blank", False)
    if not isinstance(never_blank, bool):
        problems.append(located(where, f"`never_blank: {never_blank}` is not true or false", "fix the mapping file"))
    keep_rows = []
    for number, entry in enumerate(spec.get("keep_rows") or [], start=1):
        try:
            keep_rows.append(_parse_row_filter(entry))
        except ValueError as exc:
            problems.append(located(where, f"keep_rows entry {number}: {exc}", "fix the mapping file"))
    mapped = {r.target for r in rules}
    for column in schema.columns:
        if column.required and column.name not in mapped and column.name not in schema.declared:
            problems.append(located(where, f"required column '{column.name}' is not mapped",
                                    f"add `{column.name}:` under `columns:`"))
    if problems:
        raise MappingError(problems)
    return Mapping(
        name=str(spec.get("name") or path.stem),
        path=path,
        sha256=hashlib.sha256(data).hexdigest(),
        evidence_type=evidence_type,
        description=str(spec.get("description", "")),
        read=ReadOptions(**read),
        sentinels=tuple(str(s) for s in spec.get("sentinels", ())),
        rules=tuple(rules),
        keep_rows=tuple(keep_rows),
        never_blank=never_blank is True,
    )


_FILTER_KEYS = {"column", "not_empty", "keep", "drop", "reason"}


def _parse_row_filter(entry: object) -> RowFilter:
    if not isinstance(entry, dict):
        raise ValueError("write `{column: <source column>, not_empty: true, reason: ...}` "
                         "or `{column: ..., keep: [...], drop: [...], reason: ...}`")
    unknown = set(entry) - _FILTER_KEYS
    if unknown:
        raise ValueError(f"unknown key(s) {sorted(unknown)}; known: {sorted(_FILTER_KEYS)}")
    columns = entry.get("column")
    columns = [columns] if isinstance(columns, str) else list(columns or [])
    if not columns or not all(_is_name(c) for c in columns):
        raise ValueError("`column:` needs a source column name or a list of candidate names")
    reason = str(entry.get("reason") or "").strip()
    if not reason:
        raise ValueError("`reason:` is required: it is shown wherever the rows left out are counted")
    keep, drop = (frozenset(_words(entry.get(k))) for k in ("keep", "drop"))
    not_empty = entry.get("not_empty") is True
    if not_empty == bool(keep) or (keep and not drop) or (drop and not keep) or (keep & drop):
        raise ValueError("give either `not_empty: true`, or `keep:` and `drop:` (each value in one of them): "
                         "a value in neither is then an error, never a silent choice")
    return RowFilter(tuple(str(c) for c in columns), reason, not_empty, keep, drop)


def _words(values) -> list[str]:
    values = [values] if isinstance(values, (str, int, float)) else list(values or [])
    return [str(v).strip().casefold() for v in values]


def not_a_column(target: str, schema: Schema) -> str | None:
    """Why `target` cannot be mapped (None: it is one of the schema's columns)."""
    if target in schema.names:
        return None
    close = difflib.get_close_matches(str(target), schema.names, n=1)
    return f"not a column of {schema.evidence_type}" + (f" (did you mean '{close[0]}'?)" if close else "")


def with_overrides(mapping: Mapping, columns: dict[str, tuple[str, ...]], values: dict[str, dict],
                   declared_in: str, where: str) -> Mapping:
    """The mapping as evidence.yaml adjusts it for one file, so that a small difference needs no new mapping.

    `columns` replaces a canonical column's sources (one name, or candidates) and keeps the rest
    of its rule (values, formats, tz...); `values` is merged over the rule's value map.
    """
    if not columns and not values:
        return mapping
    rules = {rule.target: rule for rule in mapping.rules}
    problems = [located(declared_in, f"{where}: {key}: {quote(name)} is {reason}",
                        f"use one of {', '.join(mapping.schema.names)}")
                for key, names in (("columns", columns), ("values", values)) for name in names
                if (reason := not_a_column(name, mapping.schema))]
    if problems:
        raise DeclarationError(problems)
    for target, sources in columns.items():
        base = rules.get(target, FieldRule(target, "from"))
        rules[target] = replace(base, combine="from", sources=tuple(sources), constant=None)
    for target, value_map in values.items():
        if target not in rules:
            problems.append(located(declared_in, f"{where}: values: format {mapping.name} does not map '{target}'",
                                    f"name its column too: `columns: {{{target}: <the export's column>}}`"))
            continue
        merged = {**rules[target].values, **{str(k).strip().casefold(): v for k, v in value_map.items()}}
        rules[target] = replace(rules[target], values=merged)
    if problems:
        raise DeclarationError(problems)
    written = {"columns": {t: list(s) for t, s in columns.items()}, "values": values}
    return replace(mapping, rules=tuple(rules.values()), overrides={k: v for k, v in written.items() if v})


def _parse_rule(target: str, rule: object, schema: Schema) -> FieldRule:
    if reason := not_a_column(target, schema):
        raise ValueError(reason)
    if isinstance(rule, str):
        return FieldRule(target, "from", (rule,))
    if isinstance(rule, list):  # the short form of candidates: `email: [Primary Email, Email]`
        rule = {"from": rule}
    if not isinstance(rule, dict):
        raise ValueError("give a source column name, a list of candidate names, or an object with `from:`")
    unknown = set(rule) - _RULE_KEYS
    if unknown:
        raise ValueError(f"unknown key(s) {sorted(unknown)}; known: {sorted(_RULE_KEYS)}")
    combiners = [c for c in COMBINERS if c in rule]
    if len(combiners) != 1:
        raise ValueError(f"needs exactly one of {', '.join(COMBINERS)}")
    combine = combiners[0]
    sources = rule[combine] if combine != "constant" else []
    sources = [sources] if isinstance(sources, str) else list(sources or [])
    if combine != "constant" and (not sources or not all(_is_name(s) for s in sources)):
        raise ValueError(f"`{combine}:` needs a source column name or a list of them")
    formats = rule.get("formats", ["ISO8601"])
    tz = str(rule.get("tz", "UTC"))
    try:
        pd.Timestamp("2000-01-01").tz_localize(tz)
    except Exception:  # noqa: BLE001 - pytz/zoneinfo raise several kinds for an unknown zone
        raise ValueError(f"unknown time zone {quote(tz)}; use an IANA name such as Europe/Berlin") from None
    return FieldRule(
        target=target,
        combine=combine,
        sources=tuple(str(s) for s in sources),
        constant=rule.get("constant"),
        values={str(k).strip().casefold(): v for k, v in (rule.get("values") or {}).items()},
        default=rule.get("default", NO_DEFAULT),
        empty=rule.get("empty"),
        when={str(k): {str(v).strip().casefold() for v in ([vs] if isinstance(vs, str) else vs)}
              for k, vs in (rule.get("when") or {}).items()},
        formats=tuple([formats] if isinstance(formats, str) else formats),
        tz=tz,
        sep=str(rule.get("sep", " ")),
        optional=bool(rule.get("optional", False)),
        repeated=_repeated(rule.get("repeated")),
        sentinels=tuple(str(s) for s in rule.get("sentinels", ())),
    )


def _is_name(value: object) -> bool:
    return isinstance(value, (str, int, float)) and not isinstance(value, bool) and bool(str(value).strip())


# --- applying a mapping -------------------------------------------------------------------


# Words that mean "no value" in any column of any export, unless evidence.yaml says otherwise.
DEFAULT_PLACEHOLDERS = ("n/a", "na", "none", "null", "nil", "-", "--", "tbd", "tba", "unknown", "?", "#n/a")


def normalise_system(value: str) -> str:
    """System names compare without case or stray white space: `Okta` and `okta ` are one system."""
    return str(value).strip().casefold()


def _repeated(value) -> bool:
    if value in (None, False):
        return False
    if value != "join":
        raise ValueError(f"repeated: {quote(str(value))} is not known; write `repeated: join`")
    return True
