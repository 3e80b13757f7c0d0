"""Apply a vendor mapping (mapping.py) to an export read as text: which rows are the evidence,
which source column feeds each canonical one, and every cell typed — or a located problem.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field, replace

import pandas as pd

from evidence_lib.errors import EvidenceError, LoadError, Problem, located, quote
from evidence_lib.period import parse_period
from evidence_lib.sources.mapping import (
    EXPECTED,
    FALSE_WORDS,
    NO_DEFAULT,
    REPEATED_SEPARATOR,
    TRUE_WORDS,
    FieldRule,
    Mapping,
    RowFilter,
    normalise_system,
)
from evidence_lib.sources.readers import RawTable, normalise_header
from evidence_lib.sources.schemas import Column, Schema


@dataclass
class Typed:
    frame: pd.DataFrame
    problems: list[Problem]  # cell-level: each names a row and a column
    columns_used: dict[str, str] = field(default_factory=dict)  # canonical -> export column(s), or how else
    absent: tuple[str, ...] = ()  # mapped, not required, and without a column in this export: left empty
    # Rows the mapping's keep_rows left out: reason -> their source row numbers (counted, never silent).
    filtered: dict[str, tuple[int, ...]] = field(default_factory=dict)


#: what a value means when it is one of these words: nothing (the default of evidence.yaml's `placeholders:`)


def apply_mapping(raw: RawTable, mapping: Mapping, path: str, declared: dict[str, str],
                  placeholders: tuple[str, ...] = ()) -> Typed:
    """The canonical frame of one raw table; `placeholders` are words that mean "no value" in any column."""
    schema = mapping.schema
    headers = _header_positions(raw.frame.columns)
    sources = resolve_sources(raw, mapping, headers, path)
    raw, filtered, problems = _keep_rows(raw, mapping, headers, path, placeholders)
    if mapping.never_blank:
        problems += _unwritten_cells(path, mapping, raw.frame, headers, placeholders)
    out: dict[str, pd.Series] = {}
    for rule in sources.rules:
        column = schema.column(rule.target)
        series, bad = _evaluate(rule, column, raw.frame, headers, mapping.sentinels, placeholders)
        out[rule.target] = series
        problems += _cell_problems(path, rule, column, raw.frame, headers, bad)
    used = dict(sources.columns_used)
    for name in schema.declared:
        if name not in out:
            if name not in declared:
                raise LoadError([located(path, f"the file does not say which {name} it is from",
                                         f"declare `{name}:` for this file in evidence.yaml")])
            out[name] = pd.Series(declared[name], index=raw.frame.index, dtype="str")
            used[name] = "declared"
    frame = _normalise(pd.DataFrame(out, index=raw.frame.index))
    reported = {(p.row, p.column) for p in problems}  # an unreadable value is not also "missing"
    for column in schema.columns:
        if column.name not in frame:
            frame[column.name] = _empty(column, frame.index)
        elif column.required:
            label = _source_label(sources.rules, column.name)
            for row in frame.index[frame[column.name].isna()]:
                if (row, label) not in reported:
                    problems.append(located(path, f"no value for required '{column.name}'",
                                            "every row needs one: complete it in the source system and re-export",
                                            row=int(row), column=label))
    return Typed(frame=frame[schema.names], problems=sorted(problems, key=lambda p: (p.row or 0, p.column or "")),
                 columns_used=used, absent=sources.absent, filtered=filtered)


def _keep_rows(raw: RawTable, mapping: Mapping, headers, path: str, placeholders):
    """The export's rows that are evidence, those left out by reason, and rows that say neither."""
    if not mapping.keep_rows:
        return raw, {}, []
    kept = pd.Series(True, index=raw.frame.index)
    filtered: dict[str, tuple[int, ...]] = {}
    problems: list[Problem] = []
    for rule in mapping.keep_rows:
        present = [c for c in rule.columns if _present(c, headers)]
        if not present:
            names = ", ".join(quote(c) for c in rule.columns)
            raise LoadError([located(path, f"format {mapping.name} tells its evidence rows by {names}, and the "
                                           "export has no such column",
                                     "export it again with that column, so that no row is taken on trust",
                                     row=raw.header_row, column=" | ".join(rule.columns))])
        text = _text(raw.frame, headers, present[0], FieldRule(present[0], "from"), mapping.sentinels, placeholders)
        folded = text.str.casefold()
        if rule.not_empty:
            out = text == ""
        else:
            out = folded.isin(rule.drop)
            unknown = kept & ~out & ~folded.isin(rule.keep)
            problems += [_neither_problem(path, rule, present[0], value, int(row))
                         for row, value in text[unknown].items()]
        left = kept & out
        if left.any():
            filtered[rule.reason] = filtered.get(rule.reason, ()) + tuple(int(r) for r in left.index[left])
        kept &= ~out
    if not kept.any() and not mapping.schema.may_be_empty:
        counts = "; ".join(f"{len(rows)}: {reason}" for reason, rows in filtered.items())
        raise LoadError([located(path, f"no row of the export is {mapping.evidence_type} evidence: every row is left "
                                       f"out by format {mapping.name} ({counts})",
                                 "export the period's records again; an empty population cannot be tested")])
    return replace(raw, frame=raw.frame.loc[kept]), filtered, problems


def _neither_problem(path: str, rule: RowFilter, column: str, value: str, row: int) -> Problem:
    shown = quote(value) if value else "no value"
    return located(path, f"cannot tell whether this row is evidence: {column} is {shown}, neither kept "
                         f"({', '.join(sorted(rule.keep))}) nor left out ({', '.join(sorted(rule.drop))})",
                   "add the value under `keep:` or `drop:` of the mapping's keep_rows", row=row, column=column)


def _header_positions(columns) -> dict[str, list[int]]:
    """Normalised header -> the positions of every column headed so (more than one: ambiguous)."""
    positions: dict[str, list[int]] = {}
    for position, name in enumerate(columns):
        positions.setdefault(normalise_header(name), []).append(position)
    return positions


def _period_label(value: str) -> str:
    try:
        return parse_period(value).label
    except (EvidenceError, ValueError):
        return value.strip()


# Canonical columns whose values are normalised once, at load, so views compare them as equals.
_NORMALISED = {"system": normalise_system, "period": _period_label}


def _normalise(frame: pd.DataFrame) -> pd.DataFrame:
    for name, normalise in _NORMALISED.items():
        if name in frame:
            frame[name] = frame[name].map(normalise, na_action="ignore").astype("str")
    return frame


def _source_label(rules: tuple[FieldRule, ...], target: str) -> str:
    for rule in rules:
        if rule.target == target:
            return "+".join(rule.sources) if rule.sources else target
    return target


@dataclass(frozen=True)
class Sources:
    """A mapping's rules as this export can feed them."""

    rules: tuple[FieldRule, ...]  # candidates narrowed to the one present; absent columns left out
    columns_used: dict[str, str]  # canonical -> the export's column(s) that fed it, or `constant`
    absent: tuple[str, ...]  # canonical columns without a source in this export, left empty


@dataclass(frozen=True)
class _Missing:
    rule: FieldRule
    sources: tuple[str, ...]  # every name that was looked for and not found
    candidates: bool  # any one of `sources` would have done


def resolve_sources(raw: RawTable, mapping: Mapping, headers: dict[str, list[int]], path: str) -> Sources:
    """Which export column feeds each canonical column; a required one without any is a located error."""
    schema = mapping.schema
    rules, used, absent, missing = [], {}, [], []
    for rule in mapping.rules:
        narrowed, lacking = _narrow(rule, headers)
        required = schema.column(rule.target).required
        if lacking is not None and not required and _nothing_present(rule, headers):
            absent.append(rule.target)  # the export may lack it; recorded so that rules using it are not silent
        elif lacking is not None and not rule.optional:
            missing.append(lacking)
        else:  # every source present, or `optional: true` and the parts present are enough
            rules.append(narrowed)
            used[rule.target] = _used_label(narrowed, raw, headers)
    problems = _ambiguous_sources(raw, _read_sources(rules), headers, path)
    if missing or problems:
        raise LoadError(_sheet_hint(raw, missing, path) + problems + [_missing_problem(m, raw, mapping, path)
                                                                       for m in missing])
    return Sources(rules=tuple(rules), columns_used=used, absent=tuple(absent))


def _present(source: str, headers: dict[str, list[int]]) -> bool:
    return normalise_header(source) in headers


def _narrow(rule: FieldRule, headers) -> tuple[FieldRule, _Missing | None]:
    """The rule reading only columns the export has, and what it lacks (None: nothing)."""
    if rule.combine == "constant":
        return rule, None
    present = tuple(s for s in rule.sources if _present(s, headers))
    when_lacking = _when_lacking(rule, headers)
    if rule.combine == "from":  # candidates: the first present wins
        narrowed = replace(rule, sources=present[:1] or rule.sources[:1])
        lacking = () if present else rule.sources
        candidates = len(rule.sources) > 1
    else:  # the other combiners read all their sources
        narrowed = replace(rule, sources=present or rule.sources)
        lacking = tuple(s for s in rule.sources if s not in present)
        candidates = False
    if not lacking and not when_lacking:
        return narrowed, None
    if not lacking:
        return narrowed, _Missing(rule, when_lacking, False)
    return narrowed, _Missing(rule, lacking, candidates)


def _when_lacking(rule: FieldRule, headers) -> tuple[str, ...]:
    return tuple(s for s in rule.when if not _present(s, headers))


def _nothing_present(rule: FieldRule, headers) -> bool:
    """No value source present, or the columns that say which values count are missing."""
    return not any(_present(s, headers) for s in rule.sources) or bool(_when_lacking(rule, headers))


def _used_label(rule: FieldRule, raw: RawTable, headers) -> str:
    """The export's own header(s) that feed a column: what an auditor looks for in the file."""
    if rule.combine == "constant":
        return "constant"
    names = [str(raw.frame.columns[headers[normalise_header(s)][0]]) for s in rule.sources if _present(s, headers)]
    return "+".join(names)


def _read_sources(rules) -> list[tuple[FieldRule, str]]:
    return [(rule, source) for rule in rules for source in (*rule.sources, *rule.when)]


def _missing_problem(missing: _Missing, raw: RawTable, mapping: Mapping, path: str) -> Problem:
    target = missing.rule.target
    hint = _closest_hint(missing.sources, list(raw.frame.columns))
    hint += f"; or name this export's column for this file in evidence.yaml: `columns: {{{target}: ...}}`"
    if missing.candidates:
        names = ", ".join(quote(s) for s in missing.sources)
        return located(path, f"no column for '{target}' (format {mapping.name}): none of {names} is present",
                       hint, row=raw.header_row, column=" | ".join(missing.sources))
    message = "; ".join(f"missing column '{s}'" for s in missing.sources)
    return located(path, f"{message} (needed for '{target}', format {mapping.name})", hint,
                   row=raw.header_row, column="+".join(missing.sources))


def _closest_hint(wanted: tuple[str, ...], present: list[str]) -> str:
    close: dict[str, float] = {}  # present header -> its best likeness to any name looked for
    for name in wanted:
        for header in difflib.get_close_matches(name, present, n=2, cutoff=0.5):
            close[header] = max(close.get(header, 0), difflib.SequenceMatcher(None, name, header).ratio())
    if close:
        best = sorted(close, key=close.get, reverse=True)[:2]
        return f"closest present: {', '.join(quote(c) for c in best)}"
    return f"columns present: {', '.join(quote(c) for c in present[:12])}"


def _sheet_hint(raw: RawTable, missing: list[_Missing], path: str) -> list[Problem]:
    """The columns a mapping looks for are on another sheet of the workbook: say which."""
    wanted = {normalise_header(s) for m in missing for s in m.sources}
    elsewhere = [name for name, head in raw.other_sheet_headers.items()
                 if wanted and wanted <= {normalise_header(h) for h in head}]
    if not elsewhere:
        return []
    return [located(path, f"sheet '{raw.sheet}' does not hold this export's columns; sheet '{elsewhere[0]}' does",
                    f"declare `sheet: {elsewhere[0]}` for this file in evidence.yaml")]


def _ambiguous_sources(raw: RawTable, needed, headers: dict[str, list[int]], path: str) -> list[Problem]:
    """A source the mapping reads that two columns answer to: which one holds the evidence is a guess."""
    problems = []
    joined = {source for rule, source in needed if rule.repeated}
    for source in dict.fromkeys(source for _, source in needed):
        positions = headers.get(normalise_header(source), [])
        exact_repeats = len({str(raw.frame.columns[p]).strip() for p in positions}) == 1
        if len(positions) > 1 and not (source in joined and exact_repeats):
            names = ", ".join(f"{quote(raw.frame.columns[p])} (column {p + 1})" for p in positions)
            problems.append(located(path, f"{len(positions)} columns are headed '{source}': {names}",
                                    "rename or remove one, so that the mapping reads the right column",
                                    row=raw.header_row, column=source))
    return problems


def _evaluate(rule: FieldRule, column: Column, frame: pd.DataFrame, headers: dict[str, list[int]], sentinels,
              placeholders):
    """One canonical column and the mask of rows whose value could not be read."""
    index = frame.index
    if rule.combine == "constant":
        return _typed(pd.Series("" if rule.constant is None else str(rule.constant), index=index), rule, column)
    texts = [_text(frame, headers, s, rule, sentinels, placeholders) for s in rule.sources]
    if rule.when:
        counts = pd.Series(True, index=index)
        for source, allowed in rule.when.items():
            counts &= _text(frame, headers, source, rule, (), ()).str.casefold().isin(allowed)
        texts = [t.where(counts, "") for t in texts]
    if rule.combine == "from":
        return _typed(texts[0], rule, column)
    if rule.combine == "concat":
        joined = texts[0]
        for text in texts[1:]:  # join the non-empty parts only, so no stray separators
            joined = (joined + rule.sep + text).where((joined != "") & (text != ""), joined + text)
        return _typed(joined, rule, column)
    parts = [_typed(t, rule, column) for t in texts]
    bad = pd.concat([b for _, b in parts], axis=1).any(axis=1)
    values = pd.concat([v for v, _ in parts], axis=1)
    if rule.combine == "any_true":  # three-valued: false only when every source reads false
        combined = values.fillna(False).any(axis=1).astype("boolean")
        combined[~combined & values.isna().any(axis=1)] = pd.NA  # a blank may hide the true one
        return combined, bad
    if rule.combine == "latest":
        return values.max(axis=1, skipna=True), bad
    raise AssertionError(rule.combine)


def _source(frame: pd.DataFrame, headers: dict[str, list[int]], source: str, repeated: bool = False):
    """The export's column for a source name; a repeated header's columns joined, where allowed."""
    positions = headers.get(normalise_header(source))
    if not positions:
        return None
    if not repeated or len(positions) == 1:
        return frame.iloc[:, positions[0]]
    parts = frame.iloc[:, positions].astype(str).apply(lambda column: column.str.strip())
    return parts.apply(lambda row: REPEATED_SEPARATOR.join(v for v in row if v), axis=1)


def _text(frame, headers, source, rule, sentinels, placeholders) -> pd.Series:
    """A source column's text, stripped; sentinels and placeholders read as empty."""
    column = _source(frame, headers, source, rule.repeated)
    if column is None:  # an optional source that this export lacks
        return pd.Series("", index=frame.index, dtype=str)
    text = column.astype(str).str.strip()
    # A word the column's own `values:` lists is a value there, even if it is a placeholder or one of
    # the mapping's sentinels elsewhere (AWS's not_supported: no value, except as the root's password_enabled).
    words = {s.strip().casefold() for s in (*placeholders, *sentinels)} - set(rule.values)
    words |= {s.casefold() for s in rule.sentinels}
    if words:
        text = text.mask(text.str.casefold().isin(words), "")
    return text


def _typed(text: pd.Series, rule: FieldRule, column: Column) -> tuple[pd.Series, pd.Series]:
    empty = text == ""
    folded = text.str.casefold()
    # A vendor's own value map is the whole vocabulary: a value it does not list is unknown,
    # not something to guess at with generic yes/no words.
    strict = pd.Series(False, index=text.index)
    if rule.values or rule.default is not NO_DEFAULT or rule.empty is not None:
        mapped = folded.map(rule.values) if rule.values else pd.Series(None, index=text.index, dtype=object)
        unmapped = mapped.isna() & ~empty
        if column.kind == "bool" and rule.values and rule.default is NO_DEFAULT:
            strict = unmapped
        if rule.default is not NO_DEFAULT:
            mapped = mapped.where(~unmapped, rule.default)
            text = mapped.where(mapped.notna() | ~empty, "").map(_as_text)
        else:
            text = mapped.where(~unmapped, text).where(mapped.notna() | ~empty, "").map(_as_text)
        if rule.empty is not None:  # what a blank cell means in this export, past any value map
            text = text.mask(empty, _as_text(rule.empty))
        empty = text == ""
        folded = text.str.casefold()
    kind = column.kind
    if kind == "bool":
        value = folded.map(lambda v: True if v in TRUE_WORDS else False if v in FALSE_WORDS else None)
        value = value.astype(object).mask(strict, None)
        bad = value.isna() & ~empty
        return value.astype("boolean"), bad
    if kind == "enum":
        allowed = {v.casefold(): v for v in column.values}
        value = folded.map(allowed)
        return value.astype("str"), value.isna() & ~empty
    if kind in ("date", "datetime"):
        value, bad = _parse_times(text, empty, rule)
        if kind == "date":
            value = value.dt.tz_localize(None).dt.normalize()
        return value, bad
    if kind == "email":
        return folded.mask(empty).astype("str"), pd.Series(False, index=text.index)
    return text.mask(empty).astype("str"), pd.Series(False, index=text.index)


def _as_text(value) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _parse_times(text: pd.Series, empty: pd.Series, rule: FieldRule) -> tuple[pd.Series, pd.Series]:
    result = pd.Series(pd.NaT, index=text.index, dtype="datetime64[us, UTC]")
    remaining = ~empty
    # Values with a UTC offset and values without one are parsed apart: one `+02:00` in a column
    # must not make pandas read every naive value as UTC and ignore the mapping's `tz`.
    aware = text.str.contains(_OFFSET, regex=True)
    for fmt in rule.formats:
        for group in (aware, ~aware):
            subset = text[remaining & group]
            if subset.empty:
                continue
            parsed = _parse_with(subset, fmt, rule.tz)
            ok = parsed.notna()
            result[ok.index[ok]] = parsed[ok]
        remaining = remaining & result.isna()
    return result, remaining


# A time of day followed by Z, an offset (+02:00, +0200, -05) or UTC/GMT.
_OFFSET = r"\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?\s*(?:[zZ]|[+-]\d{2}(?::?\d{2})?|UTC|GMT)$"


def _parse_with(subset: pd.Series, fmt: str, tz: str) -> pd.Series:
    """One format over values that share offset-ness; naive values are read in `tz`; all stored as UTC."""
    try:
        try:
            parsed = pd.to_datetime(subset, format=fmt, errors="coerce")
        except (ValueError, TypeError):  # mixed UTC offsets in one column
            parsed = pd.to_datetime(subset, format=fmt, errors="coerce", utc=True)
        if parsed.dt.tz is None:
            parsed = parsed.dt.tz_localize(tz, ambiguous="NaT", nonexistent="NaT")
        return parsed.dt.tz_convert("UTC").astype("datetime64[us, UTC]")
    except (ValueError, TypeError, OverflowError):  # a format pandas cannot apply: nothing read
        return pd.Series(pd.NaT, index=subset.index, dtype="datetime64[us, UTC]")


def _unwritten_cells(path, mapping: Mapping, frame: pd.DataFrame, headers, placeholders) -> list[Problem]:
    """Each cell the vendor cannot have written, in a column the mapping reads, where the vendor writes one of
    its own words (exactly) wherever there is no value: a blank, or a no-value word not spelled as the vendor's."""
    generic = {w.strip().casefold() for w in (*placeholders, *mapping.sentinels)}
    problems: dict[tuple[int, str], Problem] = {}  # a column several canonical ones read is reported once
    for rule in mapping.rules:
        own = set(rule.values)
        for source in rule.sources if rule.combine != "constant" else ():
            column = _source(frame, headers, source)
            if column is None:
                continue
            text = column.astype(str).str.strip()
            unwritten = (text == "") | (text.str.casefold().isin(generic) & ~text.isin({*mapping.sentinels, *own}))
            for row, value in text[unwritten].items():
                what = "blank cell" if not value else f"{quote(value)}"
                problems[(int(row), source)] = located(
                    path, f"{what} in '{source}': not what {mapping.name} exports hold (they write "
                    f"{', '.join(mapping.sentinels) or 'a value'} where there is none)",
                    "re-export the file from the vendor: the file was edited or cut", row=int(row), column=source)
    return list(problems.values())


def _cell_problems(path, rule, column, frame, headers, bad: pd.Series) -> list[Problem]:
    if not bad.any():
        return []
    label = "+".join(rule.sources) if rule.sources else rule.target
    if column.kind == "enum":
        expected = f"one of {', '.join(column.values)}"
        hint = f"expected {expected}; map this vendor value under `values:` in the mapping for '{rule.target}'"
    elif column.kind in ("date", "datetime"):
        hint = f"expected {EXPECTED[column.kind]} in format {' or '.join(rule.formats)}; " \
               f"fix the value or add its format under `formats:`"
    else:
        hint = f"expected {EXPECTED.get(column.kind, column.kind)}; map it under `values:` in the mapping"
    source = _source(frame, headers, rule.sources[0]) if rule.sources else None
    shown = source[bad] if source is not None else pd.Series(str(rule.constant), index=bad.index[bad])
    return [
        located(path, f"cannot read {quote(value)} as {rule.target} ({column.kind})", hint, row=int(row),
                column=label)
        for row, value in shown.items()
    ]


def empty_frame(schema: Schema) -> pd.DataFrame:
    """A frame with no rows and the schema's typed columns, for evidence that did not load."""
    index = pd.RangeIndex(0, name="source_row")
    return pd.DataFrame({c.name: _empty(c, index) for c in schema.columns}, index=index)


def _empty(column: Column, index) -> pd.Series:
    dtype = {"bool": "boolean", "date": "datetime64[us]", "datetime": "datetime64[us, UTC]"}.get(column.kind, "str")
    if column.unmapped is not None:
        return pd.Series(column.unmapped, index=index, dtype=dtype)
    return pd.Series(pd.NA if dtype == "boolean" else None, index=index, dtype=dtype)
