"""Re-performance: run a package's test again on the evidence in hand and compare, rule by rule.

`reperform` checks the evidence folder against the hashes of the evidence the package tested
(naming each file changed, added or missing), runs the same notebooks with the same parameters,
as-of time, period and options (read from the manifest) into a temporary folder with
`run.run_period`, and compares every rule's status, population and exception keys (control, rule,
system, record key: the rule's view key from the catalog) with the package's results.json files.
The tool versions, notebooks and suites it ran with are set beside the package's.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from evidence_lib.errors import EvidenceError
from evidence_lib.package import MANIFEST, Verification, verify
from evidence_lib.results import record_keys

#: exception columns that are management's responses, not the tested record
RESPONSE_PREFIX = "response"
INTEGRITY = "IPE"


class ReperformError(EvidenceError):
    """A package that cannot be re-performed: not a package, or one that fails `evidence verify`."""


@dataclass(frozen=True)
class RuleVerdict:
    """What a package says of one rule: its status, population and exception keys (system, record key)."""

    status: str
    population: int
    exceptions: int
    keys: frozenset[tuple[str, str]]


@dataclass
class Reperformance:
    run_dir: Path
    evidence: Verification
    #: one line per rule whose verdict differs, and per rule found on one side only
    differences: list[str] = field(default_factory=list)
    #: notebooks and suites that differ from those the package ran
    inputs: list[str] = field(default_factory=list)
    #: tool -> (the package's version, the re-performance's)
    tools: dict[str, tuple[str, str]] = field(default_factory=dict)
    rules_compared: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def identical(self) -> bool:
        return self.evidence.ok and not self.differences

    def lines(self) -> list[str]:
        out = [f"evidence {line}" for line in self.evidence.lines()]
        out += self.differences + self.inputs + self.notes
        out.append(f"{'tool':<22} {'package':<16} re-performed")
        for tool, (was, now) in self.tools.items():
            out.append(f"{tool:<22} {was:<16} {now}" + ("" if was == now else "   differs"))
        verdict = ("re-performed: identical" if self.identical else
                   f"re-performed: {len(self.differences)} rule difference(s)"
                   + ("" if self.evidence.ok else f", {len(self.evidence.lines())} evidence file(s) differ"))
        return out + [f"{verdict} ({self.rules_compared} rules compared)"]

    def as_dict(self) -> dict:
        return {"run_dir": str(self.run_dir), "identical": self.identical, "evidence": self.evidence.lines(),
                "differences": self.differences, "inputs": self.inputs, "notes": self.notes,
                "rules_compared": self.rules_compared,
                "tools": {t: {"package": was, "reperformed": now} for t, (was, now) in self.tools.items()}}


def reperform(run_dir: Path, evidence_dir: Path, *, jobs: int = 2, progress: bool = False) -> Reperformance:
    """Re-run RUN_DIR's notebooks on EVIDENCE_DIR as the manifest records them and compare every rule."""
    from evidence_lib.run import EXPLORE_NOTEBOOK, run_period

    run_dir, evidence_dir = Path(run_dir), Path(evidence_dir)
    package = verify(run_dir)  # PackageError when run_dir is not a package
    if not package.ok:
        raise ReperformError(f"{run_dir}: {len(package.lines())} file(s) differ from manifest.json "
                             f"({'; '.join(package.lines()[:3])}); run `evidence verify {run_dir}`")
    manifest = json.loads((run_dir / MANIFEST).read_text(encoding="utf-8"))
    options = manifest.get("options", {})
    result = Reperformance(run_dir, verify(run_dir, evidence_dir))
    with tempfile.TemporaryDirectory(prefix="evidence-reperform-") as out:
        again = run_period(manifest["period"]["label"], evidence_dir=evidence_dir, out=Path(out),
                           only=tuple(options.get("only") or ()), jobs=jobs, mask_pii=bool(options.get("mask_pii")),
                           as_of=options.get("as_of"), parameters=manifest.get("parameters") or {},
                           allow_period_mismatch=bool(options.get("allow_period_mismatch")),
                           preparer=manifest.get("prepared_by"), progress=progress,
                           with_explore=EXPLORE_NOTEBOOK in manifest.get("inputs", {}).get("notebooks", {}))
        redone = json.loads((again.run_dir / MANIFEST).read_text(encoding="utf-8"))
        masked = bool(options.get("mask_pii"))
        if masked:
            result.notes.append("the package masked PII: exception keys are pseudonyms and are not compared; "
                                "statuses, populations and exception counts are")
        result.differences, result.rules_compared = compare_verdicts(
            package_verdicts(run_dir, keys=not masked), package_verdicts(again.run_dir, keys=not masked))
    result.inputs = _input_differences(manifest.get("inputs", {}), redone.get("inputs", {}))
    was, now = manifest.get("tools", {}), redone.get("tools", {})
    result.tools = {t: (str(was.get(t, "absent")), str(now.get(t, "absent"))) for t in sorted({*was, *now})}
    return result


def package_verdicts(run_dir: Path, *, keys: bool = True) -> dict[tuple[str, str, str], RuleVerdict]:
    """(control, rule, notebook) -> its verdict, from every results.json of a package. The integrity rules
    (control IPE) are judged in each notebook on the evidence it uses: one verdict per notebook."""
    view_of = rule_keys()
    verdicts = {}
    for path in sorted(Path(run_dir).glob("*/results.json")):
        results = json.loads(path.read_text(encoding="utf-8"))
        for control in [*(results.get("controls") or []), *([results["integrity"]] if results.get("integrity")
                                                             else [])]:
            for rule in control.get("rules", []):
                found = frozenset(exception_keys(rule, view_of.get(rule["rule"]))) if keys else frozenset()
                verdicts[(control["control"], rule["rule"], path.parent.name)] = RuleVerdict(
                    str(rule["status"]), int(rule["population"]), int(rule.get("exception_count", 0)), found)
    return verdicts


def compare_verdicts(package: dict, again: dict) -> tuple[list[str], int]:
    """One line per rule whose status, population or exception keys differ; the number of rules compared."""
    lines = []
    for control, rule, notebook in sorted({*package, *again}):
        was, now = package.get((control, rule, notebook)), again.get((control, rule, notebook))
        name = f"{control} {rule}" + (f" in {notebook}" if control == INTEGRITY else "")
        if was is None or now is None:
            lines.append(f"{name}: {'only in the re-performance' if was is None else 'not re-performed'}")
            continue
        parts = []
        if was.status != now.status:
            parts.append(f"status {was.status} -> {now.status}")
        if was.population != now.population:
            parts.append(f"population {was.population} -> {now.population}")
        if was.exceptions != now.exceptions:
            parts.append(f"exceptions {was.exceptions} -> {now.exceptions}")
        gone, new = sorted(was.keys - now.keys), sorted(now.keys - was.keys)
        if gone:
            parts.append("exceptions only in the package: " + ", ".join(_key_text(k) for k in gone[:10])
                         + (f" and {len(gone) - 10} more" if len(gone) > 10 else ""))
        if new:
            parts.append("exceptions only in the re-performance: " + ", ".join(_key_text(k) for k in new[:10])
                         + (f" and {len(new) - 10} more" if len(new) > 10 else ""))
        if parts:
            lines.append(f"{name}: {'; '.join(parts)}")
    return lines, len(set(package) & set(again))


def _key_text(key: tuple[str, str]) -> str:
    system, record = key
    return f"{system}:{record}" if system else record


def exception_keys(rule: dict, key: tuple[str, ...] | None) -> list[tuple[str, str]]:
    """(system, record key) of each exception row; by the view's key where every key column is there,
    else by the whole row (responses left out)."""
    return row_keys(rule.get("exceptions") or [], key)


def row_keys(rows: list[dict], key: tuple[str, ...] | None) -> list[tuple[str, str]]:
    """(system, record key) of each row of a rule's records (its exceptions in results.json), in order."""
    rows = pd.DataFrame(rows)
    if rows.empty:
        return []
    systems = rows["system"].fillna("").astype(str) if "system" in rows else pd.Series("", index=rows.index)
    named = [c for c in key or () if c != "system"]
    if named and all(c in rows for c in named):
        records = record_keys(rows, tuple(named))
    else:
        kept = [c for c in rows.columns if not c.startswith(RESPONSE_PREFIX)]
        records = pd.Series([json.dumps(r, sort_keys=True, default=str) for r in rows[kept].to_dict("records")],
                            index=rows.index)
    return list(zip(systems, records.astype(str)))


def rule_keys() -> dict[str, tuple[str, ...]]:
    """rule id -> its view's key columns, for the control and integrity rules of the catalog."""
    from evidence_lib.controls import load_catalog

    views = load_catalog().views
    return {rule_id: views[r.view].key for rule_id, r in catalog_rules().items() if r.view in views}


def catalog_rules() -> dict:
    """rule id -> its Rule (controls.py), for the control and integrity rules of the catalog."""
    from evidence_lib.controls import load_catalog
    from evidence_lib.integrity import load_integrity

    catalog = load_catalog()
    return {r.rule_id: r for r in [*catalog.rules, *(c.rule for c in load_integrity(catalog.folder).rules)]}


def _input_differences(package: dict, again: dict) -> list[str]:
    """The notebooks and suites the re-performance ran that differ from the package's (by SHA-256)."""
    lines = []
    for kind, label in (("notebooks", "notebook"), ("expectations", "suite file")):
        was, now = package.get(kind) or {}, again.get(kind) or {}
        for name in sorted({*was, *now}):
            if was.get(name) != now.get(name):
                state = "absent now" if name not in now else "new" if name not in was else "differs"
                lines.append(f"{label} {name}: {state} (the package ran {str(was.get(name, '-'))[:12]}, "
                             f"re-performed with {str(now.get(name, '-'))[:12]})")
    return lines
