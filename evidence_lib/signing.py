"""Ed25519 signatures over a package's manifest.json and over reviewers' sign-off records.

manifest.json names the SHA-256 of every other file of a package, so one signature over its bytes
covers the whole package: edit a file and `verify` names it; edit the manifest to match and its
signature no longer verifies. A signature is a file beside what it signs (`manifest.sig`,
`signoffs/<record>.json.sig`): one line, the 64-byte Ed25519 signature in base64. It is written
after the package is finished and is never among the files the manifest hashes.

Keys are PEM files made by `generate_keys`: the private key (PKCS#8, unencrypted, file mode 0600,
never overwritten) stays with whoever signs; the public key goes to the auditor.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import stat
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from evidence_lib.errors import EvidenceError
from evidence_lib.package import write_text_atomically

PRIVATE_KEY = "evidence-signing.key"
PUBLIC_KEY = "evidence-signing.pub"
MANIFEST_SIGNATURE = "manifest.sig"
SIGNATURE_SUFFIX = ".sig"


class SigningError(EvidenceError):
    """A key that cannot be made, read or used; a signature that is missing or does not verify."""


def generate_keys(folder: Path) -> tuple[Path, Path]:
    """Write FOLDER/evidence-signing.key (mode 0600) and FOLDER/evidence-signing.pub; never over an existing file."""
    folder = Path(folder)
    private_path, public_path = folder / PRIVATE_KEY, folder / PUBLIC_KEY
    existing = [str(p) for p in (private_path, public_path) if p.exists()]
    if existing:
        raise SigningError(f"{', '.join(existing)} already exist(s): a key is never overwritten; "
                           f"choose another folder or move the old keys away")
    key = Ed25519PrivateKey.generate()
    private_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
    public_pem = key.public_key().public_bytes(serialization.Encoding.PEM,
                                               serialization.PublicFormat.SubjectPublicKeyInfo)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        _write_new(private_path, private_pem, 0o600)
        _write_new(public_path, public_pem, 0o644)
    except FileExistsError as exc:
        raise SigningError(f"{exc.filename}: already exists: a key is never overwritten") from None
    except OSError as exc:
        raise SigningError(f"{exc.filename or folder}: cannot write the key ({exc.strerror or exc})") from None
    return private_path, public_path


def _write_new(path: Path, data: bytes, mode: int) -> None:
    handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(handle, "wb") as stream:
        stream.write(data)
    os.chmod(path, mode)  # whatever the umask


def load_private_key(path: Path) -> Ed25519PrivateKey:
    """The Ed25519 private key of a PEM file readable by its owner only (like ssh, a key others can read is refused)."""
    path = Path(path)
    try:
        data, mode = path.read_bytes(), path.stat().st_mode
    except OSError as exc:
        raise SigningError(f"--sign {path}: cannot read the private key ({exc.strerror or exc})") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise SigningError(f"--sign {path}: file mode {stat.S_IMODE(mode):o} lets others read the private key; "
                           f"`chmod 600 {path}`")
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise SigningError(f"--sign {path}: not an unencrypted PEM private key ({exc}); make one with "
                           f"`evidence keygen DIR`") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningError(f"--sign {path}: a {type(key).__name__}, not an Ed25519 key")
    return key


def load_public_key(path: Path) -> Ed25519PublicKey:
    path = Path(path)
    try:
        key = serialization.load_pem_public_key(path.read_bytes())
    except OSError as exc:
        raise SigningError(f"--key {path}: cannot read the public key ({exc.strerror or exc})") from None
    except (ValueError, TypeError) as exc:
        raise SigningError(f"--key {path}: not a PEM public key ({exc}); give the .pub file of "
                           f"`evidence keygen`") from None
    if not isinstance(key, Ed25519PublicKey):
        raise SigningError(f"--key {path}: a {type(key).__name__}, not an Ed25519 key")
    return key


def fingerprint(key: Ed25519PublicKey | Ed25519PrivateKey) -> str:
    """SHA-256 of the raw public key, first 16 hex digits: how a key is named in messages."""
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def signature_path(target: Path) -> Path:
    """manifest.json -> manifest.sig; any other file -> <file>.sig."""
    target = Path(target)
    if target.name == "manifest.json":
        return target.with_name(MANIFEST_SIGNATURE)
    return target.with_name(target.name + SIGNATURE_SUFFIX)


def sign_file(target: Path, key: Ed25519PrivateKey) -> Path:
    """Write the signature of TARGET's bytes beside it (read-only); never over an existing signature."""
    target = Path(target)
    path = signature_path(target)
    if path.exists():
        raise SigningError(f"{path} already exists: a signature is never overwritten")
    signature = base64.b64encode(key.sign(target.read_bytes())).decode("ascii")
    try:
        write_text_atomically(path, signature + "\n")
        path.chmod(stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
    except OSError as exc:
        raise SigningError(f"{exc.filename or path}: cannot write the signature ({exc.strerror or exc})") from None
    return path


def check_signature(target: Path, key: Ed25519PublicKey) -> str:
    """'' when TARGET's signature file verifies with KEY, else what is wrong (missing, unreadable, not valid)."""
    target, path = Path(target), signature_path(Path(target))
    if not path.is_file():
        return f"{path.name}: no signature beside {target.name}"
    try:
        signature = base64.b64decode(path.read_text(encoding="ascii").strip(), validate=True)
        key.verify(signature, target.read_bytes())
    except (OSError, ValueError, binascii.Error):
        return f"{path.name}: not a signature this tool wrote"
    except InvalidSignature:
        return (f"{path.name}: does not verify with key {fingerprint(key)}: {target.name} was changed after it "
                f"was signed, or another key signed it")
    return ""
