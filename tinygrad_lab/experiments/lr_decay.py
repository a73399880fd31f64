"""Learning-rate decay (lecture notes): one optimizer, one problem, five schedules.

The problem is f = x²/20 + y² with *noisy* gradients, ∇f + σξ (ξ standard normal, drawn fresh
each step, as a minibatch would): with a constant lr, SGD stalls at a noise floor whose height
grows with the lr; decaying the lr lowers the floor. The noise enters through the Tensor API
(loss = f(θ) + ξ·θ, so backward gives ∇f + ξ); the loss plotted is the noise-free f.

Schedules, each stepped once per "epoch" of ``--epoch-steps`` steps: constant, StepLR 1/10 and
1/3 (the lecture notes's "1/10 decay", "1/3 decay"), ExponentialLR 0.94, and ReduceLROnPlateau on the
epoch's mean loss ("decay when the loss flattens or oscillates"). Outputs in ``--out``:
``lr_decay.png`` (loss and lr against step), ``lr_decay.csv``, ``summary.json``.
"""

from __future__ import annotations

import argparse
import csv
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np

from tinygrad_lab import Tensor
from tinygrad_lab.experiments import main, pyplot
from tinygrad_lab.optim import SGD, lr_scheduler

NAME = "lr-decay"
HELP = "SGD on a noisy quadratic with constant lr, StepLR 1/10 and 1/3, ExponentialLR, ReduceLROnPlateau"

START = (-7.0, 2.0)


def f(v: Tensor) -> Tensor:
    return v[0] ** 2 / 20 + v[1] ** 2


def schedules(epochs: int) -> dict[str, Callable]:
    """Schedule label -> factory(optimizer) (None: constant lr)."""
    third = max(1, epochs // 3)
    return {
        "constant": lambda opt: None,
        "StepLR 1/10": lambda opt: lr_scheduler.StepLR(opt, step_size=third, gamma=0.1),
        "StepLR 1/3": lambda opt: lr_scheduler.StepLR(opt, step_size=max(1, epochs // 6),
                                                      gamma=1 / 3),
        "ExponentialLR 0.94": lambda opt: lr_scheduler.ExponentialLR(opt, gamma=0.94),
        "ReduceLROnPlateau": lambda opt: lr_scheduler.ReduceLROnPlateau(
            opt, factor=0.1, patience=5, min_lr=1e-3),
    }


def train(make_scheduler: Callable, lr: float, epochs: int, epoch_steps: int, noise: float,
          seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Run SGD with momentum 0.9; return the noise-free loss and the lr at every step."""
    rng = np.random.default_rng(seed)  # the same noise sequence for every schedule
    x = Tensor(np.array(START), requires_grad=True)
    opt = SGD([x], lr=lr, momentum=0.9)
    sched = make_scheduler(opt)
    losses, lrs = [], []
    for _ in range(epochs):
        epoch_losses = []
        for _ in range(epoch_steps):
            opt.zero_grad()
            loss = f(x)
            epoch_losses.append(loss.item())
            lrs.append(opt.param_groups[0]["lr"])
            (loss + (x * Tensor(noise * rng.standard_normal(2))).sum()).backward()
            opt.step()
        losses.extend(epoch_losses)
        if isinstance(sched, lr_scheduler.ReduceLROnPlateau):
            sched.step(float(np.mean(epoch_losses)))
        elif sched is not None:
            sched.step()
    return np.array(losses), np.array(lrs)


def plot(results: dict[str, tuple[np.ndarray, np.ndarray]], epoch_steps: int, path: Path) -> None:
    plt = pyplot()
    fig, (ax_loss, ax_lr) = plt.subplots(1, 2, figsize=(13, 4.8))
    for label, (losses, lrs) in results.items():
        window = epoch_steps
        smooth = np.convolve(losses, np.ones(window) / window, mode="valid")
        ax_loss.semilogy(np.arange(window - 1, len(losses)), smooth, label=label)
        ax_lr.semilogy(lrs, label=label)
    ax_loss.set_title(f"loss f(x, y) (mean over {epoch_steps} steps)")
    ax_loss.set_xlabel("step")
    ax_loss.set_ylabel("f  (log scale)")
    ax_lr.set_title("learning rate")
    ax_lr.set_xlabel("step")
    ax_lr.set_ylabel("lr  (log scale)")
    for ax in (ax_loss, ax_lr):
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle("SGD (momentum 0.9) on x²/20 + y² with noisy gradients: learning-rate decay")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--lr", type=float, default=0.1, help="initial learning rate")
    parser.add_argument("--epochs", type=int, default=60, help="number of scheduler steps")
    parser.add_argument("--epoch-steps", type=int, default=10, help="optimizer steps per epoch")
    parser.add_argument("--noise", type=float, default=0.5, help="gradient noise std σ")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("runs/lr-decay"), help="output directory")


def run(args: argparse.Namespace) -> int:
    if args.epochs < 1 or args.epoch_steps < 1 or not args.lr > 0:
        raise SystemExit("--epochs and --epoch-steps must be >= 1 and --lr > 0")
    args.out.mkdir(parents=True, exist_ok=True)
    results = {label: train(make, args.lr, args.epochs, args.epoch_steps, args.noise, args.seed)
               for label, make in schedules(args.epochs).items()}
    print(f"SGD momentum 0.9, lr {args.lr:g}, noise σ={args.noise:g}, "
          f"{args.epochs} epochs x {args.epoch_steps} steps")
    print(f"{'schedule':<20} {'final lr':>10} {'loss (last epoch mean)':>24}")
    summary = {"lr": args.lr, "epochs": args.epochs, "epoch_steps": args.epoch_steps,
               "noise": args.noise, "schedules": {}}
    for label, (losses, lrs) in results.items():
        final = float(np.mean(losses[-args.epoch_steps:]))
        print(f"{label:<20} {lrs[-1]:>10.3g} {final:>24.3g}")
        summary["schedules"][label] = {"final_lr": float(lrs[-1]), "final_loss": final}
    plot(results, args.epoch_steps, args.out / "lr_decay.png")
    with (args.out / "lr_decay.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["schedule", "step", "lr", "loss"])
        for label, (losses, lrs) in results.items():
            w.writerows([label, k, repr(float(a)), repr(float(b))]
                        for k, (a, b) in enumerate(zip(lrs, losses)))
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2))
    print(f"figure, CSV and summary.json written to {args.out}/")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(__import__(__name__)))
