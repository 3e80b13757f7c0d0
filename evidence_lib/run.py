"""A period's run: plan it, execute its notebooks, package what they found.

Three steps, each its own function: `plan_run` checks everything a user can get wrong and
returns a `RunPlan` (nothing is written); `execute_plan` turns the plan's notebook tasks into
outcomes in worker processes (notebook_runner.py); `write_package` builds the manifest document
(manifest.py), renders the index and finishes the package. `run_period` is the three in a row.
"""

from __future__ import annotations

import ast
import getpass
import json
import os
import re
import secrets
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from evidence_lib.controls import Catalog, load_catalog
from evidence_lib.errors import EvidenceError
from evidence_lib.manifest import MANIFEST_SCHEMA_VERSION, manifest_document, write_package
from evidence_lib.notebook_runner import (
    NotebookOutcome,
    NotebookTask,
    Preparation,
    default_jobs,
    execute_tasks,
    run_notebook,
)
from evidence_lib.package import MANIFEST, PackageBuilder, evidence_hashes, sha256_file
from evidence_lib.parameters import resolve_parameters
from evidence_lib.period import Period, parse_period
from evidence_lib.project import IN_CHECKOUT, NOTEBOOKS_DIR, PROJECT_DIR
from evidence_lib.results import ERROR, EXIT_CODES

__all__ = ["EXIT_CODES", "INVENTORY_NOTEBOOK", "MANIFEST_SCHEMA_VERSION", "NotebookOutcome", "NotebookTask",
           "RunError", "RunPlan", "RunResult", "execute_plan", "plan_run", "run_notebook", "run_period"]

INVENTORY_NOTEBOOK = "00_inventory.ipynb"
#: the analyst's notebook (trail.py): packaged only when asked for (`evidence run --with-explore`)
EXPLORE_NOTEBOOK = "90_explore.ipynb"
#: the latest as-of date a run accepts, in days after the period ends (the export may come months later)
AS_OF_DAYS_AFTER = 400
#: characters of a preparer's name (it is shown in every header)
NAME_CHARS = 200


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


def run_period(period: str, *, evidence_dir: Path, out: Path, only: tuple[str, ...] = (), jobs: int | None = None,
               mask_pii: bool = False, mask_key_file: Path | None = None, with_code: bool = False,
               as_of: str | None = None, parameters: dict | None = None, allow_period_mismatch: bool = False,
               preparer: str | None = None, pdf: bool = False, notebooks_dir: Path = NOTEBOOKS_DIR,
               progress: bool = True, with_explore: bool = False, sign: Path | None = None) -> RunResult:
    """Execute the period's notebooks and write the evidence package; never overwrites a finished run.

    With sign (an Ed25519 private key file, signing.py), manifest.sig is written beside the finished
    manifest; the key is read before anything runs.

    Everything a user can get wrong is checked (`plan_run`) before anything is written. Any failure
    after that (a write error, Ctrl-C, SIGTERM) stops the workers and their kernels and removes the
    half-written package; a failed write is a PackageError naming the path.
    """
    started_clock, started = time.perf_counter(), datetime.now(UTC)
    run_plan = plan_run(period, evidence_dir=evidence_dir, out=out, only=only, jobs=jobs, mask_pii=mask_pii,
                        mask_key_file=mask_key_file, with_code=with_code, as_of=as_of, parameters=parameters,
                        allow_period_mismatch=allow_period_mismatch, preparer=preparer, pdf=pdf,
                        notebooks_dir=notebooks_dir, with_explore=with_explore)
    signing_key = _signing_key(sign)
    evidence = snapshot_evidence(run_plan.evidence_dir)
    with _mask_key(run_plan.mask_pii, run_plan.mask_key_file) as (key_file, key_kind):
        builder = PackageBuilder(run_plan.out, run_plan.period.label)
        with builder.writing():
            started_at = started.isoformat(timespec="seconds")
            outcomes = execute_plan(run_plan, builder, evidence, key_file=key_file, generated_at=started_at,
                                    progress=progress)
            manifest = manifest_document(run_plan, builder.run_id, outcomes, evidence, started_at=started_at,
                                         mask_key=key_kind)
            run_dir = write_package(builder, manifest, pdf=run_plan.pdf)
    if signing_key is not None:
        from evidence_lib.signing import sign_file

        sign_file(run_dir / MANIFEST, signing_key)
    status = manifest["status"]
    return RunResult(run_dir, EXIT_CODES[status], status, outcomes, round(time.perf_counter() - started_clock, 2),
                     sha256_file(run_dir / MANIFEST))


def _signing_key(path: Path | None):
    if path is None:
        return None
    from evidence_lib.signing import load_private_key

    return load_private_key(path)


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
    pdf: bool = False  # also print every report and the index to PDF (headless Chromium)
    catalog: Catalog = field(default_factory=load_catalog, repr=False, compare=False)


def plan_run(period: str, *, evidence_dir: Path, out: Path, only: tuple[str, ...] = (), jobs: int | None = None,
             mask_pii: bool = False, mask_key_file: Path | None = None, with_code: bool = False,
             as_of: str | None = None, parameters: dict | None = None, allow_period_mismatch: bool = False,
             preparer: str | None = None, pdf: bool = False, notebooks_dir: Path = NOTEBOOKS_DIR,
             with_explore: bool = False) -> RunPlan:
    """Check every argument (RunError, DeclarationError, ParameterError... naming what to fix) and write nothing."""
    parsed = parse_period(period)
    catalog = load_catalog()
    thresholds = resolve_parameters(parameters or {}, catalog=catalog)
    as_of = check_as_of(as_of, parsed)
    evidence_dir = Path(evidence_dir).resolve()
    check_evidence_period(evidence_dir, parsed, allow_mismatch=allow_period_mismatch)
    if with_explore and mask_pii:
        raise RunError("--with-explore shows people's records unmasked: run it without --mask-pii")
    notebooks = plan(only, with_explore=with_explore)
    notebooks_dir = Path(notebooks_dir)
    missing = [n for n in notebooks if not (notebooks_dir / n).is_file()]
    if missing:
        raise RunError(f"notebook(s) {missing} not found in {notebooks_dir}")
    if pdf:
        from evidence_lib.pdf import find_chromium

        find_chromium()  # a PdfError now, not after every notebook has run
    return RunPlan(parsed, evidence_dir, Path(out), notebooks_dir, {n: tuple(c) for n, c in notebooks.items()},
                   thresholds, check_preparer(preparer, evidence_dir), as_of=as_of, only=tuple(only),
                   jobs=jobs or default_jobs(),
                   mask_pii=mask_pii, mask_key_file=_check_mask_key(mask_pii, mask_key_file), with_code=with_code,
                   allow_period_mismatch=allow_period_mismatch, pdf=pdf, catalog=catalog)


def plan(only: tuple[str, ...] = (), *, with_explore: bool = False) -> dict[str, list[str]]:
    """notebook file -> the control ids it tests, for every control (or the notebooks of those asked
    for), and the explore notebook (testing none) when asked for. A notebook tests all of its
    controls whichever of them brought it into the run, and its header names them all."""
    catalog = load_catalog()
    known = [c.control_id for c in catalog.controls]
    unknown = [c for c in only if c not in known]
    if unknown:
        raise RunError(f"--only {' '.join(unknown)}: unknown control(s); known: {' '.join(known)}")
    notebooks: dict[str, list[str]] = {INVENTORY_NOTEBOOK: []}
    chosen = {c.notebook for c in catalog.controls if not only or c.control_id in only}
    for control in catalog.controls:
        if control.notebook in chosen:
            notebooks.setdefault(control.notebook, []).append(control.control_id)
    if with_explore:
        notebooks[EXPLORE_NOTEBOOK] = []
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

    #: relative path -> sha256 of every file in the folder but those evidence.yaml ignores
    hashes: dict[str, str]
    #: relative path -> sha256 of exactly the files loading the folder reads (custom mappings included)
    read: dict[str, str]


def snapshot_evidence(evidence_dir: Path) -> EvidenceSnapshot:
    from evidence_lib.sources.folder import files_read

    # The files loading reads, hashed without parsing them: the notebooks parse them (seconds, before
    # any notebook could start, if done here too).
    return EvidenceSnapshot(evidence_hashes(evidence_dir), files_read(evidence_dir))


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
    outlines = {name: outline(run_plan.notebooks_dir / name) for name in run_plan.notebooks}
    tasks = [_task(run_plan, name, outlines[name], builder, values, generated_at, evidence.hashes)
             for name in run_plan.notebooks]
    with tempfile.TemporaryDirectory(prefix="evidence-shared-validation-") as shared_dir:  # mode 0700
        tasks = _sharing_validation(tasks, run_plan, outlines, Path(shared_dir))
        outcomes = sorted(execute_tasks(tasks, run_plan.jobs, progress, run_plan.period.label),
                          key=lambda o: o.name)
    _judge_inputs(outcomes, {**evidence.hashes, **evidence.read})
    if evidence_hashes(run_plan.evidence_dir) != evidence.hashes:
        for outcome in outcomes:
            outcome.status, outcome.error = ERROR, "the evidence folder changed while the run was reading it"
    return outcomes


def _sharing_validation(tasks: list[NotebookTask], run_plan: RunPlan, outlines: dict[str, NotebookOutline],
                        shared_dir: Path) -> list[NotebookTask]:
    """The tasks, each to take its part of the run's one shared validation (shared_validation.py): the
    folder loaded once, and for a notebook testing controls, their verdicts.

    Each request is what the notebook will open: its controls and the thresholds it declares, with
    the values the run passes it (a notebook passing other values computes its own result).
    """
    from evidence_lib.shared_validation import AreaRequest

    if not tasks:
        return tasks
    requests = tuple(AreaRequest(run_plan.notebooks[t.notebook.name],
                                 {k: v for k, v in t.parameters.items() if k in run_plan.parameters},
                                 outlines[t.notebook.name].charts)
                     for t in tasks)
    preparation = Preparation(run_plan.evidence_dir, run_plan.period.label, run_plan.as_of, requests, shared_dir)
    return [replace(t, after=preparation, area=request if outlines[t.notebook.name].opens_area else None)
            for t, request in zip(tasks, requests, strict=True)]


def _task(run_plan: RunPlan, name: str, notebook_outline: NotebookOutline, builder: PackageBuilder, values: dict,
          generated_at: str, evidence_hashes: dict) -> NotebookTask:
    notebook = run_plan.notebooks_dir / name
    folder = builder.work_dir / notebook.stem
    folder.mkdir()
    declared = notebook_outline.parameters
    values = {**values, "results_dir": str(folder)}
    # The key file's path is for the kernel only: the package shows that masking was on, not where the key is.
    shown = {k: v for k, v in values.items() if k in declared and k not in ("results_dir", "run_id", "mask_key_file")}
    parsed = run_plan.period
    return NotebookTask(notebook, folder, {k: v for k, v in values.items() if k in declared}, header={
        "title": f"{notebook_outline.title} — {parsed.label}",
        "controls": [{"control": c, "title": run_plan.catalog.control(c).title} for c in run_plan.notebooks[name]],
        "period": f"{parsed.label} ({parsed.start} to {parsed.end})", "run_id": builder.run_id,
        "generated_at": generated_at, "prepared_by": run_plan.preparer, "parameters": shown,
        "inputs": evidence_hashes,
    }, with_code=run_plan.with_code)


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


_CHART_CALL = re.compile(r"""\.chart\(\s*["'](\w+)["']\s*\)""")


@dataclass(frozen=True)
class NotebookOutline:
    """What a run needs to know of a notebook before executing it, from one read of its file."""

    #: its first '# ' heading (else the file's stem): the report's title
    title: str
    #: the names its cell tagged 'parameters' assigns: the values papermill may pass it
    parameters: frozenset[str]
    #: the charts its code draws (`area.chart("name")`), in order: what the run draws for it beforehand.
    #: One it draws some other way is simply drawn by its kernel.
    charts: tuple[str, ...]
    #: its code opens a control area (`ControlArea.open(`): the run's worker records its cells beforehand
    opens_area: bool = False


def outline(notebook: Path) -> NotebookOutline:
    """The notebook's outline, read as JSON: the run's own process imports neither nbformat nor papermill
    (seconds before the first worker starts), and papermill itself validates the notebook when it runs it."""
    from evidence_lib.charts import CHARTS

    cells = [(c.get("cell_type"), _source(c), c.get("metadata", {}).get("tags", []))
             for c in json.loads(Path(notebook).read_text(encoding="utf-8")).get("cells", [])]
    title = next((s.splitlines()[0][2:].strip() for kind, s, _ in cells if kind == "markdown" and s.startswith("# ")),
                 Path(notebook).stem)
    parameters = next((_assigned_names(s) for kind, s, tags in cells if kind == "code" and "parameters" in tags),
                      frozenset())
    charts = [m for kind, s, _ in cells if kind == "code" for m in _CHART_CALL.findall(s)]
    opens_area = any(kind == "code" and "ControlArea.open(" in s for kind, s, _ in cells)
    return NotebookOutline(title, parameters, tuple(dict.fromkeys(n for n in charts if n in CHARTS)), opens_area)


def _source(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def _assigned_names(source: str) -> frozenset[str]:
    """The names a parameters cell assigns at its top level (with or without a type annotation), as
    papermill's inspection finds them. A cell that is not Python declares nothing: the notebook then
    fails on that cell when it runs, and says so."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return frozenset()
    targets = [t for node in tree.body for t in (node.targets if isinstance(node, ast.Assign)
                                                 else [node.target] if isinstance(node, ast.AnnAssign) else [])]
    return frozenset(t.id for t in targets if isinstance(t, ast.Name))
