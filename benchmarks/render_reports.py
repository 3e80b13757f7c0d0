"""How long rendering a package's reports takes, and how large the package is with them.

Re-renders every executed.ipynb of an existing package (an `evidence run` output folder) with
`evidence_lib.render.render_report`, in this one process, the way a worker renders the notebooks
it ran: the first report pays for the imports and the template's compilation, the others not.
Nothing in the package is changed; the reports go to a scratch folder.

    python benchmarks/render_reports.py out/2026-Q3/<run> [--with-code] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path


def header_for(run_dir: Path, notebook: str) -> dict:
    """A report header like the run's, from the package's manifest (its values do not change the timing)."""
    manifest = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
    return {"title": notebook, "period": manifest["period"]["label"] if isinstance(manifest["period"], dict)
            else manifest["period"], "run_id": manifest["run_id"], "generated_at": manifest["started_at"],
            "prepared_by": manifest["prepared_by"], "status": "exceptions", "error": "",
            "controls": [{"control": c["control"], "title": c["title"]} for c in manifest["controls"]
                         if c["notebook"] == notebook],
            "parameters": {}, "inputs": manifest["inputs"]["evidence"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--with-code", action="store_true")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    started = time.perf_counter()
    from evidence_lib.render import render_report
    imported = time.perf_counter() - started
    executed = sorted(args.run_dir.glob("*/executed.ipynb"))
    seconds: list[float] = []
    sizes: dict[str, int] = {}
    with tempfile.TemporaryDirectory() as scratch:
        for round_ in range(args.repeat):
            for notebook in executed:
                target = Path(scratch) / notebook.parent.name / "report.html"
                target.parent.mkdir(exist_ok=True)
                began = time.perf_counter()
                render_report(notebook, target, header=header_for(args.run_dir, notebook.parent.name),
                              with_code=args.with_code)
                seconds.append(time.perf_counter() - began)
                if round_ == 0:
                    sizes[notebook.parent.name] = target.stat().st_size
    others = sum(p.stat().st_size for p in args.run_dir.rglob("*") if p.is_file() and p.name != "report.html")
    print(f"import evidence_lib.render: {imported:.2f} s")
    print(f"first report: {seconds[0]:.2f} s (imports, template compiled); then median "
          f"{statistics.median(seconds[1:] or seconds):.2f} s per report over {len(seconds) - 1}")
    for name, size in sizes.items():
        print(f"  {name}/report.html  {size / 1e3:7.1f} KB")
    reports = sum(sizes.values())
    print(f"reports {reports / 1e3:.0f} KB; package with them {(others + reports) / 1e3:.0f} KB "
          f"({others / 1e3:.0f} KB of other files)")


if __name__ == "__main__":
    main()
