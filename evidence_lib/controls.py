"""The control catalog: expectations/controls.yaml as objects, and the suites beside it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

from evidence_lib.parameters import ParameterSpec
from evidence_lib.project import EXPECTATIONS_DIR


@dataclass(frozen=True)
class Rule:
    rule_id: str
    control_id: str
    text: str
    view: str
    evidence: tuple[str, ...]
    show: tuple[str, ...]
    severity: str = ""  # from its suite's expectations (the highest when they differ)


@dataclass(frozen=True)
class Control:
    control_id: str
    title: str
    criterion: str
    iso27001: tuple[str, ...]
    notebook: str
    parameters: tuple[str, ...]
    rules: tuple[Rule, ...]


@dataclass(frozen=True)
class View:
    name: str
    suite_file: str
    key: tuple[str, ...]
    records: str | None = None  # the evidence type one row of the view is a record of
    selects: str = ""  # which of those records the view keeps, in words ("hired in the period")


@dataclass(frozen=True)
class Catalog:
    controls: tuple[Control, ...]
    views: dict[str, View]
    parameters: dict[str, ParameterSpec]
    folder: Path

    @property
    def defaults(self) -> dict[str, object]:
        """parameter -> its catalog default, as declared (a date as its ISO text)."""
        return {name: spec.default for name, spec in self.parameters.items()}

    @property
    def rules(self) -> list[Rule]:
        return [rule for control in self.controls for rule in control.rules]

    def control(self, control_id: str) -> Control:
        return next(c for c in self.controls if c.control_id == control_id)

    def suite_json(self, view: str) -> dict:
        return json.loads((self.folder / self.views[view].suite_file).read_text(encoding="utf-8"))


SEVERITIES = ("low", "medium", "high", "critical")


def suite_severities(folder: Path, suite_files: list[str]) -> dict[str, str]:
    """rule id -> its severity, as its suite's expectations state it (the highest when they differ)."""
    found: dict[str, str] = {}
    for name in suite_files:
        for expectation in json.loads((folder / name).read_text(encoding="utf-8"))["expectations"]:
            meta = expectation.get("meta", {})
            rule_id, severity = meta.get("rule_id"), meta.get("severity", "")
            if severity in SEVERITIES and SEVERITIES.index(severity) >= SEVERITIES.index(found.get(rule_id, "low")):
                found[rule_id] = severity
    return found


@cache
def catalog_spec(folder: Path = EXPECTATIONS_DIR) -> dict:
    """controls.yaml as plain data, parsed once per process: the catalog and the integrity rules both read it
    (libyaml when present: every kernel of a run reads it, and the pure-Python parser takes ten times as long).
    Shared: read it, never change it."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load((folder / "controls.yaml").read_text(encoding="utf-8"), Loader=loader)


@cache
def load_catalog(folder: Path = EXPECTATIONS_DIR) -> Catalog:
    spec = catalog_spec(folder)
    severities = suite_severities(folder, [v["suite"] for v in spec["views"].values()])
    controls = []
    for control_id, c in spec["controls"].items():
        rules = tuple(
            Rule(rule_id, control_id, r["text"], r["view"], tuple(r["evidence"]), tuple(r["show"]),
                 severities.get(rule_id, ""))
            for rule_id, r in c["rules"].items()
        )
        controls.append(Control(control_id, c["title"], c["criterion"], tuple(c.get("iso27001", ())),
                                c["notebook"], tuple(c.get("parameters", ())), rules))
    views = {name: View(name, v["suite"], tuple(v["key"]), v.get("records"), v.get("selects", ""))
             for name, v in spec["views"].items()}
    parameters = {name: ParameterSpec.from_catalog(name, p) for name, p in spec["parameters"].items()}
    return Catalog(tuple(controls), views, parameters, folder)
