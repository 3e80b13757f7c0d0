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
import shutil
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from evidence_lib.errors import EvidenceError

if TYPE_CHECKING:
    import pandas as pd

MANIFEST = "manifest.json"
#: reviewers' sign-offs, added beside a finished package: never among the files its manifest hashes
SIGNOFFS_DIR = "signoffs"
#: the Ed25519 signature of manifest.json (signing.py), written after the package is finished: never hashed
MANIFEST_SIGNATURE = "manifest.sig"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
INCOMPLETE_PREFIX = ".incomplete-"


class PackageError(EvidenceError):
    """A package that cannot be written, is not a package, or would overwrite a finished run."""


def write_json_atomically(path: Path, document: dict, *, compact: bool = False) -> None:
    """Write to a temporary file beside the target, then rename: a reader never sees half a file.
    compact: no indentation, for documents read by programs (half the size of an indented one)."""
    text = (json.dumps(document, separators=(",", ":"), default=str, ensure_ascii=False) if compact
            else json.dumps(document, indent=2, default=str, ensure_ascii=False)) + "\n"
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
    now = now or datetime.now(UTC)
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
        self.final_dir = self.period_dir / self.run_id
        self.work_dir = self.period_dir / f"{INCOMPLETE_PREFIX}{self.run_id}"
        if self.final_dir.exists():
            raise PackageError(f"{self.final_dir} already exists: a finished run is never overwritten")
        try:
            self.period_dir.mkdir(parents=True, exist_ok=True)
            self.work_dir.mkdir()
        except OSError as exc:
            raise PackageError(_cannot_write(exc, self.period_dir)) from None

    @contextmanager
    def writing(self) -> Iterator[PackageBuilder]:
        """Inside: any failure removes the half-written package, and a failed write (disk full, read-only
        folder) becomes a PackageError naming the path. Nothing is published unless `finish` completes."""
        try:
            yield self
        except OSError as exc:
            self.abandon()
            raise PackageError(_cannot_write(exc, self.work_dir)) from exc
        except BaseException:
            self.abandon()
            raise

    def abandon(self) -> None:
        """Remove the half-written package; what cannot be removed keeps its .incomplete- name."""
        shutil.rmtree(self.work_dir, ignore_errors=True)

    def finish(self, manifest: dict) -> Path:
        """Hash every output into the manifest, make the files read-only, and move the run into place."""
        manifest = {**manifest, "run_id": self.run_id, "outputs": package_files(self.work_dir)}
        write_json_atomically(self.work_dir / MANIFEST, manifest)
        for path in self.work_dir.rglob("*"):
            if path.is_file():
                path.chmod(stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
        if self.final_dir.exists():
            raise PackageError(f"{self.final_dir} already exists: a finished run is never overwritten")
        os.rename(self.work_dir, self.final_dir)
        return self.final_dir


def _cannot_write(exc: OSError, where: Path) -> str:
    path = exc.filename or where
    reason = exc.strerror or str(exc) or type(exc).__name__
    return f"{path}: cannot write the evidence package ({reason}); nothing was published — free space or pick " \
           f"another --out"


def incomplete_runs(out: Path, period: str | None = None) -> list[Path]:
    """The .incomplete-<run-id> folders under OUT (one period's, or every period's): runs that never finished.

    A run still in progress has one too; finished runs never match.
    """
    out = Path(out)
    periods = [out / period] if period else (sorted(p for p in out.iterdir() if p.is_dir()) if out.is_dir() else [])
    return sorted(path for folder in periods if folder.is_dir() and not folder.is_symlink()
                  for path in folder.iterdir()
                  if path.name.startswith(INCOMPLETE_PREFIX) and path.is_dir() and not path.is_symlink())


def remove_incomplete(paths: list[Path]) -> None:
    """Delete the given unfinished runs (only folders named .incomplete-*: a finished run is never touched)."""
    for path in paths:
        if not Path(path).name.startswith(INCOMPLETE_PREFIX) or Path(path).is_symlink():
            raise PackageError(f"{path}: not an unfinished run (.incomplete-<run-id>); left as it is")
        try:
            shutil.rmtree(path)
        except OSError as exc:
            raise PackageError(f"{exc.filename or path}: cannot remove ({exc.strerror or exc})") from None


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
    evidence in hand the evidence that was tested? Sign-offs (signoffs/) come after the package and
    are not among its hashed files: `evidence_lib.signoff` checks them against the manifest instead.
    """
    run_dir = Path(run_dir)
    manifest_path = run_dir / MANIFEST
    if not manifest_path.is_file():
        raise PackageError(f"{manifest_path} not found: is {run_dir} an evidence package "
                           f"(<out>/<period>/<run-id>)?")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        recorded = manifest["outputs"] if evidence_dir is None else manifest["inputs"]["evidence"]
    except (ValueError, KeyError, TypeError) as exc:
        raise PackageError(f"{manifest_path}: not a manifest this tool wrote ({type(exc).__name__}: {exc})") from None
    if not isinstance(recorded, dict):
        raise PackageError(f"{manifest_path}: its file hashes are not a mapping of path to sha256")
    actual = package_files(run_dir) if evidence_dir is None else evidence_hashes(evidence_dir)
    return _compare(recorded, actual)


def evidence_hashes(evidence_dir: Path) -> dict[str, str]:
    from evidence_lib.sources.folder import evidence_hashes as hashes

    return hashes(Path(evidence_dir))


def package_files(run_dir: Path) -> dict[str, str]:
    """relative path -> sha256 of every file a package's manifest hashes: all but manifest.json, manifest.sig
    and signoffs/."""
    return {path: digest for path, digest in hash_tree(run_dir, skip=(MANIFEST, MANIFEST_SIGNATURE)).items()
            if not path.startswith(f"{SIGNOFFS_DIR}/")}


def _compare(recorded: dict[str, str], actual: dict[str, str]) -> Verification:
    return Verification(
        changed=sorted(p for p in recorded if p in actual and actual[p] != recorded[p]),
        added=sorted(p for p in actual if p not in recorded),
        missing=sorted(p for p in recorded if p not in actual),
    )
