"""A reviewer's sign-off: a record added beside a finished package, naming the manifest it approves.

The package is never changed: each sign-off is a new read-only file, <run-dir>/signoffs/<time>-<reviewer>.json,
outside the files manifest.json hashes (docs/signoff.schema.json). It names the SHA-256 of manifest.json,
which names the SHA-256 of every other file, so a sign-off approves the package exactly as reviewed: change
a file and `evidence verify` names it; change the manifest and the sign-off no longer names it.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from evidence_lib.errors import EvidenceError
from evidence_lib.package import INCOMPLETE_PREFIX, MANIFEST, SIGNOFFS_DIR, PackageError, sha256_file, verify

#: of docs/signoff.schema.json: a change of shape bumps both
SIGNOFF_SCHEMA_VERSION = 1
NAME_CHARS = 200
NOTE_CHARS = 2000
#: sign-offs one reviewer can add in one second before the name runs out of suffixes
SAME_SECOND = 100
FIELDS = ("schema_version", "run_id", "manifest_sha256", "reviewer", "signed_at", "note")


class SignoffError(EvidenceError):
    """A sign-off that cannot be added: no reviewer, a package that fails verification, a folder not writable."""


@dataclass(frozen=True)
class Signoff:
    """One reviewer's sign-off of one manifest."""

    run_id: str
    manifest_sha256: str
    reviewer: str
    signed_at: str
    note: str = ""

    def as_dict(self) -> dict:
        return {"schema_version": SIGNOFF_SCHEMA_VERSION, "run_id": self.run_id,
                "manifest_sha256": self.manifest_sha256, "reviewer": self.reviewer, "signed_at": self.signed_at,
                "note": self.note}

    def line(self) -> str:
        return f"reviewed by {self.reviewer} at {self.signed_at}" + (f": {self.note}" if self.note else "")


def sign_off(run_dir: Path, reviewer: str, note: str | None = None, *,
             now: datetime | None = None, key_file: Path | None = None) -> tuple[Path, Signoff]:
    """Add RUN_DIR/signoffs/<time>-<reviewer>.json naming the current manifest; no existing file changes.

    With key_file (the reviewer's Ed25519 private key, signing.py), the record's signature is written
    beside it as <record>.json.sig.

    Only a finished package that `verify` finds intact can be signed off: a reviewer approves what
    the manifest says, and the manifest must still describe the files.
    """
    run_dir = Path(run_dir)
    reviewer_name, note_text = _one_line(reviewer), (note or "").strip()
    if not reviewer_name or len(reviewer_name) > NAME_CHARS:
        raise SignoffError(f"--reviewer {reviewer!r}: give the reviewer's name, 1 to {NAME_CHARS} printable "
                           f"characters")
    if len(note_text) > NOTE_CHARS:
        raise SignoffError(f"--note: {len(note_text)} characters, more than {NOTE_CHARS}; keep the note short and "
                           f"point to the working paper that holds the detail")
    key = None
    if key_file is not None:
        from evidence_lib.signing import load_private_key

        key = load_private_key(key_file)
    if run_dir.name.startswith(INCOMPLETE_PREFIX):
        raise SignoffError(f"{run_dir}: an unfinished run (its package was never completed); sign off a finished one")
    verification = verify(run_dir)  # PackageError when run_dir is not a package
    if not verification.ok:
        raise SignoffError(f"{run_dir}: {len(verification.lines())} file(s) differ from manifest.json "
                           f"({'; '.join(verification.lines()[:3])}); run `evidence verify {run_dir}` — a package "
                           f"that fails verification cannot be signed off")
    when = (now or datetime.now(UTC)).astimezone(UTC)
    record = Signoff(_manifest(run_dir / MANIFEST)["run_id"], sha256_file(run_dir / MANIFEST), reviewer_name,
                     when.isoformat(timespec="seconds"), note_text)
    path = _write_new(run_dir / SIGNOFFS_DIR, f"{when:%Y%m%dT%H%M%SZ}-{slug(reviewer_name)}", record)
    if key is not None:
        from evidence_lib.signing import sign_file

        sign_file(path, key)
    return path, record


@dataclass
class Review:
    """The sign-offs beside a package, checked against its current manifest.json."""

    manifest_sha256: str
    signoffs: list[Signoff] = field(default_factory=list)
    #: one line per file under signoffs/ that is not a sign-off of this manifest, naming the file and why
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def lines(self) -> list[str]:
        """'reviewed by X at T' per valid sign-off, oldest first, or 'not yet reviewed'."""
        return [s.line() for s in self.signoffs] or ["not yet reviewed"]


def check_signoffs(run_dir: Path, keys: tuple = ()) -> Review:
    """Every file under RUN_DIR/signoffs/ must be a sign-off record naming the SHA-256 of RUN_DIR/manifest.json.

    A record's signature (<record>.json.sig) sits beside it. With keys (Ed25519 public keys), every
    record must carry a signature that verifies with one of them.

    A sign-off of another manifest (the package was re-written, or the record copied from another run)
    is a problem, listed with the file; so is anything there that is not a sign-off record.
    """
    run_dir = Path(run_dir)
    manifest_path = run_dir / MANIFEST
    if not manifest_path.is_file():
        raise PackageError(f"{manifest_path} not found: is {run_dir} an evidence package (<out>/<period>/<run-id>)?")
    review = Review(sha256_file(manifest_path))
    folder = run_dir / SIGNOFFS_DIR
    if folder.exists() and not folder.is_dir():
        review.problems.append(f"{SIGNOFFS_DIR}: not a folder of sign-offs")
        return review
    run_id = _manifest(manifest_path).get("run_id")
    paths = sorted(p for p in folder.rglob("*") if not p.is_dir()) if folder.is_dir() else []
    for path in paths:
        name = path.relative_to(run_dir).as_posix()
        if path.name.endswith(".json.sig") and path.with_name(path.name[:-4]).is_file():
            continue  # a record's signature, checked with its record
        record, reason = _read_record(path)
        if record is None:
            review.problems.append(f"{name}: not a sign-off record ({reason})")
        elif record.manifest_sha256 != review.manifest_sha256:
            review.problems.append(f"{name}: {record.reviewer}'s sign-off names manifest sha256 "
                                   f"{record.manifest_sha256[:12]}…, not this package's {review.manifest_sha256[:12]}…:"
                                   f" it approves another version of the package")
        elif record.run_id != run_id:
            review.problems.append(f"{name}: {record.reviewer}'s sign-off names run {record.run_id}, not {run_id}")
        elif keys and (unsigned := _unsigned(path, keys)):
            review.problems.append(f"{name}: {record.reviewer}'s sign-off: {unsigned}")
        else:
            review.signoffs.append(record)
    review.signoffs.sort(key=lambda s: s.signed_at)
    return review


def _unsigned(path: Path, keys: tuple) -> str:
    """'' when the record's signature verifies with one of keys, else why not."""
    from evidence_lib.signing import check_signature

    problems = [check_signature(path, key) for key in keys]
    return "" if "" in problems else problems[0]


def slug(name: str) -> str:
    """A reviewer's name as a file name part: ASCII letters, digits and hyphens ('Zoë O'Brien' -> 'zoe-o-brien')."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:40] or "reviewer"


def _one_line(text: str) -> str:
    return "".join(ch for ch in " ".join(str(text).split()) if ch.isprintable())


def _manifest(path: Path) -> dict:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise PackageError(f"{path}: not a manifest this tool wrote ({type(exc).__name__}: {exc})") from None
    if not isinstance(document, dict):
        raise PackageError(f"{path}: not a manifest this tool wrote (not a JSON object)")
    return document


def _read_record(path: Path) -> tuple[Signoff | None, str]:
    if path.parent.name != SIGNOFFS_DIR or path.suffix != ".json":
        return None, "sign-offs are signoffs/<time>-<reviewer>.json"
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return None, f"unreadable: {type(exc).__name__}"
    if not isinstance(document, dict) or set(document) != set(FIELDS):
        return None, f"a sign-off has exactly the keys {', '.join(FIELDS)}"
    if document["schema_version"] != SIGNOFF_SCHEMA_VERSION:
        return None, f"schema_version {document['schema_version']!r}, this tool reads {SIGNOFF_SCHEMA_VERSION}"
    if not all(isinstance(document[k], str) for k in FIELDS[1:]) or not document["reviewer"].strip():
        return None, "run_id, manifest_sha256, reviewer, signed_at and note are text, and the reviewer is named"
    return Signoff(**{k: document[k] for k in FIELDS[1:]}), ""


def _write_new(folder: Path, stem: str, record: Signoff) -> Path:
    """Write the record read-only under a name no file has yet: written beside, then hard-linked into place
    (a link never replaces an existing file, and a reader never sees half a record)."""
    text = json.dumps(record.as_dict(), indent=2, ensure_ascii=False) + "\n"
    try:
        folder.mkdir(exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=".signing-", suffix=".tmp")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                stream.write(text)
            os.chmod(temporary, 0o444)
            for number in range(1, SAME_SECOND + 1):
                target = folder / (f"{stem}.json" if number == 1 else f"{stem}-{number}.json")
                try:
                    os.link(temporary, target)
                    return target
                except FileExistsError:
                    continue
        finally:
            Path(temporary).unlink(missing_ok=True)
    except OSError as exc:
        raise SignoffError(f"{exc.filename or folder}: cannot write the sign-off ({exc.strerror or exc}); "
                           f"nothing was added") from None
    raise SignoffError(f"{folder}: {SAME_SECOND} sign-offs named {stem} already; wait a second and sign again")
