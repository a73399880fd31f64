"""Learning-rate schedules with ``torch.optim.lr_scheduler`` semantics.

Usage, once per epoch (or per step, whatever unit the schedule counts)::

    optimizer.step()
    scheduler.step()            # ReduceLROnPlateau: scheduler.step(validation_loss)

A scheduler writes ``param_groups[i]["lr"]``. On construction it records each group's
``initial_lr`` (``base_lrs``) and sets ``last_epoch = 0`` without changing the lr; every
``step()`` advances ``last_epoch`` and sets the new lr. As in PyTorch the rules are *chainable*:
each ``get_lr`` multiplies the group's current lr (so schedulers compose and a manual lr change
carries forward); on their own they equal the closed forms given in each docstring (tests check
this to ~1e-15). The deprecated ``step(epoch)`` and ``last_epoch`` resume arguments are not
provided: use ``state_dict()``/``load_state_dict()``.

the lecture notes lists the classic decays: 1/10 and 1/3 (StepLR with gamma 0.1 or 1/3), smooth
exponential decay 0.94 (ExponentialLR), and "decay when the loss flattens or oscillates"
(ReduceLROnPlateau).
"""

from __future__ import annotations

import copy
import math
from collections import Counter
from collections.abc import Iterable
from typing import Any

import numpy as np

from .optimizer import Optimizer, check_nonnegative

__all__ = ["LRScheduler", "StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR",
           "ReduceLROnPlateau"]


def _check_int(name: str, value: Any, low: int) -> None:
    """Raise ValueError unless ``value`` is a Python or numpy integer >= ``low``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        kind = "a positive integer" if low == 1 else "a non-negative integer"
        raise ValueError(f"{name} must be {kind}, got {value!r}")


def _check_positive_int(name: str, value: Any) -> None:
    _check_int(name, value, 1)


def _check_lrs(name: str, values: Any, n: int) -> None:
    if not isinstance(values, (list, tuple)) or len(values) != n:
        raise ValueError(f"{name} must be a list of {n} learning rates (one per parameter group), got {values!r}")
    for v in values:
        check_nonnegative(name, v)


class LRScheduler:
    """Base class: ``step()`` sets ``group["lr"] = get_lr()[i]`` after ``last_epoch += 1``.

    Settings are checked when the scheduler is built and again, all of them before any is changed,
    by :meth:`load_state_dict` (non-finite or out-of-range values are refused).
    """

    def __init__(self, optimizer: Optimizer):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(optimizer).__name__} is not an Optimizer")
        self.optimizer = optimizer
        self._validate()
        for group in optimizer.param_groups:
            group.setdefault("initial_lr", group["lr"])
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = 0
        self._last_lr = [group["lr"] for group in optimizer.param_groups]
        self._validate_progress()

    def _validate(self) -> None:
        """Raise ValueError/TypeError for an out-of-range setting (subclasses add theirs)."""

    def _validate_progress(self) -> None:
        """Raise for inconsistent progress attributes (base lrs, epoch, last lrs)."""
        n = len(self.optimizer.param_groups)
        _check_lrs("base_lrs", self.base_lrs, n)
        _check_lrs("_last_lr", self._last_lr, n)
        _check_int("last_epoch", self.last_epoch, 0)

    def get_lr(self) -> list[float]:
        """The lrs for ``last_epoch`` (already advanced), computed from the current ones."""
        raise NotImplementedError

    def step(self) -> None:
        """Advance one epoch and write the new lr into every parameter group."""
        self.last_epoch += 1
        for group, lr in zip(self.optimizer.param_groups, self.get_lr()):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def get_last_lr(self) -> list[float]:
        """The lrs set by the last ``step()`` (or at construction), one per group."""
        return list(self._last_lr)

    def state_dict(self) -> dict[str, Any]:
        """Everything but the optimizer (deep copy)."""
        return {k: copy.deepcopy(v) for k, v in self.__dict__.items() if k != "optimizer"}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore the attributes saved by :meth:`state_dict`, all or nothing: missing or unexpected
        keys (KeyError) and out-of-range or non-finite values (ValueError/TypeError) are refused
        before anything changes."""
        if not isinstance(state_dict, dict):
            raise TypeError(f"load_state_dict: expected a dict, got {type(state_dict).__name__}")
        expected = set(self.__dict__) - {"optimizer"}
        missing, unexpected = sorted(expected - set(state_dict)), sorted(set(state_dict) - expected)
        if missing or unexpected:
            raise KeyError(f"load_state_dict: missing keys {missing}, unexpected keys {unexpected}")
        candidate = copy.copy(self)
        candidate.__dict__ = {**self.__dict__, **copy.deepcopy(state_dict)}
        try:
            candidate._validate()
            candidate._validate_progress()
        except (TypeError, ValueError) as e:
            raise type(e)(f"{type(self).__name__}.load_state_dict: {e}") from None
        self.__dict__.update(candidate.__dict__)

    def _scaled(self, factor: float) -> list[float]:
        return [group["lr"] * factor for group in self.optimizer.param_groups]


class StepLR(LRScheduler):
    """Multiply the lr by ``gamma`` every ``step_size`` epochs: lr = base · γ^⌊epoch / step_size⌋.

    The textbook "1/10 decay" is ``gamma=0.1``, "1/3 decay" ``gamma=1/3``.
    """

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1):
        self.step_size = step_size
        self.gamma = gamma
        super().__init__(optimizer)

    def _validate(self):
        _check_positive_int("step_size", self.step_size)
        check_nonnegative("gamma", self.gamma)

    def get_lr(self):
        return self._scaled(self.gamma if self.last_epoch % self.step_size == 0 else 1.0)


class MultiStepLR(LRScheduler):
    """Multiply the lr by ``gamma`` at each milestone epoch: lr = base · γ^(#milestones ≤ epoch).

    A milestone listed twice multiplies by γ² (as PyTorch, which counts them).
    """

    def __init__(self, optimizer: Optimizer, milestones: Iterable[int], gamma: float = 0.1):
        self.milestones = Counter(milestones)
        self.gamma = gamma
        super().__init__(optimizer)

    def _validate(self):
        for m, count in dict(self.milestones).items():
            _check_positive_int("milestone", m)
            _check_positive_int("milestone count", count)
        check_nonnegative("gamma", self.gamma)

    def get_lr(self):
        return self._scaled(self.gamma ** self.milestones.get(self.last_epoch, 0))


class ExponentialLR(LRScheduler):
    """Multiply the lr by ``gamma`` every epoch: lr = base · γ^epoch (the lecture notes: 0.94, 0.87...)."""

    def __init__(self, optimizer: Optimizer, gamma: float):
        self.gamma = gamma
        super().__init__(optimizer)

    def _validate(self):
        check_nonnegative("gamma", self.gamma)

    def get_lr(self):
        return self._scaled(self.gamma)


class CosineAnnealingLR(LRScheduler):
    """Cosine from the base lr down to ``eta_min`` over ``T_max`` epochs (SGDR without restarts).

    Closed form: lr = η_min + (base − η_min)(1 + cos(π·epoch / T_max)) / 2; past T_max it
    rises again (period 2·T_max), exactly as PyTorch's recursive form does.
    """

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0):
        self.T_max = T_max
        self.eta_min = eta_min
        super().__init__(optimizer)

    def _validate(self):
        _check_positive_int("T_max", self.T_max)
        check_nonnegative("eta_min", self.eta_min)

    def get_lr(self):
        t, T, low = self.last_epoch, self.T_max, self.eta_min
        groups = self.optimizer.param_groups
        if (t - 1 - T) % (2 * T) == 0:  # leaving the minimum: the ratio form would divide by 0
            return [g["lr"] + (base - low) * (1 - math.cos(math.pi / T)) / 2
                    for base, g in zip(self.base_lrs, groups)]
        ratio = (1 + math.cos(math.pi * t / T)) / (1 + math.cos(math.pi * (t - 1) / T))
        return [ratio * (g["lr"] - low) + low for g in groups]


class ReduceLROnPlateau(LRScheduler):
    """Divide the lr when a metric stops improving ("when the loss flattens", the lecture notes).

    ``step(metric)`` once per epoch. The metric improves if it beats the best so far by more
    than ``threshold`` (``'rel'``: below best·(1 − threshold) in ``'min'`` mode, above
    best·(1 + threshold) in ``'max'``; ``'abs'``: best ∓ threshold). After more than
    ``patience`` epochs without improvement, lr ← max(lr · factor, min_lr) (skipped when the
    change is at most ``eps``), then ``cooldown`` epochs are ignored. Defaults as PyTorch:
    mode min, factor 0.1, patience 10, threshold 1e-4 relative, cooldown 0, min_lr 0, eps 1e-8.
    """

    def __init__(self, optimizer: Optimizer, mode: str = "min", factor: float = 0.1,
                 patience: int = 10, threshold: float = 1e-4, threshold_mode: str = "rel",
                 cooldown: int = 0, min_lr: float | list[float] = 0.0, eps: float = 1e-8):
        n = len(getattr(optimizer, "param_groups", ()))
        self.min_lrs = list(min_lr) if isinstance(min_lr, (list, tuple)) else [min_lr] * n
        self.mode, self.factor, self.patience = mode, factor, patience
        self.threshold, self.threshold_mode = threshold, threshold_mode
        self.cooldown, self.eps = cooldown, eps
        self.best = math.inf if mode == "min" else -math.inf
        self.num_bad_epochs = 0
        self.cooldown_counter = 0
        super().__init__(optimizer)

    def _validate(self):
        if self.mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max', got {self.mode!r}")
        if self.threshold_mode not in ("rel", "abs"):
            raise ValueError(f"threshold_mode must be 'rel' or 'abs', got {self.threshold_mode!r}")
        check_nonnegative("factor", self.factor)
        if self.factor >= 1.0:
            raise ValueError(f"factor must be < 1.0, got {self.factor!r}")
        for name in ("patience", "cooldown", "num_bad_epochs", "cooldown_counter"):
            _check_int(name, getattr(self, name), 0)
        check_nonnegative("threshold", self.threshold)
        check_nonnegative("eps", self.eps)
        n = len(self.optimizer.param_groups)
        if len(self.min_lrs) != n:
            raise ValueError(f"expected {n} min_lrs (one per parameter group), got {len(self.min_lrs)}")
        _check_lrs("min_lr", self.min_lrs, n)
        if isinstance(self.best, bool) or not isinstance(self.best, (int, float)) or math.isnan(self.best):
            raise ValueError(f"best must be a number (±inf before the first step), got {self.best!r}")

    def is_better(self, current: float, best: float) -> bool:
        """Whether ``current`` improves on ``best`` by more than the threshold."""
        if self.mode == "min":
            bound = best * (1 - self.threshold) if self.threshold_mode == "rel" else best - self.threshold
            return current < bound
        bound = best * (1 + self.threshold) if self.threshold_mode == "rel" else best + self.threshold
        return current > bound

    def step(self, metrics: float) -> None:  # type: ignore[override]
        """Record this epoch's metric and reduce the lr if it has plateaued."""
        current = float(metrics)
        self.last_epoch += 1
        if self.is_better(current, self.best):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        if self.num_bad_epochs > self.patience:
            for group, min_lr in zip(self.optimizer.param_groups, self.min_lrs):
                old = float(group["lr"])
                new = max(old * self.factor, min_lr)
                if old - new > self.eps:
                    group["lr"] = new
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]
