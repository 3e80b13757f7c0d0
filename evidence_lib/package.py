"""The evidence package on disk: written whole or not at all, hashed, never overwritten, verifiable.

<out>/<period>/<run-id>/ is first built as <out>/<period>/.incomplete-<run-id>/ and renamed
when every file is in place, so a reader (or a scheduler) never sees half a package; run ids
carry a random part, so two runs of one period started in the same second do not collide.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import secrets
import stat
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

MANIFEST = "manifest.json"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
INCOMPLETE_PREFIX = ".incomplete-"


def write_json_atomically(path: Path, document: dict) -> None:
    """Write to a temporary file beside the target, then rename: a reader never sees half a file."""
    text = json.dumps(document, indent=2, default=str, ensure_ascii=False) + "\n"
    write_text_atomically(path, text)


def write_text_atomically(path: Path, text: str) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            out.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def neutralise_formula(value):
    """A cell a spreadsheet would run as a formula (=, +, -, @ first) is prefixed with ' to stay text."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def write_csv_atomically(path: Path, frame: pd.DataFrame) -> None:
    """CSV for spreadsheets: every text cell that could be read as a formula is neutralised."""
    safe = frame.astype(object).where(frame.notna(), None).map(neutralise_formula)
    buffer = io.StringIO()
    safe.to_csv(buffer, index=False, quoting=csv.QUOTE_MINIMAL, lineterminator="\n")
    write_text_atomically(path, buffer.getvalue())


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def hash_tree(folder: Path, *, skip: tuple[str, ...] = ()) -> dict[str, str]:
    """relative path -> sha256 for every file under folder, in a stable order."""
    folder = Path(folder)
    return {path.relative_to(folder).as_posix(): sha256_file(path)
            for path in sorted(folder.rglob("*")) if path.is_file() and path.relative_to(folder).as_posix() not in skip}


def new_run_id(now: datetime | None = None) -> str:
    now = now or datetime.now(timezone.utc)
    return f"{now:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


@dataclass
class PackageBuilder:
    """A package being written: files go into a hidden folder that becomes the run on `finish`."""

    out: Path
    period: str
    run_id: str = field(default_factory=new_run_id)

    def __post_init__(self):
        # Absolute: notebooks write their results here from a kernel whose working folder is notebooks/.
        self.out = Path(self.out).resolve()
        self.period_dir = self.out / self.period
        self.period_dir.mkdir(parents=True, exist_ok=True)
        self.final_dir = self.period_dir / self.run_id
        self.work_dir = self.period_dir / f"{INCOMPLETE_PREFIX}{self.run_id}"
        if self.final_dir.exists():
            raise FileExistsError(f"{self.final_dir} already exists: a finished run is never overwritten")
        self.work_dir.mkdir()

    def finish(self, manifest: dict) -> Path:
        """Hash every output into the manifest, make the files read-only, and move the run into place."""
        manifest = {**manifest, "run_id": self.run_id, "outputs": hash_tree(self.work_dir, skip=(MANIFEST,))}
        write_json_atomically(self.work_dir / MANIFEST, manifest)
        for path in self.work_dir.rglob("*"):
            if path.is_file():
                path.chmod(stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
        if self.final_dir.exists():
            raise FileExistsError(f"{self.final_dir} already exists: a finished run is never overwritten")
        os.rename(self.work_dir, self.final_dir)
        return self.final_dir


@dataclass
class Verification:
    changed: list[str]
    added: list[str]
    missing: list[str]

    @property
    def ok(self) -> bool:
        return not (self.changed or self.added or self.missing)

    def lines(self) -> list[str]:
        return ([f"changed: {p}" for p in self.changed] + [f"added:   {p}" for p in self.added]
                + [f"missing: {p}" for p in self.missing])


def verify(run_dir: Path, evidence_dir: Path | None = None) -> Verification:
    """Re-hash a finished package against its manifest; name every file changed, added or missing.

    With evidence_dir, check that folder against the evidence the run read instead: is the
    evidence in hand the evidence that was tested?
    """
    run_dir = Path(run_dir)
    manifest_path = run_dir / MANIFEST
    if not manifest_path.is_file():
        raise FileNotFoundError(f"{manifest_path} not found: is {run_dir} an evidence package "
                                f"(<out>/<period>/<run-id>)?")
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    if evidence_dir is None:
        recorded, actual = manifest["outputs"], hash_tree(run_dir, skip=(MANIFEST,))
    else:
        recorded, actual = manifest["inputs"]["evidence"], hash_tree(evidence_dir)
    return _compare(recorded, actual)


def _compare(recorded: dict[str, str], actual: dict[str, str]) -> Verification:
    return Verification(
        changed=sorted(p for p in recorded if p in actual and actual[p] != recorded[p]),
        added=sorted(p for p in actual if p not in recorded),
        missing=sorted(p for p in recorded if p not in actual),
    )
