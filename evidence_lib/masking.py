"""`--mask-pii`: replace the people in what a notebook shows with keyed pseudonyms.

A pseudonym is an HMAC of the value under a key that never enters the evidence package: a key
file the user keeps, or a random key for one session. Anything the package publishes (the
evidence's SHA-256s included) is therefore useless for confirming a guessed name.

Identity columns (names, e-mails, account ids, logins) are masked whole, failing closed: every
value is masked except the technical accounts (built-in accounts such as AWS `<root_account>`
and registered service accounts), which stay readable because they are nobody's personal data
and an auditor follows them up by name. Every other text column is free text: any e-mail
address in it, and any identity the evidence knows (a roster name, an e-mail's `first.last`,
a login), is replaced where it occurs. Keys such as ticket ids, systems and employee ids stay.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import unicodedata
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from evidence_lib.errors import EvidenceError
from evidence_lib.sources.folder import EvidenceSet

MIN_KEY_BYTES = 16
EMAIL = re.compile(r"[\w.+'-]+@([\w-]+(?:\.[\w-]+)+)")
# Columns whose whole value names a person or one of their accounts.
IDENTITY_COLUMNS = {"name", "display_name", "owner_name", "reviewer", "author", "implementer", "approver",
                    "deployed_by", "owner", "approved_by", "email", "account_id", "username", "local_name",
                    "extracted_by"}
# A known identity is looked for inside free text only if it cannot be an ordinary word: it has a
# separator or a digit (`Sven Tanaka`, `sven.tanaka`, `sventan-10067`). `test` or `Shared` would
# also hit prose.
_DISTINCTIVE = re.compile(r"[\s.@_-]|\d")


class PiiMask:
    """Pseudonyms that are stable under one key (the same person reads the same in every table,
    so rows still join) and differ under another."""

    def __init__(self, key: bytes, known: Iterable[str] = (), readable: Iterable[str] = ()):
        if not isinstance(key, bytes) or len(key) < MIN_KEY_BYTES:
            raise ValueError(f"a mask key is at least {MIN_KEY_BYTES} bytes; use load_mask_key")
        self._key = key
        self._readable = {_fold(v) for v in readable}
        self._in_text = _free_text_pattern(v for v in known if _fold(v) not in self._readable)

    def pseudonym(self, value: str) -> str:
        return hmac.new(self._key, _fold(value).encode(), hashlib.sha256).hexdigest()[:8]

    def text(self, value: str) -> str:
        """A whole value: an e-mail keeps its domain (which says whose server, not whose mailbox)."""
        match = EMAIL.fullmatch(value.strip())
        if match:
            return f"user-{self.pseudonym(value)}@{match.group(1)}"
        return f"person-{self.pseudonym(value)}"

    def identity(self, value: str) -> str:
        return value if _fold(value) in self._readable else self.text(value)

    def free_text(self, value: str) -> str:
        return self._in_text.sub(lambda m: self.text(m.group(0)), value)

    def frame(self, frame: pd.DataFrame) -> pd.DataFrame:
        masked = frame.copy()
        for column in masked.columns:
            values = masked[column]
            if not (pd.api.types.is_string_dtype(values) or values.dtype == object):
                continue
            replace = self.identity if column in IDENTITY_COLUMNS else self.free_text
            texts = values.map(lambda v: isinstance(v, str) and v.strip() != "")
            done = {v: replace(v) for v in values[texts].unique()}
            if any(before != after for before, after in done.items()):  # else keep the column's dtype
                masked[column] = values.astype(object).where(~texts, values[texts].map(done))
        return masked


def load_mask_key(path: str | None) -> bytes:
    """The key in the user's key file, or a fresh random key for this session when there is none."""
    if path is None:
        return secrets.token_bytes(32)
    file = Path(path)
    try:
        key = file.read_bytes().strip()  # an editor's trailing newline is not part of the key
    except OSError as error:
        raise EvidenceError(f"{file}: cannot read the PII mask key file ({error.strerror})") from None
    if len(key) < MIN_KEY_BYTES:
        raise EvidenceError(f"{file}: the PII mask key file holds {len(key)} byte(s), fewer than {MIN_KEY_BYTES}; "
                            "write a random one, e.g. `python -c \"import secrets; print(secrets.token_hex(32))\"`, "
                            "and keep it outside the evidence folder and the package")
    return key


def mask_for(evidence: EvidenceSet, key: bytes) -> PiiMask:
    return PiiMask(key, known=known_identities(evidence), readable=technical_accounts(evidence))


def technical_accounts(evidence: EvidenceSet) -> set[str]:
    """Account ids that belong to no person: built-in accounts and registered service accounts."""
    accounts = evidence.frame("accounts")
    builtin = accounts.loc[accounts["builtin"].fillna(False).astype(bool), "account_id"]
    registered = evidence.frame("service_accounts")["account_id"]
    return set(builtin.dropna()) | set(registered.dropna())


def known_identities(evidence: EvidenceSet) -> set[str]:
    """Every name, e-mail, `first.last` local part and login the evidence attaches to someone:
    the roster, the accounts, the GitHub alias file and every person column of every export."""
    found: set[str] = set()
    for outcome in evidence.outcomes:
        if outcome.loaded is None:
            continue
        frame = outcome.loaded.frame.reset_index()
        for column in IDENTITY_COLUMNS & set(frame.columns):
            found.update(v.strip() for v in frame[column].dropna().astype(str))
    found |= {m.group(0).split("@")[0] for v in list(found) if (m := EMAIL.fullmatch(v))}
    found |= {_strip_accents(v) for v in list(found)}  # `Zoe Brooks` in a PR title is Zoë Brooks
    return {v for v in found if len(v) >= 4 and _DISTINCTIVE.search(v)} - technical_accounts(evidence)


def _free_text_pattern(known: Iterable[str]) -> re.Pattern:
    # Whole addresses first, then the longest identity first, so that `sven.tanaka@corp` is one
    # match rather than a masked local part; never inside a longer word or dotted name.
    spelled = sorted({v.strip() for v in known if v.strip()}, key=len, reverse=True)
    alternatives = [r"\s+".join(map(re.escape, v.split())) for v in spelled]
    people = rf"|(?<![\w.])(?:{'|'.join(alternatives)})(?!\w)" if alternatives else ""
    return re.compile(EMAIL.pattern + people, re.IGNORECASE)


def _strip_accents(value: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", value) if not unicodedata.combining(c))


def _fold(value: str) -> str:
    """One spelling per identity: case, accents and runs of white space do not make a new person."""
    return " ".join(_strip_accents(value).casefold().split())
