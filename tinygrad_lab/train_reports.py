"""What a training run leaves to read: metrics.csv and metrics.json (rewritten after every epoch), and at
the end model.npz and curves.png.

matplotlib is imported only inside :func:`plot_curves`, which draws once, when the run ends (an
interrupted run draws too; a killed one draws when it is resumed): the metrics files hold every
number per epoch, and the import and a draw would cost ~0.5 s each epoch.  ``trainer`` below is a
:class:`~tinygrad_lab.train.Trainer`.
"""
from __future__ import annotations

import json
import platform
from pathlib import Path

from tinygrad_lab.atomic import atomic_output
from tinygrad_lab.backend import get_backend
from tinygrad_lab.checkpoint import save_checkpoint

METRICS_KEYS = ["epoch", "train_loss", "val_loss", "val_accuracy", "test_loss", "test_accuracy", "samples_per_s", "lr"]
TEST_SET_ROLE = "reported only: the lr schedule, early stopping and best.npz use the validation set"


def environment() -> dict:
    """What the numbers were computed with: backend, BLAS library, kernel and thread policy, package
    versions."""
    from importlib import metadata

    from tinygrad_lab import threads

    versions = {"python": platform.python_version()}
    for package in ("tinygrad_lab", "numpy", "numba"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    return {"backend": get_backend().NAME, "blas": threads.describe(), "versions": versions}


def _write_bytes(path: Path, data: bytes) -> Path:
    with atomic_output(path) as out:
        out.write(data)
    return path


def write_metrics(trainer, files: list[str] | None = None) -> list[Path]:
    """metrics.csv (one row per finished epoch) and metrics.json (the values the run used, where its
    data came from, what it ran on, its status and history), each written atomically."""
    out, history = trainer.out, trainer.history
    keys = [k for k in METRICS_KEYS if len(trainer.x_val) or not k.startswith("val_")]
    lines = [",".join(keys)] + [",".join(repr(row[k]) for k in keys) for row in history]
    summary = {"status": trainer.status, "config": {**trainer.cfg.resolved(), "val_split": len(trainer.x_val)},
               "data": {"source": trainer.source, "train_samples": len(trainer.x_train),
                        "validation_samples": len(trainer.x_val),
                        "validation": (f"held out from the training set, stratified by class, seed "
                                       f"{trainer.cfg.seed}" if len(trainer.x_val) else "none"),
                        "test_samples": len(trainer.x_test),
                        "test_set": TEST_SET_ROLE if len(trainer.x_val) else "reported only",
                        "last_batch_of_one_dropped": bool(trainer.drop_last)},
               "environment": {**environment(), "captured_steps": trainer.capture_steps},
               "seconds": {part: round(t, 4) for part, t in trainer.seconds.items()}, "history": history}
    best = trainer.best()
    if best is not None:
        summary["best"] = {k: best[k] for k in ("epoch", "val_loss", "val_accuracy", "test_accuracy")}
    if trainer.cfg.early_stopping is not None:
        summary["early_stopping"] = {"patience": trainer.cfg.early_stopping, "epochs_trained": len(history),
                                     "stopped_early": trainer.early_stop() is not None}
    if files is not None:
        summary["files"] = files
    return [_write_bytes(out / "metrics.csv", ("\n".join(lines) + "\n").encode()),
            _write_bytes(out / "metrics.json", (json.dumps(summary, indent=2) + "\n").encode())]


def write_reports(trainer) -> list[Path]:
    """At the end of a run (finished or stopped): model.npz (finished runs only) and curves.png, then
    the metrics listing every file the run wrote; returns those paths, checkpoint.npz included."""
    out = trainer.out
    out.mkdir(parents=True, exist_ok=True)
    written = [out / "checkpoint.npz"]
    with trainer.timed("reports"):
        if trainer.status == "finished":
            written.append(save_checkpoint(out / "model.npz", trainer.model_file()))
        if trainer.best() is not None:
            written.append(out / "best.npz")
        if trainer.history:
            cfg = trainer.cfg
            written.append(plot_curves(trainer.history, out / "curves.png", title=f"{cfg.dataset}: "
                                       f"{'-'.join(map(str, cfg.sizes))} {cfg.activation}, {cfg.optimizer}"))
    names = sorted([p.name for p in written] + ["metrics.csv", "metrics.json"])
    return write_metrics(trainer, files=names) + written


def plot_curves(history: list[dict], path: Path, title: str) -> Path:
    """Loss and accuracy per epoch (train, validation if any, test), as a PNG written atomically.

    The figure is drawn once: the tight layout is computed by its engine without installing it on the
    figure (``Figure.tight_layout`` leaves a placeholder engine behind, for which ``savefig`` draws the
    whole figure once more before drawing it to the file; same pixels)."""
    from matplotlib.figure import Figure
    from matplotlib.layout_engine import TightLayoutEngine
    from matplotlib.ticker import MaxNLocator

    epochs = [r["epoch"] for r in history]
    fig = Figure(figsize=(10, 4))
    ax_loss, ax_acc = fig.subplots(1, 2)
    ax_loss.plot(epochs, [r["train_loss"] for r in history], "o-", label="train")
    for split, marker, color in (("val", "^-", "C2"), ("test", "s-", "C1")):
        if f"{split}_loss" in history[0]:
            ax_loss.plot(epochs, [r[f"{split}_loss"] for r in history], marker, color=color, label=split)
            ax_acc.plot(epochs, [100 * r[f"{split}_accuracy"] for r in history], marker, color=color, label=split)
    ax_loss.set(xlabel="epoch", ylabel="cross-entropy", title="loss")
    ax_acc.set(xlabel="epoch", ylabel="accuracy (%)", title="accuracy")
    for ax in (ax_loss, ax_acc):
        ax.legend()
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    fig.suptitle(title)
    TightLayoutEngine().execute(fig)
    with atomic_output(path) as f:
        fig.savefig(f, format="png", dpi=110)
    return path
