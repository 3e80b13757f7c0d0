"""responses.yaml: management's responses to exceptions, as the analyst wrote them beside evidence.yaml.

Read and checked for shape with the evidence (load_folder), so a malformed entry stops a run
before anything is judged; matched to exceptions by evidence_lib.responses.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from evidence_lib.errors import ProblemsError, located
from evidence_lib.sources.limits import MAX_YAML_BYTES, read_regular_file
from evidence_lib.sources.safe_yaml import load_yaml

RESPONSES = "responses.yaml"
CLASSIFICATIONS = ("timing", "execution", "evidence", "scope", "not an exception")
REQUIRED = ("control", "rule", "key", "classification", "response", "approved_by", "approved_at")
OPTIONAL = ("system", "remediation", "expires")
HINT = ("each entry needs control, rule, key (as exceptions.csv shows record_key), classification "
        f"({', '.join(CLASSIFICATIONS)}), response, approved_by and approved_at; system, remediation and expires "
        "are optional")


class ResponsesError(ProblemsError):
    """responses.yaml cannot be read, or an entry is malformed or names an unknown control or rule."""


@dataclass(frozen=True)
class Response:
    entry: int  # 1-based position in the file, for messages
    control: str
    rule: str
    key: str
    classification: str
    response: str
    approved_by: str
    approved_at: date
    system: str = ""
    remediation: str = ""
    expires: date | None = None

    @property
    def match_key(self) -> tuple[str, str, str]:
        return self.rule, self.system.casefold(), self.key.casefold()

    def as_dict(self) -> dict:
        return {"control": self.control, "rule": self.rule, "system": self.system, "key": self.key,
                "classification": self.classification, "response": self.response,
                "remediation": self.remediation, "approved_by": self.approved_by,
                "approved_at": self.approved_at.isoformat(),
                "expires": self.expires.isoformat() if self.expires else ""}


@dataclass(frozen=True)
class Responses:
    path: str | None = None  # relative to the evidence folder; None when the folder has none
    entries: tuple[Response, ...] = field(default_factory=tuple)
    sha256: str | None = None  # of the file's bytes, listed among the files read


def read_responses(folder: Path) -> Responses:
    """The folder's responses.yaml, checked for shape (not yet against the catalog); none is fine."""
    path = Path(folder) / RESPONSES
    if not path.exists():
        return Responses()
    shown = str(path)
    data = read_regular_file(path, shown, max_bytes=MAX_YAML_BYTES)
    document = load_yaml(data, shown, ResponsesError, HINT)
    entries = (document or {}).get("responses") if isinstance(document, dict) else None
    if not isinstance(document, dict) or set(document) != {"responses"} or not isinstance(entries, list):
        raise ResponsesError([located(shown, "expected a mapping with one key, `responses:`, holding a list", HINT)])
    problems, parsed = [], []
    for number, entry in enumerate(entries, start=1):
        try:
            parsed.append(_entry(entry, number, shown))
        except ResponsesError as exc:
            problems += exc.problems
    seen: dict[tuple, int] = {}
    for response in parsed:
        if response.match_key in seen:
            problems.append(located(shown, f"entry {response.entry} answers the same exception as entry "
                                           f"{seen[response.match_key]}", "keep one response per exception"))
        seen.setdefault(response.match_key, response.entry)
    if problems:
        raise ResponsesError(problems)
    return Responses(RESPONSES, tuple(parsed), hashlib.sha256(data).hexdigest())


def _entry(entry: object, number: int, shown: str) -> Response:
    def bad(message: str) -> ResponsesError:
        return ResponsesError([located(shown, f"entry {number}: {message}", HINT)])

    if not isinstance(entry, dict):
        raise bad("not a mapping")
    unknown = sorted(set(map(str, entry)) - set(REQUIRED) - set(OPTIONAL))
    missing = [k for k in REQUIRED if entry.get(k) in (None, "")]
    if unknown or missing:
        raise bad("; ".join(([f"unknown key(s) {unknown}"] if unknown else [])
                            + ([f"missing {missing}"] if missing else [])))
    text = {k: str(entry.get(k) or "").strip() for k in (*REQUIRED, *OPTIONAL) if k not in ("approved_at", "expires")}
    classification = text["classification"].casefold().replace("_", " ")
    if classification not in CLASSIFICATIONS:
        raise bad(f"classification {text['classification']!r} is not one of {', '.join(CLASSIFICATIONS)}")
    approved_at, expires = _day(entry["approved_at"], "approved_at", bad), None
    if entry.get("expires") not in (None, ""):
        expires = _day(entry["expires"], "expires", bad)
        if expires < approved_at:
            raise bad(f"expires {expires} is before approved_at {approved_at}")
    return Response(number, text["control"], text["rule"], text["key"], classification, text["response"],
                    text["approved_by"], approved_at, text["system"], text["remediation"], expires)


def _day(value: object, name: str, bad) -> date:
    if isinstance(value, date):
        return value if not hasattr(value, "date") else value.date()
    try:
        return date.fromisoformat(str(value).strip()[:10])
    except ValueError:
        raise bad(f"{name} {value!r} is not a date (YYYY-MM-DD)") from None
