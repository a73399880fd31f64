"""What the captured step's guards cost a replay: the replayed step of a small MLP against the checks
that decide whether it may replay.

    python benchmarks/bench_capture_guard.py            # 9 repetitions, ~15 s
    python benchmarks/bench_capture_guard.py --reps 3

The step: ``nn.MLP([20, 32, 10])``, float32, a batch of 32, cross_entropy, Adam (the smallest step
where the guard would show).  Timed, in µs per call (median and min over repetitions of 0.3 s each):

* ``step``: one replayed call, guards included;
* ``guard``: the guards alone, as a replay runs them (the edit stamps compared, the
  ``requires_grad`` flags and the optimizer's flat groups checked: ``Plan.valid``).
"""
from __future__ import annotations

import argparse
import statistics
import time

import numpy as np


def captured_step():
    """A captured MLP step, recorded and replayed once; returns ``(step, x, y)``."""
    import tinygrad_lab as tl
    from tinygrad_lab import nn, optim

    model = nn.MLP([20, 32, 10], seed=0, dtype=np.float32)
    optimizer = optim.Adam(model.parameters(), lr=1e-3)

    def train_step(x, y):
        optimizer.zero_grad()
        loss = tl.cross_entropy(model(tl.Tensor(x)), y)
        loss.backward()
        optimizer.step()
        return loss.item()

    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(32, 20)).astype(np.float32), rng.integers(0, 10, 32)
    step = tl.capture(train_step)
    step(x, y), step(x, y)
    assert step.plan is not None, step.reason
    return step, x, y


def per_call_us(fn, seconds: float) -> float:
    """µs per call of ``fn()``, over calls in batches of 100 for ``seconds``."""
    calls, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for _ in range(100):
            fn()
        calls += 100
    return (time.perf_counter() - start) / calls * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=9)
    parser.add_argument("--seconds", type=float, default=0.3)
    args = parser.parse_args()
    from tinygrad_lab.mode import edits

    step, x, y = captured_step()

    def guard():
        now = edits()
        return (now.modules, now.groups) == step.stamps and step.plan.valid()

    contenders = {"step": lambda: step(x, y), "guard": guard}
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(args.reps):
        for name, fn in contenders.items():
            times[name].append(per_call_us(fn, args.seconds))
    for name, ts in times.items():
        print(f"{name:<6} {statistics.median(ts):8.2f} µs median  {min(ts):8.2f} µs min")
    share = statistics.median(times["guard"]) / statistics.median(times["step"])
    print(f"guard / step: {share:.1%}")


if __name__ == "__main__":
    main()
