"""YAML for evidence.yaml and mapping files: plain data only, bounded in size and nesting.

`yaml.safe_load` already refuses Python objects, but it expands aliases: nine lines of
"billion laughs" (`&a [*b, *b, ...]`) grow to gigabytes. A declaration or a mapping never
needs an anchor, so anchors and aliases are refused outright.
"""

from __future__ import annotations

import yaml

from evidence_lib.errors import ProblemsError, located
from evidence_lib.sources.limits import MAX_YAML_BYTES, MAX_YAML_DEPTH


class _Refused(yaml.YAMLError):
    def __init__(self, message: str, mark):
        super().__init__(message)
        self.problem = message
        self.problem_mark = mark


# libyaml when present (ten times faster than the pure-Python parser), else the pure-Python one.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_OPENS = (yaml.SequenceStartEvent, yaml.MappingStartEvent)
_CLOSES = (yaml.SequenceEndEvent, yaml.MappingEndEvent)


def _check_events(text: str) -> None:
    """Walk the parser's events (no document is built yet): refuse anchors, aliases and deep nesting."""
    depth = 0
    for event in yaml.parse(text, Loader=_LOADER):
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            raise _Refused("anchors and aliases (& and *) are not allowed", event.start_mark)
        if isinstance(event, _OPENS):
            depth += 1
            if depth > MAX_YAML_DEPTH:
                raise _Refused(f"nested deeper than {MAX_YAML_DEPTH} levels", event.start_mark)
        elif isinstance(event, _CLOSES):
            depth -= 1


def load_yaml(data: bytes, shown: str, error: type[ProblemsError], hint: str):
    """The plain data in a YAML document, or `error` located at the offending line."""
    if len(data) > MAX_YAML_BYTES:
        raise error([located(shown, f"the file has {len(data):,} bytes; a YAML file here may have at most "
                                    f"{MAX_YAML_BYTES:,}", hint)])
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise error([located(shown, "not UTF-8 text", "save it as UTF-8")]) from None
    try:
        _check_events(text)
        return yaml.load(text, Loader=_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        # The problem only, never the snippet of the file that PyYAML quotes.
        problem = getattr(exc, "problem", None) or type(exc).__name__
        raise error([located(shown, f"not valid YAML: {problem}", hint,
                             row=mark.line + 1 if mark else None)]) from None
    except RecursionError:
        raise error([located(shown, "not valid YAML: nested too deeply", hint)]) from None
