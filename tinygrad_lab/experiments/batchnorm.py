"""Batch normalization against the init scale (the lecture notes; Deep Learning from Scratch ch. 6).

The 5-layer MLP (784-100-100-100-100-10, ReLU) trains with and without BatchNorm1d after each
hidden Linear layer, for several weight scales W ~ N(0, s²) (``--scales``, default 1, 0.3, 0.1,
0.03, 0.01; He's √(2/100) ≈ 0.14 sits in between), with SGD lr 0.01 as in the book, from the same
weights (per scale) and on the same batches.

Without BatchNorm the scale decides everything: Var(z(l)) grows or shrinks by about s²·n_in/2 per
layer, so large s blows the logits (and the updates) up and small s lets a(l) and δ(l) vanish.
BatchNorm re-centres and re-scales z(l) per mini-batch, ẑ = (z − μ_B)/√(σ²_B + ε), which undoes
the scale of W(l) in the forward pass and in δ(l), so every scale learns, and small scales learn
much faster than without it.  The price of that invariance shows at large scales: E does not change
when W(l) is multiplied by c, so ∂E/∂W(l) shrinks as 1/c and plain SGD's relative step as 1/c²;
with std 1 (and 0.3) the BatchNorm net learns slowly too.

Outputs in ``--out``: ``batchnorm.png`` (one panel per scale: train and test accuracy against
epoch, with and without BatchNorm), ``batchnorm.csv`` (the final table),
``batchnorm_steps.csv`` / ``batchnorm_epochs.csv`` (the curves), ``summary.json``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from tinygrad_lab.experiments import main, mnist_common, pyplot
from tinygrad_lab.experiments.mnist_common import DLFS_SIZES, Run
from tinygrad_lab.train_config import DEFAULT_LR, TrainConfig

NAME = "batchnorm"
HELP = "with vs without BatchNorm across init scales (std 1 ... 0.01): accuracy per epoch, one panel per scale"

SCALES = (1.0, 0.3, 0.1, 0.03, 0.01)
QUICK_SCALES = (1.0, 0.1, 0.01)
QUICK_TRAIN_SIZE = 1000   # the book's training subset
VARIANTS = {"BatchNorm": True, "no BatchNorm": False}


def label(scale: float, batchnorm: bool) -> str:
    return f"std {scale:g}, {'BatchNorm' if batchnorm else 'no BatchNorm'}"


def configs(args: argparse.Namespace) -> dict[str, TrainConfig]:
    return {label(scale, bn): TrainConfig(dataset=args.dataset, data_dir=args.data_dir, sizes=DLFS_SIZES, lr_schedule="none",
                                          init=f"normal:{scale!r}", batchnorm=bn, optimizer=args.optimizer,
                                          lr=args.lr, epochs=args.epochs, batch_size=args.batch_size, seed=args.seed)
            for scale in args.scales for bn in VARIANTS.values()}


def table(runs: dict[str, Run], scales) -> list[dict]:
    rows = []
    for scale in scales:
        for bn in VARIANTS.values():
            run = runs[label(scale, bn)]
            rows.append({"std": scale, "batchnorm": "yes" if bn else "no",
                         "train_accuracy": run.final["train_accuracy"], "test_accuracy": run.final["test_accuracy"],
                         "final_epoch": run.final["epoch"],
                         "diverged_at_step": "" if run.diverged_at is None else run.diverged_at})
    return rows


def conclusion(rows: list[dict]) -> str:
    """How often BatchNorm ends ahead, and the spread of final test accuracy over the scales."""
    acc = {(r["std"], r["batchnorm"]): r["test_accuracy"] for r in rows}
    scales = sorted({r["std"] for r in rows}, reverse=True)
    ahead = [s for s in scales if acc[s, "yes"] > acc[s, "no"]]
    diverged = [r["std"] for r in rows if r["diverged_at_step"] != ""]

    def spread(bn):
        values = [100 * acc[s, bn] for s in scales]
        return f"{min(values):.1f}-{max(values):.1f}%"

    return (f"BatchNorm ends with the higher test accuracy at {len(ahead)} of {len(scales)} scales; final test "
            f"accuracy over the scales: {spread('yes')} with BatchNorm, {spread('no')} without"
            + (f" (diverged: std {', '.join(f'{s:g}' for s in diverged)})" if diverged else ""))


def plot(runs: dict[str, Run], scales, title: str, path: Path) -> None:
    plt = pyplot()
    from matplotlib.ticker import MaxNLocator

    ncols = min(len(scales), 5)
    nrows = -(-len(scales) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.3 * ncols, 3.3 * nrows + 0.8), sharey=True, squeeze=False)
    for ax, scale in zip(axes.flat, scales):
        for (variant, bn), color in zip(VARIANTS.items(), ("C0", "C1")):
            run = runs[label(scale, bn)]
            epochs = [r["epoch"] for r in run.epochs]
            ax.plot(epochs, [100 * r["test_accuracy"] for r in run.epochs], "o-", color=color, markersize=3,
                    label=f"{variant}, test")
            ax.plot(epochs, [100 * r["train_accuracy"] for r in run.epochs], "--", color=color,
                    label=f"{variant}, train")
            if run.diverged_at is not None:
                ax.annotate(f"{variant}:\ndiverged (loss not finite)\nat step {run.diverged_at}", (0.04, 0.96),
                            xycoords="axes fraction", va="top", fontsize=8, color=color)
        ax.set_title(f"W ~ N(0, {scale:g}²)", fontsize=10)
        ax.set_xlabel("epoch")
        ax.set_ylim(0, 100)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(True, alpha=0.3)
    for ax in axes[:, 0]:
        ax.set_ylabel("accuracy (%)")
    for ax in axes.flat[len(scales):]:
        ax.axis("off")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=4, fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    fig.savefig(path, dpi=110)
    plt.close(fig)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    mnist_common.add_common_arguments(parser, NAME, epochs=2, quick_epochs=6, batch_size=100)
    parser.add_argument("--scales", type=float, nargs="+", default=None,
                        help=f"weight stds (default {' '.join(map(str, SCALES))}; "
                             f"{' '.join(map(str, QUICK_SCALES))} with --quick)")
    parser.add_argument("--optimizer", choices=sorted(DEFAULT_LR), default="sgd")
    parser.add_argument("--lr", type=float, default=0.01)


def run(args: argparse.Namespace) -> int:
    mnist_common.resolve_common(args)
    if args.scales is None:
        args.scales = QUICK_SCALES if args.quick else SCALES
    if min(args.scales) <= 0 or not args.lr > 0:
        raise SystemExit("--scales and --lr must be > 0")
    data = mnist_common.load(args, train_size=QUICK_TRAIN_SIZE if args.quick else None)
    print(f"{NAME}: {len(data.y_train):,} training / {len(data.y_test):,} test digits ({data.source}); "
          f"{'-'.join(map(str, DLFS_SIZES))} ReLU, {args.optimizer} lr {args.lr:g}, batch {args.batch_size}, "
          f"{args.epochs} epoch(s)")
    runs = mnist_common.train_runs(configs(args), data)
    rows = table(runs, args.scales)
    print(mnist_common.format_table(rows))
    line = conclusion(rows)
    print(line)

    title = (f"{args.dataset} ({len(data.y_train):,} training digits): {'-'.join(map(str, DLFS_SIZES))} ReLU MLP "
             f"with and without BatchNorm, {args.optimizer} lr {args.lr:g}, batch {args.batch_size}")
    plot(runs, args.scales, title, args.out / "batchnorm.png")
    mnist_common.write_outputs(args, "batchnorm", "setting", runs, rows, data, scales=list(args.scales),
                               conclusion=line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(__import__(__name__)))
