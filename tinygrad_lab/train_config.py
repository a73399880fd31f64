"""Every choice of a training run: :class:`TrainConfig`, the schema ``tinygrad-lab train`` builds its options from.

Each field carries its default, its help, its choices and whether a resumed run may change it
(:func:`option`); :meth:`TrainConfig.validate` refuses an unusable value with a :class:`ConfigError`
naming the field, and :meth:`TrainConfig.resolved` fills in the usual values (the init for the
activation, the optimizer's lr, momentum and weight decay, the schedule's parameters).  What a config
costs in memory is estimated here too (:func:`check_memory`), so that a run that cannot fit is
refused before anything is allocated.
"""
from __future__ import annotations

import dataclasses
import inspect
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tinygrad_lab import activations, nn, optim
from tinygrad_lab.checkpoint import CheckpointError
from tinygrad_lab.init import get_initializer, known_inits

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
DATASETS = ("mnist", "fashion-mnist", "mnist-sample")
#: the training samples of each dataset (before the validation set is held out): a batch holds at most these
TRAIN_SAMPLES = {"mnist": 60_000, "fashion-mnist": 60_000, "mnist-sample": 5_000}
#: samples per batch when a model is evaluated (see :func:`~tinygrad_lab.train.evaluate`)
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
        parameters), no ``None`` (``val_split`` is resolved against the data: see
        :func:`~tinygrad_lab.train_data.hold_out`)."""
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


#: whether a resumed run may change each field (see :func:`option`)
RESUMABLE = {f.name: f.metadata["resumable"] for f in dataclasses.fields(TrainConfig)}


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
