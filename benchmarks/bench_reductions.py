"""The reduction kernels (softmax cross-entropy, batch norm) of both backends, timed per call.

Times ``softmax_xent``, ``xent_grad`` at (128, 10) and ``batchnorm_forward``, ``batchnorm_backward``
at (128, 512), float32 and float64, each the best of several timeit repeats, in the process's CPU
time (``time.process_time``: on a machine shared with other work, the time slices given to other
processes do not count, as they would in wall time).  Given several
checkouts (``--checkout A --checkout B``), each round runs every checkout in a fresh process, in
alternation, so that a change of the machine's load hits both alike; the table gives each
checkout's best over the rounds.

    python benchmarks/bench_reductions.py --checkout /path/to/old --checkout . --rounds 3
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

PROBE = r"""
import json, time, timeit
import numpy as np
from tinygrad_lab.backend import numba_backend, numpy_backend

rng = np.random.default_rng(0)
out = {}
for module in (numba_backend, numpy_backend):
    for dtype in (np.float32, np.float64):
        logits = (rng.standard_normal((128, 10)) * 3).astype(dtype)
        targets = rng.integers(0, 10, 128)
        probs, grad = np.empty_like(logits), np.empty_like(logits)
        x = rng.standard_normal((128, 512)).astype(dtype)
        gamma, beta = rng.standard_normal(512).astype(dtype), rng.standard_normal(512).astype(dtype)
        xhat, y, gy = np.empty_like(x), np.empty_like(x), rng.standard_normal((128, 512)).astype(dtype)
        gx, gg, gb = np.empty_like(x), np.empty_like(gamma), np.empty_like(beta)
        _, var = module.batchnorm_forward(x, gamma, beta, 1e-5, xhat, y)
        inv_std = (1 / np.sqrt(var + 1e-5)).astype(dtype)
        calls = {
            "softmax_xent (128, 10)": lambda: module.softmax_xent(logits, targets, probs),
            "xent_grad (128, 10)": lambda: module.xent_grad(probs, targets, 1 / 128, grad),
            "batchnorm_forward (128, 512)": lambda: module.batchnorm_forward(x, gamma, beta, 1e-5, xhat, y),
            "batchnorm_backward (128, 512)": lambda: module.batchnorm_backward(gy, xhat, gamma, inv_std, gx, gg, gb),
        }
        for name, call in calls.items():
            call()
            number = 2000 if "10)" in name else 200
            best = min(timeit.repeat(call, number=number, repeat=7, timer=time.process_time)) / number
            out[f"{module.NAME} {np.dtype(dtype).name} {name}"] = best * 1e6
print(json.dumps(out))
"""


def run(checkout: Path) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.splitlines()[-1])


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkout", action="append", type=Path, help="a tinygrad_lab checkout (repeatable)")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    checkouts = [c.resolve() for c in args.checkout or [Path(__file__).resolve().parents[1]]]
    best: list[dict[str, float]] = [{} for _ in checkouts]
    for _ in range(args.rounds):
        for i, checkout in enumerate(checkouts):
            for key, value in run(checkout).items():
                best[i][key] = min(value, best[i].get(key, value))
    print(f"{'kernel (CPU µs per call, best)':45}" + "".join(f"{c.name[-16:]:>18}" for c in checkouts))
    for key in best[0]:
        print(f"{key:45}" + "".join(f"{b[key]:18.1f}" for b in best))


if __name__ == "__main__":
    main()
