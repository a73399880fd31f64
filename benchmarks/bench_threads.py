"""Each GEMM of the benchmark MLPs at every BLAS thread count: where do more threads pay?

    python benchmarks/bench_threads.py            # models A, B, C at batch 32, 128, 512, float32
    python benchmarks/bench_threads.py --quick

For every layer of A = 784-100-100-10, B = 784-512-256-10 and C = 784-(100x8)-10 the three products
of a training step are timed: forward a Wᵀ (batch×in by in×out), weight gradient δᵀ a (out×batch by
batch×in) and input gradient δ W (batch×out by out×in).  The thread counts alternate inside every
repetition (1, 2, …, then the reverse order), so a drift of the machine's clock hits all counts
alike; the figure is the median.  The table gives each shape's flops, the time per thread count and
the speed-up of the best count over one thread, sorted by flops, and ends with the crossover: the
smallest product from which on every larger one gains at least 10 % from more threads.  That number
is what ``tinygrad_lab.threads.SERIAL_BELOW_FLOPS`` holds.  Then a whole training step of each model
(batch 128, Adam, float32, the fused MLP that ``train`` builds) runs under each policy — one thread,
every thread, and ``auto`` — interleaved the same way, in samples/s.  Results go to
results_threads.json.
"""
from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np

from tinygrad_lab import threads

MODELS = {"A": [784, 100, 100, 10], "B": [784, 512, 256, 10], "C": [784] + [100] * 8 + [10]}


def shapes(batches) -> list[tuple[int, int, int]]:
    """Every distinct (m, k, n) of the step's products, the first layer's input gradient excluded."""
    found = set()
    for sizes in MODELS.values():
        for batch in batches:
            for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
                found |= {(batch, n_in, n_out), (n_out, batch, n_in)}
                if i:
                    found.add((batch, n_out, n_in))
    return sorted(found, key=lambda s: s[0] * s[1] * s[2])


def time_shape(m, k, n, counts, reps, blas) -> dict[int, float]:
    rng = np.random.default_rng(0)
    a, b = rng.random((m, k), dtype=np.float32), rng.random((k, n), dtype=np.float32)
    out = np.empty((m, n), dtype=np.float32)
    inner = max(1, int(2e7 // (2 * m * k * n)))  # ~10 ms of work per timing at 2 GFLOP/s
    times: dict[int, list[float]] = {c: [] for c in counts}
    for rep in range(reps):
        for c in (counts if rep % 2 == 0 else counts[::-1]):
            blas.set_num_threads(c)
            t0 = time.perf_counter()
            for _ in range(inner):
                np.matmul(a, b, out=out)
            times[c].append((time.perf_counter() - t0) / inner)
    return {c: statistics.median(v) for c, v in times.items()}


def crossover(rows, gain=1.1) -> int:
    """The smallest flops from which on every product gains ``gain``x from more than one thread."""
    flops = [r["flops"] for r in rows]
    best = [min(r["us"][c] for c in r["us"] if c != "1") for r in rows]
    for i in range(len(rows)):
        if all(rows[j]["us"]["1"] >= gain * best[j] for j in range(i, len(rows))):
            return flops[i]
    return flops[-1] * 2


def step_rates(policies, reps, batch=128) -> dict[str, dict[str, float]]:
    """Samples/s of one Adam training step of each model under each thread policy (medians)."""
    import tinygrad_lab as tl

    rng = np.random.default_rng(0)
    x = tl.Tensor(rng.random((batch, 784), dtype=np.float32))
    y = rng.integers(0, 10, batch)
    steps = {}
    for name, sizes in MODELS.items():
        model = tl.nn.MLP(sizes, seed=0, dtype=np.float32, fuse=True)
        optimizer = tl.optim.Adam(model.parameters(), lr=1e-3)

        def step(model=model, optimizer=optimizer):
            loss = tl.cross_entropy(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        steps[name] = step
    times = {(m, str(p)): [] for m in MODELS for p in policies}
    for rep in range(reps):
        for policy in (policies if rep % 2 == 0 else policies[::-1]):
            threads.set_threads(policy)
            for name, step in steps.items():
                step()  # warm: the first step after a switch pays for waking threads
                t0 = time.perf_counter()
                for _ in range(10):
                    step()
                times[(name, str(policy))].append((time.perf_counter() - t0) / 10)
    threads.set_threads("auto")
    return {m: {str(p): batch / statistics.median(times[(m, str(p))]) for p in policies} for m in MODELS}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="batch 128 only, fewer repetitions")
    parser.add_argument("--out", default=str(Path(__file__).with_name("results_threads.json")))
    args = parser.parse_args(argv)
    info = threads.describe()
    blas = threads._controller()
    if not blas:
        raise SystemExit("numpy's BLAS is not OpenBLAS (or threadpoolctl is missing): nothing to measure")
    counts = list(range(1, info["max_threads"] + 1))
    batches, reps = ([128], 7) if args.quick else ([32, 128, 512], 15)
    print(f"{info['library']}, kernel {info['kernel']}, up to {info['max_threads']} threads")
    print(f"{'m x k x n':>18} {'MFLOP':>8} " + " ".join(f"{str(c) + ' thr us':>10}" for c in counts)
          + f" {'speed-up':>9}")
    rows = []
    for m, k, n in shapes(batches):
        us = {str(c): 1e6 * t for c, t in time_shape(m, k, n, counts, reps, blas).items()}
        best = min(us.values())
        rows.append({"m": m, "k": k, "n": n, "flops": 2 * m * k * n, "us": us})
        print(f"{f'{m}x{k}x{n}':>18} {2 * m * k * n / 1e6:8.2f} "
              + " ".join(f"{us[str(c)]:10.1f}" for c in counts) + f" {us['1'] / best:8.2f}x")
    blas.set_num_threads(info["max_threads"])
    cut = crossover(rows) if len(counts) > 1 else None
    print(f"crossover: more threads pay from {cut} flops on "
          f"(tinygrad_lab.threads.SERIAL_BELOW_FLOPS = {threads.SERIAL_BELOW_FLOPS})")
    policies = [1, info["max_threads"], "auto"] if info["max_threads"] > 1 else [1]
    rates = step_rates(policies, 3 if args.quick else 9)
    print("training step, batch 128, Adam, samples/s by thread policy:")
    for name, by_policy in rates.items():
        print(f"  {name} " + "  ".join(f"{p}: {r / 1e3:.1f}k" for p, r in by_policy.items()))
    Path(args.out).write_text(json.dumps({"blas": info, "rows": rows, "crossover_flops": cut, "step_samples_per_s": rates},
                                         indent=1))


if __name__ == "__main__":
    main()
