"""How long a period's run takes, against the floor of the tools it is built on.

The floor is a bare papermill execution of a one-cell notebook followed by nbconvert's HTML
export (kernel start, one cell, render): no evidence, no GX. The period run is
`evidence run` on the sample company. Both run here, now, so their ratio means something.

    python benchmarks/period_run.py [--jobs 2] [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def floor_once(folder: Path) -> float:
    import nbformat
    import papermill
    from nbconvert import HTMLExporter

    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(1)")])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    source, executed = folder / "one.ipynb", folder / "one.out.ipynb"
    nbformat.write(notebook, source)
    started = time.perf_counter()
    papermill.execute_notebook(str(source), str(executed), progress_bar=False, kernel_name="python3")
    body, _ = HTMLExporter(template_name="lab").from_filename(str(executed))
    (folder / "one.html").write_text(body)
    return time.perf_counter() - started


def period_once(out: Path, jobs: int) -> tuple[float, Path]:
    started = time.perf_counter()
    finished = subprocess.run([sys.executable, "-m", "evidence_lib.cli", "run", "--period", "2026-Q3",
                               "--evidence-dir", str(ROOT / "data" / "samples" / "2026-Q3"), "--out", str(out),
                               "--jobs", str(jobs)], capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if finished.returncode not in (0, 1):
        sys.exit(f"evidence run failed ({finished.returncode}):\n{finished.stdout}\n{finished.stderr}")
    run_dir = Path(finished.stdout.strip().splitlines()[-1].removeprefix("open ")).parent
    return seconds, run_dir


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        floors = [floor_once(scratch) for _ in range(args.repeat)]
        runs = [period_once(scratch / "out", args.jobs) for _ in range(args.repeat)]
        floor = statistics.median(floors)
        period = statistics.median(seconds for seconds, _ in runs)
        run_dir = runs[-1][1]
        size = sum(p.stat().st_size for p in run_dir.rglob("*") if p.is_file())
        files = sum(1 for p in run_dir.rglob("*") if p.is_file())
        notebooks = sum(1 for p in run_dir.iterdir() if p.is_dir())
    print(f"floor: papermill + nbconvert, one-cell notebook  {floor:6.2f} s  (median of {args.repeat})")
    print(f"evidence run --period 2026-Q3 --jobs {args.jobs}         {period:6.2f} s  (median of {args.repeat}), "
          f"{notebooks} notebooks")
    print(f"ratio: {period / floor:.1f}x the floor; {period / floor / notebooks * args.jobs:.1f}x per notebook slot")
    print(f"package: {files} files, {size / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
