"""How long ``check_backprop`` takes: a 20-trial check of a right and of a wrong hand-written backprop
on the homework's 2-3-2 sigmoid net, and the whole ``tinygrad-lab check-backprop`` command.

    python benchmarks/bench_check_backprop.py [--repeat 20]

* fresh: ``tinygrad-lab check-backprop FILE.py:FUNC`` in a new interpreter, end to end (imports,
  loading the file, the check, the report), the median of 3 runs;
* first call: the first check in a new interpreter after ``import tinygrad_lab.testing`` (what a
  notebook cell or a pytest file pays once);
* warm: later checks in the same interpreter, the median of ``--repeat``.

A wrong function costs a little more than a right one: the diagnosis runs the known mistakes
through the recursion, each until the first trial its numbers differ from the function's.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

STUDENT = '''
import numpy as np


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def backprop(W, b, x, t, slip=False):
    z1 = W[0] @ x + b[0]
    a1 = sigmoid(z1)
    a2 = sigmoid(W[1] @ a1 + b[1])
    delta2 = (a2 - t) * a2 * (1 - a2)
    s1 = sigmoid(a1) if slip else a1                 # the slip: σ'(a(1)) for σ'(z(1))
    delta1 = s1 * (1 - s1) * (W[1].T @ delta2)
    return [np.outer(delta1, x), np.outer(delta2, a1)], [delta1, delta2]


def backprop_wrong(W, b, x, t):
    return backprop(W, b, x, t, slip=True)
'''

FIRST_CALL = '''
import sys, time
sys.path.insert(0, {folder!r})
import tinygrad_lab.testing
import mine
start = time.perf_counter()
tinygrad_lab.testing.check_backprop(mine.{name})
print(time.perf_counter() - start)
'''


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).resolve().parents[1]),
                                                         os.environ.get("PYTHONPATH", "")])}
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "mine.py").write_text(STUDENT)
        sys.path.insert(0, folder)
        import mine
        from tinygrad_lab.testing import check_backprop

        for name in ("backprop", "backprop_wrong"):
            fresh = []
            for _ in range(3):
                start = time.perf_counter()
                subprocess.run([sys.executable, "-m", "tinygrad_lab.cli", "check-backprop",
                                f"{folder}/mine.py:{name}"], env=env, capture_output=True, check=False)
                fresh.append(time.perf_counter() - start)
            first = float(subprocess.run([sys.executable, "-c", FIRST_CALL.format(folder=folder, name=name)],
                                         env=env, capture_output=True, text=True, check=True).stdout)
            warm = []
            for _ in range(args.repeat):
                start = time.perf_counter()
                report = check_backprop(getattr(mine, name))
                warm.append(time.perf_counter() - start)
            print(f"{name:<15} ({'right' if report.ok else 'wrong'}): 20 trials, 2-3-2 sigmoid: "
                  f"command in a fresh process {statistics.median(fresh):.2f} s, "
                  f"first call {first * 1e3:.0f} ms, warm {statistics.median(warm) * 1e3:.1f} ms")


if __name__ == "__main__":
    main()
