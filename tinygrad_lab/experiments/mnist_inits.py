"""Weight initialization on MNIST (DLFS; Deep Learning from Scratch ch. 6).

The 5-layer MLP (784-100-100-100-100-10) trains with SGD (lr 0.01, the book's setting) on the
same mini-batches from weights drawn with the same seed but different scales:

* std 0.01: W ~ N(0, 0.01²), the "usual" small Gaussian;
* LeCun:    W ~ N(0, 1/n_in), derived for activations that are linear near 0 (sigmoid, tanh); the book
  calls it "Xavier" (Glorot's own rule, ``--init xavier`` here, is N(0, 2/(n_in + n_out)));
* He:       W ~ N(0, 2/n_in), twice LeCun's variance because ReLU zeroes half of its inputs.

With ReLU, std 0.01 shrinks the signal a(l) by about 0.01·√(n_in/2) per layer, so the output and
every δ(l) nearly vanish and E stays near ln 10 ≈ 2.30; He keeps Var(z(l)) constant through the
layers and learns fastest.  The sigmoid/tanh variants (LeCun, and sigmoid with std 0.01) show
the same effect with saturating units.  The printed conclusion is computed from the runs.

Outputs in ``--out``: ``mnist_inits.png`` (smoothed per-iteration loss, test accuracy per epoch),
``mnist_inits.csv`` (the final table), ``mnist_inits_steps.csv`` / ``mnist_inits_epochs.csv``,
``summary.json``.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np

from tinygrad_lab.experiments import main, mnist_common, pyplot
from tinygrad_lab.experiments.mnist_common import DLFS_SIZES, Run
from tinygrad_lab.train_config import TrainConfig

NAME = "mnist-inits"
HELP = ("ReLU with std 0.01 / LeCun 1/n_in (the book's Xavier) / He init (and sigmoid, tanh variants) on MNIST: "
        "loss curves")

#: N(0, 1/n_in), by its name here and by the book's
LECUN = "LeCun 1/n_in (called Xavier in Deep Learning from Scratch)"
LECUN_RELU = f"ReLU + {LECUN}"
#: label -> (activation, init spec for tinygrad_lab.init.get_initializer)
SETTINGS = {
    "ReLU + std 0.01": ("relu", "normal:0.01"),
    LECUN_RELU: ("relu", "lecun"),
    "ReLU + He": ("relu", "he"),
    "sigmoid + std 0.01": ("sigmoid", "normal:0.01"),
    f"sigmoid + {LECUN}": ("sigmoid", "lecun"),
    f"tanh + {LECUN}": ("tanh", "lecun"),
}
QUICK_SETTINGS = ("ReLU + std 0.01", LECUN_RELU, "ReLU + He")
QUICK_TRAIN_SIZE = 3000
LR = 0.01
#: a run whose final loss is within this fraction of its initial loss "barely learns"
BARELY = 0.1


def configs(args: argparse.Namespace) -> dict[str, TrainConfig]:
    labels = QUICK_SETTINGS if args.quick else SETTINGS
    return {label: TrainConfig(dataset=args.dataset, data_dir=args.data_dir, sizes=DLFS_SIZES, lr_schedule="none",
                               activation=SETTINGS[label][0], init=SETTINGS[label][1], optimizer="sgd", lr=LR,
                               epochs=args.epochs, batch_size=args.batch_size, seed=args.seed)
            for label in labels}


def table(runs: dict[str, Run], window: int) -> list[dict]:
    return [{"setting": label, "activation": run.config.activation, "init": run.config.init,
             "initial_loss": run.epochs[0]["train_loss"], "final_loss": run.final_loss(window),
             "train_accuracy": run.final["train_accuracy"], "test_accuracy": run.final["test_accuracy"]}
            for label, run in runs.items()]


def conclusion(rows: list[dict]) -> str:
    """One line on the ReLU runs: which init reaches the lowest loss, and whether std 0.01 learns."""
    relu = {r["init"]: r for r in rows if r["activation"] == "relu"}
    finite = {init: r for init, r in relu.items() if np.isfinite(r["final_loss"])}
    best = min(finite.values(), key=lambda r: r["final_loss"])
    small = relu["normal:0.01"]
    drop = 1 - small["final_loss"] / small["initial_loss"]
    name = {r["init"]: r["setting"].removeprefix("ReLU + ") for r in relu.values()}
    others = ", ".join(f"{name[i]} {r['final_loss']:.3f}" for i, r in finite.items() if r is not best)
    return (f"ReLU: {name[best['init']]} wins (final loss {best['final_loss']:.3f} vs {others}); std 0.01 "
            f"{'barely learns' if drop < BARELY else 'learns'}: its loss went {small['initial_loss']:.3f} -> "
            f"{small['final_loss']:.3f} ({-100 * drop:+.1f}%)")


def plot(runs: dict[str, Run], window: int, title: str, path: Path) -> None:
    plt = pyplot()

    styles = {"relu": "-", "sigmoid": "--", "tanh": ":"}
    colors = {"normal:0.01": "C3", "lecun": "C0", "he": "C2"}
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(13, 4.8), gridspec_kw={"width_ratios": [3, 2]})
    for label, run in runs.items():
        style = {"linestyle": styles[run.config.activation], "color": colors[run.config.init], "label": label}
        ax_loss.plot(*mnist_common.smooth(run.step_losses, window), **style)
        ax_acc.plot([r["epoch"] for r in run.epochs], [100 * r["test_accuracy"] for r in run.epochs], marker="o",
                    **style)
    ax_loss.axhline(math.log(10), color="gray", linewidth=0.8, label="ln 10 (uniform guess)")
    ax_loss.set(title=mnist_common.loss_title(window), xlabel="iteration", ylabel="cross-entropy E")
    mnist_common.finish_figure(fig, ax_loss, ax_acc, title, path)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    mnist_common.add_common_arguments(parser, NAME, epochs=2, quick_epochs=2, batch_size=128)


def run(args: argparse.Namespace) -> int:
    mnist_common.resolve_common(args)
    data = mnist_common.load(args, train_size=QUICK_TRAIN_SIZE if args.quick else None)
    print(f"{NAME}: {len(data.y_train):,} training / {len(data.y_test):,} test digits ({data.source}); "
          f"{'-'.join(map(str, DLFS_SIZES))} MLP, SGD lr {LR:g}, batch {args.batch_size}, {args.epochs} epoch(s)")
    runs = mnist_common.train_runs(configs(args), data)
    window = mnist_common.smoothing_window(runs)
    rows = table(runs, window)
    print(mnist_common.format_table(rows))
    line = conclusion(rows)
    print(line)

    title = (f"{args.dataset} ({len(data.y_train):,} training digits): weight init of a "
             f"{'-'.join(map(str, DLFS_SIZES))} MLP, SGD lr {LR:g}, same batches")
    plot(runs, window, title, args.out / "mnist_inits.png")
    mnist_common.write_outputs(args, "mnist_inits", "setting", runs, rows, data, final_loss_window=window,
                               conclusion=line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(__import__(__name__)))
