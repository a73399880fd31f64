"""The optimizer comparison on MNIST (DLFS; Deep Learning from Scratch ch. 6).

SGD, Momentum, Nesterov, AdaGrad, RMSprop and Adam train the same 5-layer ReLU MLP
(784-100-100-100-100-10, He init N(0, 2/n_in)) from the same initial weights on the same
mini-batches (one ``--seed`` for both), minimizing the softmax cross-entropy E.  Learning rates are
the book's: SGD 0.01, Momentum 0.01 (μ = 0.9), AdaGrad 0.01, Adam 0.001 (β₁ 0.9, β₂ 0.999); the book
leaves out Nesterov and RMSprop, which get Momentum's 0.01 (μ = 0.9) and Adam's 0.001 (α = 0.99).

Outputs in ``--out``: ``mnist_optimizers.png`` (smoothed per-iteration training loss of all six,
and test accuracy per epoch), ``mnist_optimizers.csv`` (the final table),
``mnist_optimizers_steps.csv`` / ``mnist_optimizers_epochs.csv`` (the curves), ``summary.json``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from tinygrad_lab.experiments import main, mnist_common, pyplot
from tinygrad_lab.experiments.mnist_common import DLFS_SIZES, Run
from tinygrad_lab.train_config import TrainConfig

NAME = "mnist-optimizers"
HELP = "SGD, Momentum, Nesterov, AdaGrad, RMSprop, Adam on the same MLP, init and batches (DLFS ch. 6)"

#: label -> (TrainConfig.optimizer, lr)
OPTIMIZERS = {
    "SGD": ("sgd", 0.01),
    "Momentum": ("momentum", 0.01),
    "Nesterov": ("nesterov", 0.01),
    "AdaGrad": ("adagrad", 0.01),
    "RMSprop": ("rmsprop", 0.001),
    "Adam": ("adam", 0.001),
}
QUICK_TRAIN_SIZE = 3000


def configs(args: argparse.Namespace) -> dict[str, TrainConfig]:
    return {label: TrainConfig(dataset=args.dataset, data_dir=args.data_dir, sizes=DLFS_SIZES, lr_schedule="none", init="he",
                               optimizer=optimizer, lr=lr, epochs=args.epochs, batch_size=args.batch_size,
                               seed=args.seed)
            for label, (optimizer, lr) in OPTIMIZERS.items()}


def table(runs: dict[str, Run], window: int) -> list[dict]:
    return [{"optimizer": label, "lr": run.config.learning_rate, "steps": run.final["step"],
             "final_loss": run.final_loss(window), "train_accuracy": run.final["train_accuracy"],
             "test_accuracy": run.final["test_accuracy"]}
            for label, run in runs.items()]


def plot(runs: dict[str, Run], window: int, title: str, path: Path) -> None:
    plt = pyplot()

    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(13, 4.8), gridspec_kw={"width_ratios": [3, 2]})
    for label, run in runs.items():
        steps, values = mnist_common.smooth(run.step_losses, window)
        ax_loss.semilogy(steps, values, label=f"{label} (lr {run.config.learning_rate:g})")
        ax_acc.plot([r["epoch"] for r in run.epochs], [100 * r["test_accuracy"] for r in run.epochs], "o-",
                    label=label)
    ax_loss.set(title=mnist_common.loss_title(window), xlabel="iteration",
                ylabel="cross-entropy E (log scale)")
    mnist_common.finish_figure(fig, ax_loss, ax_acc, title, path, grid="both")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    mnist_common.add_common_arguments(parser, NAME, epochs=2, quick_epochs=1, batch_size=128)


def run(args: argparse.Namespace) -> int:
    mnist_common.resolve_common(args)
    data = mnist_common.load(args, train_size=QUICK_TRAIN_SIZE if args.quick else None)
    print(f"{NAME}: {len(data.y_train):,} training / {len(data.y_test):,} test digits ({data.source}); "
          f"{'-'.join(map(str, DLFS_SIZES))} ReLU, He init, batch {args.batch_size}, {args.epochs} epoch(s)")
    runs = mnist_common.train_runs(configs(args), data)
    window = mnist_common.smoothing_window(runs)
    rows = table(runs, window)
    print(mnist_common.format_table(rows))
    ranking = sorted((r for r in rows if np.isfinite(r["final_loss"])), key=lambda r: r["final_loss"])
    print("lowest final loss first: " + " < ".join(r["optimizer"] for r in ranking))

    title = (f"{args.dataset} ({len(data.y_train):,} training digits): optimizers on a {'-'.join(map(str, DLFS_SIZES))} ReLU MLP, "
             f"same He init and batches (batch {args.batch_size})")
    plot(runs, window, title, args.out / "mnist_optimizers.png")
    mnist_common.write_outputs(args, "mnist_optimizers", "optimizer", runs, rows, data, final_loss_window=window)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(__import__(__name__)))
