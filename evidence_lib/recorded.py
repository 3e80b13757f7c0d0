"""A notebook's cells as the run's worker showed them just before, replayed by a kernel that imports no pandas.

Every notebook's kernel imported pandas and most of the library (about a second, eleven times a run)
only to show what the run had already computed. A run's worker now opens the notebook's area itself
just before executing the notebook (`record_cells`: the worker has pandas imported once), calls every
method a notebook's cells call (NOTEBOOK_CALLS) and records what each showed: its HTML and PNG outputs
and printed lines, in order, and the files `save` writes. The recording is stored in the run's private
shared-validation folder under a key naming everything the area depends on (the notebook's own
arguments, the bytes of every evidence file and of the PII mask key, the project's code). A kernel
whose arguments give the same key replays the recording (`find_recording`): its executed notebook
holds the same outputs. A call that was not recorded (an analyst's own) opens the area and computes it.

This module imports nothing heavy: it is what a replaying kernel runs.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

from evidence_lib.project import PROJECT_DIR
from evidence_lib.shared_validation import SHARED_DIR_VARIABLE, code_digest

#: the methods a notebook's cells call, besides show_control (each control) and chart (each chart drawn)
NOTEBOOK_CALLS = ("header", "inventory", "population", "show_integrity", "conclusion")
#: TestedArea.open's defaults: a notebook leaving an argument out opens the same area as one passing it
OPEN_DEFAULTS = {"as_of": None, "parameters": None, "mask_pii": False, "mask_key_file": None, "run_id": None}
#: what the area shows while the worker records it goes here instead of to IPython
_RECORDING: ContextVar[list | None] = ContextVar("recording", default=None)


class Html:
    """An HTML output of a cell, published as text/html alone: no text/plain "<IPython.core.display.HTML
    object>" stored beside it in the executed notebook (whose outputs the report shows)."""

    def __init__(self, markup: str):
        self.markup = markup

    def _repr_html_(self) -> str:
        return self.markup

    def _ipython_display_(self) -> None:
        show(self)


def show(output: Html | dict) -> None:
    """Display one output (Html, or a raw MIME bundle) as a notebook cell's output, or record it."""
    bundle = {"text/html": output.markup} if isinstance(output, Html) else output
    recording = _RECORDING.get()
    if recording is not None:
        recording.append(["display", bundle])
        return
    from IPython.display import display

    display(bundle, raw=True)


def say(line: str) -> None:
    """Print one line as a cell's output, or record it."""
    recording = _RECORDING.get()
    if recording is not None:
        recording.append(["stdout", line + "\n"])
        return
    print(line)


@contextmanager
def recording() -> Iterator[list]:
    """Everything shown or said inside the block, in order, instead of displayed."""
    outputs: list = []
    token = _RECORDING.set(outputs)
    try:
        yield outputs
    finally:
        _RECORDING.reset(token)


def recording_key(control_ids, options: dict) -> str | None:
    """The key of a notebook's recording: its controls and every argument it opens its area with, the SHA-256
    of every file of its evidence folder and of its PII mask key, and the project's code. None when a file
    cannot be read (the area, opened, then says why)."""
    folder = from_project(options.get("evidence_dir", ""))
    options = {**OPEN_DEFAULTS, **options, "evidence_dir": str(folder)}
    options["parameters"] = options["parameters"] or {}
    try:
        files = {path.relative_to(folder).as_posix(): _sha256(path)
                 for path in sorted(folder.rglob("*")) if path.is_file()}
        mask_key = _sha256(from_project(options["mask_key_file"])) if options["mask_key_file"] else None
    except (OSError, TypeError):
        return None
    document = {"controls": sorted(control_ids), "options": options, "evidence": files, "mask_key": mask_key,
                "code": code_digest()}
    return hashlib.sha256(json.dumps(document, sort_keys=True, default=repr).encode()).hexdigest()


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def from_project(name: str) -> Path:
    """As TestedArea.open reads an evidence folder or a key file wherever the kernel runs (JupyterLab in
    notebooks/, papermill from anywhere): a relative path is relative to the project folder."""
    path = Path(name)
    return path if path.is_absolute() else PROJECT_DIR / path


def record_cells(area, control_ids, charts: tuple[str, ...], options: dict, shared_dir: Path) -> Path | None:
    """Call each of the notebook's methods on the opened area, record what it shows, and store the
    recording under the notebook's key (in the run's worker, before the notebook runs); its path, or None."""
    key = recording_key(control_ids, options)
    if key is None:
        return None
    calls = [(name, ()) for name in NOTEBOOK_CALLS]
    calls += [("show_control", (c,)) for c in control_ids] + [("chart", (n,)) for n in charts]
    recorded = {}
    for name, arguments in calls:
        with recording() as outputs:
            try:
                returned = getattr(area, name)(*arguments)
            except Exception:  # noqa: BLE001 - not recorded: the kernel calls it and shows the error itself
                continue
        recorded[_call_name(name, arguments)] = {
            "outputs": outputs, "returned": returned.markup if isinstance(returned, Html) else None}
    files = _saved_files(area, shared_dir / f"{key}.saved")
    path = shared_dir / f"{key}.cells.json"
    _write_atomically(path, json.dumps({"calls": recorded, "files": files}))
    return path


def find_recording(control_ids, options: dict) -> dict | None:
    """The recording of this notebook's cells stored by the run's worker, when its key is this notebook's."""
    shared_dir = os.environ.get(SHARED_DIR_VARIABLE)
    if not shared_dir:
        return None
    key = recording_key(control_ids, options)
    path = Path(shared_dir) / f"{key}.cells.json"
    if key is None or not path.is_file():
        return None
    recorded = json.loads(path.read_text(encoding="utf-8"))
    replayed_marker(path).touch()  # the worker tells the run that this kernel replayed its cells
    return recorded


def replayed_marker(recording: Path) -> Path:
    """The file a kernel leaves beside the recording it found."""
    return recording.with_name(recording.name.removesuffix(".cells.json") + ".replayed")


class RecordedArea:
    """A notebook's area answered from its recording; a call that was not recorded opens the area for real."""

    def __init__(self, recorded: dict, open_area: Callable[[], object]):
        self._recorded = recorded
        self._open_area = open_area
        self._area = None

    def header(self):
        return self._replay("header")

    def inventory(self):
        return self._replay("inventory")

    def population(self):
        return self._replay("population")

    def show_integrity(self):
        return self._replay("show_integrity")

    def show_control(self, control_id: str):
        return self._replay("show_control", control_id)

    def chart(self, name: str):
        return self._replay("chart", name)

    def conclusion(self):
        return self._replay("conclusion")

    def save(self, results_dir: str | None) -> None:
        """The files the worker's `save` wrote, byte for byte (nothing when run interactively)."""
        if results_dir:
            for name, encoded in self._recorded["files"].items():
                _write_atomically(Path(results_dir) / name, base64.b64decode(encoded).decode("utf-8"))

    def __getattr__(self, name: str):
        # anything else (the validation, the evidence, results()) is the area's own
        return getattr(self._opened(), name)

    def _replay(self, name: str, *arguments):
        call = self._recorded["calls"].get(_call_name(name, arguments))
        if call is None:
            return getattr(self._opened(), name)(*arguments)
        for kind, output in call["outputs"]:
            if kind == "display":
                show(output)
            else:
                sys.stdout.write(output)
        return Html(call["returned"]) if call["returned"] is not None else None

    def _opened(self):
        if self._area is None:
            self._area = self._open_area()
        return self._area


def _call_name(name: str, arguments: tuple) -> str:
    return f"{name}({', '.join(map(repr, arguments))})"


def _saved_files(area, folder: Path) -> dict[str, str]:
    """What area.save writes, read back (base64: replayed byte for byte)."""
    folder.mkdir()
    area.save(str(folder))
    return {path.name: base64.b64encode(path.read_bytes()).decode("ascii") for path in sorted(folder.iterdir())}


def _write_atomically(path: Path, text: str) -> None:
    from evidence_lib.package import write_text_atomically

    write_text_atomically(path, text)
