"""Validate once per run: a run prepares each notebook's evidence and verdicts; the notebook picks them up.

Without this, every notebook's kernel imports GX (seconds), loads every export and validates them
again. `evidence run` instead prepares, in one worker, what each notebook of the run would compute
(`prepare_areas`) and stores it in a private folder of the run, under a key naming everything the
result depends on: the SHA-256 of every evidence file, the project's code, suites and catalog, the
period, the as-of time, the resolved parameters and the controls. A notebook (TestedArea.open)
computes the same key from what it was given and takes the stored result only when the keys
match; otherwise, or when opened alone in JupyterLab or run by plain papermill, it computes the
result itself. Either way the verdicts are the same, and a notebook that finds its key does not
import GX. The run starts notebooks beside the preparation (a worker would otherwise sit idle while
it runs): a kernel whose part is not stored yet waits for it while the run's `preparing` file says
the preparation is under way.

The folder is named to the notebook's kernel by an environment variable set in the run's own
worker processes (never in the user's environment); it is created private (mode 0700) and
removed when the run ends, so the pickles are only ever read by the run that wrote them.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import time
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from evidence_lib.project import EXPECTATIONS_DIR

#: the environment variable naming the run's shared-validation folder, set in the run's workers only
SHARED_DIR_VARIABLE = "EVIDENCE_SHARED_VALIDATION"
#: how often a kernel started beside the run's preparation looks for its part
WAIT_POLL_SECONDS = 0.05
PACKAGE_DIR = Path(__file__).resolve().parent

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class AreaRequest:
    """What one notebook will open: its controls and the parameters it passes (papermill's values)."""

    control_ids: tuple[str, ...]
    parameters: dict
    #: the charts it draws (charts.CHARTS names): drawn once here, so that its kernel imports no matplotlib
    charts: tuple[str, ...] = ()


@dataclass(frozen=True)
class SharedArea:
    """A notebook's evidence and verdicts as the run prepared them, and the key they were stored under."""

    key: str
    evidence: object  # EvidenceSet
    validation: object  # Validation
    charts: dict  # chart name -> PNG bytes, as charts.chart_png draws them from this validation


def as_of_stamp(as_of: str | None) -> pd.Timestamp | None:
    """An as-of text as the UTC time the rules use (None: the evidence's export time, decided by validate)."""
    import pandas as pd

    if as_of is None:
        return None
    stamp = pd.Timestamp(as_of)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


@cache
def code_digest() -> str:
    """SHA-256 over the project's code, vendor mappings, suites and catalog: a changed rule changes every key."""
    digest = hashlib.sha256()
    roots = [PACKAGE_DIR.resolve(), EXPECTATIONS_DIR.resolve()]
    for root in roots:
        for path in sorted(p for p in root.rglob("*") if p.is_file() and p.suffix in (".py", ".yaml", ".json")
                           and "__pycache__" not in p.parts):
            digest.update(f"{root.name}/{path.relative_to(root).as_posix()}\0".encode())
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def area_key(folder: Path, period_label: str, as_of: str | None, parameters: dict,
             control_ids: tuple[str, ...]) -> str:
    """The key of one notebook's result: everything it depends on, hashed."""
    from evidence_lib.parameters import resolve_parameters
    from evidence_lib.sources.folder import evidence_hashes

    stamp = as_of_stamp(as_of)
    document = {"evidence": evidence_hashes(Path(folder)), "code": code_digest(), "period": period_label,
                "as_of": None if stamp is None else stamp.isoformat(), "controls": sorted(control_ids),
                "parameters": resolve_parameters(parameters)}
    return hashlib.sha256(json.dumps(document, sort_keys=True, default=str).encode()).hexdigest()


def prepare_areas(folder: Path, period_label: str, as_of: str | None, requests: list[AreaRequest],
                  shared_dir: Path) -> dict[str, str]:
    """Load the folder once, validate each request's controls, store each result under its key.

    Returns {notebook controls joined by ',' -> key}. Runs in one of the run's workers.
    """
    from evidence_lib.area import judge_area
    from evidence_lib.charts import chart_png
    from evidence_lib.controls import load_catalog
    from evidence_lib.period import parse_period
    from evidence_lib.sources.folder import load_folder

    catalog, period = load_catalog(), parse_period(period_label)
    keys = {request.control_ids: area_key(folder, period_label, as_of, request.parameters, request.control_ids)
            for request in requests}
    evidence = load_folder(Path(folder))
    # A notebook testing no control (the inventory) needs no validation: it is stored before GX is imported.
    for request in sorted(requests, key=lambda r: bool(r.control_ids)):
        validation = judge_area(evidence, period, request.control_ids, as_of=as_of,
                                parameters=request.parameters, catalog=catalog)
        charts = {name: chart_png(name, validation) for name in request.charts}
        _store(shared_dir / f"{keys[request.control_ids]}.pickle", (evidence, validation, charts))
    return {",".join(ids): key for ids, key in keys.items()}


def preparing_marker(shared_dir: Path) -> Path:
    """The file whose presence says the run's preparation is under way: the run creates it before handing
    the preparation to a worker and removes it when the preparation has ended, however it ended."""
    return Path(shared_dir) / "preparing"


def find_area(folder: Path, period_label: str, as_of: str | None, parameters: dict,
              control_ids: tuple[str, ...]) -> SharedArea | None:
    """The run's prepared result for this notebook, when a run prepared one under the same key; else None."""
    shared_dir = os.environ.get(SHARED_DIR_VARIABLE)
    if not shared_dir:
        return None
    key = area_key(folder, period_label, as_of, parameters, control_ids)
    path, preparing = Path(shared_dir) / f"{key}.pickle", preparing_marker(Path(shared_dir))
    # The kernel started beside the preparation: its part may be stored in a moment. Once the preparation
    # is over, a part still absent was never prepared (other parameters, or the preparation failed).
    while not path.is_file() and preparing.exists():
        time.sleep(WAIT_POLL_SECONDS)
    if not path.is_file():
        return None
    with path.open("rb") as stream:
        evidence, validation, charts = pickle.load(stream)  # written by this run, into its private folder
    return SharedArea(key, evidence, validation, charts)


def _store(path: Path, value: object) -> None:
    partial = path.with_suffix(".partial")
    with partial.open("wb") as stream:
        pickle.dump(value, stream, protocol=pickle.HIGHEST_PROTOCOL)
    partial.replace(path)  # a notebook never reads a half-written result
