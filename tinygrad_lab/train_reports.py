"""What a training run leaves to read: metrics.csv and metrics.json (rewritten after every epoch), and at
the end model.npz and curves.png.

curves.png is drawn once, when the run ends (an interrupted run draws it too; a killed one when it is
resumed), by :func:`plot_curves` with Pillow (:mod:`tinygrad_lab.line_chart`, imported there): no
matplotlib, whose import alone took longer than the drawing does now.  The metrics files hold every
number per epoch.  ``trainer`` below is a :class:`~tinygrad_lab.train.Trainer`.
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
    """Loss and accuracy per epoch, as a PNG written atomically: the left panel the cross-entropy of
    the training batches (train, the mean over the epoch), the validation set if any (val) and the
    test set (test); the right panel the accuracy in % of val and test.  Colors and markers are
    matplotlib's: train C0 circles, val C2 triangles, test C1 squares."""
    from tinygrad_lab.line_chart import Panel, Series, draw

    epochs = [row["epoch"] for row in history]
    loss = [Series("train", epochs, [row["train_loss"] for row in history], "#1f77b4", "o")]
    accuracy = []
    for split, color, marker in (("val", "#2ca02c", "^"), ("test", "#ff7f0e", "s")):
        if f"{split}_loss" in history[0]:
            loss.append(Series(split, epochs, [row[f"{split}_loss"] for row in history], color, marker))
            accuracy.append(Series(split, epochs, [100 * row[f"{split}_accuracy"] for row in history], color, marker))
    image = draw([Panel("loss", "epoch", "cross-entropy", loss), Panel("accuracy", "epoch", "accuracy (%)", accuracy)],
                 title)
    with atomic_output(path) as out:
        image.save(out, format="PNG")
    return path
