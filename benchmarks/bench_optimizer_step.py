"""What an optimizer step costs: per parameter and flat (``flat=True``), and what it would cost it to
guarantee that it writes no NaN or inf its inputs did not hold.

    python benchmarks/bench_optimizer_step.py                  # ~40 s
    python benchmarks/bench_optimizer_step.py --reps 9 --json out.json
    python benchmarks/bench_optimizer_step.py --sizes 20,32,32,32,32,32,32,32,32,10   # many small tensors

The parameters of the 784-512-256-10 MLP (535,818 float32 values, 6 tensors; ``--sizes`` for
another MLP) with a random gradient.  Timed, alternating, per optimizer: one eager
``optimizer.step()``, one step of the same optimizer with ``flat=True`` (on a twin of the
parameters: one update per group over flat buffers), and one pass of the backend's ``all_finite``
over every parameter (what checking each update after it is written would add).  Refusing the
settings that divide 0 by 0 (eps = 0) costs nothing per step: it is checked with the other
hyperparameters.  Reported: µs per call, median and min over repetitions of 50 calls.
"""
from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np

from tinygrad_lab import nn, optim
from tinygrad_lab.backend import get_backend
from tinygrad_lab.tensor import Tensor

OPTIMIZERS = {"sgd": {"lr": 1e-3}, "sgd-momentum": {"lr": 1e-3, "momentum": 0.9}, "adagrad": {"lr": 1e-3},
              "rmsprop": {"lr": 1e-3}, "adam": {"lr": 1e-3}, "nadam": {"lr": 1e-3}, "adadelta": {"lr": 1e-3}}


def timed(fn, calls: int = 50) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - start) / calls * 1e6


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--json")
    parser.add_argument("--sizes", default="784,512,256,10", help="the MLP's layer sizes")
    args = parser.parse_args(argv)
    sizes = [int(n) for n in args.sizes.split(",")]
    params, twins = ([p for p in nn.MLP(sizes, seed=0, dtype=np.float32).parameters()] for _ in range(2))
    for p, q in zip(params, twins):
        rng = np.random.default_rng(p.size)
        p.grad = Tensor(rng.standard_normal(p.shape).astype(np.float32) * 1e-3)
        q.grad = Tensor(p.grad.data.copy())
    flats = [p.data.reshape(-1) for p in params]
    all_finite = get_backend().all_finite
    results = {"sizes": sizes, "parameters": int(sum(p.size for p in params)), "tensors": len(params),
               "backend": get_backend().NAME, "us": {}}
    for name, kw in OPTIMIZERS.items():
        cls = optim.REGISTRY[name.split("-")[0]]
        opt, flat = cls(params, **kw), cls(twins, **kw, flat=True)
        opt.step(), flat.step()  # compile, create the state
        steps, flat_steps, checks = [], [], []
        for _ in range(args.reps):
            steps.append(timed(opt.step))
            flat_steps.append(timed(flat.step))
            checks.append(timed(lambda: all(all_finite(f) for f in flats)))
        results["us"][name] = {"step_median": statistics.median(steps), "step_min": min(steps),
                               "flat_median": statistics.median(flat_steps), "flat_min": min(flat_steps),
                               "check_median": statistics.median(checks), "check_min": min(checks)}
        r = results["us"][name]
        print(f"{name:13s} step {r['step_median']:7.0f} µs (min {r['step_min']:5.0f})   flat "
              f"{r['flat_median']:7.0f} µs (min {r['flat_min']:5.0f})   all_finite over the "
              f"parameters {r['check_median']:5.0f} µs (min {r['check_min']:4.0f}) = "
              f"{r['check_min'] / r['step_min']:.0%} of a step")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    return results


if __name__ == "__main__":
    main()
