"""The reports' share of a run: curves.png drawn by ``train_reports.plot_curves`` in fresh processes.

    python benchmarks/bench_reports.py              # 8 rounds
    python benchmarks/bench_reports.py --rounds 12

Each round is a fresh process that has already imported numpy and tinygrad_lab's train_reports (as
a run has when it writes its reports), then imports what ``plot_curves`` imports (Pillow, through
``tinygrad_lab.line_chart``) and draws a 5-epoch history (train, validation and test curves) to a
PNG, written atomically.  Printed per round and as medians: the import's and the draw-and-write's
wall and CPU seconds; and whether the process loaded matplotlib (it should not).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = """
import json, sys, time
from pathlib import Path
import numpy
from tinygrad_lab.train_reports import plot_curves

wall, cpu = time.perf_counter(), time.process_time()
import tinygrad_lab.line_chart
imported = time.perf_counter() - wall, time.process_time() - cpu

history = [{"epoch": e, "train_loss": 0.23 / e, "val_loss": 0.12 - 0.013 * e, "val_accuracy": 0.965 + 0.003 * e,
            "test_loss": 0.11 - 0.012 * e, "test_accuracy": 0.966 + 0.003 * e} for e in range(1, 6)]
wall, cpu = time.perf_counter(), time.process_time()
path = plot_curves(history, Path(sys.argv[1]), title="mnist: 784-512-256-10 relu, adam")
drawn = time.perf_counter() - wall, time.process_time() - cpu
print(json.dumps({"import_wall": imported[0], "import_cpu": imported[1], "draw_wall": drawn[0],
                  "draw_cpu": drawn[1], "matplotlib": "matplotlib" in sys.modules, "png_bytes": path.stat().st_size}))
"""


def round_once(out: Path) -> dict:
    done = subprocess.run([sys.executable, "-c", CHILD, str(out)], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    if done.returncode != 0:
        sys.exit(f"the drawing process failed:\n{done.stderr}")
    return json.loads(done.stdout.splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        rows = [round_once(Path(tmp) / "curves.png") for _ in range(args.rounds)]
    keys = ("import_wall", "import_cpu", "draw_wall", "draw_cpu")
    for i, row in enumerate(rows, 1):
        print(f"round {i}: " + "  ".join(f"{k} {row[k]:.3f} s" for k in keys) + f"  matplotlib {row['matplotlib']}")
    print("median:  " + "  ".join(f"{k} {statistics.median(r[k] for r in rows):.3f} s" for k in keys)
          + f"  matplotlib {any(r['matplotlib'] for r in rows)}  png {rows[0]['png_bytes']:,} bytes")


if __name__ == "__main__":
    main()
