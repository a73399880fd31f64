"""Where the time of one training step goes: GEMMs, epilogues, optimizer, Python overhead.

    python benchmarks/profile_step.py                    # B = 784-512-256-10, batch 128, Adam
    python benchmarks/profile_step.py --sizes 784-100-100-100-100-100-100-100-100-10

The step is timed in its three phases (forward + loss, backward, optimizer.step), median over many
repetitions.  Then:

* GEMM: the same matrix products timed alone with numpy (``a @ Wᵀ`` per layer forward; ``δᵀ a``
  and ``δ W`` backward, the first layer's input gradient excluded, as the framework skips it);
* Python overhead: the same graph on a model of width 1 and batch 1, where the arrays are tiny, so
  what remains is the cost of building and walking the graph (and the optimizer's loop);
* epilogues: forward + backward − GEMM − graph overhead (bias, activation, softmax-CE, their
  backward, gradient bookkeeping);
* optimizer kernels: optimizer.step − its loop overhead.
"""
from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np

import tinygrad_lab as tl
from tinygrad_lab import optim
from tinygrad_lab.backend import get_backend


def phases(sizes, batch, reps):
    model = tl.nn.MLP(sizes, activation="relu", seed=0, dtype=np.float32, fuse=True)
    opt = optim.Adam(model.parameters(), lr=1e-3)
    rng = np.random.default_rng(0)
    x = tl.Tensor(rng.random((batch, sizes[0]), dtype=np.float32))
    y = rng.integers(0, sizes[-1], batch)
    times = {"forward": [], "backward": [], "optimizer": []}
    for i in range(reps + 5):
        t0 = time.perf_counter()
        loss = tl.cross_entropy(model(x), y)
        t1 = time.perf_counter()
        opt.zero_grad()
        loss.backward()
        t2 = time.perf_counter()
        opt.step()
        t3 = time.perf_counter()
        if i >= 5:
            for key, dt in zip(times, (t1 - t0, t2 - t1, t3 - t2)):
                times[key].append(dt)
    return {k: statistics.median(v) for k, v in times.items()}


def gemm_time(sizes, batch, reps) -> float:
    rng = np.random.default_rng(0)
    total = 0.0
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        a = rng.random((batch, n_in), dtype=np.float32)
        w = rng.random((n_out, n_in), dtype=np.float32)
        d = rng.random((batch, n_out), dtype=np.float32)
        products = [(a, w.T), (d.T, a)] + ([(d, w)] if i else [])
        for p, q in products:
            samples = []
            for _ in range(reps):
                t0 = time.perf_counter()
                p @ q
                samples.append(time.perf_counter() - t0)
            total += statistics.median(samples)
    return total


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="784-512-256-10")
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--reps", type=int, default=200)
    parser.add_argument("--json", help="also write the figures here")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split("-")]
    real = phases(sizes, args.batch, args.reps)
    tiny = phases([1] * len(sizes), 1, args.reps)
    gemm = gemm_time(sizes, args.batch, args.reps)
    step = sum(real.values())
    parts = {
        "GEMM (BLAS)": gemm,
        "epilogues and gradient bookkeeping": max(real["forward"] + real["backward"] - gemm
                                                  - tiny["forward"] - tiny["backward"], 0.0),
        "optimizer kernels": max(real["optimizer"] - tiny["optimizer"], 0.0),
        "Python: graph build + walk": tiny["forward"] + tiny["backward"],
        "Python: optimizer loop": tiny["optimizer"],
    }
    print(f"model {args.sizes}, batch {args.batch}, Adam, float32, backend {get_backend().NAME}")
    print(f"step {step * 1e3:.3f} ms = {args.batch / step:,.0f} samples/s "
          f"(forward {real['forward'] * 1e3:.3f}, backward {real['backward'] * 1e3:.3f}, "
          f"optimizer {real['optimizer'] * 1e3:.3f} ms)")
    for name, seconds in parts.items():
        print(f"  {name:<38} {seconds * 1e3:8.3f} ms  {100 * seconds / step:5.1f}%")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"sizes": sizes, "batch": args.batch, "step_s": step, "phases_s": real,
                       "parts_s": parts}, f, indent=2)


if __name__ == "__main__":
    main()
