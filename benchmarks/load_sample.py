"""How long loading an evidence folder takes once the library is imported.

    python benchmarks/load_sample.py [FOLDER] [--repeat N]

Prints the import time, then the best and median of N loads, per file and in total.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

started = time.perf_counter()
from evidence_lib.sources.folder import load_folder  # noqa: E402

imported = time.perf_counter() - started


def main(argv: list[str]) -> None:
    folder = Path(argv[0]) if argv and not argv[0].startswith("--") else Path("data/samples/2026-Q3")
    repeat = int(argv[argv.index("--repeat") + 1]) if "--repeat" in argv else 5
    times, evidence = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        evidence = load_folder(folder)
        times.append(time.perf_counter() - t0)
    rows = sum(o.loaded.provenance.rows_kept for o in evidence.outcomes if o.loaded)
    print(f"import evidence_lib: {imported:.2f}s")
    print(f"load {folder}: {len(evidence.outcomes)} files, {rows} rows; "
          f"best {min(times):.3f}s, median {statistics.median(times):.3f}s over {repeat} runs")
    if not evidence.ok:
        print(f"problems: {len(evidence.problems)}", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1:])
