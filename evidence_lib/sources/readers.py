"""Read an export's bytes into a frame of untyped strings, indexed by source row.

Readers know file formats (CSV, XLSX, JSON), never evidence: typing and column names
belong to the mapping. The frame's index is the row number a person sees when opening
the file (header = row 1 for tables, record 1 = the first JSON object), so every later
error can point back into the file.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time

import pandas as pd

from evidence_lib.errors import LoadError, located, quote
from evidence_lib.sources.limits import check_cells, check_json_depth, check_xlsx

DELIMITERS = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))


@dataclass
class RawTable:
    frame: pd.DataFrame  # every cell a str ("" when empty); index = source row number
    blank_rows: int  # rows with no value at all, skipped and counted
    sheet: str | None = None
    header_row: int = 1  # the row of the file that holds the header (JSON: record 1, whose keys name columns)
    other_sheet_headers: dict[str, list[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class ReadOptions:
    format: str = "csv"  # csv | xlsx | json
    encoding: str = "auto"
    delimiter: str = ","
    sheet: str | int = 0
    skip_rows: int = 0  # rows above the header row
    records: str = ""  # JSON: dotted path to the list of records; "" = the document itself


def normalise_header(name: object) -> str:
    """Header cells compare without case, BOMs or stray white space."""
    return re.sub(r"\s+", " ", str(name).replace("\ufeff", "")).strip().casefold()


def read_table(data: bytes, path: str, options: ReadOptions, allow_empty: bool = False) -> RawTable:
    """The file's rows; `allow_empty`: a header without rows is a valid, empty table (no service accounts)."""
    if not data.strip():
        raise LoadError([located(path, "the file is empty", "export it again; a 0-byte file is not evidence")])
    reader = {"csv": _read_csv, "xlsx": _read_xlsx, "json": _read_json}.get(options.format)
    if reader is None:
        raise LoadError([located(path, f"unknown file format '{options.format}'", "use csv, xlsx or json")])
    table = reader(data, path, options)
    if table.frame.empty and not (allow_empty and len(table.frame.columns)):
        raise LoadError([located(path, "the file has a header but no data rows", "export it again with its rows")])
    return table


def find_header_row(data: bytes, path: str, options: ReadOptions, known_headers: set[str],
                    max_scan: int = 30) -> tuple[int, list[str]]:
    """The 1-based row holding an export's column names, and its cells (for `evidence init`).

    Among the first `max_scan` rows, the row with the most cells among `known_headers` (compared
    as normalise_header does) wins if it has at least two: a title or a preamble above the header
    shares at most a word with it. Otherwise the first non-empty row. JSON has no header row:
    (0, the keys of the first record, dotted as pd.json_normalize flattens them).
    """
    if options.format == "json":
        return 0, list(pd.json_normalize(_json_records(data, path, options)[:1], sep=".").columns)
    rows = {"csv": _first_csv_rows, "xlsx": _first_xlsx_rows}.get(options.format)
    if rows is None:
        raise LoadError([located(path, f"unknown file format '{options.format}'", "use csv, xlsx or json")])
    scanned = [(number, _trimmed(cells)) for number, cells in enumerate(rows(data, path, options, max_scan), 1)]
    known = {normalise_header(h) for h in known_headers}
    scores = [(len({normalise_header(c) for c in cells} & known), -number, number, cells)
              for number, cells in scanned if cells]
    if not scores:
        raise LoadError([located(path, f"no column names in the first {max_scan} rows", "export it again with "
                                                                                          "column headers")])
    best = max(scores)
    _score, _, number, cells = best if best[0] >= 2 else scores[0]
    return number, cells


def _trimmed(cells: list[str]) -> list[str]:
    """A row's cells without the empty ones a spreadsheet leaves after the last."""
    cells = [str(c).strip() for c in cells]
    while cells and not cells[-1]:
        cells.pop()
    return cells


def _first_csv_rows(data: bytes, path: str, options: ReadOptions, count: int) -> list[list[str]]:
    text = decode(data, path, options.encoding).lstrip("\ufeff")
    try:
        return list(itertools.islice(csv.reader(io.StringIO(text), delimiter=options.delimiter), count))
    except csv.Error as exc:
        raise LoadError([located(path, f"not a readable CSV: {exc}", "re-export the file as CSV")]) from None


def _first_xlsx_rows(data: bytes, path: str, options: ReadOptions, count: int) -> list[list[str]]:
    import python_calamine as calamine

    check_xlsx(data, path)
    try:
        book = calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
        sheet = _sheet_name(list(book.sheet_names), options.sheet, path)
        grid = book.get_sheet_by_name(sheet).to_python(skip_empty_area=False, nrows=count)
    except LoadError:
        raise
    except Exception as exc:  # noqa: BLE001 - calamine raises its own zip/xml/password errors, and ValueError
        raise LoadError([located(path, f"not a readable XLSX workbook ({type(exc).__name__}: {exc})",
                                 "save it again as .xlsx")]) from None
    return [[_cell_text(v) for v in row] for row in grid]


def decode(data: bytes, path: str, encoding: str) -> str:
    if encoding == "auto":
        encoding = next((name for bom, name in _BOMS if data.startswith(bom)), "utf-8")
    try:
        return data.decode(encoding)
    except LookupError:
        raise LoadError(
            [located(path, f"unknown encoding '{encoding}'", "use e.g. utf-8, cp1252 or latin-1")]
        ) from None
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise LoadError(
            [
                located(
                    path,
                    f"line {line} is not valid {encoding} (byte {data[exc.start]:#04x})",
                    "the file was saved in another encoding: declare it for this file in evidence.yaml, "
                    "e.g. `encoding: cp1252` for Excel on Windows or `encoding: latin-1`",
                    row=line,
                )
            ]
        ) from None


def _read_csv(data: bytes, path: str, options: ReadOptions) -> RawTable:
    text = decode(data, path, options.encoding).lstrip("\ufeff")
    delimiter = options.delimiter
    header_line = _line(text, options.skip_rows)  # not a preamble line above it
    check_cells(path, text.count("\n") + 1, header_line.count(delimiter) + 1)  # before pandas builds any cell
    try:
        frame = pd.read_csv(
            io.StringIO(text),
            sep=delimiter,
            dtype=str,
            keep_default_na=False,
            skip_blank_lines=False,
            skiprows=options.skip_rows,
            engine="c",
        )
    except pd.errors.EmptyDataError:
        raise LoadError([located(path, "the file has no header row", "export it again with column headers")]) from None
    except pd.errors.ParserError as exc:
        match = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(exc))
        if match:
            expected, line, saw = match.groups()
            problem = located(
                path,
                f"{saw} fields where the header has {expected}",
                f"a value probably contains an unquoted '{delimiter}'; quote it or re-export",
                row=int(line),
            )
        else:
            problem = located(path, f"not a readable CSV: {exc}", "re-export the file as CSV")
        raise LoadError([problem]) from None
    if len(frame.columns) == 1:
        _check_delimiter(header_line, path, delimiter, options.skip_rows + 1)
    frame.columns = _header_as_written(text, delimiter, options.skip_rows, list(frame.columns))
    return _finish_table(frame, first_row=options.skip_rows + 2)


def _line(text: str, number: int) -> str:
    """Line `number` (0-based) of the text, without splitting the whole file."""
    start = 0
    for _ in range(number):
        start = text.find("\n", start) + 1
        if start == 0:
            return ""
    end = text.find("\n", start)
    return text[start:] if end < 0 else text[start:end]


def _header_as_written(text: str, delimiter: str, skip_rows: int, parsed: list[str]) -> list[str]:
    """pandas renames a repeated header `X` to `X.1`; keep the names as written so a repeat stays visible."""
    try:
        rows = csv.reader(io.StringIO(text), delimiter=delimiter)
        for _ in range(skip_rows):
            next(rows)
        written = next(rows)
    except (csv.Error, StopIteration):
        return parsed
    return written if len(written) == len(parsed) else parsed


def _check_delimiter(header: str, path: str, delimiter: str, row: int) -> None:
    """A one-column table usually means the file uses another delimiter; say which."""
    header = header.rstrip("\r")
    try:
        found = csv.Sniffer().sniff(header, delimiters="".join(DELIMITERS)).delimiter
    except csv.Error:
        return
    if found != delimiter and header.count(found) >= 1:
        raise LoadError(
            [
                located(
                    path,
                    f"the header splits on {DELIMITERS.get(found, repr(found))}s, not on "
                    f"{DELIMITERS.get(delimiter, repr(delimiter))}s",
                    f"declare `delimiter: \"{found}\"` for this file in evidence.yaml",
                    row=row,
                )
            ]
        )


def _finish_table(frame: pd.DataFrame, first_row: int, sheet: str | None = None) -> RawTable:
    frame.index = pd.RangeIndex(first_row, first_row + len(frame), name="source_row")
    blank = (frame == "").all(axis=1) if len(frame.columns) else pd.Series(True, index=frame.index)
    # Tables: the header is the row above the first data row; JSON messages point at record 1 for its keys.
    return RawTable(frame=frame[~blank], blank_rows=int(blank.sum()), sheet=sheet, header_row=max(first_row - 1, 1))


def _cell_text(value: object) -> str:
    if value is None or (isinstance(value, float) and value != value):  # None, NaN: a missing value
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (date, time)):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _read_xlsx(data: bytes, path: str, options: ReadOptions) -> RawTable:
    # calamine (Rust) parses a 100,000-row sheet in ~1.5 s; openpyxl's reader took ~20 s.
    import python_calamine as calamine

    check_xlsx(data, path)  # before calamine allocates the sheets' full extent
    try:
        book = calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
        names = list(book.sheet_names)
        sheet = _sheet_name(names, options.sheet, path)
        # Other sheets only for their header (a hint when the data is on another sheet).
        head = options.skip_rows + 1
        grid = {name: book.get_sheet_by_name(name).to_python(skip_empty_area=False,
                                                            nrows=None if name == sheet else head)
                for name in names}
    except LoadError:
        raise
    except Exception as exc:  # noqa: BLE001 - calamine raises its own zip/xml/password errors, and ValueError
        raise LoadError([located(path, f"not a readable XLSX workbook ({type(exc).__name__}: {exc})",
                                 "save it again as .xlsx")]) from None
    rows = [[_cell_text(v) for v in row] for row in grid[sheet][options.skip_rows:]]
    others = {name: _head(cells, options.skip_rows) for name, cells in grid.items() if name != sheet}
    if not rows or not any(rows[0]):
        raise LoadError([located(path, f"sheet '{sheet}' has no header row", _other_sheets_hint(others))])
    header, body = rows[0], rows[1:]
    while header and header[-1] == "":  # trailing empty columns from formatting
        header.pop()
    width = len(header)
    frame = pd.DataFrame([r[:width] + [""] * (width - len(r)) for r in body], columns=header, dtype=str)
    table = _finish_table(frame, first_row=options.skip_rows + 2, sheet=sheet)
    table.other_sheet_headers = others
    return table


def _sheet_name(names: list[str], sheet: str | int, path: str) -> str:
    """The declared sheet (by name, or by 0-based number) of a workbook with these sheets."""
    if isinstance(sheet, int):
        if sheet >= len(names):
            raise LoadError([located(path, f"the workbook has no sheet number {sheet + 1}", f"sheets: {names}")])
        return names[sheet]
    if sheet not in names:
        raise LoadError([located(path, f"the workbook has no sheet '{sheet}'", f"declare one of {names} as `sheet:`")])
    return sheet


def _head(cells: list[list], skip_rows: int) -> list[str]:
    return [_cell_text(v) for v in cells[skip_rows]] if len(cells) > skip_rows else []


def _other_sheets_hint(others: dict[str, list[str]]) -> str:
    filled = [name for name, head in others.items() if any(head)]
    return f"data may be on sheet(s) {filled}: declare `sheet:` in evidence.yaml" if filled else "export it again"


def _read_json(data: bytes, path: str, options: ReadOptions) -> RawTable:
    records = _json_records(data, path, options)
    check_cells(path, len(records), len(set().union(*(_leaf_keys(r) for r in records))), what="the JSON list")
    frame = pd.json_normalize(records, sep=".")
    # A record without a key (or with null) has a blank cell there, never the text "nan" or "None".
    frame = frame.apply(lambda column: column.map(_cell_text)).astype(str) if len(frame.columns) else frame
    return _finish_table(frame, first_row=1)


def _json_records(data: bytes, path: str, options: ReadOptions) -> list[dict]:
    """The export's list of JSON objects, at `options.records`; never empty."""
    text = decode(data, path, options.encoding)
    check_json_depth(text, path)
    try:
        document = json.loads(text, object_pairs_hook=_keep_repeated_keys)
    except json.JSONDecodeError as exc:
        raise LoadError(
            [located(path, f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}", "re-export it",
                     row=exc.lineno)]
        ) from None
    except (ValueError, RecursionError) as exc:  # e.g. an integer of more than 4,300 digits
        raise LoadError([located(path, f"not readable JSON ({type(exc).__name__}: {quote(exc)})",
                                 "re-export it")]) from None
    records = document
    for part in filter(None, options.records.split(".")):
        if not isinstance(records, dict) or part not in records:
            raise LoadError(
                [located(path, f"no '{options.records}' list in the document", "check the mapping's `records:`")]
            )
        records = records[part]
    if not isinstance(records, list):
        raise LoadError([located(path, "expected a JSON list of records", "export the list itself, or set `records:`")])
    for number, record in enumerate(records, start=1):
        if not isinstance(record, dict):
            raise LoadError([located(path, f"record {number} is a {type(record).__name__}, not an object", "re-export",
                                     row=number)])
    if not records:
        raise LoadError([located(path, "the JSON list has no records", "export it again with its records")])
    return records


def _keep_repeated_keys(pairs: list[tuple[str, object]]) -> dict:
    """An object naming a key twice keeps both (the repeat with a trailing space, which compares equal),
    so that a mapping using that key meets an ambiguous column instead of the last value silently."""
    result: dict = {}
    for key, value in pairs:
        while key in result:
            key += " "
        result[key] = value
    return result


def _leaf_keys(record: dict, prefix: str = "") -> set[str]:
    """The dotted columns json_normalize makes of one record."""
    keys = set()
    for key, value in record.items():
        if isinstance(value, dict) and value:
            keys |= _leaf_keys(value, f"{prefix}{key}.")
        else:
            keys.add(prefix + str(key))
    return keys
