"""Training an MLP classifier on MNIST-like data: the loop behind ``tinygrad-lab train``.

One step is the whole framework at work: forward through the graph, softmax cross-entropy, backward
(the homework's δ recursion, run by the graph), optional gradient clipping, one optimizer update.
Everything that decides the numbers (weights, optimizer and scheduler state, the shuffling
generator, the position in the epoch) goes into the checkpoint, so a resumed run continues bit for
bit where the interrupted one stopped.

Model selection never looks at the test set: a validation set held out from the training set
(stratified by class, seeded) decides the plateau schedule, early stopping and ``best.npz``; the
test set is evaluated after every epoch for reporting only.

The run's choices are a :class:`~tinygrad_lab.train_config.TrainConfig`, its data comes from
:mod:`tinygrad_lab.train_data`, and its metrics files and figure are written by
:mod:`tinygrad_lab.train_reports`.
"""
from __future__ import annotations

import contextlib
import dataclasses
import itertools
import math
import signal
import sys
import time
from pathlib import Path

import numpy as np

from tinygrad_lab import nn, optim
from tinygrad_lab.backend import get_backend
from tinygrad_lab.capture import capture
from tinygrad_lab.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from tinygrad_lab.data import DataLoader, flatten, load_dataset, model_inputs
from tinygrad_lab.losses import cross_entropy
from tinygrad_lab.optim import lr_scheduler
from tinygrad_lab.tensor import Tensor, no_grad
from tinygrad_lab.train_config import (DEFAULT_MOMENTUM, EVALUATION_BATCH, RESUMABLE, ConfigError, ResumeConflict,
                                       TrainConfig, check_memory, parse_schedule)
from tinygrad_lab.train_data import check_against_data, data_record, hold_out, image_arrays
from tinygrad_lab.train_reports import write_metrics

#: the parts of a run timed apart (Trainer.seconds): loading and splitting the data, the first step
#: (compiling or loading the kernels), the other steps, evaluation, checkpoints and metrics, reports
TIMED_PARTS = ("data", "first_step", "steps", "evaluation", "checkpoints", "reports")


def build_model(cfg: TrainConfig) -> nn.MLP:
    return nn.MLP(cfg.sizes, activation=cfg.activation, batchnorm=cfg.batchnorm, init=cfg.init,
                  seed=cfg.seed, dtype=np.dtype(cfg.dtype), dropout=cfg.dropout, fuse=True)


def build_optimizer(cfg: TrainConfig, params) -> optim.Optimizer:
    values = cfg.resolved()
    lr, wd, momentum = values["lr"], values["weight_decay"], values.get("momentum")
    if cfg.optimizer in ("sgd", "momentum", "nesterov"):
        return optim.SGD(params, lr=lr, momentum=momentum, nesterov=cfg.optimizer == "nesterov", weight_decay=wd)
    extra = {"momentum": momentum} if cfg.optimizer in DEFAULT_MOMENTUM else {}
    return optim.REGISTRY[cfg.optimizer](params, lr=lr, weight_decay=wd, **extra)


def build_scheduler(cfg: TrainConfig, optimizer):
    """The per-epoch schedule (``None`` for a constant lr)."""
    kind, params = parse_schedule(cfg.lr_schedule)
    if kind == "step":
        return lr_scheduler.StepLR(optimizer, **params)
    if kind == "multistep":
        return lr_scheduler.MultiStepLR(optimizer, **params)
    if kind == "exp":
        return lr_scheduler.ExponentialLR(optimizer, **params)
    if kind == "cosine":
        return lr_scheduler.CosineAnnealingLR(optimizer, T_max=cfg.epochs)
    if kind == "plateau":
        return lr_scheduler.ReduceLROnPlateau(optimizer, **params)
    return None


def extend_schedule(scheduler, epochs: int) -> None:
    """Continue ``scheduler`` in a run now ``epochs`` long.

    Every schedule but cosine is defined epoch by epoch, whatever the total: it simply goes on.
    Cosine is redefined over the new total from the current position: the lr of epoch t becomes
    η_min + (base − η_min)(1 + cos(π·t/epochs))/2, the schedule of a run planned with ``epochs``
    from the start.  So the remaining epochs get the lrs that run would have had, and none sits at
    the old schedule's end point (lr 0): t < epochs for every epoch still to train.
    """
    if isinstance(scheduler, lr_scheduler.CosineAnnealingLR) and scheduler.T_max != epochs:
        scheduler.T_max = epochs
        t, low = scheduler.last_epoch, scheduler.eta_min
        for group, base in zip(scheduler.optimizer.param_groups, scheduler.base_lrs):
            group["lr"] = low + (base - low) * (1 + math.cos(math.pi * t / epochs)) / 2
        scheduler._last_lr = [group["lr"] for group in scheduler.optimizer.param_groups]


def evaluate(model: nn.Module, x: np.ndarray, y: np.ndarray, batch_size: int = EVALUATION_BATCH) -> tuple[float, float, np.ndarray]:
    """(mean cross-entropy, accuracy, predicted classes) in eval mode, without a graph; the batches
    of ``x`` are scaled or converted to the model's dtype (:func:`~tinygrad_lab.data.model_inputs`:
    data loading, as for training), one ``batch_size`` chunk at a time."""
    dtype = next(model.parameters()).dtype
    was_training = model.training
    model.eval()
    total, predictions = 0.0, []
    with no_grad():
        for start in range(0, len(x), batch_size):
            logits = model(Tensor(model_inputs(x[start:start + batch_size], dtype), dtype=dtype))
            total += cross_entropy(logits, y[start:start + batch_size], reduction="sum").item()
            predictions.append(logits.data.argmax(axis=1))
    model.train(was_training)
    predicted = np.concatenate(predictions) if predictions else np.zeros(0, dtype=np.int64)
    return total / max(len(x), 1), float(np.mean(predicted == y)) if len(y) else 0.0, predicted


class NonFiniteLoss(FloatingPointError):
    """The training loss became NaN or infinite."""


class Trainer:
    """Owns the model, optimizer, scheduler, loader and metrics of one run; ``fit()`` trains it.

    ``data``, when given, is (x_train, y_train, x_test, y_test, source) used instead of cfg's dataset:
    rows of pixels, uint8 (scaled batch by batch, as the loaded dataset is) or float (used as given).

    ``stop_signal`` may be set (by a signal handler) to a signal number: ``fit()`` then stops at the
    next batch boundary, after writing the checkpoint."""

    def __init__(self, cfg: TrainConfig, out: str | Path, data=None, progress: bool = True, log=print,
                 download: bool = True, capture_steps: bool = True):
        self.cfg, self.out, self.progress, self.log = cfg, Path(out), progress, log
        check_memory(cfg)
        #: this process's seconds in each part of the run (written to metrics.json as "seconds")
        self.seconds = dict.fromkeys(TIMED_PARTS, 0.0)
        with self.timed("data"):
            if data is None:  # uint8 images kept as loaded, flattened: each batch is scaled when used
                ds = load_dataset(cfg.dataset, root=cfg.data_dir, download=download)
                self.data_used = data_record(ds)
                images, y_train, test_images, self.y_test, self.source = image_arrays(ds)
                self.x_train, self.y_train, self.x_val, self.y_val = hold_out(cfg, flatten(images), y_train)
                self.x_test = flatten(test_images)
            else:
                self.data_used = None
                x_train, y_train, self.x_test, self.y_test, self.source = data
                self.x_train, self.y_train, self.x_val, self.y_val = hold_out(cfg, x_train, y_train)
        check_against_data(cfg, self.x_train, self.y_train, self.y_test)
        self.model = build_model(cfg)
        self.optimizer = build_optimizer(cfg, list(self.model.parameters()))
        self.scheduler = build_scheduler(cfg, self.optimizer)
        # BatchNorm cannot estimate a variance from one sample: a last batch of one is dropped
        # (a different sample each epoch, as the order is reshuffled).
        self.drop_last = cfg.batchnorm and len(self.x_train) % cfg.batch_size == 1
        self.loader = DataLoader(self.x_train, self.y_train, cfg.batch_size, seed=cfg.seed, drop_last=self.drop_last)
        self.epoch, self.batch_in_epoch, self.step = 0, 0, 0
        self.epoch_start_loader = self.loader.state_dict()
        self.history: list[dict] = []
        self.running_loss = 0.0
        self.first_step_seconds: float | None = None
        self.stop_signal: int | None = None
        self.status = "running"
        self.capture_steps = capture_steps
        self.run_step = capture(self.eager_step) if capture_steps else self.eager_step

    @contextlib.contextmanager
    def timed(self, part: str):
        """Add the block's wall time to ``seconds[part]``."""
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[part] += time.perf_counter() - started

    # ----- checkpoints ------------------------------------------------------------------------
    def state(self) -> dict:
        return {
            "config": self.cfg.to_dict(),
            "data": self.data_used,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict() if self.scheduler is not None else None,
            "dropout_rngs": [m.rng.bit_generator.state for m in self.dropout_layers()],
            "loader_at_epoch_start": self.epoch_start_loader,
            "epoch": self.epoch, "batch_in_epoch": self.batch_in_epoch, "step": self.step,
            "running_loss": self.running_loss,
            "history": self.history,
        }

    def dropout_layers(self) -> list[nn.Dropout]:
        """The model's Dropout layers: their generators' states are checkpointed with the weights."""
        return [m for m in self.model.modules() if isinstance(m, nn.Dropout)]

    def last_checkpoint_note(self) -> str:
        """Where the last good checkpoint is, for the message that stops a diverged run."""
        path = self.out / "checkpoint.npz"
        return f"the last good checkpoint is {path}" if path.exists() else "no checkpoint was written yet"

    def save(self, name: str = "checkpoint.npz") -> Path:
        with self.timed("checkpoints"):
            return save_checkpoint(self.out / name, self.state())

    @classmethod
    def resume(cls, path, out=None, epochs: int | None = None, data=None, changes: dict | None = None,
               **kw) -> "Trainer":
        """A trainer restored from a checkpoint, in the checkpoint's folder unless ``out`` is given.

        ``changes`` (and ``epochs``, its shorthand) may set the fields marked resumable (epochs,
        checkpoint_every, data_dir, early_stopping); any other is a :class:`ResumeConflict`.  A longer ``epochs``
        extends the run (see :func:`extend_schedule`)."""
        changes = {**(changes or {}), **({"epochs": epochs} if epochs is not None else {})}
        state, cfg = resumed_config(path, changes)
        trainer = cls(cfg, out if out is not None else Path(path).parent, data=data, **kw)
        trainer.model.load_state_dict(state["model"])
        trainer.optimizer.load_state_dict(state["optimizer"])
        for layer, rng_state in zip(trainer.dropout_layers(), state.get("dropout_rngs", [])):
            layer.rng.bit_generator.state = rng_state
        if trainer.scheduler is not None:
            trainer.scheduler.load_state_dict(state["scheduler"])
            extend_schedule(trainer.scheduler, cfg.epochs)
        trainer.epoch_start_loader = state["loader_at_epoch_start"]
        trainer.loader.load_state_dict(state["loader_at_epoch_start"])
        trainer.epoch, trainer.batch_in_epoch, trainer.step = state["epoch"], state["batch_in_epoch"], state["step"]
        trainer.running_loss, trainer.history = state["running_loss"], state["history"]
        return trainer

    # ----- the loop ---------------------------------------------------------------------------
    def train_step(self, xb: np.ndarray, yb: np.ndarray) -> float:
        """One mini-batch: :meth:`eager_step` on its inputs (uint8 images scaled now, a float batch as
        given: :func:`~tinygrad_lab.data.model_inputs`), replayed from its captured kernels unless the
        trainer was made with ``capture_steps=False`` (see :mod:`tinygrad_lab.capture`: same numbers;
        a fresh scaled batch is read in place by the replay)."""
        return self.run_step(model_inputs(xb, np.dtype(self.cfg.dtype)), yb)

    def eager_step(self, xb: np.ndarray, yb: np.ndarray) -> float:
        """Forward, loss, backward, clip, update: one mini-batch (converted to the run's dtype: data
        loading, as a DataLoader's collate does; a Tensor of another dtype would be refused)."""
        loss = cross_entropy(self.model(Tensor(xb, dtype=self.cfg.dtype)), yb)
        value = loss.item()
        if not np.isfinite(value):
            raise NonFiniteLoss(
                f"the training loss became {value} at step {self.step} (epoch {self.epoch + 1}). Lower the "
                "learning rate, clip the gradient norm, or train under detect_anomaly() to find the op that "
                "produced it")
        self.optimizer.zero_grad()
        loss.backward()
        if self.cfg.clip_norm is not None:
            optim.clip_grad_norm_(self.model.parameters(), self.cfg.clip_norm)
        self.optimizer.step()
        return value

    def fit(self, stop_after_steps: int | None = None) -> list[dict]:
        """Train until ``cfg.epochs`` (or ``stop_after_steps`` more steps, for tests of resuming, or
        until ``stop_signal`` is set); the checkpoint is written whenever it stops early."""
        self.out.mkdir(parents=True, exist_ok=True)
        steps_left = stop_after_steps
        while self.epoch < self.cfg.epochs and self.early_stop() is None:
            if self.batch_in_epoch == 0:
                self.epoch_start_loader = self.loader.state_dict()
                self.running_loss = 0.0
            else:  # resuming inside an epoch: replay its order from the saved generator state
                self.loader.load_state_dict(self.epoch_start_loader)
            started = time.perf_counter()
            batches = itertools.islice(iter(self.loader), self.batch_in_epoch, None)
            bar = _progress(batches, total=len(self.loader), initial=self.batch_in_epoch,
                            desc=f"epoch {self.epoch + 1}/{self.cfg.epochs}") if self.progress else batches
            seen = 0
            for xb, yb in bar:
                if self.stop_signal is not None:  # a batch boundary
                    return self._stop(bar)
                if self.first_step_seconds is None:  # JIT compile (or cache load): timed apart
                    with self.timed("first_step"):
                        self.running_loss += self.train_step(xb, yb)
                    self.first_step_seconds = self.seconds["first_step"]
                    started += self.first_step_seconds
                    self.log(f"first step {self.first_step_seconds:.2f} s (includes compiling or loading the "
                             f"{get_backend().NAME} backend's kernels; not counted in samples/s)")
                else:
                    with self.timed("steps"):
                        self.running_loss += self.train_step(xb, yb)
                    seen += len(xb)
                self.batch_in_epoch += 1
                self.step += 1
                if self.progress and self.batch_in_epoch % 20 == 0:
                    bar.set_postfix(loss=f"{self.running_loss / self.batch_in_epoch:.4f}",
                                    samples_per_s=f"{seen / (time.perf_counter() - started):.0f}")
                if self.cfg.checkpoint_every and self.step % self.cfg.checkpoint_every == 0:
                    self.save()
                if steps_left is not None:
                    steps_left -= 1
                    if steps_left == 0:
                        return self._stop(bar)
            elapsed = time.perf_counter() - started
            self.end_epoch(seen / elapsed if elapsed > 0 else float("nan"))
        self.status = "finished"
        return self.history

    def _stop(self, bar) -> list[dict]:
        """Stop early: write the checkpoint (and say why in ``status`` when a signal asked)."""
        if self.progress:
            bar.close()
        self.save()
        if self.stop_signal is not None:
            self.status = (f"interrupted by {signal.Signals(self.stop_signal).name} at epoch {self.epoch + 1}, "
                           f"batch {self.batch_in_epoch}")
        return self.history

    def best(self) -> dict | None:
        """The history row of the epoch with the lowest validation loss (see :func:`best_epoch`)."""
        return best_epoch(self.history)

    def early_stop(self) -> str | None:
        """Why the run stops before ``epochs`` (see :func:`early_stop`); None while it goes on."""
        return early_stop(self.history, self.cfg.early_stopping)

    def end_epoch(self, samples_per_s: float) -> None:
        """Evaluate (validation set, then the test set for the record), log one line, write best.npz
        if the validation loss is the lowest so far, step the schedule (plateau: on the validation
        loss), then write the checkpoint and the metrics."""
        row = {"epoch": self.epoch + 1, "train_loss": self.running_loss / max(self.batch_in_epoch, 1)}
        with self.timed("evaluation"):
            if len(self.x_val):
                row["val_loss"], row["val_accuracy"], _ = evaluate(self.model, self.x_val, self.y_val)
            row["test_loss"], row["test_accuracy"], _ = evaluate(self.model, self.x_test, self.y_test)
        row.update(samples_per_s=samples_per_s, lr=self.optimizer.param_groups[0]["lr"])
        self.history.append(row)
        validation = (f"val loss {row['val_loss']:.4f}  val acc {100 * row['val_accuracy']:6.2f}%  "
                      if "val_loss" in row else "")
        self.log(f"epoch {row['epoch']:>3}  train loss {row['train_loss']:.4f}  {validation}test loss "
                 f"{row['test_loss']:.4f}  test acc {100 * row['test_accuracy']:6.2f}%  {samples_per_s:,.0f} samples/s")
        if self.best() is row:
            with self.timed("checkpoints"):
                save_checkpoint(self.out / "best.npz", self.model_file())
        if self.scheduler is not None:
            if isinstance(self.scheduler, lr_scheduler.ReduceLROnPlateau):
                self.scheduler.step(row["val_loss"])
            else:
                self.scheduler.step()
        self.epoch += 1
        self.batch_in_epoch = 0
        self.epoch_start_loader = self.loader.state_dict()  # the next epoch starts from here
        self.save()
        with self.timed("checkpoints"):
            write_metrics(self)
        if self.early_stop() is not None:
            self.log(self.early_stop())

    def model_file(self) -> dict:
        """What model.npz and best.npz hold: the config, the data it was trained on
        (:func:`~tinygrad_lab.train_data.data_record`;
        None when the trainer was given arrays) and the weights (see :func:`load_run`)."""
        return {"config": self.cfg.to_dict(), "data": self.data_used, "model": self.model.state_dict()}


def resumed_config(path, changes: dict) -> tuple[dict, TrainConfig]:
    """(the training checkpoint at ``path``, its config with ``changes``): only the fields marked
    resumable may change (any other is a :class:`ResumeConflict`), and ``epochs`` not below the
    epochs already trained."""
    state = load_checkpoint(path)
    if not {"config", "model", "optimizer", "epoch"} <= set(state):
        raise CheckpointError(f"{path}: not a training checkpoint (a model.npz? use the run's checkpoint.npz)")
    cfg = TrainConfig.from_dict(state["config"], path)
    conflicts = [name for name, value in changes.items() if not RESUMABLE[name] and value != getattr(cfg, name)]
    if conflicts:
        raise ResumeConflict(conflicts)
    cfg = dataclasses.replace(cfg, **changes)
    if cfg.epochs < state["epoch"]:
        raise ConfigError("epochs", cfg.epochs, f"the checkpoint has already trained {state['epoch']} epochs")
    return state, cfg


def nothing_left(state: dict, cfg: TrainConfig) -> str | None:
    """Why a run resumed from ``state`` with ``cfg`` would train nothing (it has trained all its epochs,
    or early stopping has stopped it), or None when it has something left to train."""
    if state["epoch"] >= cfg.epochs:
        return f"it has trained all its {cfg.epochs} epoch{'s' if cfg.epochs != 1 else ''}"
    return early_stop(state["history"], cfg.early_stopping)


def best_epoch(history: list[dict]) -> dict | None:
    """The history row of the epoch with the lowest validation loss (the first of equals), if any."""
    rows = [row for row in history if "val_loss" in row]
    return min(rows, key=lambda row: row["val_loss"]) if rows else None


def early_stop(history: list[dict], patience: int | None) -> str | None:
    """Why a run stops before its ``epochs``: ``patience`` epochs have passed without a lower
    validation loss than the best one.  None while it goes on (a function of the history, so a
    resumed run, or one resumed with another patience, decides the same way)."""
    best = best_epoch(history)
    if patience is None or best is None or len(history) - best["epoch"] < patience:
        return None
    return (f"early stopping after epoch {len(history)}: no lower validation loss for {patience} epochs "
            f"since epoch {best['epoch']}")


def _progress(iterable, total, initial, desc):
    """A progress bar over the epoch's batches (tqdm, imported only when a bar is shown: 0.1 s)."""
    from tqdm.auto import tqdm

    return tqdm(iterable, total=total, initial=initial, desc=desc, leave=False, unit="batch", file=sys.stderr)


def load_model(path) -> tuple[nn.MLP, TrainConfig]:
    """The model stored in a checkpoint or ``model.npz`` (in eval mode) and its config."""
    model, cfg, _ = load_run(path)
    return model, cfg


def load_run(path) -> tuple[nn.MLP, TrainConfig, dict | None]:
    """The model stored in a checkpoint or ``model.npz`` (in eval mode), its config, and the data it
    was trained on as :func:`~tinygrad_lab.train_data.data_record` describes it (None in files written
    before it was recorded, or by a trainer given arrays)."""
    state = load_checkpoint(path)
    if "config" not in state or "model" not in state:
        raise CheckpointError(f"{path}: holds no model (keys {sorted(state)})")
    cfg = TrainConfig.from_dict(state["config"], path)
    model = build_model(cfg)
    model.load_state_dict(state["model"])
    return model.eval(), cfg, state.get("data")
