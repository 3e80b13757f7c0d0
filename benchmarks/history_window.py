"""`evidence history` over many packages: how long reading, verifying and reporting a window takes.

    python benchmarks/history_window.py RUN_DIR [--packages 40]

RUN_DIR is a package written by `evidence run` (e.g. of the sample). Its files are copied into
--packages monthly packages (2024-01 onwards), each keeping a random two thirds of every notebook's
exception rows, so consecutive months share some exceptions and not others; then one `history`
over them all is timed (every package re-hashed, the report and its charts written). Not a test:
numbers depend on the machine and on the size of the template package.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import tempfile
import time
from pathlib import Path

import pandas as pd

from evidence_lib.history_report import history
from evidence_lib.package import MANIFEST, PackageBuilder
from evidence_lib.period import parse_period


def build(template: Path, out: Path, count: int, seed: int = 7) -> None:
    manifest = json.loads((template / MANIFEST).read_text(encoding="utf-8"))
    chance = random.Random(seed)
    for index in range(count):
        period = parse_period(f"{2024 + index // 12}-{index % 12 + 1:02d}")
        builder = PackageBuilder(out, period.label, run_id=f"2027{index // 28 + 1:02d}{index % 28 + 1:02d}T060000Z-"
                                                           f"{index:06x}")
        with builder.writing():
            kept: dict[tuple, int] = {}
            for folder in sorted(p for p in template.iterdir() if p.is_dir() and p.name != "signoffs"):
                shutil.copytree(folder, builder.work_dir / folder.name)
                target = builder.work_dir / folder.name / "exceptions.csv"
                if not target.is_file() or not target.read_text(encoding="utf-8").strip():
                    continue
                rows = pd.read_csv(target, dtype=str, keep_default_na=False)
                keep = [chance.random() < 2 / 3 for _ in range(len(rows))]
                rows = rows.loc[pd.Series(keep, index=rows.index, dtype=bool)]
                target.chmod(0o644)
                rows.to_csv(target, index=False)
                for (control, rule), group in rows.groupby(["control", "rule"]):
                    kept[(control, rule)] = len(group)
            controls = [{**c, "rules": [{**r, "exception_count": kept.get((c["control"], r["rule"]), 0)}
                                        for r in c["rules"]]} for c in manifest["controls"]]
            document = {**manifest, "controls": controls,
                        "period": {"label": period.label, "start": str(period.start), "end": str(period.end)}}
            builder.finish({k: v for k, v in document.items() if k not in ("run_id", "outputs")})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--packages", type=int, default=40)
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="history-bench-") as folder:
        runs = Path(folder) / "runs"
        started = time.perf_counter()
        build(arguments.run_dir, runs, arguments.packages)
        built = time.perf_counter() - started
        size = sum(p.stat().st_size for p in runs.rglob("*") if p.is_file())
        started = time.perf_counter()
        judged, _ = history(runs, out=Path(folder) / "history")
        seconds = time.perf_counter() - started
        print(f"{arguments.packages} packages ({size / 1e6:.0f} MB) built in {built:.1f}s")
        print(f"history over them: {seconds:.2f}s — {len(judged.used)} periods used, {len(judged.matrix)} matrix "
              f"cells, {len(judged.changes)} exception changes, {len(judged.exceptions)} exception rows")


if __name__ == "__main__":
    main()
