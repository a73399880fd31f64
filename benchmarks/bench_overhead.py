"""Per-op overhead of the eager graph: tiny graphs, where the arrays cost nothing and the framework's
Python is all there is, against PyTorch in the same run.

    python benchmarks/bench_overhead.py                 # 7 repetitions, ~1 min
    python benchmarks/bench_overhead.py --reps 3 --json out.json

Graphs (float64 for the op graphs, float32 for the MLP, as each framework's habit):

* ``mul-sum``: ``(a * b).sum().backward()`` on two 4-element leaves (the figure of docs/performance.md);
* ``add-chain-20``: ``y = a; 20 times y = y + b; y.sum().backward()`` on 4-element leaves;
* ``mlp-step``: one SGD step of a 3-layer MLP 8-8-8-2 on a batch of 4 (forward, cross-entropy,
  zero_grad, backward, step).

The contenders alternate (and swap order every repetition) so that the machine's slow and fast
stretches hit both alike.  Reported: µs per call (median and min over repetitions) and the ratios
tinygrad_lab / torch of the medians and of the minima (the steadier figure on a loaded machine).
Results go to benchmarks/results_overhead.json.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time

import numpy as np


def op_graphs(a, b) -> dict:
    """The two op graphs on leaves ``a`` and ``b`` (the same code runs on both frameworks' tensors)."""
    def mul_sum():
        (a * b).sum().backward()

    def add_chain():
        y = a
        for _ in range(20):
            y = y + b
        y.sum().backward()
    return {"mul-sum": mul_sum, "add-chain-20": add_chain}


def tinygrad_lab_graphs() -> dict:
    import tinygrad_lab as tl
    from tinygrad_lab import optim

    graphs = op_graphs(tl.Tensor(np.ones(4), requires_grad=True), tl.Tensor(np.ones(4), requires_grad=True))
    model = tl.nn.MLP([8, 8, 8, 2], seed=0, dtype=np.float32)
    optimizer = optim.SGD(model.parameters(), lr=0.01)
    x, y = tl.Tensor(np.ones((4, 8), np.float32)), np.array([0, 1, 0, 1])

    def mlp_step():
        loss = tl.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return {**graphs, "mlp-step": mlp_step}


def torch_graphs() -> dict:
    import torch

    torch.set_num_threads(1)  # tiny tensors: no intra-op parallelism to gain, only noise
    graphs = op_graphs(torch.ones(4, dtype=torch.float64, requires_grad=True),
                       torch.ones(4, dtype=torch.float64, requires_grad=True))
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(8, 8), torch.nn.ReLU(), torch.nn.Linear(8, 8), torch.nn.ReLU(),
                                torch.nn.Linear(8, 2))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    x, y = torch.ones(4, 8), torch.tensor([0, 1, 0, 1])

    def mlp_step():
        loss = torch.nn.functional.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return {**graphs, "mlp-step": mlp_step}


def time_us(fn, seconds: float) -> float:
    """CPU µs per call of ``fn``, over as many calls as fit in about ``seconds`` (after a warm-up).
    Process CPU time, not wall time: on a shared machine, time spent waiting for a core is not
    the framework's (both contenders run single-threaded)."""
    for _ in range(50):
        fn()
    calls, start = 0, time.process_time()
    while True:
        for _ in range(100):
            fn()
        calls += 100
        elapsed = time.process_time() - start
        if elapsed >= seconds:
            return elapsed / calls * 1e6


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--seconds", type=float, default=0.3, help="per graph per contender per repetition")
    parser.add_argument("--json", default="benchmarks/results_overhead.json")
    args = parser.parse_args()
    contenders = {"tinygrad_lab": tinygrad_lab_graphs()}
    try:
        contenders["torch"] = torch_graphs()
    except ImportError:
        print("torch not installed: only tinygrad_lab is timed (pip install torch==2.13.0)")
    graphs = list(contenders["tinygrad_lab"])
    times = {g: {name: [] for name in contenders} for g in graphs}
    for rep in range(args.reps):
        order = list(contenders) if rep % 2 == 0 else list(reversed(contenders))
        for graph in graphs:
            for name in order:
                times[graph][name].append(time_us(contenders[name][graph], args.seconds))
    results = {}
    print(f"{'graph':<14}" + "".join(f"{name + ' us':>24}" for name in contenders) + f"{'ratio':>8}{'of mins':>10}")
    for graph in graphs:
        row = {name: {"median_us": statistics.median(t), "min_us": min(t)} for name, t in times[graph].items()}
        if "torch" in row:
            row["tinygrad_lab_over_torch"] = row["tinygrad_lab"]["median_us"] / row["torch"]["median_us"]
            row["tinygrad_lab_over_torch_min"] = row["tinygrad_lab"]["min_us"] / row["torch"]["min_us"]
        results[graph] = row
        cells = "".join(f"{row[name]['median_us']:>14.1f} (min {row[name]['min_us']:.1f})" for name in contenders)
        ratio = (f"{row['tinygrad_lab_over_torch']:>7.2f}x{row['tinygrad_lab_over_torch_min']:>9.2f}x"
                 if "torch" in row else "")
        print(f"{graph:<14}{cells}{ratio}")
    report = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "numpy": np.__version__},
              "reps": args.reps, "results": results}
    with open(args.json, "w") as f:
        json.dump(report, f, indent=2)
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
