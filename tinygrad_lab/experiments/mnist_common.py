"""What the textbook MNIST experiments share: their options, their data, and one loop that trains
several configurations on the same batches while recording their curves.

Every configuration is a :class:`~tinygrad_lab.train_config.TrainConfig` trained by a
:class:`~tinygrad_lab.train.Trainer` (its model, optimizer, loader and ``train_step``): with the
same ``seed`` two configurations start from the same weights (when their init agrees) and see the
same mini-batches in the same order, so their curves differ only by what the experiment varies.
Recorded per run: the loss E of every mini-batch, and before training (epoch 0) and after each
epoch the loss and accuracy on a fixed slice of the training set and on the test set (eval mode:
BatchNorm uses its running estimates).  A run whose loss becomes NaN or infinite stops there and
is reported as diverged instead of aborting the experiment.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tinygrad_lab.experiments import pyplot
from tinygrad_lab.train import NonFiniteLoss, Trainer, evaluate
from tinygrad_lab.train_config import DATASETS, TrainConfig
from tinygrad_lab.train_data import load_data

#: the 5-layer, 100-unit MLP of Deep Learning from Scratch ch. 6 (DLFS)
DLFS_SIZES = [784, 100, 100, 100, 100, 10]
EPOCH_COLUMNS = ["epoch", "step", "train_loss", "train_accuracy", "test_loss", "test_accuracy"]


def add_common_arguments(parser: argparse.ArgumentParser, name: str, epochs: int, quick_epochs: int,
                         batch_size: int) -> None:
    """--dataset, --data-dir, --seed, --epochs, --batch-size, --quick and --out."""
    parser.add_argument("--dataset", choices=DATASETS, default=None,
                        help="default: mnist (the bundled 5,000-digit sample when the full set is "
                             "neither found nor downloadable); mnist-sample with --quick")
    parser.add_argument("--data-dir", default=None, help="directory holding the four IDX files")
    parser.add_argument("--seed", type=int, default=0, help="seeds the initial weights and the batch order")
    parser.add_argument("--epochs", type=int, default=None,
                        help=f"default {epochs} ({quick_epochs} with --quick)")
    parser.add_argument("--batch-size", type=int, default=batch_size)
    parser.add_argument("--quick", action="store_true",
                        help="smoke test: the bundled sample, a subset of it, fewer settings")
    parser.add_argument("--out", type=Path, default=Path(f"runs/{name}"), help="output directory")
    parser.set_defaults(full_epochs=epochs, quick_epochs=quick_epochs)


def resolve_common(args: argparse.Namespace) -> None:
    """Fill the defaults that depend on --quick, validate, and create --out."""
    if args.dataset is None:
        args.dataset = "mnist-sample" if args.quick else "mnist"
    if args.epochs is None:
        args.epochs = args.quick_epochs if args.quick else args.full_epochs
    if args.epochs < 1 or args.batch_size < 1:
        raise SystemExit("--epochs and --batch-size must be >= 1")
    args.out.mkdir(parents=True, exist_ok=True)


@dataclass
class Data:
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str

    def as_tuple(self) -> tuple:
        """The (x_train, y_train, x_test, y_test, source) a Trainer takes as ``data``."""
        return self.x_train, self.y_train, self.x_test, self.y_test, self.source


def load(args: argparse.Namespace, train_size: int | None = None, test_size: int | None = None,
         dtype: str = "float32") -> Data:
    """The dataset of ``args`` normalized to [0, 1], optionally cut to its first samples."""
    cfg = TrainConfig(dataset=args.dataset, data_dir=args.data_dir, dtype=dtype)
    x_train, y_train, x_test, y_test, source = load_data(cfg)
    return Data(x_train[:train_size], y_train[:train_size], x_test[:test_size], y_test[:test_size], source)


@dataclass
class Run:
    """The record of one configuration's training."""

    label: str
    config: TrainConfig
    step_losses: np.ndarray      # E of every mini-batch, in training order
    epochs: list[dict]           # EPOCH_COLUMNS; epoch 0 is before the first update
    diverged_at: int | None      # the step whose loss was not finite, None if training finished
    seconds: float

    @property
    def final(self) -> dict:
        return self.epochs[-1]

    def final_loss(self, window: int) -> float:
        """The mean mini-batch loss of the last ``window`` steps (NaN if the run diverged)."""
        if self.diverged_at is not None or not len(self.step_losses):
            return float("nan")
        return float(np.mean(self.step_losses[-window:]))


def train_runs(configs: dict[str, TrainConfig], data: Data, train_eval_size: int = 10_000,
               log: Callable[[str], None] = print) -> dict[str, Run]:
    """Train every configuration for its ``epochs`` (one after the other) and record its curves."""
    runs = {}
    for label, cfg in configs.items():
        runs[label] = run = train_one(label, cfg, data, train_eval_size)
        status = f"diverged at step {run.diverged_at}" if run.diverged_at is not None else "done"
        log(f"  {label:<24} {status:<22}  test acc {100 * run.final['test_accuracy']:6.2f}%  "
            f"({run.seconds:.1f} s)")
    return runs


def train_one(label: str, cfg: TrainConfig, data: Data, train_eval_size: int) -> Run:
    # Nothing is saved: only the Trainer's parts and train_step are used, never fit().  The experiments
    # train on the whole training set, as the experiments being reproduced do, and choose nothing: no
    # validation split.
    trainer = Trainer(dataclasses.replace(cfg, val_split=0), out=Path(os.devnull), data=data.as_tuple(),
                      progress=False)
    x_eval, y_eval = data.x_train[:train_eval_size], data.y_train[:train_eval_size]

    def measure(epoch: int) -> dict:
        train_loss, train_acc, _ = evaluate(trainer.model, x_eval, y_eval)
        test_loss, test_acc, _ = evaluate(trainer.model, data.x_test, data.y_test)
        return {"epoch": epoch, "step": trainer.step, "train_loss": train_loss, "train_accuracy": train_acc,
                "test_loss": test_loss, "test_accuracy": test_acc}

    started = time.perf_counter()
    losses, epochs, diverged_at = [], [measure(0)], None
    with np.errstate(over="ignore", invalid="ignore"):  # divergence is reported, not warned about
        for epoch in range(1, cfg.epochs + 1):
            for xb, yb in trainer.loader:
                try:
                    losses.append(trainer.train_step(xb, yb))
                except NonFiniteLoss:
                    diverged_at = trainer.step
                    break
                trainer.step += 1
            if diverged_at is not None:
                break
            epochs.append(measure(epoch))
    return Run(label, cfg, np.array(losses), epochs, diverged_at, time.perf_counter() - started)


def smooth(values: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """(steps, trailing moving average over ``window`` steps), defined from step window − 1 on."""
    window = max(1, min(window, len(values)))
    return np.arange(window - 1, len(values)), np.convolve(values, np.ones(window) / window, mode="valid")


def smoothing_window(runs: dict[str, Run]) -> int:
    """About a twentieth of the longest run, at most 50 steps."""
    return int(np.clip(max(len(r.step_losses) for r in runs.values()) // 20, 1, 50))


def loss_title(window: int) -> str:
    return "training loss per mini-batch" if window == 1 else f"training loss (mean of the last {window} mini-batches)"


def write_curves(runs: dict[str, Run], out: Path, stem: str, label_column: str) -> list[Path]:
    """``<stem>_steps.csv`` (every mini-batch loss) and ``<stem>_epochs.csv`` (per-epoch metrics)."""
    steps_path, epochs_path = out / f"{stem}_steps.csv", out / f"{stem}_epochs.csv"
    with steps_path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow([label_column, "step", "loss"])
        for label, run in runs.items():
            w.writerows([label, k, repr(float(loss))] for k, loss in enumerate(run.step_losses))
    write_table(epochs_path, [{label_column: label, **row} for label, run in runs.items() for row in run.epochs])
    return [steps_path, epochs_path]


def write_table(path: Path, rows: Sequence[dict]) -> Path:
    with path.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows({k: repr(v) if isinstance(v, float) else v for k, v in row.items()} for row in rows)
    return path


#: table columns holding settings, printed in their shortest form (0.01, not 0.0100)
SETTING_COLUMNS = ("lr", "std")


def format_table(rows: Sequence[dict]) -> str:
    """The rows as aligned text: accuracies in percent, settings as given, other floats with 4 decimals."""
    def cell(key, value):
        if not isinstance(value, float):
            return str(value)
        if "accuracy" in key:
            return f"{100 * value:.2f}%"
        return f"{value:g}" if key in SETTING_COLUMNS else f"{value:.4f}"

    cells = [[cell(k, v) for k, v in row.items()] for row in rows]
    header = list(rows[0])
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(header)]
    lines = ["  ".join(h.ljust(w) if i == 0 else h.rjust(w) for i, (h, w) in enumerate(zip(header, widths)))]
    lines += ["  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths)))
              for row in cells]
    return "\n".join(lines)


def finish_figure(fig, ax_loss, ax_acc, title: str, path: Path, grid: str = "major") -> None:
    """The shared right panel (test accuracy per epoch), grids, legends, title; save and close."""
    from matplotlib.ticker import MaxNLocator

    ax_acc.set(title="test accuracy", xlabel="epoch", ylabel="accuracy (%)")
    ax_acc.xaxis.set_major_locator(MaxNLocator(integer=True))
    for ax in (ax_loss, ax_acc):
        ax.grid(True, which=grid, alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    pyplot().close(fig)


def write_outputs(args: argparse.Namespace, stem: str, label_column: str, runs: dict[str, Run],
                  rows: list[dict], data: Data, **summary) -> None:
    """``<stem>.csv`` (the table), the per-step/per-epoch curves and ``summary.json`` into ``args.out``."""
    write_table(args.out / f"{stem}.csv", rows)
    write_curves(runs, args.out, stem, label_column)
    summary = {"dataset": args.dataset, "data_source": data.source, "train_size": len(data.y_train),
               **summary, "table": rows,
               "configs": {label: config_summary(r.config) for label, r in runs.items()}}
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2))
    print(f"figure, CSVs and summary.json written to {args.out}/")


def config_summary(cfg: TrainConfig) -> dict:
    """The parts of a config worth recording in summary.json."""
    keys = ("sizes", "activation", "init", "batchnorm", "optimizer", "lr_schedule", "epochs", "batch_size", "seed",
            "dtype")
    return {**{k: getattr(cfg, k) for k in keys}, "lr": cfg.learning_rate}
