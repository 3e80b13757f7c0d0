"""What a tested control area leaves in the evidence package: results.json and exceptions.csv."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from evidence_lib.area import TestedArea
from evidence_lib.inventory import inventory as inventory_table
from evidence_lib.package import write_csv_atomically, write_json_atomically
from evidence_lib.results import record_keys

RESULTS_SCHEMA_VERSION = 1  # of docs/results.schema.json: a change of shape bumps both


def write_area_files(area: TestedArea, results_dir: str | Path) -> None:
    folder = Path(results_dir)
    write_json_atomically(folder / "results.json", results_document(area), compact=True)
    write_csv_atomically(folder / "exceptions.csv", exception_table(area))


def results_document(area: TestedArea) -> dict:
    document = {"controls": [], "status": area.status, "period": {"label": area.period.label},
                "schema_version": RESULTS_SCHEMA_VERSION}
    if area.validation is not None:
        # population keys (what `evidence sample` draws from) only where nothing is masked: they would name people
        document.update(area.validation.map_exceptions(area.masked, population_keys=not area.mask).as_dict())
    files = area.masked(inventory_table(area.evidence))
    document["inventory"] = files.astype(object).where(files.notna(), None).to_dict(orient="records")
    document["pii_masked"] = bool(area.mask)
    document["files_read"] = area.evidence.files_read()  # the run compares them with its own hashes
    document["shared_validation"] = area.shared_key
    return document


def exception_table(area: TestedArea) -> pd.DataFrame:
    """Every exception of the area as one table: control, rule, record key, then the rule's columns."""
    frames = []
    for result in (area.validation.rules if area.validation is not None else []):
        if result.exception_count:
            rows = area.masked(result.exceptions)
            key = record_keys(rows, area.catalog.views[result.rule.view].key)
            frames.append(pd.concat([pd.DataFrame({"control": result.rule.control_id, "rule": result.rule.rule_id,
                                                   "record_key": key}, index=rows.index),
                                     rows.astype(object)], axis=1))
    if not frames:
        return pd.DataFrame(columns=["control", "rule", "record_key"])
    return pd.concat(frames, ignore_index=True)
