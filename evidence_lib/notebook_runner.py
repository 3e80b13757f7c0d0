"""Execute notebooks in worker processes: papermill into the package folder, then nbconvert.

The unit of work is one (period, notebook): `run_notebook` executes and renders it into its
folder of the package; an orchestrator (Airflow's papermill operator, say) can call it the same
way. `execute_tasks` runs several over worker processes that die with the run that started them.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import logging
import os
import signal
import sys
import tempfile
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path

from evidence_lib.recorded import replayed_marker
from evidence_lib.render import render_failure_page, render_report
from evidence_lib.results import ERROR, EXIT_CODES

#: how often a worker checks that the run that started it is still alive
PARENT_POLL_SECONDS = 0.5


@dataclass(frozen=True)
class Preparation:
    """The run's shared validation (shared_validation.py): prepared in a worker before the notebooks using it."""

    evidence_dir: Path
    period: str
    as_of: str | None
    requests: tuple  # of shared_validation.AreaRequest
    shared_dir: Path

    def __call__(self) -> dict[str, str]:
        from evidence_lib.shared_validation import prepare_areas

        return prepare_areas(self.evidence_dir, self.period, self.as_of, list(self.requests), self.shared_dir)


@dataclass
class NotebookTask:
    notebook: Path
    folder: Path
    parameters: dict
    header: dict
    with_code: bool = False
    cell_timeout: int = 1800
    #: the run's shared validation, prepared beside it, that its kernel takes its part of (None: none)
    after: Preparation | None = None
    #: what the notebook opens (a shared_validation.AreaRequest): its cells are recorded for its kernel
    area: object | None = None


@dataclass
class NotebookOutcome:
    name: str
    status: str
    seconds: float
    error: str = ""
    results: dict = field(default_factory=dict)
    #: its kernel replayed the cells this worker had recorded for it (recorded.py), rather than computing them
    cells_replayed: bool = False

    @property
    def has_results(self) -> bool:
        return bool(self.results)


#: modules imported by a dependency only to offer checks nothing here uses, at a cost of seconds per process:
#: jsonschema's 'iri' format checker compiles rfc3987_syntax's grammars on import, and papermill, nbformat,
#: nbconvert and GX import jsonschema without ever checking an 'iri'.
UNUSED_SLOW_IMPORTS = ("rfc3987_syntax",)


#: modules GX imports at its own import only for an expectation no suite here uses (KL divergence's
#: scipy.stats): over a second of a preparation's CPU, loaded on first use instead. Only modules their
#: importers reach as `from package import module` can wait: a plain `import module` reads the
#: module's __spec__, which loads it at once (altair, imported by the same GX module, is such a case).
DEFERRED_IMPORTS = ("scipy.stats",)


def skip_unused_slow_imports() -> None:
    """In a process of ours (the CLI, a run's worker), make UNUSED_SLOW_IMPORTS fail as absent (their
    importers suppress ImportError and go without) and DEFERRED_IMPORTS load on first use (a module object
    stands in until an attribute is read); a module already imported stays."""
    for name in UNUSED_SLOW_IMPORTS:
        sys.modules.setdefault(name, None)
    for name in DEFERRED_IMPORTS:
        _import_on_first_use(name)


def _import_on_first_use(name: str) -> None:
    """importlib's LazyLoader: the module is bound at import, executed when first touched."""
    import importlib.util

    if name in sys.modules:
        return
    spec = importlib.util.find_spec(name)  # imports the parent package, if any (scipy's is light)
    if spec is None or spec.loader is None:
        return
    spec.loader = importlib.util.LazyLoader(spec.loader)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    parent, _, child = name.rpartition(".")
    if parent:
        setattr(sys.modules[parent], child, module)


def default_jobs() -> int:
    """Notebooks executed at once when not told: one per CPU this process may use (a container's
    CPU set, not the host's), each notebook being one kernel busy on one core."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


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
    recording = _record_cells(task)
    # IPC sockets in a private folder: parallel kernels never race for TCP ports.
    with tempfile.TemporaryDirectory(prefix="evk-") as sockets:
        config = Config({"KernelManager": {"transport": "ipc", "ip": f"{sockets}/kernel"}})
        try:
            papermill.execute_notebook(str(task.notebook), str(executed), parameters=task.parameters,
                                       cwd=str(task.notebook.parent), progress_bar=False, log_output=False,
                                       execution_timeout=task.cell_timeout, config=config, kernel_name="python3",
                                       # jupyter_client interrupts a kernel before shutting it down, and
                                       # ipykernel logs that as an ERROR; cell errors reach the notebook.
                                       extra_arguments=["--IPKernelApp.log_level=CRITICAL"],
                                       # Every cell has replied and every output arrived: the kernel has
                                       # nothing left to do but exit, which it takes ~0.4 s to do politely.
                                       shutdown_kernel="immediate")
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
    replayed = recording is not None and replayed_marker(recording).exists()
    return NotebookOutcome(name, status, round(time.perf_counter() - started, 2), error, results, replayed)


#: the arguments a notebook opens its area with that papermill passes it as they are
OPEN_ARGUMENTS = ("period", "evidence_dir", "as_of", "mask_pii", "mask_key_file", "run_id")


def _record_cells(task: NotebookTask) -> Path | None:
    """The notebook's cells shown here from its part of the run's preparation and recorded, for its kernel
    to replay without importing pandas (recorded.py): this worker imports it once for all its notebooks.
    The worker, not the kernel, waits for the part. No part, or anything failing, leaves no recording: the
    kernel then opens the area itself and shows any error where the notebook shows it."""
    if task.after is None or task.area is None:
        return None
    from evidence_lib.area import TestedArea
    from evidence_lib.recorded import record_cells
    from evidence_lib.showing import ShownArea

    options = {k: task.parameters[k] for k in OPEN_ARGUMENTS if k in task.parameters}
    options["parameters"] = dict(task.area.parameters)
    try:
        tested = TestedArea.open(task.area.control_ids, **options, prepared_only=True)
        if tested is None:  # nothing prepared for it (the preparation failed): the kernel computes, as alone
            return None
        return record_cells(ShownArea(tested), task.area.control_ids, task.area.charts, options,
                            Path(task.after.shared_dir))
    except Exception:  # the kernel computes what could not be recorded, and shows why
        logging.getLogger(__name__).debug("cells of %s not recorded", task.notebook.name, exc_info=True)
        return None


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    # papermill's message is the whole traceback; its last line names the exception.
    return f"{type(exc).__name__}: {text[-1] if text else ''}"


def execute_tasks(tasks: list[NotebookTask], jobs: int, progress: bool, label: str) -> list[NotebookOutcome]:
    """Run the tasks over worker processes; on any interruption, stop the workers and their kernels first.

    A run's preparation is handed to the workers first, then every notebook in order: a worker left
    free starts the next notebook at once, whose kernel then waits for its part of the preparation
    (shared_validation.find_area) while the preparation is under way. The run says when it is over,
    however it ended (a notebook whose part was never stored then validates the evidence itself).
    """
    from tqdm import tqdm

    from evidence_lib.shared_validation import preparing_marker

    preparations = list({id(task.after): task.after for task in tasks if task.after is not None}.values())
    shared_dirs = {str(p.shared_dir) for p in preparations}
    outcomes: list[NotebookOutcome] = []
    pool = ProcessPoolExecutor(max_workers=max(1, jobs), mp_context=get_context("spawn"),
                               initializer=_worker_started, initargs=(os.getpid(), min(shared_dirs, default=None)))
    try:
        with tqdm(total=len(tasks), desc=f"{label} notebooks", unit="nb", disable=not progress,
                  file=sys.stderr) as bar:
            for preparation in preparations:
                preparing_marker(preparation.shared_dir).touch()
            # Submitted in this order, taken in this order: the preparation is under way before any notebook.
            waiting = {pool.submit(p): p for p in preparations}
            running = {pool.submit(run_notebook, t) for t in tasks}
            while waiting or running:
                done, _ = wait(set(waiting) | running, return_when=FIRST_COMPLETED)
                for future in done:
                    if future in waiting:
                        preparing_marker(waiting.pop(future).shared_dir).unlink(missing_ok=True)
                        if future.exception() is not None:
                            bar.write(f"shared validation not prepared ({_one_line(future.exception())}): "
                                      f"the notebooks without their part validate the evidence themselves")
                        continue
                    running.discard(future)
                    outcomes.append(future.result())
                    bar.set_postfix_str(f"{outcomes[-1].name}: {outcomes[-1].status}")
                    bar.update()
    except BaseException:
        _stop_workers(pool)
        raise
    pool.shutdown(wait=True)
    return outcomes


def _worker_started(run_pid: int, shared_dir: str | None) -> None:
    """In each worker: Ctrl-C is the run's to handle, and the worker (with its kernel) dies with the run.
    The worker's kernels find the run's shared validation through the environment they inherit."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    atexit.register(_exit_without_teardown)
    skip_unused_slow_imports()
    if shared_dir is not None:
        from evidence_lib.shared_validation import SHARED_DIR_VARIABLE

        os.environ[SHARED_DIR_VARIABLE] = shared_dir
    threading.Thread(target=_watch_run, args=(run_pid,), name="watch-run", daemon=True).start()


def _exit_without_teardown() -> None:
    """A worker's last step (the last exit handler to run): its results are already sent, and Python's
    teardown of what a notebook's run imported takes ~1.5 s once GX is among it, which the run
    would wait for."""
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


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
