"""Training an MLP classifier on MNIST-like data: the loop behind ``tinygrad-lab train``.

One step is the whole framework at work: forward through the graph, softmax cross-entropy, backward
(the homework's δ recursion, run by the graph), optional gradient clipping, one optimizer update.
Everything that decides the numbers (weights, optimizer and scheduler state, the shuffling
generator, the position in the epoch) goes into the checkpoint, so a resumed run continues bit for
bit where the interrupted one stopped.
"""
from __future__ import annotations

import dataclasses
import inspect
import itertools
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tinygrad_lab import nn, optim
from tinygrad_lab.backend import get_backend
from tinygrad_lab.checkpoint import load_checkpoint, save_checkpoint
from tinygrad_lab.data import DataLoader, load_dataset, normalize
from tinygrad_lab.losses import cross_entropy
from tinygrad_lab.optim import lr_scheduler
from tinygrad_lab.tensor import Tensor, no_grad

DEFAULT_LR = {"sgd": 0.1, "momentum": 0.05, "nesterov": 0.05, "adagrad": 0.01, "rmsprop": 1e-3, "adam": 1e-3}
#: --optimizer choices: SGD's momentum variants, then every optimizer of optim.REGISTRY (default lr: the
#: class's own unless DEFAULT_LR says otherwise)
OPTIMIZERS = ("sgd", "momentum", "nesterov", *(name for name in optim.REGISTRY if name != "sgd"))
DATASETS = ("mnist", "fashion-mnist", "mnist-sample")


@dataclass
class TrainConfig:
    """Every choice of a training run (saved in its checkpoints)."""

    dataset: str = "mnist"
    data_dir: str | None = None
    sizes: list[int] = field(default_factory=lambda: [784, 512, 256, 10])
    activation: str = "relu"
    init: str | None = None          # None: He for ReLU, Xavier for sigmoid/tanh
    batchnorm: bool = False
    optimizer: str = "adam"
    lr: float | None = None          # None: DEFAULT_LR[optimizer]
    lr_schedule: str = "cosine"
    epochs: int = 5
    batch_size: int = 128
    weight_decay: float = 0.0
    clip_norm: float | None = None
    seed: int = 0
    dtype: str = "float32"
    checkpoint_every: int = 0        # also checkpoint every N steps inside an epoch (0: epoch ends only)

    def __post_init__(self):
        self.validate()

    def validate(self) -> None:
        if self.dataset not in DATASETS:
            raise ValueError(f"unknown dataset {self.dataset!r}; choose one of {', '.join(DATASETS)}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer {self.optimizer!r}; choose one of {', '.join(OPTIMIZERS)}")
        if len(self.sizes) < 2 or min(self.sizes) < 1:
            raise ValueError(f"sizes must be at least two positive numbers, got {self.sizes}")
        for name in ("epochs", "batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.lr is not None and not self.lr > 0:
            raise ValueError(f"lr must be > 0, got {self.lr}")
        if self.dtype not in ("float32", "float64"):
            raise ValueError(f"dtype must be float32 or float64, got {self.dtype!r}")
        if self.clip_norm is not None and not self.clip_norm > 0:
            raise ValueError(f"clip_norm must be > 0, got {self.clip_norm}")
        if self.checkpoint_every < 0:
            raise ValueError(f"checkpoint_every must be >= 0, got {self.checkpoint_every}")
        parse_schedule(self.lr_schedule)

    @property
    def learning_rate(self) -> float:
        if self.lr is not None:
            return self.lr
        if self.optimizer in DEFAULT_LR:
            return DEFAULT_LR[self.optimizer]
        return inspect.signature(optim.REGISTRY[self.optimizer]).parameters["lr"].default


def parse_schedule(spec: str) -> tuple[str, list[float]]:
    """``none``, ``step:EPOCHS[:GAMMA]``, ``multistep:E1,E2[:GAMMA]``, ``exp:GAMMA``, ``cosine``,
    ``plateau[:FACTOR[:PATIENCE]]`` -> (kind, numbers)."""
    kind, *args = spec.split(":")
    shapes = {"none": (0, 0), "step": (1, 2), "multistep": (1, 2), "exp": (1, 1), "cosine": (0, 0),
              "plateau": (0, 2)}
    if kind not in shapes or not shapes[kind][0] <= len(args) <= shapes[kind][1]:
        raise ValueError(f"bad --lr-schedule {spec!r}; use none, step:EPOCHS[:GAMMA], "
                         "multistep:E1,E2[:GAMMA], exp:GAMMA, cosine or plateau[:FACTOR[:PATIENCE]]")
    try:
        numbers = [[float(v) for v in a.split(",")] if kind == "multistep" and i == 0 else float(a)
                   for i, a in enumerate(args)]
    except ValueError:
        raise ValueError(f"bad --lr-schedule {spec!r}: {args} are not numbers") from None
    return kind, numbers


def build_model(cfg: TrainConfig) -> nn.MLP:
    return nn.MLP(cfg.sizes, activation=cfg.activation, batchnorm=cfg.batchnorm, init=cfg.init,
                  seed=cfg.seed, dtype=np.dtype(cfg.dtype), fuse=True)


def build_optimizer(cfg: TrainConfig, params) -> optim.Optimizer:
    lr, wd = cfg.learning_rate, cfg.weight_decay
    if cfg.optimizer in ("sgd", "momentum", "nesterov"):
        momentum = 0.0 if cfg.optimizer == "sgd" else 0.9
        return optim.SGD(params, lr=lr, momentum=momentum, nesterov=cfg.optimizer == "nesterov", weight_decay=wd)
    return optim.REGISTRY[cfg.optimizer](params, lr=lr, weight_decay=wd)


def build_scheduler(cfg: TrainConfig, optimizer):
    """The per-epoch schedule (``None`` for a constant lr)."""
    kind, a = parse_schedule(cfg.lr_schedule)
    if kind == "step":
        return lr_scheduler.StepLR(optimizer, step_size=int(a[0]), gamma=a[1] if len(a) > 1 else 0.1)
    if kind == "multistep":
        return lr_scheduler.MultiStepLR(optimizer, milestones=[int(m) for m in a[0]],
                                        gamma=a[1] if len(a) > 1 else 0.1)
    if kind == "exp":
        return lr_scheduler.ExponentialLR(optimizer, gamma=a[0])
    if kind == "cosine":
        return lr_scheduler.CosineAnnealingLR(optimizer, T_max=cfg.epochs)
    if kind == "plateau":
        return lr_scheduler.ReduceLROnPlateau(optimizer, factor=a[0] if a else 0.1,
                                              patience=int(a[1]) if len(a) > 1 else 2)
    return None


def load_data(cfg: TrainConfig):
    """(x_train, y_train, x_test, y_test, source) with images flattened to [0, 1] in cfg.dtype."""
    ds = load_dataset(cfg.dataset, root=cfg.data_dir)
    dtype = np.dtype(cfg.dtype)
    x_train, x_test = normalize(ds.train_images, dtype), normalize(ds.test_images, dtype)
    if x_train.shape[1] != cfg.sizes[0]:
        raise ValueError(f"the model's input size {cfg.sizes[0]} does not match the data's {x_train.shape[1]} "
                         "pixels per image")
    return x_train, ds.train_labels, x_test, ds.test_labels, ds.source


def evaluate(model: nn.Module, x: np.ndarray, y: np.ndarray, batch_size: int = 1000) -> tuple[float, float, np.ndarray]:
    """(mean cross-entropy, accuracy, predicted classes) in eval mode, without a graph."""
    was_training = model.training
    model.eval()
    total, predictions = 0.0, []
    with no_grad():
        for start in range(0, len(x), batch_size):
            logits = model(Tensor(x[start:start + batch_size]))
            total += cross_entropy(logits, y[start:start + batch_size], reduction="sum").item()
            predictions.append(logits.data.argmax(axis=1))
    model.train(was_training)
    predicted = np.concatenate(predictions) if predictions else np.zeros(0, dtype=np.int64)
    return total / max(len(x), 1), float(np.mean(predicted == y)) if len(y) else 0.0, predicted


class NonFiniteLoss(FloatingPointError):
    """The training loss became NaN or infinite."""


class Trainer:
    """Owns the model, optimizer, scheduler, loader and metrics of one run; ``fit()`` trains it."""

    def __init__(self, cfg: TrainConfig, out: str | Path, data=None, progress: bool = True, log=print):
        self.cfg, self.out, self.progress, self.log = cfg, Path(out), progress, log
        self.x_train, self.y_train, self.x_test, self.y_test, self.source = data if data is not None else load_data(cfg)
        self.model = build_model(cfg)
        self.optimizer = build_optimizer(cfg, list(self.model.parameters()))
        self.scheduler = build_scheduler(cfg, self.optimizer)
        self.loader = DataLoader(self.x_train, self.y_train, cfg.batch_size, seed=cfg.seed)
        self.epoch, self.batch_in_epoch, self.step = 0, 0, 0
        self.epoch_start_loader = self.loader.state_dict()
        self.history: list[dict] = []
        self.running_loss = 0.0
        self.first_step_seconds: float | None = None

    # ----- checkpoints ------------------------------------------------------------------------
    def state(self) -> dict:
        return {
            "config": dataclasses.asdict(self.cfg),
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict() if self.scheduler is not None else None,
            "loader_at_epoch_start": self.epoch_start_loader,
            "epoch": self.epoch, "batch_in_epoch": self.batch_in_epoch, "step": self.step,
            "running_loss": self.running_loss,
            "history": self.history,
        }

    def last_checkpoint_note(self) -> str:
        """Where the last good checkpoint is, for the message that stops a diverged run."""
        path = self.out / "checkpoint.npz"
        return f"the last good checkpoint is {path}" if path.exists() else "no checkpoint was written yet"

    def save(self, name: str = "checkpoint.npz") -> Path:
        return save_checkpoint(self.out / name, self.state())

    @classmethod
    def resume(cls, path, out=None, epochs: int | None = None, data=None, **kw) -> "Trainer":
        """A trainer restored from a checkpoint; ``epochs`` may extend the run."""
        state = load_checkpoint(path)
        cfg = TrainConfig(**state["config"])
        if epochs is not None:
            cfg.epochs = epochs
            cfg.validate()
        trainer = cls(cfg, out if out is not None else Path(path).parent, data=data, **kw)
        trainer.model.load_state_dict(state["model"])
        trainer.optimizer.load_state_dict(state["optimizer"])
        if trainer.scheduler is not None:
            trainer.scheduler.load_state_dict(state["scheduler"])
        trainer.epoch_start_loader = state["loader_at_epoch_start"]
        trainer.loader.load_state_dict(state["loader_at_epoch_start"])
        trainer.epoch, trainer.batch_in_epoch, trainer.step = state["epoch"], state["batch_in_epoch"], state["step"]
        trainer.running_loss, trainer.history = state["running_loss"], state["history"]
        return trainer

    # ----- the loop ---------------------------------------------------------------------------
    def train_step(self, xb: np.ndarray, yb: np.ndarray) -> float:
        """Forward, loss, backward, clip, update: one mini-batch."""
        loss = cross_entropy(self.model(Tensor(xb)), yb)
        value = loss.item()
        if not np.isfinite(value):
            raise NonFiniteLoss(
                f"the training loss became {value} at step {self.step} (epoch {self.epoch + 1}). Lower "
                "--lr, add --clip-norm, or run with --detect-anomaly to find the op that produced it")
        self.optimizer.zero_grad()
        loss.backward()
        if self.cfg.clip_norm is not None:
            optim.clip_grad_norm_(self.model.parameters(), self.cfg.clip_norm)
        self.optimizer.step()
        return value

    def fit(self, stop_after_steps: int | None = None) -> list[dict]:
        """Train until ``cfg.epochs`` (or ``stop_after_steps`` more steps, for tests of resuming)."""
        self.out.mkdir(parents=True, exist_ok=True)
        steps_left = stop_after_steps
        while self.epoch < self.cfg.epochs:
            if self.batch_in_epoch == 0:
                self.epoch_start_loader = self.loader.state_dict()
                self.running_loss = 0.0
            else:  # resuming inside an epoch: replay its order from the saved generator state
                self.loader.load_state_dict(self.epoch_start_loader)
            started = time.perf_counter()
            batches = itertools.islice(iter(self.loader), self.batch_in_epoch, None)
            bar = _progress(batches, total=len(self.loader), initial=self.batch_in_epoch,
                            desc=f"epoch {self.epoch + 1}/{self.cfg.epochs}", enabled=self.progress)
            seen = 0
            for xb, yb in bar:
                if self.first_step_seconds is None:  # JIT compile (or cache load): timed apart
                    t0 = time.perf_counter()
                    self.running_loss += self.train_step(xb, yb)
                    self.first_step_seconds = time.perf_counter() - t0
                    started += self.first_step_seconds
                    self.log(f"first step {self.first_step_seconds:.2f} s (includes compiling or loading the "
                             f"{get_backend().NAME} backend's kernels; not counted in samples/s)")
                else:
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
                        bar.close()
                        self.save()
                        return self.history
            elapsed = time.perf_counter() - started
            self.end_epoch(seen / elapsed if elapsed > 0 else float("nan"))
        return self.history

    def end_epoch(self, samples_per_s: float) -> None:
        test_loss, test_acc, _ = evaluate(self.model, self.x_test, self.y_test)
        row = {"epoch": self.epoch + 1, "train_loss": self.running_loss / max(self.batch_in_epoch, 1),
               "test_loss": test_loss, "test_accuracy": test_acc, "samples_per_s": samples_per_s,
               "lr": self.optimizer.param_groups[0]["lr"]}
        self.history.append(row)
        self.log(f"epoch {row['epoch']:>3}  train loss {row['train_loss']:.4f}  test loss {test_loss:.4f}  "
                 f"test acc {100 * test_acc:6.2f}%  {samples_per_s:,.0f} samples/s")
        if self.scheduler is not None:
            if isinstance(self.scheduler, lr_scheduler.ReduceLROnPlateau):
                self.scheduler.step(test_loss)
            else:
                self.scheduler.step()
        self.epoch += 1
        self.batch_in_epoch = 0
        self.epoch_start_loader = self.loader.state_dict()  # the next epoch starts from here
        self.save()


def _progress(iterable, total, initial, desc, enabled):
    from tqdm.auto import tqdm

    return tqdm(iterable, total=total, initial=initial, desc=desc, disable=not enabled, leave=False,
                unit="batch", file=sys.stderr)


def write_reports(trainer: Trainer) -> list[Path]:
    """metrics.csv, metrics.json, model.npz and curves.png in the run's folder."""
    out = trainer.out
    out.mkdir(parents=True, exist_ok=True)
    history = trainer.history
    keys = ["epoch", "train_loss", "test_loss", "test_accuracy", "samples_per_s", "lr"]
    lines = [",".join(keys)] + [",".join(repr(row[k]) for k in keys) for row in history]
    (out / "metrics.csv").write_text("\n".join(lines) + "\n")
    summary = {"config": dataclasses.asdict(trainer.cfg), "data_source": trainer.source, "history": history}
    (out / "metrics.json").write_text(json.dumps(summary, indent=2))
    save_checkpoint(out / "model.npz", {"config": dataclasses.asdict(trainer.cfg),
                                        "model": trainer.model.state_dict()})
    written = [out / "metrics.csv", out / "metrics.json", out / "model.npz"]
    if history:
        written.append(plot_curves(history, out / "curves.png", title=f"{trainer.cfg.dataset}: "
                                   f"{'-'.join(map(str, trainer.cfg.sizes))} {trainer.cfg.activation}, "
                                   f"{trainer.cfg.optimizer}"))
    return written


def plot_curves(history: list[dict], path: Path, title: str) -> Path:
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    epochs = [r["epoch"] for r in history]
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 4))
    ax_loss.plot(epochs, [r["train_loss"] for r in history], "o-", label="train")
    ax_loss.plot(epochs, [r["test_loss"] for r in history], "s-", label="test")
    ax_loss.set(xlabel="epoch", ylabel="cross-entropy", title="loss")
    ax_loss.legend()
    ax_acc.plot(epochs, [100 * r["test_accuracy"] for r in history], "s-", color="C1")
    ax_acc.set(xlabel="epoch", ylabel="test accuracy (%)", title="test accuracy")
    for ax in (ax_loss, ax_acc):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def load_model(path) -> tuple[nn.MLP, TrainConfig]:
    """The model stored in a checkpoint or ``model.npz`` (in eval mode) and its config."""
    state = load_checkpoint(path)
    if "config" not in state or "model" not in state:
        raise ValueError(f"{path}: holds no model (keys {sorted(state)})")
    cfg = TrainConfig(**state["config"])
    model = build_model(cfg)
    model.load_state_dict(state["model"])
    return model.eval(), cfg
