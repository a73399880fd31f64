"""Memory of training and of deep graphs: resident set size (RSS) and live graph objects.

    python benchmarks/bench_memory.py                  # ~1-2 min on 2 cores
    python benchmarks/bench_memory.py --steps 1,100,1000 --deep-max 100000   # a quick look

Three measurements (the process's own malloc settings: no tunables, unlike bench_mlp.py):

(a) a training run of the default ``tinygrad-lab train`` model (784-512-256-10 ReLU, float32, Adam
    1e-3, batch 128, default backend) on the bundled sample's 5,000 training images, reshuffled every
    epoch by a DataLoader: RSS (``VmRSS`` from /proc/self/status), the live Tensor and Function
    objects and all gc-tracked objects (``gc.get_objects()`` after ``gc.collect()``) after steps
    1, 1,000, 5,000 and 10,000.  Flat numbers mean the graph is freed every step, no reference cycle
    keeps tensors alive and no cache grows.
(b) the peak RSS (``ru_maxrss``) of one epoch of ``tinygrad-lab train`` with its defaults, in a fresh
    process: on full MNIST when --data-dir holds it (default ``$TINYGRAD_LAB_DATA``), else on the
    bundled sample (the report says which).
(c) the deepest chain ``y = y * 1.0`` backpropagated: lengths 10^5, 3*10^5, 10^6 ... up to
    --deep-max, each in a fresh process, stopping at the first that takes longer than --budget
    seconds (build + backward); time and peak RSS of each.

Prints tables and writes benchmarks/results_memory.json; asserts nothing (tests/ does that).
"""
from __future__ import annotations

import argparse
import contextlib
import gc
import io
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
MIB = 2 ** 20


def proc_status_bytes(field: str) -> int:
    """``VmRSS`` (resident now) or ``VmHWM`` (peak resident) of this process, in bytes."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise KeyError(field)


def peak_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024   # KiB on Linux


def live_objects() -> dict[str, int]:
    """Live Tensors and Functions (graph nodes) and all gc-tracked objects, after a full collection."""
    from tinygrad_lab.function import Function
    from tinygrad_lab.tensor import Tensor

    gc.collect()
    objects = gc.get_objects()
    return {"tensors": sum(issubclass(type(o), Tensor) for o in objects),
            "functions": sum(issubclass(type(o), Function) for o in objects),
            "gc_objects": len(objects)}


# ----- (a) RSS and live objects along a training run --------------------------------------------
def training_run(report_at: list[int]) -> list[dict]:
    import tinygrad_lab as tl
    from tinygrad_lab import optim
    from tinygrad_lab.data import DataLoader, load_sample, normalize

    sample = load_sample()
    x, y = normalize(sample.train_images, np.float32), sample.train_labels
    loader = DataLoader(x, y, batch_size=128, seed=0)
    model = tl.nn.MLP([784, 512, 256, 10], activation="relu", seed=0, dtype=np.float32, fuse=True)
    optimizer = optim.Adam(model.parameters(), lr=1e-3)

    def batches():
        while True:
            yield from loader

    def train(n: int, stream) -> float:
        for _ in range(n):
            xb, yb = next(stream)
            loss = tl.cross_entropy(model(tl.Tensor(xb)), yb)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        return loss.item()

    rows, done, stream, started = [], 0, batches(), time.perf_counter()
    for step in report_at:
        loss = train(step - done, stream)
        done = step
        rows.append({"step": step, "rss_mib": proc_status_bytes("VmRSS") / MIB,
                     "peak_rss_mib": proc_status_bytes("VmHWM") / MIB, **live_objects(),
                     "loss": loss, "seconds": time.perf_counter() - started})
    return rows


# ----- (b) one epoch of `tinygrad-lab train` -----------------------------------------------------
def child_epoch(data_dir: str | None) -> dict:
    """Runs inside a fresh process: one default epoch through the CLI, its output and peak RSS."""
    from tinygrad_lab.cli import main

    before = proc_status_bytes("VmRSS")
    data = ["--dataset", "mnist", "--data-dir", data_dir] if data_dir else ["--dataset", "mnist-sample"]
    printed = io.StringIO()
    with tempfile.TemporaryDirectory() as out, contextlib.redirect_stdout(printed):
        started = time.perf_counter()
        rc = main(["train", *data, "--epochs", "1", "--no-progress", "--out", out])
        seconds = time.perf_counter() - started
    lines = printed.getvalue().splitlines()
    return {"rc": rc, "seconds": seconds, "rss_before_training_mib": before / MIB,
            "peak_rss_mib": peak_rss_bytes() / MIB,
            "data": next((line for line in lines if line.startswith("data:")), "?"),
            "result": next((line for line in lines if line.startswith("final test accuracy")), "?")}


# ----- (c) deep chains ---------------------------------------------------------------------------
def child_chain(length: int) -> dict:
    """Runs inside a fresh process: build y = x * 1.0 * ... (``length`` Mul nodes) and backpropagate."""
    from tinygrad_lab.tensor import Tensor

    before = proc_status_bytes("VmRSS")
    x = Tensor([1.0], requires_grad=True)
    started = time.perf_counter()
    y = x
    for _ in range(length):
        y = y * 1.0
    built = time.perf_counter()
    graph_rss = proc_status_bytes("VmRSS")
    y.sum().backward()
    done = time.perf_counter()
    return {"ops": length, "build_s": built - started, "backward_s": done - built,
            "graph_mib": (graph_rss - before) / MIB, "bytes_per_op": (graph_rss - before) / length,
            "peak_rss_mib": peak_rss_bytes() / MIB, "grad_ok": bool(x.grad.data[0] == 1.0),
            "recursion_limit": sys.getrecursionlimit()}


def in_child(*args: str, timeout: float) -> dict:
    """Run this script in a fresh process with ``args``; its JSON answer (the last line printed)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    done = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, env=env,
                          timeout=timeout)
    if done.returncode != 0:
        return {"error": f"exit {done.returncode}: {done.stderr.strip().splitlines()[-1:] or '?'}"}
    return json.loads(done.stdout.strip().splitlines()[-1])


def chain_lengths(deep_max: int) -> list[int]:
    """100,000, 300,000, 1,000,000, 3,000,000, ... up to ``deep_max``."""
    return [n for n in (m * 10 ** k for k in range(5, 9) for m in (1, 3)) if n <= deep_max]


# ----- report ------------------------------------------------------------------------------------
def table(rows: list[dict], columns: list[tuple[str, str, str]]) -> str:
    """Right-aligned columns (key, title, format spec); a missing value prints as '-'."""
    widths = [max(len(title), 10) for _, title, _ in columns]
    lines = ["  ".join(f"{title:>{w}}" for (_, title, _), w in zip(columns, widths))]
    lines.append("-" * len(lines[0]))
    for row in rows:
        lines.append("  ".join(f"{format(row[key], fmt) if key in row else '-':>{w}}"
                               for (key, _, fmt), w in zip(columns, widths)))
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", default="1,1000,5000,10000", help="training steps at which to report")
    parser.add_argument("--data-dir", default=os.environ.get("TINYGRAD_LAB_DATA"),
                        help="full MNIST for (b), if there (default $TINYGRAD_LAB_DATA)")
    parser.add_argument("--deep-max", type=int, default=1_000_000, help="longest chain to try in (c)")
    parser.add_argument("--budget", type=float, default=60.0, help="seconds a chain may take in (c)")
    parser.add_argument("--json", default=str(HERE / "results_memory.json"))
    parser.add_argument("--child", choices=["epoch", "chain"], help=argparse.SUPPRESS)
    parser.add_argument("--arg", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child == "epoch":
        print(json.dumps(child_epoch(args.arg or None)))
        return 0
    if args.child == "chain":
        print(json.dumps(child_chain(int(args.arg))))
        return 0

    from tinygrad_lab.backend import get_backend

    backend = get_backend().__name__.rsplit(".", 1)[-1].removesuffix("_backend")
    print(f"(a) training 784-512-256-10 ReLU, float32, Adam, batch 128, bundled sample, backend {backend}")
    steps = sorted({int(s) for s in args.steps.split(",")})
    run = training_run(steps)
    print(table(run, [("step", "step", ","), ("rss_mib", "RSS MiB", ".1f"), ("peak_rss_mib", "peak MiB", ".1f"),
                      ("tensors", "Tensors", "d"),
                      ("functions", "Functions", "d"), ("gc_objects", "gc objects", ","),
                      ("loss", "loss", ".4f"), ("seconds", "seconds", ".1f")]))

    mnist = args.data_dir if args.data_dir and Path(args.data_dir).is_dir() else None
    print(f"\n(b) one epoch of `tinygrad-lab train` (defaults) on {'full MNIST' if mnist else 'the bundled sample'}")
    epoch = in_child("--child", "epoch", "--arg", mnist or "", timeout=1800)
    print(json.dumps(epoch, indent=2))

    print(f"\n(c) deep chains y = y * 1.0, backward, budget {args.budget:g} s each")
    chains = []
    for length in chain_lengths(args.deep_max):
        chains.append(in_child("--child", "chain", "--arg", str(length), timeout=10 * args.budget))
        if "error" in chains[-1] or chains[-1]["build_s"] + chains[-1]["backward_s"] > args.budget:
            break
    print(table(chains, [("ops", "ops", ","), ("build_s", "build s", ".1f"), ("backward_s", "backward s", ".1f"),
                         ("graph_mib", "graph MiB", ".0f"), ("bytes_per_op", "bytes/op", ".0f"),
                         ("peak_rss_mib", "peak RSS MiB", ".0f"), ("grad_ok", "grad ok", "")]))
    deepest = max((c["ops"] for c in chains if c.get("grad_ok") and
                   c["build_s"] + c["backward_s"] <= args.budget), default=0)
    print(f"deepest chain backpropagated within {args.budget:g} s: {deepest:,} ops")

    report = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "numpy": np.__version__,
                          "platform": platform.platform()},
              "backend": backend, "training_run": {"model": [784, 512, 256, 10], "batch_size": 128,
                                                   "optimizer": "adam", "dtype": "float32",
                                                   "data": "bundled sample (5,000 images)", "rows": run},
              "mnist_epoch": {**epoch, "full_mnist": mnist is not None},
              "deep_chains": {"budget_s": args.budget, "rows": chains, "deepest_ops": deepest},
              "date": time.strftime("%Y-%m-%d %H:%M:%S")}
    Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
