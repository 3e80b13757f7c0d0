"""A period's run: every notebook executed by papermill in parallel processes, rendered, packaged.

Three steps, each its own function: `plan_run` checks everything a user can get wrong and
returns a `RunPlan` (nothing is written); `execute_plan` turns the plan's notebook tasks into
outcomes in worker processes; `write_package` builds the manifest document (`manifest_document`),
renders the index and finishes the package. `run_period` is the three in a row.

The unit of work is one (period, notebook): `run_notebook` executes and renders it into its
folder of the package; an orchestrator (Airflow's papermill operator, say) can call it the same way.
"""

from __future__ import annotations

import contextlib
import getpass
import json
import os
import platform
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from importlib.metadata import PackageNotFoundError, version
from multiprocessing import get_context
from pathlib import Path

from evidence_lib.controls import Catalog, load_catalog
from evidence_lib.errors import EvidenceError
from evidence_lib.package import MANIFEST, PackageBuilder, hash_tree, sha256_file
from evidence_lib.parameters import resolve_parameters
from evidence_lib.period import Period, parse_period
from evidence_lib.project import IN_CHECKOUT, NOTEBOOKS_DIR, PROJECT_DIR
from evidence_lib.render import render_failure_page, render_index, render_report
from evidence_lib.results import ERROR, EXCEPTIONS, OUT_OF_SCOPE, PASS, worst

INVENTORY_NOTEBOOK = "00_inventory.ipynb"
EXIT_CODES = {PASS: 0, OUT_OF_SCOPE: 0, EXCEPTIONS: 1, ERROR: 2}
#: of docs/manifest.schema.json: a change of shape bumps both (2 added prepared_by)
MANIFEST_SCHEMA_VERSION = 2
#: the latest as-of date a run accepts, in days after the period ends (the export may come months later)
AS_OF_DAYS_AFTER = 400
#: how often a worker checks that the run that started it is still alive
PARENT_POLL_SECONDS = 0.5
#: characters of a preparer's name (it is shown in every header)
NAME_CHARS = 200
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
    #: SHA-256 of the package's manifest.json: what a reviewer's sign-off names
    manifest_sha256: str = ""


class RunError(EvidenceError):
    """A run that cannot start as asked: unknown control, missing notebook, as-of date outside the period."""


def run_period(period: str, *, evidence_dir: Path, out: Path, only: tuple[str, ...] = (), jobs: int = 2,
               mask_pii: bool = False, mask_key_file: Path | None = None, with_code: bool = False,
               as_of: str | None = None, parameters: dict | None = None, allow_period_mismatch: bool = False,
               preparer: str | None = None, notebooks_dir: Path = NOTEBOOKS_DIR, progress: bool = True) -> RunResult:
    """Execute the period's notebooks and write the evidence package; never overwrites a finished run.

    Everything a user can get wrong is checked (`plan_run`) before anything is written. Any failure
    after that (a write error, Ctrl-C, SIGTERM) stops the workers and their kernels and removes the
    half-written package; a failed write is a PackageError naming the path.
    """
    started_clock, started = time.perf_counter(), datetime.now(UTC)
    run_plan = plan_run(period, evidence_dir=evidence_dir, out=out, only=only, jobs=jobs, mask_pii=mask_pii,
                        mask_key_file=mask_key_file, with_code=with_code, as_of=as_of, parameters=parameters,
                        allow_period_mismatch=allow_period_mismatch, preparer=preparer, notebooks_dir=notebooks_dir)
    evidence = snapshot_evidence(run_plan.evidence_dir)
    with _mask_key(run_plan.mask_pii, run_plan.mask_key_file) as (key_file, key_kind):
        builder = PackageBuilder(run_plan.out, run_plan.period.label)
        with builder.writing():
            started_at = started.isoformat(timespec="seconds")
            outcomes = execute_plan(run_plan, builder, evidence, key_file=key_file, generated_at=started_at,
                                    progress=progress)
            manifest = manifest_document(run_plan, builder.run_id, outcomes, evidence, started_at=started_at,
                                         mask_key=key_kind)
            run_dir = write_package(builder, manifest)
    status = manifest["status"]
    return RunResult(run_dir, EXIT_CODES[status], status, outcomes, round(time.perf_counter() - started_clock, 2),
                     sha256_file(run_dir / MANIFEST))


# -- planning: every check a user can fail, before anything is written --------------------------------

@dataclass(frozen=True)
class RunPlan:
    """A run as asked for, every argument checked and resolved; nothing has been written yet."""

    period: Period
    evidence_dir: Path
    out: Path
    notebooks_dir: Path
    #: notebook file -> the control ids it tests (the inventory notebook tests none)
    notebooks: Mapping[str, tuple[str, ...]]
    #: every rule threshold: the catalog's defaults with the user's overrides, typed and range-checked
    parameters: Mapping[str, object]
    preparer: str
    as_of: str | None = None
    only: tuple[str, ...] = ()
    jobs: int = 2
    mask_pii: bool = False
    mask_key_file: Path | None = None
    with_code: bool = False
    allow_period_mismatch: bool = False
    catalog: Catalog = field(default_factory=load_catalog, repr=False, compare=False)


def plan_run(period: str, *, evidence_dir: Path, out: Path, only: tuple[str, ...] = (), jobs: int = 2,
             mask_pii: bool = False, mask_key_file: Path | None = None, with_code: bool = False,
             as_of: str | None = None, parameters: dict | None = None, allow_period_mismatch: bool = False,
             preparer: str | None = None, notebooks_dir: Path = NOTEBOOKS_DIR) -> RunPlan:
    """Check every argument (RunError, DeclarationError, ParameterError... naming what to fix) and write nothing."""
    parsed = parse_period(period)
    catalog = load_catalog()
    thresholds = resolve_parameters(parameters or {}, catalog=catalog)
    as_of = check_as_of(as_of, parsed)
    evidence_dir = Path(evidence_dir).resolve()
    check_evidence_period(evidence_dir, parsed, allow_mismatch=allow_period_mismatch)
    notebooks = plan(only)
    notebooks_dir = Path(notebooks_dir)
    missing = [n for n in notebooks if not (notebooks_dir / n).is_file()]
    if missing:
        raise RunError(f"notebook(s) {missing} not found in {notebooks_dir}")
    return RunPlan(parsed, evidence_dir, Path(out), notebooks_dir, {n: tuple(c) for n, c in notebooks.items()},
                   thresholds, check_preparer(preparer, evidence_dir), as_of=as_of, only=tuple(only), jobs=jobs,
                   mask_pii=mask_pii, mask_key_file=_check_mask_key(mask_pii, mask_key_file), with_code=with_code,
                   allow_period_mismatch=allow_period_mismatch, catalog=catalog)


def plan(only: tuple[str, ...] = ()) -> dict[str, list[str]]:
    """notebook file -> the control ids it tests, for every control (or only those asked for)."""
    catalog = load_catalog()
    known = [c.control_id for c in catalog.controls]
    unknown = [c for c in only if c not in known]
    if unknown:
        raise RunError(f"--only {' '.join(unknown)}: unknown control(s); known: {' '.join(known)}")
    notebooks: dict[str, list[str]] = {INVENTORY_NOTEBOOK: []}
    for control in catalog.controls:
        if not only or control.control_id in only:
            notebooks.setdefault(control.notebook, []).append(control.control_id)
    return notebooks


def check_as_of(as_of: str | None, period: Period) -> str | None:
    """as_of unchanged if it is an ISO date or time from the period's start to AS_OF_DAYS_AFTER its end.

    An as-of date decides what is dormant, late or overdue: 1900-01-01 would make rules pass.
    """
    if as_of is None:
        return None
    try:
        day = datetime.fromisoformat(str(as_of).strip()).date()
    except ValueError:
        raise RunError(f"--as-of {as_of!r} is not a date: write YYYY-MM-DD or an ISO time "
                       f"(2026-10-01T06:00:00Z)") from None
    latest = period.end + timedelta(days=AS_OF_DAYS_AFTER)
    if not period.start <= day <= latest:
        raise RunError(f"--as-of {as_of} is outside {period.label}: allowed from {period.start} (the period's start) "
                       f"to {latest} ({AS_OF_DAYS_AFTER} days after its end)")
    return as_of


def check_evidence_period(evidence_dir: Path, period: Period, *, allow_mismatch: bool = False) -> None:
    """The folder's evidence.yaml must declare this period (DeclarationError otherwise), unless allowed."""
    from evidence_lib.sources.folder import check_period, read_declaration

    check_period(read_declaration(evidence_dir), period.label, allow_mismatch=allow_mismatch)


def check_preparer(name: str | None, evidence_dir: Path) -> str:
    """The preparer's name on one line (runs of spaces and line breaks made one space); without one, the default."""
    if name is None:
        return default_preparer(evidence_dir)
    cleaned = _one_name(name)
    if not cleaned or len(cleaned) > NAME_CHARS:
        raise RunError(f"--preparer {name!r}: give the preparer's name, 1 to {NAME_CHARS} printable characters "
                       f"(it is recorded in manifest.json and shown in every report)")
    return cleaned


def default_preparer(evidence_dir: Path) -> str:
    """`git config user.name` as the evidence folder's repository sees it, else as the project's does, else the
    login name; 'unknown' when there is none (a container user without a passwd entry)."""
    for folder in [evidence_dir] + ([PROJECT_DIR] if IN_CHECKOUT else []):
        try:
            found = subprocess.run(["git", "-C", str(folder), "config", "user.name"], capture_output=True, text=True,
                                   timeout=10)
        except (OSError, subprocess.SubprocessError):
            continue
        name = _one_name(found.stdout) if found.returncode == 0 else ""
        if name and len(name) <= NAME_CHARS:
            return name
    try:
        return _one_name(getpass.getuser()) or "unknown"
    except (OSError, KeyError):
        return "unknown"


def _one_name(text: str) -> str:
    return "".join(ch for ch in " ".join(str(text).split()) if ch.isprintable())


def _check_mask_key(mask_pii: bool, key_file: Path | None) -> Path | None:
    """The user's mask key file, resolved and readable, or None; a key without --mask-pii is a RunError."""
    if not mask_pii:
        if key_file is not None:
            raise RunError(f"--mask-key {key_file}: the key is only used with --mask-pii")
        return None
    if key_file is None:
        return None
    from evidence_lib.masking import load_mask_key

    key_file = Path(key_file).resolve()
    load_mask_key(str(key_file))  # readable and long enough, before anything is written
    return key_file


# -- executing: the plan's notebooks, in worker processes, judged against the evidence they read --------

@dataclass(frozen=True)
class EvidenceSnapshot:
    """The evidence folder when the run started."""

    #: relative path -> sha256 of every file in the folder
    hashes: dict[str, str]
    #: relative path -> sha256 of exactly the files loading the folder reads (custom mappings included)
    read: dict[str, str]


def snapshot_evidence(evidence_dir: Path) -> EvidenceSnapshot:
    from evidence_lib.sources.folder import load_folder

    return EvidenceSnapshot(hash_tree(evidence_dir), load_folder(evidence_dir).files_read())


@contextmanager
def _mask_key(mask_pii: bool, key_file: Path | None) -> Iterator[tuple[str | None, str | None]]:
    """(path of the PII mask key file for the notebooks, 'user-supplied' or 'per-run'), or (None, None).

    Without a key file of the user's, a random key is written into a private temporary folder
    (outside the package, file mode 0600) and deleted when the run ends: no one can re-derive
    the pseudonyms, not even from the package.
    """
    key_file = _check_mask_key(mask_pii, key_file)
    if not mask_pii:
        yield None, None
        return
    if key_file is not None:
        yield str(key_file), "user-supplied"
        return
    with tempfile.TemporaryDirectory(prefix="evidence-mask-key-") as folder:  # mkdtemp: mode 0700
        path = Path(folder) / "mask.key"
        handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(handle, "w", encoding="ascii") as stream:
            stream.write(secrets.token_hex(32))
        yield str(path), "per-run"


def execute_plan(run_plan: RunPlan, builder: PackageBuilder, evidence: EvidenceSnapshot, *, key_file: str | None,
                 generated_at: str, progress: bool = True) -> list[NotebookOutcome]:
    """Every notebook of the plan executed and rendered into the package being built, in notebook order.

    A notebook that tested other evidence than the run hashed, or a folder that changed while the
    run read it, makes the outcome an error.
    """
    values = {"period": run_plan.period.label, "evidence_dir": str(run_plan.evidence_dir), "as_of": run_plan.as_of,
              "mask_pii": run_plan.mask_pii, "mask_key_file": key_file, "run_id": builder.run_id,
              **run_plan.parameters}
    tasks = [_task(run_plan, name, control_ids, builder, values, generated_at, evidence.hashes)
             for name, control_ids in run_plan.notebooks.items()]
    outcomes = sorted(_execute(tasks, run_plan.jobs, progress, run_plan.period.label), key=lambda o: o.name)
    _judge_inputs(outcomes, {**evidence.hashes, **evidence.read})
    if hash_tree(run_plan.evidence_dir) != evidence.hashes:
        for outcome in outcomes:
            outcome.status, outcome.error = ERROR, "the evidence folder changed while the run was reading it"
    return outcomes


def _task(run_plan: RunPlan, name: str, control_ids: tuple[str, ...], builder: PackageBuilder, values: dict,
          generated_at: str, evidence_hashes: dict) -> NotebookTask:
    notebook = run_plan.notebooks_dir / name
    folder = builder.work_dir / notebook.stem
    folder.mkdir()
    declared = _declared_parameters(notebook)
    values = {**values, "results_dir": str(folder)}
    # The key file's path is for the kernel only: the package shows that masking was on, not where the key is.
    shown = {k: v for k, v in values.items() if k in declared and k not in ("results_dir", "run_id", "mask_key_file")}
    parsed = run_plan.period
    return NotebookTask(notebook, folder, {k: v for k, v in values.items() if k in declared}, header={
        "title": f"{_title(notebook)} — {parsed.label}",
        "controls": [{"control": c, "title": run_plan.catalog.control(c).title} for c in control_ids],
        "period": f"{parsed.label} ({parsed.start} to {parsed.end})", "run_id": builder.run_id,
        "generated_at": generated_at, "prepared_by": run_plan.preparer, "parameters": shown,
        "inputs": evidence_hashes,
    }, with_code=run_plan.with_code)


def _execute(tasks: list[NotebookTask], jobs: int, progress: bool, label: str) -> list[NotebookOutcome]:
    """Run the tasks over worker processes; on any interruption, stop the workers and their kernels first."""
    from tqdm import tqdm

    outcomes: list[NotebookOutcome] = []
    pool = ProcessPoolExecutor(max_workers=max(1, jobs), mp_context=get_context("spawn"),
                               initializer=_worker_started, initargs=(os.getpid(),))
    try:
        with tqdm(total=len(tasks), desc=f"{label} notebooks", unit="nb", disable=not progress,
                  file=sys.stderr) as bar:
            futures = {pool.submit(run_notebook, task): task for task in tasks}
            for future in as_completed(futures):
                outcomes.append(future.result())
                bar.set_postfix_str(f"{outcomes[-1].name}: {outcomes[-1].status}")
                bar.update()
    except BaseException:
        _stop_workers(pool)
        raise
    pool.shutdown(wait=True)
    return outcomes


def _worker_started(run_pid: int) -> None:
    """In each worker: Ctrl-C is the run's to handle, and the worker (with its kernel) dies with the run."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_watch_run, args=(run_pid,), name="watch-run", daemon=True).start()


def _watch_run(run_pid: int) -> None:
    while os.getppid() == run_pid:
        time.sleep(PARENT_POLL_SECONDS)
    _kill_tree(os.getpid(), include_root=False)
    os._exit(EXIT_CODES[ERROR])


def _stop_workers(pool: ProcessPoolExecutor) -> None:
    """Cancel what has not started, kill every worker and its kernel, and reap them."""
    processes = list((getattr(pool, "_processes", None) or {}).values())  # shutdown forgets them
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        _kill_tree(process.pid, include_root=True)
    for process in processes:
        process.join(timeout=5)


def _kill_tree(pid: int, *, include_root: bool) -> None:
    """SIGKILL a process's descendants (a kernel runs in its own session, so a group kill misses it)."""
    import psutil  # a dependency of ipykernel, hence of every run

    try:
        root = psutil.Process(pid)
        family = root.children(recursive=True) + ([root] if include_root else [])
    except psutil.Error:
        return
    for process in family:
        with contextlib.suppress(psutil.Error):  # it may have exited meanwhile
            process.kill()


def _judge_inputs(outcomes: list[NotebookOutcome], hashes: dict[str, str]) -> None:
    """A notebook that tested a file other than the one the run hashed is an error naming the file.

    A file edited while the run reads it and restored before the end passes the final re-hash;
    each notebook's own record of what it read does not.
    """
    for outcome in outcomes:
        if not outcome.has_results or outcome.error:
            continue
        if "inventory" not in outcome.results:
            outcome.status, outcome.error = ERROR, ("results.json has no inventory: the run cannot tell which "
                                                    "evidence this notebook tested")
            continue
        read = {row["file"]: row.get("sha256") for row in outcome.results["inventory"] if row.get("sha256")}
        read.update(outcome.results.get("files_read") or {})
        changed = sorted(name for name, digest in read.items() if hashes.get(_relative(name)) != digest)
        if changed:
            outcome.status, outcome.error = ERROR, (
                f"evidence changed during the run: {', '.join(changed)} as this notebook read "
                f"{'it' if len(changed) == 1 else 'them'} differ(s) from the file(s) hashed when the run started")


def _relative(name: str) -> str:
    return Path(os.path.normpath(name)).as_posix()


def _declared_parameters(notebook: Path) -> set[str]:
    import papermill

    return set(papermill.inspect_notebook(str(notebook)))


def _title(notebook: Path) -> str:
    import nbformat

    for cell in nbformat.read(notebook, as_version=4).cells:
        if cell.cell_type == "markdown" and cell.source.startswith("# "):
            return cell.source.splitlines()[0][2:].strip()
    return notebook.stem


# -- packaging: the manifest document, the index, the finished package --------------------------------

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
                    "with_code": run_plan.with_code, "allow_period_mismatch": run_plan.allow_period_mismatch},
        "inputs": {"evidence": evidence.hashes, "read": evidence.read,
                   "notebooks": {n: sha256_file(run_plan.notebooks_dir / n) for n in run_plan.notebooks},
                   "expectations": hash_tree(run_plan.catalog.folder)},
        "tools": tool_versions(), "project_commit": project_commit(),
        "notebooks": [{"name": o.name, "status": o.status, "seconds": o.seconds, "error": o.error,
                       "has_results": o.has_results} for o in outcomes],
        "controls": _control_rows(outcomes, run_plan.notebooks, run_plan.catalog),
        "integrity": _integrity_rows(outcomes),
    }


def write_package(builder: PackageBuilder, manifest: dict) -> Path:
    """index.html from the manifest (with the counts it states), then the manifest: the package is finished."""
    render_index(builder.work_dir / "index.html", {**manifest, "counts": _counts(manifest["controls"])})
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
                             "exceptions": 0, "rules": [], "notebook": Path(name).stem,
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
