"""How long a period's run takes, against the floor of the tools it is built on, and where the time goes.

The floor runs as many one-cell notebooks as the period run has, through papermill's API and
nbconvert's HTML exporter, in as many spawned worker processes as `--jobs`: kernel starts, one
cell each, renders — no evidence, no GX. The period run is `evidence run` on the sample company.
Both run here, now, alternately, so their ratio means something on a loaded machine too.

The profile splits one package's notebooks into kernel start and shutdown, each cell (papermill
records every cell's duration in the executed notebook) and the render.

    python benchmarks/period_run.py [--jobs 2] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "data" / "samples" / "2026-Q3"


def one_cell_notebook(folder: str) -> None:
    """Execute a one-cell notebook with papermill and render it with nbconvert's exporter (in a worker)."""
    import nbformat
    import papermill
    from nbconvert import HTMLExporter

    folder = Path(folder)
    folder.mkdir(parents=True)
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(1)")])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    source, executed = folder / "one.ipynb", folder / "one.out.ipynb"
    nbformat.write(notebook, source)
    papermill.execute_notebook(str(source), str(executed), progress_bar=False, kernel_name="python3")
    body, _ = HTMLExporter(template_name="lab").from_filename(str(executed))
    (folder / "one.html").write_text(body)


def floor_once(scratch: Path, notebooks: int, jobs: int) -> float:
    started = time.perf_counter()
    with ProcessPoolExecutor(max_workers=jobs, mp_context=get_context("spawn")) as pool:
        list(pool.map(one_cell_notebook, [str(scratch / f"floor-{time.time_ns()}-{i}") for i in range(notebooks)]))
    return time.perf_counter() - started


def period_once(out: Path, jobs: int) -> tuple[float, Path]:
    started = time.perf_counter()
    finished = subprocess.run([sys.executable, "-m", "evidence_lib.cli", "run", "--period", "2026-Q3",
                               "--evidence-dir", str(SAMPLE), "--out", str(out), "--jobs", str(jobs)],
                              capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if finished.returncode not in (0, 1):
        sys.exit(f"evidence run failed ({finished.returncode}):\n{finished.stdout}\n{finished.stderr}")
    opened = next(line for line in finished.stdout.splitlines() if line.startswith("open "))
    return seconds, Path(opened.removeprefix("open ")).parent


def profile(run_dir: Path) -> list[tuple[str, float, float, list[tuple[str, float]]]]:
    """(notebook, seconds in all, seconds in cells, the slowest cells) from each executed notebook's records."""
    manifest = json.loads((run_dir / "manifest.json").read_text())
    seconds = {n["name"]: n.get("seconds", 0.0) for n in manifest.get("notebooks", [])}
    rows = []
    for executed in sorted(run_dir.glob("*/executed.ipynb")):
        cells = [(_first_line(c["source"]), c["metadata"]["papermill"]["duration"])
                 for c in json.loads(executed.read_text())["cells"]
                 if c["cell_type"] == "code" and c["metadata"].get("papermill", {}).get("duration") is not None]
        name = executed.parent.name
        rows.append((name, seconds.get(name, 0.0), sum(s for _, s in cells), sorted(cells, key=lambda c: -c[1])[:3]))
    return rows


def _first_line(source: str | list[str]) -> str:
    text = "".join(source) if isinstance(source, list) else source
    return text.strip().splitlines()[0][:48] if text.strip() else ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    from evidence_lib.run import plan

    notebooks = len(plan())
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        floors, runs = [], []
        for _ in range(args.repeat):  # alternately: a load that comes and goes weighs on both
            floors.append(floor_once(scratch, notebooks, args.jobs))
            runs.append(period_once(scratch / "out", args.jobs))
        floor = statistics.median(floors)
        period = statistics.median(seconds for seconds, _ in runs)
        run_dir = runs[-1][1]
        size = sum(p.stat().st_size for p in run_dir.rglob("*") if p.is_file())
        files = sum(1 for p in run_dir.rglob("*") if p.is_file())
        rows = profile(run_dir)
    print(f"floor: {notebooks} one-cell notebooks, papermill + nbconvert, {args.jobs} workers  "
          f"{floor:6.2f} s  (median of {args.repeat})")
    print(f"evidence run --period 2026-Q3 --jobs {args.jobs}                       {period:6.2f} s  "
          f"(median of {args.repeat}), {notebooks} notebooks")
    print(f"ratio: {period / floor:.2f}x the floor")
    print(f"package: {files} files, {size / 1e6:.2f} MB")
    print("\nprofile of the last run (seconds): notebook, in all (execute + render), in cells, slowest cells")
    for name, total, cells, slowest in rows:
        shown = "; ".join(f"{source!r} {s:.2f}" for source, s in slowest)
        print(f"  {name:24} {total:6.2f} {cells:6.2f}  {shown}")


if __name__ == "__main__":
    main()
