"""Resource caps on evidence: every hostile or careless file ends in a located error, never a crash.

Every cap lives here, as a module constant, so that a reviewer sees in one place how much a
load may cost. A file past a cap is refused before the expensive step (pandas, calamine,
json) allocates anything: an XLSX of 15 KB can declare a sheet of 17 billion cells, a zip of
1 MB can inflate to gigabytes, a JSON of 100 KB can nest deeper than Python's stack.
"""

from __future__ import annotations

import os
import re
import stat
import zipfile
from pathlib import Path

import numpy as np

from evidence_lib.errors import LoadError, located

#: bytes of one evidence file (the file is read whole: hashing and parsing need every byte)
MAX_FILE_BYTES = 2 * 1024**3
#: cells (rows × columns) of one evidence table; XLSX counts every sheet, as calamine reads them all
MAX_CELLS = 10_000_000
#: bytes an XLSX may inflate to, all zip members together (a zip bomb stops here)
MAX_XLSX_INFLATED_BYTES = 512 * 1024**2
#: members of an XLSX zip (a real workbook has tens)
MAX_XLSX_MEMBERS = 10_000
#: nesting of JSON arrays and objects (an export nests 3 or 4 deep; Python's parser recurses)
MAX_JSON_DEPTH = 64
#: bytes of evidence.yaml or of a mapping file
MAX_YAML_BYTES = 1024**2
#: nesting of YAML collections
MAX_YAML_DEPTH = 32

_CHUNK = 1024**2
_NOT_REGULAR = {stat.S_IFCHR: "a character device", stat.S_IFBLK: "a block device", stat.S_IFIFO: "a FIFO (pipe)",
                stat.S_IFSOCK: "a socket", stat.S_IFDIR: "a folder"}


def read_regular_file(path: Path, shown: str, max_bytes: int | None = None) -> bytes:
    """The bytes of a regular file of at most max_bytes (MAX_FILE_BYTES); devices, pipes and sockets are
    refused unopened."""
    max_bytes = MAX_FILE_BYTES if max_bytes is None else max_bytes
    try:
        kind = stat.S_IFMT(os.stat(path).st_mode)
    except FileNotFoundError:
        raise LoadError([located(shown, "the declared file does not exist",
                                 "add the export to the evidence folder or remove it from evidence.yaml")]) from None
    except OSError as exc:
        raise LoadError([located(shown, f"cannot read the file: {exc.strerror}", "check its permissions")]) from None
    if kind != stat.S_IFREG:
        raise LoadError([located(shown, f"is {_NOT_REGULAR.get(kind, 'not a regular file')}, not an exported file",
                                 "declare the exported file itself")])
    # O_NONBLOCK: should the path be swapped for a pipe after the check, opening it does not hang.
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        descriptor = os.open(path, flags)
    except OSError as exc:
        raise LoadError([located(shown, f"cannot read the file: {exc.strerror}", "check its permissions")]) from None
    with os.fdopen(descriptor, "rb") as handle:
        opened = os.fstat(handle.fileno())
        if not stat.S_ISREG(opened.st_mode):
            raise LoadError([located(shown, "is not a regular file", "declare the exported file itself")])
        if opened.st_size > max_bytes:
            raise _too_big(shown, opened.st_size, max_bytes)
        data = handle.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise _too_big(shown, len(data), max_bytes)
    return data


def _too_big(shown: str, size: int, cap: int) -> LoadError:
    return LoadError([located(shown, f"the file has {size:,} bytes, more than the {cap:,} one evidence file may have",
                              "split the export (e.g. one file per system or per month)")])


def check_cells(shown: str, rows: int, columns: int, what: str = "the table") -> None:
    if rows * columns > MAX_CELLS:
        raise LoadError([located(shown, f"{what} has {rows:,} rows × {columns:,} columns, more than the "
                                        f"{MAX_CELLS:,} cells one evidence file may have",
                                 "split the export, or remove empty rows and columns beyond the data")])


# --- XLSX ------------------------------------------------------------------------------------

# Patterns that begin with a literal, so that re skips through megabytes of XML in C. Attributes
# follow one space in every writer we know; other white space before `r=` takes the slower pattern.
_DIMENSION = re.compile(rb"dimension\s+ref=\"([A-Z]{0,4})(\d{0,9})(?::([A-Z]{1,4})(\d{1,9}))?\"")
_REF = re.compile(rb" r=\"([A-Z]{0,4})(\d{1,9})\"")
_ODD_SPACE_REF = re.compile(rb"[\t\r\n]r=\"")
_ANY_SPACE_REF = re.compile(rb"[\t\r\n]r=\"([A-Z]{0,4})(\d{1,9})\"")
_CELL_TAGS = (re.compile(rb"<c[ >/\t\r\n]"), re.compile(rb":c[ >/\t\r\n]"))
_ROW_TAGS = (re.compile(rb"<row[ >/\t\r\n]"), re.compile(rb":row[ >/\t\r\n]"))
_SHEET = re.compile(rb"<(?:\w+:)?sheet\s[^>]*>")
_ATTRIBUTE = re.compile(rb"([\w:]+)=\"([^\"]*)\"")


def check_xlsx(data: bytes, shown: str) -> None:
    """Refuse a workbook whose zip inflates past the cap or whose sheets span more cells than the cap."""
    import io

    try:
        book = zipfile.ZipFile(io.BytesIO(data))
        members = book.infolist()
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:
        raise LoadError([located(shown, f"not a readable XLSX workbook ({type(exc).__name__}: {exc})",
                                 "save it again as .xlsx")]) from None
    if len(members) > MAX_XLSX_MEMBERS:
        raise LoadError([located(shown, f"the workbook zip has {len(members):,} parts (at most {MAX_XLSX_MEMBERS:,})",
                                 "save it again as .xlsx from a spreadsheet program")])
    names = _sheet_names(book)
    budget = [MAX_XLSX_INFLATED_BYTES]
    total_cells = 0
    for member in members:
        worksheet = member.filename.startswith("xl/worksheets/") and member.filename.endswith(".xml")
        sheet = names.get(member.filename, member.filename)
        extent = _inflate(book, member, shown, budget, scan=worksheet)
        if worksheet:
            rows, columns = extent
            check_cells(shown, rows, columns, what=f"sheet '{sheet}'")
            total_cells += rows * columns
    check_cells(shown, 1, total_cells, what="the workbook (all sheets together)")


def _inflate(book: zipfile.ZipFile, member: zipfile.ZipInfo, shown: str, budget: list[int], scan: bool):
    """Inflate one member in chunks against the byte budget; for a sheet, its extent (rows, columns)."""
    extent = _Extent()
    carry = b""
    try:
        with book.open(member) as stream:
            while chunk := stream.read(_CHUNK):
                budget[0] -= len(chunk)
                if budget[0] < 0:
                    raise LoadError([located(shown, f"the workbook inflates to more than "
                                                    f"{MAX_XLSX_INFLATED_BYTES:,} bytes (a zip bomb, or far too "
                                                    "large an export)", "split the export or save it as CSV")])
                if scan:
                    # Scan up to the last '>' so that no tag is cut in two between chunks.
                    window = carry + chunk
                    end = window.rfind(b">") + 1 if len(window) < 4 * _CHUNK else len(window)
                    extent.scan(window[:end])
                    carry = window[end:]
            extent.scan(carry)
    except LoadError:
        raise
    except (zipfile.BadZipFile, NotImplementedError, ValueError, OSError, EOFError, RuntimeError) as exc:
        raise LoadError([located(shown, f"not a readable XLSX workbook ({type(exc).__name__}: {exc})",
                                 "save it again as .xlsx")]) from None
    return extent.rows_columns()


class _Extent:
    """The largest row and column a sheet's XML declares or uses, counted without building the sheet."""

    def __init__(self):
        self.row = self.column = 0
        self.cells = self.cells_with_ref = self.row_tags = 0

    def scan(self, xml: bytes) -> None:
        for match in _DIMENSION.finditer(xml):
            for letters, digits in ((match[1], match[2]), (match[3], match[4])):
                self._see(letters, digits)
        refs = _REF.findall(xml)
        if _ODD_SPACE_REF.search(xml):
            refs += _ANY_SPACE_REF.findall(xml)
        for letters in {letters for letters, _ in refs}:
            self._see(letters, None)
        self.row = max([self.row, *map(int, {digits for _, digits in refs})])
        self.cells += sum(len(tag.findall(xml)) for tag in _CELL_TAGS)
        self.cells_with_ref += sum(1 for letters, _ in refs if letters)
        self.row_tags += sum(len(tag.findall(xml)) for tag in _ROW_TAGS)

    def _see(self, letters: bytes | None, digits: bytes | None) -> None:
        if letters:
            self.column = max(self.column, _column_number(letters))
        if digits:
            self.row = max(self.row, int(digits))

    def rows_columns(self) -> tuple[int, int]:
        rows = max(self.row, self.row_tags)
        # Cells without an `r=` reference take the next column of their row: at worst all in one row.
        columns = self.column + max(0, self.cells - self.cells_with_ref)
        return rows, columns


def _column_number(letters: bytes) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + (letter - 64)
    return number


def _sheet_names(book: zipfile.ZipFile) -> dict[str, str]:
    """Zip member -> sheet name, for messages (regular expressions: no XML parser on untrusted XML)."""
    try:
        workbook = _small_member(book, "xl/workbook.xml")
        relations = _small_member(book, "xl/_rels/workbook.xml.rels")
    except KeyError:
        return {}
    targets = {}
    for tag in re.findall(rb"<(?:\w+:)?Relationship\s[^>]*>", relations):
        attributes = dict(_ATTRIBUTE.findall(tag))
        target = attributes.get(b"Target", b"").decode("utf-8", "replace").lstrip("/")
        targets[attributes.get(b"Id")] = target if target.startswith("xl/") else f"xl/{target}"
    names = {}
    for tag in _SHEET.findall(workbook):
        attributes = {k.split(b":")[-1]: v for k, v in _ATTRIBUTE.findall(tag)}
        member = targets.get(attributes.get(b"id"))
        if member:
            names[member] = attributes.get(b"name", b"?").decode("utf-8", "replace")
    return names


def _small_member(book: zipfile.ZipFile, name: str) -> bytes:
    try:
        with book.open(name) as stream:
            return stream.read(MAX_YAML_BYTES)
    except KeyError:
        raise
    except Exception:  # noqa: BLE001 - a broken part: the sheet names are only for messages
        return b""


# --- JSON ------------------------------------------------------------------------------------

_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)


def check_json_depth(text: str, shown: str) -> None:
    """Refuse JSON nested deeper than the cap before the recursive parser meets it."""
    depth = 0
    line = 1
    for start in range(0, len(text), 8 * _CHUNK):
        # Brackets inside strings do not nest: remove strings first (a chunk edge inside a long
        # string can only over-count, and the document is then still parsed, not passed).
        chunk = _JSON_STRING.sub('""', text[start:start + 8 * _CHUNK])
        codes = np.frombuffer(chunk.encode("utf-32-le"), dtype=np.uint32)
        steps = np.isin(codes, (ord("["), ord("{"))).astype(np.int64) - np.isin(codes, (ord("]"), ord("}")))
        levels = depth + np.cumsum(steps)
        if len(levels) and levels.max() > MAX_JSON_DEPTH:
            at = int(np.argmax(levels > MAX_JSON_DEPTH))
            line += chunk[:at].count("\n")
            raise LoadError([located(shown, f"the JSON nests deeper than {MAX_JSON_DEPTH} levels",
                                     "export the records as a flat list of objects", row=line)])
        depth = int(levels[-1]) if len(levels) else depth
        line += chunk.count("\n")
