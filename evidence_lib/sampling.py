"""Reproducible samples of a rule's tested population, drawn from a finished package.

The population is the rule's `population_keys` in its notebook's results.json: every record the rule
tested, as (system, record key), sorted. (The choice: packages store the population's keys, not only
the exception rows, so that a sample covers records that passed; a package that masks PII stores none,
since the keys would name people.)

The draw, for an auditor to re-perform with any numpy: sort the keys (system, then record key), take
`numpy.random.default_rng(seed).permutation(population size)` and keep its first `size` positions, in
that order. The same package and seed give the same sample. The sample is written as a CSV beside the
package, never inside it, each row carrying the seed, the method, the population's size and SHA-256 (of
its sorted keys, one `system<TAB>record key` line each) and the SHA-256 of the package's manifest.json.

Each drawn record carries the columns the rule shows (its `show` in the catalog, and the export file and
row), from what the package holds: a rule's `population_rows` when results.json stores them, else the
record's exception row. A package stores the shown columns of its exceptions only, so for a record that
passed the cells stay empty and `values` says so: the auditor reads that record in the export.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from evidence_lib.errors import EvidenceError
from evidence_lib.package import MANIFEST, neutralise_formula, sha256_file, verify

#: sample sizes by control frequency: the upper bound of the common attribute-sampling guidance
#: (annual 1, quarterly 2, monthly 2-5, weekly 5-15, daily 20-40, many times a day 25-60)
FREQUENCY_SIZES = {"annual": 1, "quarterly": 2, "monthly": 5, "weekly": 15, "daily": 40, "recurring": 60}
METHOD = "sorted keys; numpy.random.default_rng(seed).permutation(population)[:size]"
#: the CSV's columns before the rule's shown columns, and after them
KEY_COLUMNS = ("selection", "system", "record_key", "exception", "values")
COLUMNS = ("control", "rule", "run_id", "seed", "method", "population", "population_sha256", "manifest_sha256",
           "numpy")
#: where a drawn record's shown values come from (the CSV's `values` column)
FROM_POPULATION = "population row"
FROM_EXCEPTION = "exception row"
NOT_STORED = "not in the package: read the record in its export"


class SampleError(EvidenceError):
    """A sample that cannot be drawn: no such rule, no stored population, a bad size, a package failing verify."""


@dataclass(frozen=True)
class Sample:
    control: str
    rule: str
    run_id: str
    seed: int
    population_size: int
    population_sha256: str
    manifest_sha256: str
    #: (system, record key, is an exception of the rule), in selection order
    selected: tuple[tuple[str, str, bool], ...]
    #: the columns the rule shows (catalog `show`, then the export file and row), and for each selected
    #: record where its values come from and the values (FROM_POPULATION, FROM_EXCEPTION or NOT_STORED)
    shown: tuple[str, ...] = ()
    values: tuple[tuple[str, tuple], ...] = ()

    def columns(self) -> tuple[str, ...]:
        return KEY_COLUMNS + self.shown + COLUMNS

    def rows(self) -> list[dict]:
        values = self.values or ((NOT_STORED, ()),) * len(self.selected)
        return [{"selection": n, "system": system, "record_key": key, "exception": "yes" if exception else "no",
                 "values": source, **dict(zip(self.shown, shown)),
                 "control": self.control, "rule": self.rule, "run_id": self.run_id, "seed": self.seed,
                 "method": METHOD, "population": self.population_size, "population_sha256": self.population_sha256,
                 "manifest_sha256": self.manifest_sha256, "numpy": np.__version__}
                for n, ((system, key, exception), (source, shown)) in enumerate(zip(self.selected, values), start=1)]


def sample_size(size: int | None, frequency: str | None) -> int:
    """--size as given, else the size for --frequency; one of them is needed."""
    if size is not None and frequency is not None:
        raise SampleError("give --size or --frequency, not both")
    if size is not None:
        if size < 1:
            raise SampleError(f"--size {size}: a sample has at least one item")
        return size
    if frequency is None:
        raise SampleError(f"give --size N or --frequency ({', '.join(FREQUENCY_SIZES)})")
    if frequency not in FREQUENCY_SIZES:
        raise SampleError(f"--frequency {frequency}: one of {', '.join(FREQUENCY_SIZES)}")
    return FREQUENCY_SIZES[frequency]


def draw(keys: list[tuple[str, str]], size: int, seed: int) -> list[int]:
    """Positions in the sorted keys of the sample, in selection order (METHOD)."""
    return [int(i) for i in np.random.default_rng(seed).permutation(len(keys))[:min(size, len(keys))]]


def population_sha256(keys: list[tuple[str, str]]) -> str:
    return hashlib.sha256("".join(f"{system}\t{key}\n" for system, key in keys).encode("utf-8")).hexdigest()


def draw_sample(run_dir: Path, rule: str, *, seed: int, size: int | None = None,
                frequency: str | None = None) -> Sample:
    """The sample of RULE's population in the package at RUN_DIR (which must pass `verify`)."""
    run_dir = Path(run_dir)
    wanted = sample_size(size, frequency)
    if seed < 0:
        raise SampleError(f"--seed {seed}: a seed is a whole number from 0")
    checked = verify(run_dir)  # PackageError when run_dir is not a package
    if not checked.ok:
        raise SampleError(f"{run_dir}: {len(checked.lines())} file(s) differ from manifest.json "
                          f"({'; '.join(checked.lines()[:3])}): a sample is drawn only from an intact package")
    control, found, masked = _find_rule(run_dir, rule)
    keys = sorted((str(s), str(k)) for s, k in found.get("population_keys") or [])
    population = int(found["population"])
    if population == 0:
        raise SampleError(f"{rule}: its population is empty ({found['status']}): there is nothing to sample")
    if not keys:
        why = ("the package masks PII, and population keys would name people: draw from an unmasked run"
               if masked else "an integrity rule's records are evidence cells, every one tested: the package "
               "keeps population keys for control rules only" if control == "IPE" else
               "the package stores no population keys for it (written before they were stored): run the period again")
        raise SampleError(f"{rule}: {why}")
    if len(keys) != population:
        raise SampleError(f"{rule}: {len(keys)} population keys for a population of {population}: results.json "
                          f"is not one this tool wrote")
    manifest = json.loads((run_dir / MANIFEST).read_text(encoding="utf-8"))
    exceptions = _exception_keys(found)
    selected = tuple((*keys[i], keys[i] in exceptions) for i in draw(keys, wanted, seed))
    shown, values = _shown_values(found, [(system, key) for system, key, _ in selected])
    return Sample(control, rule, str(manifest.get("run_id", run_dir.name)), seed, population,
                  population_sha256(keys), sha256_file(run_dir / MANIFEST), selected, shown, values)


def write_sample(sample: Sample, run_dir: Path, out: Path | None = None, *, now: datetime | None = None) -> Path:
    """The sample as a CSV: OUT, else <period folder>/sample-<run-id>-<rule>-<time>-seed<S>.csv beside the
    package (never inside it); never over an existing file."""
    run_dir = Path(run_dir).resolve()
    if out is None:
        stamp = f"{(now or datetime.now(UTC)).astimezone(UTC):%Y%m%dT%H%M%SZ}"
        out = run_dir.parent / f"sample-{sample.run_id}-{sample.rule}-{stamp}-seed{sample.seed}.csv"
    out = Path(out)
    if out.resolve().is_relative_to(run_dir):
        raise SampleError(f"{out}: inside the package; a sample is written beside it, never inside")
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, sample.columns(), lineterminator="\n")
    writer.writeheader()
    writer.writerows({k: neutralise_formula(v) for k, v in row.items()} for row in sample.rows())
    try:
        handle = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        raise SampleError(f"{out} already exists: a sample is never overwritten") from None
    except OSError as exc:
        raise SampleError(f"{exc.filename or out}: cannot write the sample ({exc.strerror or exc})") from None
    with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
        stream.write(buffer.getvalue())
    return out


def _find_rule(run_dir: Path, rule: str) -> tuple[str, dict, bool]:
    """(control id, the rule's results.json entry, whether that notebook masked PII)."""
    known = []
    for path in sorted(run_dir.glob("*/results.json")):
        results = json.loads(path.read_text(encoding="utf-8"))
        controls = [*(results.get("controls") or []), *([results["integrity"]] if results.get("integrity") else [])]
        for control in controls:
            for entry in control.get("rules", []):
                if entry["rule"] == rule:
                    return control["control"], entry, bool(results.get("pii_masked"))
                known.append(entry["rule"])
    raise SampleError(f"--rule {rule}: not a rule of this package; its rules: {', '.join(sorted(set(known)))}")


def _exception_keys(entry: dict) -> set[tuple[str, str]]:
    """The rule's exception rows as (system, record key), by the same view key as its population keys."""
    from evidence_lib.reperform import exception_keys, rule_keys

    return set(exception_keys(entry, rule_keys().get(entry["rule"])))


def _shown_values(entry: dict, selected: list[tuple[str, str]]) -> tuple[tuple[str, ...], tuple]:
    """The rule's shown columns, and for each selected (system, record key) where its values come from and
    the values: the rule's population rows when the package stores them, else its exception rows."""
    from evidence_lib.reperform import catalog_rules, row_keys, rule_keys

    key = rule_keys().get(entry["rule"])
    stored = {FROM_POPULATION: entry.get("population_rows") or [], FROM_EXCEPTION: entry.get("exceptions") or []}
    found = {source: dict(zip(row_keys(rows, key), rows)) for source, rows in stored.items()}
    rule = catalog_rules().get(entry["rule"])
    named = [c for c in (rule.show if rule else ()) if c != "system"]
    extra = [c for rows in stored.values() for row in rows for c in row
             if c != "system" and c not in named and not c.startswith("response")]
    shown = tuple(dict.fromkeys(named + extra))
    values = []
    for record in selected:
        source = next((s for s in (FROM_POPULATION, FROM_EXCEPTION) if record in found[s]), NOT_STORED)
        row = found.get(source, {}).get(record, {})
        values.append((source, tuple(_cell(row.get(c)) for c in shown)))
    return shown, tuple(values)


def _cell(value) -> str:
    return "" if value is None else str(value)
