"""Control parameters: typed and ranged in expectations/controls.yaml, checked in one place.

    parameters:
      dormant_days: {default: 90, type: int, min: 1, max: 3650, description: "..."}

Every way a value arrives — `--param NAME=VALUE` text, a papermill parameter, a library call —
goes through `resolve_parameters`, which returns the catalog defaults with the overrides applied,
each value of its declared type and inside its range, or raises ParameterError naming the
parameter, the value and what is allowed. A date travels as ISO text (YYYY-MM-DD): the form
papermill, JSON and the manifest carry without conversion.

A small dataclass checker, not a generated pydantic model: three types, strict about Python
values (True is not a whole number, 90.5 is not 90) yet reading command-line text by the
declared type, with messages in the project's own words.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date

from evidence_lib.errors import EvidenceError, quote

TYPES = ("int", "str", "date")
_WHOLE_NUMBER = re.compile(r"[+-]?\d{1,18}")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class ParameterError(EvidenceError):
    """A control parameter that is unknown, of the wrong type, or outside its range."""


@dataclass(frozen=True)
class ParameterSpec:
    name: str
    type: str
    default: object
    description: str = ""
    min: int | None = None
    max: int | None = None

    @classmethod
    def from_catalog(cls, name: str, entry: dict) -> ParameterSpec:
        """One `parameters:` entry of controls.yaml; a bad entry is the catalog's error, not the user's."""
        where = f"expectations/controls.yaml: parameter {name}"
        if not isinstance(entry, dict) or entry.get("type") not in TYPES or "default" not in entry:
            raise ParameterError(f"{where} needs a default and a type ({', '.join(TYPES)})")
        if entry["type"] != "int" and ("min" in entry or "max" in entry):
            raise ParameterError(f"{where}: min and max apply to int parameters only")
        spec = cls(name, entry["type"], entry["default"], str(entry.get("description", "")),
                   entry.get("min"), entry.get("max"))
        # A default outside its own range is a catalog bug; a YAML date default becomes ISO text.
        return replace(spec, default=spec.check(spec.default))

    @property
    def allowed(self) -> str:
        """What a value may be, in the words a message uses."""
        if self.type == "int":
            low = "" if self.min is None else str(self.min)
            high = "" if self.max is None else str(self.max)
            return f"a whole number from {low or 'any'} to {high or 'any'}" if low or high else "a whole number"
        if self.type == "date":
            return "a date YYYY-MM-DD"
        return "text"

    def check(self, value: object) -> object:
        """The value if it is of this parameter's type and range (a date as ISO text); else ParameterError."""
        if self.type == "int":
            if isinstance(value, bool) or not isinstance(value, int):
                raise self._error(value, "is not a whole number")
            if (self.min is not None and value < self.min) or (self.max is not None and value > self.max):
                raise self._error(value, "is out of range")
            return value
        if self.type == "date":
            if isinstance(value, date) and not hasattr(value, "hour"):
                return value.isoformat()
            if not isinstance(value, str) or not _ISO_DATE.fullmatch(value.strip()):
                raise self._error(value, "is not a date")
            try:
                return date.fromisoformat(value.strip()).isoformat()
            except ValueError:
                raise self._error(value, "is not a date") from None
        if not isinstance(value, str):
            raise self._error(value, "is not text")
        return value

    def from_text(self, text: str) -> object:
        """A command-line value read by this parameter's type, then checked."""
        if self.type == "int":
            if not _WHOLE_NUMBER.fullmatch(text.strip()):
                raise self._error(text, "is not a whole number")
            return self.check(int(text.strip()))
        return self.check(text)

    def _error(self, value: object, problem: str) -> ParameterError:
        shown = quote(value) if isinstance(value, str) else repr(value)
        text = f"parameter {self.name} = {shown} {problem}: allowed {self.allowed}"
        return ParameterError(f"{text} ({self.description})" if self.description else text)


def resolve_parameters(overrides: dict | None = None, *, catalog=None) -> dict:
    """The catalog's defaults with `overrides` applied, every value checked; ParameterError otherwise.

    Values are Python values (a notebook's, a library caller's): an int for an int parameter,
    text for a str parameter, ISO text or a date for a date parameter.
    """
    specs = _specs(catalog)
    overrides = dict(overrides or {})
    _refuse_unknown(overrides, specs)
    return {name: spec.check(overrides.get(name, spec.default)) for name, spec in specs.items()}


def parse_parameter_args(texts: Iterable[str], *, catalog=None) -> dict:
    """`--param NAME=VALUE` texts as typed overrides (only those given); ParameterError on any bad one."""
    specs = _specs(catalog)
    overrides: dict[str, object] = {}
    for text in texts:
        name, sep, value = str(text).partition("=")
        if not sep or not name.strip():
            raise ParameterError(f"--param {quote(text)}: write NAME=VALUE, e.g. deprovision_sla_days=3")
        name = name.strip()
        _refuse_unknown({name: value}, specs)
        overrides[name] = specs[name].from_text(value)
    return overrides


def _specs(catalog) -> dict[str, ParameterSpec]:
    if catalog is None:
        from evidence_lib.controls import load_catalog

        catalog = load_catalog()
    return catalog.parameters


def _refuse_unknown(overrides: dict, specs: dict[str, ParameterSpec]) -> None:
    unknown = [name for name in overrides if name not in specs]
    if unknown:
        shown = ", ".join(f"{quote(n)}" for n in unknown)
        raise ParameterError(f"unknown parameter(s) {shown}; known: {', '.join(specs)}")
