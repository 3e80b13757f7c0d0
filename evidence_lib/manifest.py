"""A run's manifest.json (docs/manifest.schema.json): what was run, on what, with what, and what it found.

`manifest_document` builds the document from a run's plan and outcomes; `write_package` derives the
OSCAL assessment results (oscal.py) and renders the index from it and finishes the package
(PackageBuilder adds the hashed `outputs`).
"""

from __future__ import annotations

import platform
import subprocess
from collections.abc import Mapping
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING

from evidence_lib.controls import Catalog
from evidence_lib.notebook_runner import NotebookOutcome
from evidence_lib.oscal import write_into_package
from evidence_lib.package import PackageBuilder, hash_tree, sha256_file
from evidence_lib.project import IN_CHECKOUT, PROJECT_DIR
from evidence_lib.render import render_index
from evidence_lib.results import ERROR, EXCEPTIONS, EXIT_CODES, OUT_OF_SCOPE, PASS, worst

if TYPE_CHECKING:
    from evidence_lib.run import EvidenceSnapshot, RunPlan

#: of docs/manifest.schema.json: a change of shape bumps both (2 added prepared_by)
MANIFEST_SCHEMA_VERSION = 2
TOOLS = ("pandas", "great-expectations", "papermill", "nbconvert", "nbclient", "ipykernel", "evidence-workbench")


def manifest_document(run_plan: RunPlan, run_id: str, outcomes: list[NotebookOutcome], evidence: EvidenceSnapshot,
                      *, started_at: str, mask_key: str | None) -> dict:
    """manifest.json's content (docs/manifest.schema.json) but `outputs`, which `PackageBuilder.finish` adds."""
    status = worst(o.status for o in outcomes)
    parsed = run_plan.period
    return {
        "schema_version": MANIFEST_SCHEMA_VERSION,
        "run_id": run_id, "status": status, "exit_code": EXIT_CODES[status],
        "prepared_by": run_plan.preparer,
        "period": {"label": parsed.label, "start": parsed.start.isoformat(), "end": parsed.end.isoformat()},
        "started_at": started_at,
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "parameters": dict(run_plan.parameters),
        "options": {"evidence_dir": str(run_plan.evidence_dir), "as_of": run_plan.as_of, "only": list(run_plan.only),
                    "jobs": run_plan.jobs, "mask_pii": run_plan.mask_pii, "mask_key": mask_key,
                    "with_code": run_plan.with_code, "allow_period_mismatch": run_plan.allow_period_mismatch,
                    "pdf": run_plan.pdf},
        "inputs": {"evidence": evidence.hashes, "read": evidence.read,
                   "notebooks": {n: sha256_file(run_plan.notebooks_dir / n) for n in run_plan.notebooks},
                   "expectations": hash_tree(run_plan.catalog.folder)},
        "tools": tool_versions(), "project_commit": project_commit(),
        "notebooks": [{"name": o.name, "status": o.status, "seconds": o.seconds, "error": o.error,
                       "has_results": o.has_results,
                       # the key of the run's validation the notebook took (shared_validation.py), else None
                       "shared_validation": o.results.get("shared_validation"),
                       # its kernel replayed the cells the run's worker computed for it (recorded.py)
                       "cells_replayed": o.cells_replayed} for o in outcomes],
        "controls": _control_rows(outcomes, run_plan.notebooks, run_plan.catalog),
        "integrity": _integrity_rows(outcomes),
    }


def write_package(builder: PackageBuilder, manifest: dict, *, pdf: bool = False) -> Path:
    """assessment-results.json (OSCAL) and index.html from the manifest (with the counts it states), with pdf
    a PDF of every report and of the index beside them (hashed like every output), then the manifest: the
    package is finished."""
    write_into_package(builder.work_dir, manifest)
    index = builder.work_dir / "index.html"
    render_index(index, {**manifest, "counts": _counts(manifest["controls"])})
    if pdf:
        from evidence_lib.pdf import print_to_pdf

        for report in sorted(builder.work_dir.glob("*/report.html")):
            print_to_pdf(report, report.with_suffix(".pdf"))
        print_to_pdf(index, index.with_suffix(".pdf"))
    return builder.finish(manifest)


def _control_rows(outcomes: list[NotebookOutcome], notebooks: Mapping[str, tuple[str, ...]], catalog: Catalog
                  ) -> list[dict]:
    rows = []
    by_name = {o.name: o for o in outcomes}
    for name, control_ids in notebooks.items():
        outcome = by_name[Path(name).stem]
        found = {c["control"]: c for c in outcome.results.get("controls", [])}
        for control_id in control_ids:
            result = found.get(control_id)
            if outcome.error or result is None:
                rows.append({"control": control_id, "title": catalog.control(control_id).title, "status": ERROR,
                             "exceptions": 0, "open": 0, "responded": 0, "deficiency_summary": "",
                             "rules": [], "notebook": Path(name).stem,
                             "reason": outcome.error or "the notebook reported no result for this control"})
                continue
            rows.append({"control": control_id, "title": result["title"], "status": result["status"],
                         "exceptions": sum(r["exception_count"] for r in result["rules"]),
                         "open": result.get("open", 0), "responded": result.get("responded", 0),
                         "deficiency_summary": result.get("deficiency_summary", ""),
                         "rules": [{k: r[k] for k in ("rule", "status", "population", "exception_count", "reason")}
                                   for r in result["rules"]],
                         "notebook": Path(name).stem, "reason": ""})
    return sorted(rows, key=lambda r: r["control"])


def _integrity_rows(outcomes: list[NotebookOutcome]) -> list[dict]:
    """Per notebook, the integrity checks of the evidence its controls rest on."""
    rows = []
    for outcome in outcomes:
        checks = outcome.results.get("integrity")
        if checks:
            rows.append({"notebook": outcome.name, "status": checks["status"],
                         "rules": [{k: r[k] for k in ("rule", "status", "population", "exception_count", "reason")}
                                   for r in checks["rules"]]})
    return rows


def _counts(controls: list[dict]) -> dict:
    """Controls per status, and the rules and systems scoped out: the index states them, never silent."""
    rules = [r for c in controls for r in c["rules"]]
    counts = {s: sum(c["status"] == s for c in controls) for s in (PASS, EXCEPTIONS, ERROR, OUT_OF_SCOPE)}
    counts["rules_out_of_scope"] = sum(r["status"] == OUT_OF_SCOPE for r in rules)
    counts["rules_with_systems_scoped_out"] = sum("scoped out:" in (r["reason"] or "") for r in rules)
    return counts


def tool_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for package in TOOLS:
        try:
            versions[package] = version(package)
        except PackageNotFoundError:
            versions[package] = "not installed"
    return versions


def project_commit() -> str:
    """The project's git commit, marked -dirty when the work tree differs; 'unknown' outside git
    (an installed wheel: a git repository around the environment is not the project's)."""
    if not IN_CHECKOUT:
        return "unknown"
    try:
        commit = subprocess.run(["git", "-C", str(PROJECT_DIR), "rev-parse", "HEAD"], capture_output=True,
                                text=True, check=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(PROJECT_DIR), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return commit + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"
