"""Training an MLP classifier on MNIST-like data: the loop behind ``tinygrad-lab train``.

One step is the whole framework at work: forward through the graph, softmax cross-entropy, backward
(the homework's δ recursion, run by the graph), optional gradient clipping, one optimizer update.
Everything that decides the numbers (weights, optimizer and scheduler state, the shuffling
generator, the position in the epoch) goes into the checkpoint, so a resumed run continues bit for
bit where the interrupted one stopped.

Model selection never looks at the test set: a validation set held out from the training set
(stratified by class, seeded) decides the plateau schedule, early stopping and ``best.npz``; the
test set is evaluated after every epoch for reporting only.
"""
from __future__ import annotations

import contextlib
import dataclasses
import inspect
import itertools
import json
import math
import os
import platform
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tinygrad_lab import activations, nn, optim
from tinygrad_lab.backend import get_backend
from tinygrad_lab.capture import capture
from tinygrad_lab.atomic import atomic_output
from tinygrad_lab.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from tinygrad_lab.data import DataLoader, load_dataset, normalize
from tinygrad_lab.data.split import stratified_split
from tinygrad_lab.init import get_initializer, known_inits
from tinygrad_lab.losses import cross_entropy
from tinygrad_lab.optim import lr_scheduler
from tinygrad_lab.tensor import Tensor, no_grad

DEFAULT_LR = {"sgd": 0.1, "momentum": 0.05, "nesterov": 0.05, "adagrad": 0.01, "rmsprop": 1e-3, "adam": 1e-3,
              "adamw": 1e-3}
#: --optimizer choices: SGD's momentum variants, then every optimizer of optim.REGISTRY (default lr: the
#: class's own unless DEFAULT_LR says otherwise)
OPTIMIZERS = ("sgd", "momentum", "nesterov", *(name for name in optim.REGISTRY if name != "sgd"))
#: the optimizers that take a momentum, and their default one
DEFAULT_MOMENTUM = {"sgd": 0.0, "momentum": 0.9, "nesterov": 0.9, "rmsprop": 0.0}
#: weight decay by default: AdamW's 1e-2, as in PyTorch; none for the others
DEFAULT_WEIGHT_DECAY = {"adamw": 1e-2}
#: the validation set held out by default: 5,000 samples, or a tenth of a training set of fewer
#: than 50,000 (500 of the bundled sample's 5,000)
DEFAULT_VAL_SPLIT = 5000
#: the validation split draws from numpy.random.default_rng((seed, VALIDATION_STREAM)), a stream of
#: its own (the weights and the shuffling draw from default_rng(seed))
VALIDATION_STREAM = 1
DATASETS = ("mnist", "fashion-mnist", "mnist-sample")
#: the training samples of each dataset (before the validation set is held out): a batch holds at most these
TRAIN_SAMPLES = {"mnist": 60_000, "fashion-mnist": 60_000, "mnist-sample": 5_000}
#: samples per batch when a model is evaluated (see :func:`evaluate`)
EVALUATION_BATCH = 1000
ACTIVATIONS = tuple(name for name in activations.REGISTRY if name != "identity")
SCHEDULES = ("none, step:EPOCHS[:GAMMA], multistep:E1,E2[:GAMMA], exp:GAMMA, cosine or "
             "plateau[:FACTOR[:PATIENCE]]")


class ConfigError(ValueError):
    """A TrainConfig value that cannot be used: ``field`` and ``value`` name it, ``reason`` says why."""

    def __init__(self, field: str, value, reason: str):
        self.field, self.value, self.reason = field, value, reason
        super().__init__(f"{field}: {reason} (got {value!r})")


class ResumeConflict(ValueError):
    """Changes asked of a resumed run that would change its model or optimizer (``fields``)."""

    def __init__(self, fields: list[str]):
        self.fields = fields
        super().__init__(f"a resumed run keeps its checkpoint's {', '.join(fields)}: they define the model, the "
                         "optimizer or the data order (start a new run to change them)")


def option(default, help: str, *, choices=None, resumable: bool = False, metavar: str | None = None):
    """A TrainConfig field and how to ask for it: ``help``, ``choices``, and whether a resumed run may
    change it (``resumable``).  The command line builds one option per field from this."""
    metadata = {"help": help, "choices": choices, "resumable": resumable, "metavar": metavar}
    if isinstance(default, list):
        return field(default_factory=lambda: list(default), metadata=metadata)
    return field(default=default, metadata=metadata)


#: the version of the init names a saved config uses: 2 since "xavier" names Glorot's N(0, 2/(n_in + n_out))
#: and "lecun" N(0, 1/n_in), which "xavier" named before (configs without the number)
INIT_NAMES = 2


@dataclass
class TrainConfig:
    """Every choice of a training run (saved in its checkpoints); ``None`` means "the usual one",
    resolved by :meth:`resolved`."""

    dataset: str = option("mnist", "the data (mnist: the sample is used only when no --data-dir is given and "
                          "the download fails)", choices=DATASETS)
    data_dir: str | None = option(None, "folder holding the four IDX files (gzipped or not); when given it is "
                                  "the only place looked in", resumable=True, metavar="DIR")
    sizes: list[int] = option([784, 512, 256, 10], "all layer sizes, input to output")
    activation: str = option("relu", "hidden-layer activation", choices=ACTIVATIONS)
    init: str | None = option(None, f"weight init, one of {known_inits()} (lecun: N(0, 1/n_in); xavier = "
                              "glorot: N(0, 2/(n_in + n_out)); kaiming is he, as PyTorch calls it; default: he "
                              "for relu-like activations, lecun otherwise)")
    batchnorm: bool = option(False, "BatchNorm1d after every hidden linear layer (a last batch of one sample "
                             "is dropped from each epoch)")
    dropout: float = option(0.0, "dropout probability after every hidden activation (nn.Dropout, inverted; 0: "
                            "none)", metavar="P")
    optimizer: str = option("adam", "update rule", choices=OPTIMIZERS)
    lr: float | None = option(None, "learning rate (default by optimizer: "
                              + ", ".join(f"{k} {v:g}" for k, v in DEFAULT_LR.items()) + ")")
    lr_schedule: str = option("cosine", f"per-epoch lr schedule: {SCHEDULES}; cosine falls to 0 over --epochs "
                              "along a half cosine")
    epochs: int = option(5, "number of epochs (with --resume: in all, to extend the run)", resumable=True)
    batch_size: int = option(128, "samples per mini-batch")
    momentum: float | None = option(None, "momentum of " + ", ".join(DEFAULT_MOMENTUM) + " (default: "
                                    + ", ".join(f"{k} {v:g}" for k, v in DEFAULT_MOMENTUM.items()) + ")")
    weight_decay: float | None = option(None, "weight decay λ: λθ added to the gradient, decoupled "
                                        "(θ ← θ(1 − lr·λ)) for adamw (default: 0.01 for adamw, as PyTorch; 0 "
                                        "otherwise)")
    clip_norm: float | None = option(None, "clip the gradient's global L2 norm to this value (default: no "
                                     "clipping)")
    seed: int = option(0, "seed of the weights, the shuffling, the dropout masks and the validation split")
    val_split: float | None = option(
        None, "validation samples held out from the training set, stratified by class and seeded: a count, "
        "a fraction in (0, 1), or 0 for none; the plateau schedule, --early-stopping and best.npz use it, "
        f"the test set is only reported (default: {DEFAULT_VAL_SPLIT}, or a tenth of a training set smaller "
        f"than {10 * DEFAULT_VAL_SPLIT})", metavar="N|FRACTION")
    early_stopping: int | None = option(None, "stop after PATIENCE epochs without a lower validation loss "
                                        "(default: train all --epochs)", resumable=True, metavar="PATIENCE")
    dtype: str = option("float32", "floating-point type of the whole run", choices=("float32", "float64"))
    checkpoint_every: int = option(0, "also write checkpoint.npz every STEPS steps (0: at epoch ends only)",
                                   resumable=True, metavar="STEPS")

    def __post_init__(self):
        self.validate()
        if self.val_split is not None and (self.val_split == 0 or self.val_split >= 1):
            self.val_split = int(self.val_split)   # a count

    def validate(self) -> None:
        """Raise a :class:`ConfigError` for the first unusable value (every field is checked)."""
        for name, choices in (("dataset", DATASETS), ("activation", ACTIVATIONS),
                              ("optimizer", OPTIMIZERS), ("dtype", ("float32", "float64"))):
            if getattr(self, name) not in choices:
                raise ConfigError(name, getattr(self, name), f"choose one of {', '.join(choices)}")
        if len(self.sizes) < 2 or min(self.sizes) < 1:
            raise ConfigError("sizes", self.sizes, "need at least two sizes, all >= 1")
        integers = [("epochs", 1), ("batch_size", 1), ("seed", 0), ("checkpoint_every", 0)]
        integers += [("early_stopping", 1)] if self.early_stopping is not None else []
        for name, low in integers:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ConfigError(name, value, f"must be an integer >= {low}")
        for name, positive in (("lr", True), ("clip_norm", True), ("weight_decay", False)):
            value = getattr(self, name)
            if value is not None and not (math.isfinite(value) and (value > 0 if positive else value >= 0)):
                raise ConfigError(name, value, f"must be a finite number {'> 0' if positive else '>= 0'}")
        if not _number(self.dropout) or not 0 <= self.dropout < 1:
            raise ConfigError("dropout", self.dropout, "must be a probability in [0, 1)")
        if self.momentum is not None:
            if self.optimizer not in DEFAULT_MOMENTUM:
                raise ConfigError("momentum", self.momentum, f"{self.optimizer} takes no momentum (only "
                                  f"{', '.join(DEFAULT_MOMENTUM)} do)")
            needed = DEFAULT_MOMENTUM[self.optimizer] > 0   # momentum and nesterov without one are sgd
            if not _number(self.momentum) or not (0 < self.momentum < 1 if needed else 0 <= self.momentum < 1):
                raise ConfigError("momentum", self.momentum, f"must be in {'(0' if needed else '[0'}, 1) for "
                                  f"{self.optimizer}")
        value = self.val_split
        if value is not None and not (_number(value) and (0 <= value < 1 or value == int(value) >= 1)):
            raise ConfigError("val_split", value, "must be 0 (no validation set), a count (an integer >= 1) or a "
                              "fraction in (0, 1)")
        if value == 0 and self.early_stopping is not None:
            raise ConfigError("early_stopping", self.early_stopping, "needs a validation set to watch, and the "
                              "validation split is 0")
        if value == 0 and parse_schedule(self.lr_schedule)[0] == "plateau":
            raise ConfigError("lr_schedule", self.lr_schedule, "plateau steps on the validation loss, and the "
                              "validation split is 0 (the test set never chooses anything)")
        if self.init is not None:
            try:
                get_initializer(self.init)
            except ValueError as e:
                raise ConfigError("init", self.init, str(e)) from None
        parse_schedule(self.lr_schedule)

    @property
    def learning_rate(self) -> float:
        if self.lr is not None:
            return self.lr
        if self.optimizer in DEFAULT_LR:
            return DEFAULT_LR[self.optimizer]
        return inspect.signature(optim.REGISTRY[self.optimizer]).parameters["lr"].default

    def resolved(self) -> dict:
        """The values actually used: defaults filled in (init, lr, momentum, weight decay, the schedule's
        parameters), no ``None`` (``val_split`` is resolved against the data: see :func:`hold_out`)."""
        values = dataclasses.asdict(self)
        values["init"] = self.init if self.init is not None else nn.mlp.default_init(self.activation)
        values["lr"] = self.learning_rate
        if self.optimizer in DEFAULT_MOMENTUM and self.momentum is None:
            values["momentum"] = DEFAULT_MOMENTUM[self.optimizer]
        if self.weight_decay is None:
            values["weight_decay"] = DEFAULT_WEIGHT_DECAY.get(self.optimizer, 0.0)
        values["lr_schedule_parameters"] = schedule_parameters(self)
        return {k: v for k, v in values.items() if v is not None}

    def to_dict(self) -> dict:
        """The config as a checkpoint saves it, with the version of the init names it uses."""
        return {**dataclasses.asdict(self), "init_names": INIT_NAMES}

    @classmethod
    def from_dict(cls, values: dict, where) -> "TrainConfig":
        """The config saved in a checkpoint; a key this version does not know is an error naming it.
        A config saved before :data:`INIT_NAMES` existed meant N(0, 1/n_in) by ``init="xavier"``: it is
        read as ``"lecun"``, so a resumed old run keeps its meaning."""
        values = dict(values)
        if values.pop("init_names", 1) < INIT_NAMES and values.get("init") == "xavier":
            values["init"] = "lecun"
        unknown = sorted(set(values) - {f.name for f in dataclasses.fields(cls)})
        if unknown:
            raise CheckpointError(f"{where}: its config has keys this version does not know: {unknown} "
                                  "(written by another version of tinygrad_lab?)")
        return cls(**{"val_split": 0, **values})   # runs saved before validation splits held out none


def _number(value) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value)


def parse_schedule(spec: str) -> tuple[str, dict]:
    """``none``, ``step:EPOCHS[:GAMMA]``, ``multistep:E1,E2[:GAMMA]``, ``exp:GAMMA``, ``cosine``,
    ``plateau[:FACTOR[:PATIENCE]]`` -> (kind, parameters with the defaults filled in)."""
    kind, *args = str(spec).split(":")
    shapes = {"none": (0, 0), "step": (1, 2), "multistep": (1, 2), "exp": (1, 1), "cosine": (0, 0),
              "plateau": (0, 2)}
    if kind not in shapes or not shapes[kind][0] <= len(args) <= shapes[kind][1]:
        raise ConfigError("lr_schedule", spec, f"not a schedule; use {SCHEDULES}")

    def number(text: str, what: str, low: float, high: float = math.inf, integer: bool = False):
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not (math.isfinite(value) and low <= value <= high and (not integer or value == int(value))):
            kind_of = "an integer" if integer else "a number"
            raise ConfigError("lr_schedule", spec, f"{what} must be {kind_of} in [{low:g}, {high:g}], got {text!r}")
        return int(value) if integer else value

    gamma = (lambda i: number(args[i], "GAMMA", 1e-12) if len(args) > i else 0.1)
    if kind == "step":
        return kind, {"step_size": number(args[0], "EPOCHS", 1, integer=True), "gamma": gamma(1)}
    if kind == "multistep":
        milestones = [number(m, "each milestone", 1, integer=True) for m in args[0].split(",")]
        if milestones != sorted(set(milestones)):
            raise ConfigError("lr_schedule", spec, "milestones must increase")
        return kind, {"milestones": milestones, "gamma": gamma(1)}
    if kind == "exp":
        return kind, {"gamma": gamma(0)}
    if kind == "plateau":
        return kind, {"factor": number(args[0], "FACTOR", 1e-12, 1 - 1e-12) if args else 0.1,
                      "patience": number(args[1], "PATIENCE", 0, integer=True) if len(args) > 1 else 2}
    return kind, {}


def schedule_parameters(cfg: TrainConfig) -> dict:
    """The schedule's kind and every parameter it runs with (cosine's T_max is the number of epochs)."""
    kind, params = parse_schedule(cfg.lr_schedule)
    if kind == "cosine":
        params = {"T_max": cfg.epochs, "eta_min": 0.0}
    return {"kind": kind, **params}


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


def load_images(cfg: TrainConfig, download: bool = True):
    """(train_images, y_train, test_images, y_test, source): cfg's dataset as loaded, uint8 images.

    A ``data_dir`` is the only place looked in (an error names the files it lacks); without one the
    usual places are searched, then the files downloaded (unless ``download`` is false), and MNIST
    falls back to the bundled sample, which ``source`` then says."""
    return image_arrays(load_dataset(cfg.dataset, root=cfg.data_dir, download=download))


def image_arrays(ds):
    """(train_images, y_train, test_images, y_test, source) of a loaded Dataset, uint8 images as loaded."""
    return ds.train_images, ds.train_labels, ds.test_images, ds.test_labels, ds.source


def load_data(cfg: TrainConfig, download: bool = True):
    """(x_train, y_train, x_test, y_test, source) with images flattened to [0, 1] in cfg.dtype (see
    :func:`load_images`)."""
    train_images, y_train, test_images, y_test, source = load_images(cfg, download)
    dtype = np.dtype(cfg.dtype)
    return normalize(train_images, dtype), y_train, normalize(test_images, dtype), y_test, source


def data_record(ds) -> dict:
    """What a run records of the data it trained on, so that ``evaluate`` and ``predict --index`` read the
    same test set: the dataset loaded (``mnist-sample`` when MNIST fell back to the bundled sample) and,
    for a full dataset, the folder it was read from (its ``source``)."""
    return {"dataset": ds.name, "folder": None if ds.name == "mnist-sample" else ds.source}


def hold_out(cfg: TrainConfig, x: np.ndarray, y: np.ndarray):
    """(x_train, y_train, x_val, y_val): cfg's validation split of the training set (see
    :func:`~tinygrad_lab.data.split.stratified_split`), by default ``DEFAULT_VAL_SPLIT`` samples or a
    tenth of a smaller training set; with ``val_split`` 0 the validation set is empty."""
    size = cfg.val_split if cfg.val_split is not None else min(DEFAULT_VAL_SPLIT, max(len(y) // 10, 1))
    if size == 0:
        return x, y, x[:0], y[:0]
    try:
        train, val = stratified_split(y, size, np.random.default_rng((cfg.seed, VALIDATION_STREAM)))
    except ValueError as e:
        default = "" if cfg.val_split is not None else " (the default split; 0 holds out none)"
        raise ConfigError("val_split", size, f"{e}{default}") from None
    return x[train], y[train], x[val], y[val]


def check_against_data(cfg: TrainConfig, x_train: np.ndarray, y_train: np.ndarray, y_test: np.ndarray) -> None:
    """The model's input and output sizes must match the data's pixels and classes."""
    classes = int(max(y_train.max(initial=0), y_test.max(initial=0))) + 1
    if cfg.sizes[0] != x_train.shape[1]:
        raise ConfigError("sizes", cfg.sizes, f"the input layer has {cfg.sizes[0]} units but the data has "
                          f"{x_train.shape[1]} pixels per image")
    if cfg.sizes[-1] != classes:
        raise ConfigError("sizes", cfg.sizes, f"the output layer has {cfg.sizes[-1]} units but the data has "
                          f"{classes} classes")
    if cfg.batchnorm and len(x_train) < 2:
        raise ConfigError("batchnorm", True, f"BatchNorm needs at least 2 training samples, the data has {len(x_train)}")


def memory_needed(cfg: TrainConfig, train_samples: int | None = None) -> int:
    """Bytes a run needs, roughly: :func:`memory_parts` summed."""
    return sum(memory_parts(cfg, train_samples))


def memory_parts(cfg: TrainConfig, train_samples: int | None = None) -> tuple[int, int]:
    """(bytes of the parameters, bytes of a batch), roughly.  The parameters: weights, gradients,
    optimizer state (at most two arrays per parameter for every optimizer here) and an update's
    temporary.  A batch: the activations and their gradients of a training batch (at most the
    training set, as a DataLoader's batch is: ``train_samples``, by default the dataset's
    ``TRAIN_SAMPLES``) or of an evaluation batch (``EVALUATION_BATCH``), whichever is larger."""
    params = sum(n_in * n_out + n_out for n_in, n_out in zip(cfg.sizes[:-1], cfg.sizes[1:]))
    params += 4 * sum(cfg.sizes[1:-1]) if cfg.batchnorm else 0
    itemsize = np.dtype(cfg.dtype).itemsize
    return itemsize * params * 5, itemsize * 4 * batch_rows(cfg, train_samples) * sum(cfg.sizes)


def batch_rows(cfg: TrainConfig, train_samples: int | None = None) -> int:
    """The rows of the largest batch a run computes: a training batch (at most the training set) or an
    evaluation batch."""
    train_samples = train_samples if train_samples is not None else TRAIN_SAMPLES[cfg.dataset]
    return max(min(cfg.batch_size, train_samples), EVALUATION_BATCH)


def memory_available() -> int | None:
    """Bytes of memory available to a new allocation (Linux's MemAvailable), or None if unknown."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, AttributeError):
        return None


def check_memory(cfg: TrainConfig, train_samples: int | None = None) -> None:
    """Refuse a run that cannot fit in the memory available (before allocating any of it), naming
    the batch size when a training batch larger than the evaluation batch needs more than the
    parameters (a smaller one would help), the layer sizes otherwise."""
    (params, batch), available = memory_parts(cfg, train_samples), memory_available()
    if available is not None and params + batch > available:
        field = "batch_size" if batch > params and cfg.batch_size > EVALUATION_BATCH else "sizes"
        raise ConfigError(field, getattr(cfg, field), f"the run needs about {(params + batch) / 2**30:,.1f} GiB "
                          f"(weights, gradients and optimizer state {params / 2**30:,.1f} GiB, the activations of a "
                          f"batch of {batch_rows(cfg, train_samples):,} samples {batch / 2**30:,.1f} GiB) but {available / 2**30:,.1f} GiB of memory is available")


def evaluate(model: nn.Module, x: np.ndarray, y: np.ndarray, batch_size: int = EVALUATION_BATCH) -> tuple[float, float, np.ndarray]:
    """(mean cross-entropy, accuracy, predicted classes) in eval mode, without a graph; the batches
    of ``x`` are converted to the model's dtype (data loading, as for training)."""
    dtype = next(model.parameters()).dtype
    was_training = model.training
    model.eval()
    total, predictions = 0.0, []
    with no_grad():
        for start in range(0, len(x), batch_size):
            logits = model(Tensor(x[start:start + batch_size], dtype=dtype))
            total += cross_entropy(logits, y[start:start + batch_size], reduction="sum").item()
            predictions.append(logits.data.argmax(axis=1))
    model.train(was_training)
    predicted = np.concatenate(predictions) if predictions else np.zeros(0, dtype=np.int64)
    return total / max(len(x), 1), float(np.mean(predicted == y)) if len(y) else 0.0, predicted


class NonFiniteLoss(FloatingPointError):
    """The training loss became NaN or infinite."""


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


class Trainer:
    """Owns the model, optimizer, scheduler, loader and metrics of one run; ``fit()`` trains it.

    ``stop_signal`` may be set (by a signal handler) to a signal number: ``fit()`` then stops at the
    next batch boundary, after writing the checkpoint."""

    def __init__(self, cfg: TrainConfig, out: str | Path, data=None, progress: bool = True, log=print,
                 download: bool = True, capture_steps: bool = True):
        self.cfg, self.out, self.progress, self.log = cfg, Path(out), progress, log
        check_memory(cfg)
        #: this process's seconds in each part of the run (written to metrics.json as "seconds")
        self.seconds = dict.fromkeys(TIMED_PARTS, 0.0)
        with self.timed("data"):
            if data is None:  # the uint8 images split first, then each part scaled: one pass, no float copy
                ds = load_dataset(cfg.dataset, root=cfg.data_dir, download=download)
                self.data_used = data_record(ds)
                images, y_train, test_images, self.y_test, self.source = image_arrays(ds)
                train_images, self.y_train, val_images, self.y_val = hold_out(cfg, images, y_train)
                self.x_train, self.x_val, self.x_test = (normalize(x, np.dtype(cfg.dtype))
                                                         for x in (train_images, val_images, test_images))
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
        """One mini-batch: :meth:`eager_step`, replayed from its captured kernels unless the trainer
        was made with ``capture_steps=False`` (see :mod:`tinygrad_lab.capture`: same numbers)."""
        return self.run_step(xb, yb)

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
                            desc=f"epoch {self.epoch + 1}/{self.cfg.epochs}", enabled=self.progress)
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
        """What model.npz and best.npz hold: the config, the data it was trained on (:func:`data_record`;
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


RESUMABLE = {f.name: f.metadata["resumable"] for f in dataclasses.fields(TrainConfig)}
METRICS_KEYS = ["epoch", "train_loss", "val_loss", "val_accuracy", "test_loss", "test_accuracy", "samples_per_s", "lr"]
#: the parts of a run timed apart (Trainer.seconds): loading and splitting the data, the first step
#: (compiling or loading the kernels), the other steps, evaluation, checkpoints and metrics, reports
TIMED_PARTS = ("data", "first_step", "steps", "evaluation", "checkpoints", "reports")
TEST_SET_ROLE = "reported only: the lr schedule, early stopping and best.npz use the validation set"


def _progress(iterable, total, initial, desc, enabled):
    from tqdm.auto import tqdm

    return tqdm(iterable, total=total, initial=initial, desc=desc, disable=not enabled, leave=False,
                unit="batch", file=sys.stderr)


def _write_bytes(path: Path, data: bytes) -> Path:
    with atomic_output(path) as out:
        out.write(data)
    return path


def write_metrics(trainer: Trainer, files: list[str] | None = None) -> list[Path]:
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


def write_reports(trainer: Trainer) -> list[Path]:
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
    """Loss and accuracy per epoch (train, validation if any, test), as a PNG written atomically."""
    from matplotlib.figure import Figure
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
    for ax in (ax_loss, ax_acc):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    fig.suptitle(title)
    fig.tight_layout()
    with atomic_output(path) as f:
        fig.savefig(f, format="png", dpi=110)
    return path


def load_model(path) -> tuple[nn.MLP, TrainConfig]:
    """The model stored in a checkpoint or ``model.npz`` (in eval mode) and its config."""
    model, cfg, _ = load_run(path)
    return model, cfg


def load_run(path) -> tuple[nn.MLP, TrainConfig, dict | None]:
    """The model stored in a checkpoint or ``model.npz`` (in eval mode), its config, and the data it
    was trained on as :func:`data_record` describes it (None in files written before it was recorded,
    or by a trainer given arrays)."""
    state = load_checkpoint(path)
    if "config" not in state or "model" not in state:
        raise CheckpointError(f"{path}: holds no model (keys {sorted(state)})")
    cfg = TrainConfig.from_dict(state["config"], path)
    model = build_model(cfg)
    model.load_state_dict(state["model"])
    return model.eval(), cfg, state.get("data")
