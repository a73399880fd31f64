"""One training step of two checkouts of the package, eager and captured, in alternating processes.

    python benchmarks/bench_checkouts.py --checkout /path/to/old --checkout . --rounds 4
    python benchmarks/bench_checkouts.py ... --json out.json

Each round runs one fresh process per checkout (the order alternates from round to round, so the
machine's slow and fast stretches hit both alike); a process times, for every model, the eager step
(``nn.MLP(fuse=True)``, float32, cross-entropy, ``zero_grad``, ``backward``, Adam) and the same step
through ``tinygrad_lab.capture``, each as the median of ``--steps`` steps after a warm-up.  Printed:
per checkout and model, the best of the rounds' medians (µs per step) and the ratio to the first
checkout, with the BLAS library, kernel and thread count (threadpoolctl) of the run.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

MODELS = {"tiny 20-32-10 b16": ([20, 32, 10], 16), "B 784-512-256-10 b128": ([784, 512, 256, 10], 128),
          "C 784-(100x8)-10 b128": ([784] + [100] * 8 + [10], 128)}

CHILD = r"""
import json, sys, time
import numpy as np
import tinygrad_lab as tg
from tinygrad_lab import Tensor, nn, optim, threads
from tinygrad_lab.capture import capture

models, steps = json.loads(sys.argv[1]), int(sys.argv[2])
out = {"blas": threads.describe()}
for name, (sizes, batch) in models.items():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(batch, sizes[0])).astype(np.float32)
    y = rng.integers(0, sizes[-1], batch)
    for mode in ("eager", "captured"):
        model = nn.MLP(sizes, seed=0, dtype=np.float32, fuse=True)
        opt = optim.Adam(model.parameters(), lr=1e-3)

        def step(x, y):
            opt.zero_grad()
            loss = tg.cross_entropy(model(Tensor(x)), y)
            loss.backward()
            opt.step()
            return loss.item()

        run = capture(step) if mode == "captured" else step
        for _ in range(20):
            run(x, y)
        times = []
        for _ in range(steps):
            t0 = time.perf_counter()
            run(x, y)
            times.append(time.perf_counter() - t0)
        out[f"{name} {mode}"] = float(np.median(times)) * 1e6
print(json.dumps(out))
"""


def run(checkout: str, steps: int) -> dict:
    env = dict(os.environ, PYTHONPATH=os.path.abspath(checkout))
    done = subprocess.run([sys.executable, "-c", CHILD, json.dumps(MODELS), str(steps)], env=env,
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkout", action="append", required=True, help="a checkout's root (give two)")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--steps", type=int, default=300, help="timed steps per model and mode")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    best: dict[str, dict[str, float]] = {c: {} for c in args.checkout}
    blas = None
    for r in range(args.rounds):
        order = args.checkout if r % 2 == 0 else args.checkout[::-1]
        for checkout in order:
            result = run(checkout, args.steps)
            blas = result.pop("blas")
            for key, us in result.items():
                best[checkout][key] = min(us, best[checkout].get(key, float("inf")))
    first = args.checkout[0]
    print(f"BLAS {blas['library']}, kernel {blas['kernel']}, {blas['max_threads']} threads (policy {blas['policy']}); "
          f"load average {os.getloadavg()[0]:.1f}; best of {args.rounds} rounds' medians, µs per step")
    print(f"{'model and mode':<34}" + "".join(f"{os.path.basename(os.path.abspath(c)) or c:>18}" for c in args.checkout)
          + "   ratio")
    for key in best[first]:
        values = [best[c][key] for c in args.checkout]
        print(f"{key:<34}" + "".join(f"{v:>18.1f}" for v in values) + f"   {values[-1] / values[0]:.3f}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"blas": blas, "rounds": args.rounds, "steps": args.steps, "best_us": best}, f, indent=1)


if __name__ == "__main__":
    main()
