"""A period's run: every notebook executed by papermill in parallel processes, rendered, packaged.

The unit of work is one (period, notebook): `run_notebook` executes and renders it into its
folder of the package. `run_period` fans those out over processes and writes the package; an
orchestrator (Airflow's papermill operator, say) can call `run_notebook` the same way.
"""

from __future__ import annotations

import json
import platform
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from multiprocessing import get_context
from pathlib import Path

from evidence_lib.controls import load_catalog
from evidence_lib.package import PackageBuilder, hash_tree, sha256_file
from evidence_lib.period import parse_period
from evidence_lib.project import NOTEBOOKS_DIR, PROJECT_DIR
from evidence_lib.render import render_failure_page, render_index, render_report
from evidence_lib.validate import ERROR, EXCEPTIONS, PASS, worst

INVENTORY_NOTEBOOK = "00_inventory.ipynb"
EXIT_CODES = {PASS: 0, EXCEPTIONS: 1, ERROR: 2}
TOOLS = ("pandas", "great-expectations", "papermill", "nbconvert", "nbclient", "ipykernel", "evidence-workbench")


@dataclass
class NotebookTask:
    notebook: Path
    folder: Path
    parameters: dict
    header: dict
    with_code: bool = False
    cell_timeout: int = 1800


@dataclass
class NotebookOutcome:
    name: str
    status: str
    seconds: float
    error: str = ""
    results: dict = field(default_factory=dict)

    @property
    def has_results(self) -> bool:
        return bool(self.results)


def run_notebook(task: NotebookTask) -> NotebookOutcome:
    """Execute one notebook into task.folder (executed.ipynb, results.json, exceptions.csv), render report.html.

    The run is judged by papermill's exception, never by the notebook's metadata (a cell
    timeout leaves metadata that looks successful). A failed notebook still gets its
    executed notebook and an HTML page showing the error.
    """
    import papermill
    from traitlets.config import Config

    started = time.perf_counter()
    name = task.folder.name
    executed = task.folder / "executed.ipynb"
    error = ""
    # IPC sockets in a private folder: parallel kernels never race for TCP ports.
    with tempfile.TemporaryDirectory(prefix="evk-") as sockets:
        config = Config({"KernelManager": {"transport": "ipc", "ip": f"{sockets}/kernel"}})
        try:
            papermill.execute_notebook(str(task.notebook), str(executed), parameters=task.parameters,
                                       cwd=str(task.notebook.parent), progress_bar=False, log_output=False,
                                       execution_timeout=task.cell_timeout, config=config, kernel_name="python3",
                                       # jupyter_client interrupts a kernel before shutting it down, and
                                       # ipykernel logs that as an ERROR; cell errors reach the notebook.
                                       extra_arguments=["--IPKernelApp.log_level=CRITICAL"])
        except Exception as exc:  # noqa: BLE001 - any failure is this notebook's error, reported, not raised
            error = _one_line(exc)
    results_path = task.folder / "results.json"
    results = json.loads(results_path.read_text(encoding="utf-8")) if results_path.is_file() and not error else {}
    if not error and not results:
        error = "the notebook finished without writing results.json (its save cell did not run)"
    status = ERROR if error else results.get("status", ERROR)
    header = {**task.header, "status": status, "error": error}
    try:
        if not executed.is_file():
            raise FileNotFoundError(f"papermill wrote no executed notebook: {error}")
        render_report(executed, task.folder / "report.html", header=header, with_code=task.with_code)
    except Exception as exc:  # noqa: BLE001
        render_failure_page(task.folder / "report.html", header=header, error=f"{error}\n{_one_line(exc)}")
        error = error or f"rendering failed: {_one_line(exc)}"
        status = ERROR
    return NotebookOutcome(name, status, round(time.perf_counter() - started, 2), error, results)


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    # papermill's message is the whole traceback; its last line names the exception.
    return f"{type(exc).__name__}: {text[-1] if text else ''}"


@dataclass
class RunResult:
    run_dir: Path
    exit_code: int
    status: str
    outcomes: list[NotebookOutcome]
    seconds: float


def plan(only: tuple[str, ...] = ()) -> dict[str, list[str]]:
    """notebook file -> the control ids it tests, for every control (or only those asked for)."""
    catalog = load_catalog()
    known = [c.control_id for c in catalog.controls]
    unknown = [c for c in only if c not in known]
    if unknown:
        raise ValueError(f"--only {' '.join(unknown)}: unknown control(s); known: {' '.join(known)}")
    notebooks: dict[str, list[str]] = {INVENTORY_NOTEBOOK: []}
    for control in catalog.controls:
        if not only or control.control_id in only:
            notebooks.setdefault(control.notebook, []).append(control.control_id)
    return notebooks


def run_period(period: str, *, evidence_dir: Path, out: Path, only: tuple[str, ...] = (), jobs: int = 2,
               mask_pii: bool = False, with_code: bool = False, as_of: str | None = None,
               parameters: dict | None = None, notebooks_dir: Path = NOTEBOOKS_DIR,
               progress: bool = True) -> RunResult:
    """Execute the period's notebooks and write the evidence package; never overwrites a finished run."""
    from tqdm import tqdm

    started_clock, started = time.perf_counter(), datetime.now(timezone.utc)
    parsed = parse_period(period)
    catalog = load_catalog()
    unknown = set(parameters or {}) - set(catalog.defaults)
    if unknown:
        raise ValueError(f"unknown parameter(s) {sorted(unknown)}; known: {sorted(catalog.defaults)}")
    evidence_dir = Path(evidence_dir).resolve()
    if not (evidence_dir / "evidence.yaml").is_file():
        raise FileNotFoundError(f"{evidence_dir / 'evidence.yaml'} not found: point --evidence-dir at a folder "
                                f"of exports with its evidence.yaml")
    notebooks = plan(only)
    missing = [n for n in notebooks if not (notebooks_dir / n).is_file()]
    if missing:
        raise FileNotFoundError(f"notebook(s) {missing} not found in {notebooks_dir}")
    thresholds = {**catalog.defaults, **(parameters or {})}
    evidence_hashes = hash_tree(evidence_dir)
    builder = PackageBuilder(Path(out), parsed.label)
    generated_at = started.isoformat(timespec="seconds")

    tasks = []
    for name, control_ids in notebooks.items():
        notebook = notebooks_dir / name
        folder = builder.work_dir / notebook.stem
        folder.mkdir()
        values = {"period": parsed.label, "evidence_dir": str(evidence_dir), "as_of": as_of, "mask_pii": mask_pii,
                  "run_id": builder.run_id, "results_dir": str(folder), **thresholds}
        declared = _declared_parameters(notebook)
        tasks.append(NotebookTask(notebook, folder, {k: v for k, v in values.items() if k in declared}, header={
            "title": f"{_title(notebook)} — {parsed.label}",
            "controls": [{"control": c, "title": catalog.control(c).title} for c in control_ids],
            "period": f"{parsed.label} ({parsed.start} to {parsed.end})", "run_id": builder.run_id,
            "generated_at": generated_at,
            "parameters": {k: v for k, v in values.items() if k in declared and k not in ("results_dir", "run_id")},
            "inputs": evidence_hashes,
        }, with_code=with_code))

    outcomes: list[NotebookOutcome] = []
    with ProcessPoolExecutor(max_workers=max(1, jobs), mp_context=get_context("spawn")) as pool, \
            tqdm(total=len(tasks), desc=f"{parsed.label} notebooks", unit="nb", disable=not progress,
                 file=sys.stderr) as bar:
        futures = {pool.submit(run_notebook, task): task for task in tasks}
        for future in as_completed(futures):
            outcomes.append(future.result())
            bar.set_postfix_str(f"{outcomes[-1].name}: {outcomes[-1].status}")
            bar.update()
    outcomes.sort(key=lambda o: o.name)

    if hash_tree(evidence_dir) != evidence_hashes:
        for outcome in outcomes:
            outcome.status, outcome.error = ERROR, "the evidence folder changed while the run was reading it"
    status = worst(o.status for o in outcomes)
    finished = datetime.now(timezone.utc)
    summary = {
        "run_id": builder.run_id, "status": status, "exit_code": EXIT_CODES[status],
        "period": {"label": parsed.label, "start": parsed.start.isoformat(), "end": parsed.end.isoformat()},
        "started_at": generated_at, "finished_at": finished.isoformat(timespec="seconds"),
        "parameters": thresholds,
        "options": {"evidence_dir": str(evidence_dir), "as_of": as_of, "only": list(only), "jobs": jobs,
                    "mask_pii": mask_pii, "with_code": with_code},
        "inputs": {"evidence": evidence_hashes,
                   "notebooks": {n: sha256_file(notebooks_dir / n) for n in notebooks},
                   "expectations": hash_tree(catalog.folder)},
        "tools": tool_versions(), "project_commit": project_commit(),
        "notebooks": [{"name": o.name, "status": o.status, "seconds": o.seconds, "error": o.error,
                       "has_results": o.has_results} for o in outcomes],
        "controls": _control_rows(outcomes, notebooks, catalog),
    }
    summary["counts"] = {s: sum(c["status"] == s for c in summary["controls"]) for s in (PASS, EXCEPTIONS, ERROR)}
    render_index(builder.work_dir / "index.html", summary)
    run_dir = builder.finish({k: v for k, v in summary.items() if k != "counts"})
    return RunResult(run_dir, EXIT_CODES[status], status, outcomes, round(time.perf_counter() - started_clock, 2))


def _control_rows(outcomes: list[NotebookOutcome], notebooks: dict[str, list[str]], catalog) -> list[dict]:
    rows = []
    by_name = {o.name: o for o in outcomes}
    for name, control_ids in notebooks.items():
        outcome = by_name[Path(name).stem]
        found = {c["control"]: c for c in outcome.results.get("controls", [])}
        for control_id in control_ids:
            result = found.get(control_id)
            if outcome.error or result is None:
                rows.append({"control": control_id, "title": catalog.control(control_id).title, "status": ERROR,
                             "exceptions": 0, "rules": [], "notebook": Path(name).stem,
                             "reason": outcome.error or "the notebook reported no result for this control"})
                continue
            rows.append({"control": control_id, "title": result["title"], "status": result["status"],
                         "exceptions": sum(r["exception_count"] for r in result["rules"]),
                         "rules": [{k: r[k] for k in ("rule", "status", "population", "exception_count", "reason")}
                                   for r in result["rules"]],
                         "notebook": Path(name).stem, "reason": ""})
    return sorted(rows, key=lambda r: r["control"])


def _declared_parameters(notebook: Path) -> set[str]:
    import papermill

    return set(papermill.inspect_notebook(str(notebook)))


def _title(notebook: Path) -> str:
    import nbformat

    for cell in nbformat.read(notebook, as_version=4).cells:
        if cell.cell_type == "markdown" and cell.source.startswith("# "):
            return cell.source.splitlines()[0][2:].strip()
    return notebook.stem


def tool_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for package in TOOLS:
        try:
            versions[package] = version(package)
        except PackageNotFoundError:
            versions[package] = "not installed"
    return versions


def project_commit() -> str:
    """The project's git commit, marked -dirty when the work tree differs; 'unknown' outside git."""
    try:
        commit = subprocess.run(["git", "-C", str(PROJECT_DIR), "rev-parse", "HEAD"], capture_output=True,
                                text=True, check=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(PROJECT_DIR), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return commit + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"
