"""Gradient clipping (cs231n: cliffs in the loss surface and exploding gradients)."""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from ..mode import current_modes

__all__ = ["clip_grad_norm_", "clip_grad_value_"]


def _params(params: Any) -> list[Any]:
    """One parameter or an iterable of them (a generator too) as a list."""
    return [params] if hasattr(params, "grad") else list(params)


def _grads(params: list[Any]) -> list[np.ndarray]:
    """The gradient arrays of ``params``, skipping None grads; an array held by two parameters is
    listed once (it must be scaled once)."""
    arrays = {id(p.grad.data): p.grad.data for p in params if p.grad is not None}
    return list(arrays.values())


def _mark_modified(params: list[Any]) -> None:
    """Bump the version of every gradient tensor written in place (a graph that saved one, after
    ``backward(create_graph=True)``, then refuses to use the new values)."""
    for p in params:
        if getattr(p, "grad", None) is not None and hasattr(p.grad, "mark_modified"):
            p.grad.mark_modified()


def clip_grad_norm_(params: Any | Iterable[Any], max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False) -> float:
    """Scale all gradients together so their joint norm is at most ``max_norm``; in place.

    As ``torch.nn.utils.clip_grad_norm_``: total = ‖(‖g₁‖ₚ, ‖g₂‖ₚ, ...)‖ₚ over every gradient
    (``norm_type`` p, ``inf`` for the max-abs norm), coefficient c = min(1, max_norm /
    (total + 1e-6)), every gradient g ← c·g. Returns the total norm *before* clipping (a float).
    The direction of the joint gradient is kept; only its length is capped. With
    ``error_if_nonfinite`` a NaN/inf total raises FloatingPointError instead of scaling.
    """
    check = float(max_norm)
    if not check >= 0:
        raise ValueError(f"max_norm must be >= 0, got {max_norm!r}")
    params = _params(params)
    recorder = current_modes().recorder
    if recorder is not None:  # a captured step replays the clipping as clip_grads(grads, scaled)
        recorder.clip(params, functools.partial(clip_grads, max_norm=check, p=float(norm_type),
                                                error_if_nonfinite=error_if_nonfinite))
    grads = _grads(params)
    if not grads:
        return 0.0
    total = clip_grads(grads, grads, check, float(norm_type), error_if_nonfinite)
    _mark_modified(params)
    return total


def clip_grads(grads: list[np.ndarray], scaled: list[np.ndarray], max_norm: float, p: float,
               error_if_nonfinite: bool) -> float:
    """The arithmetic of :func:`clip_grad_norm_`: the total p-norm of ``grads`` (each one's norm, then
    the norm of those), and every array of ``scaled`` (the same memory as ``grads``, possibly as one
    flat buffer) multiplied by min(1, max_norm / (total + 1e-6)).  Returns the total."""
    if p == math.inf:
        total = float(np.max([np.max(np.abs(g)) if g.size else 0.0 for g in grads]))
    else:
        norms = [float(np.linalg.norm(g.reshape(-1), ord=p)) for g in grads]
        total = float(np.linalg.norm(np.array(norms), ord=p))
    if error_if_nonfinite and not math.isfinite(total):
        raise FloatingPointError(f"the total norm of order {p} of the gradients is {total}")
    coef = min(1.0, max_norm / (total + 1e-6))
    for g in scaled:
        g *= coef
    return total


def clip_grad_value_(params: Any | Iterable[Any], clip_value: float) -> None:
    """Clamp every gradient entry to [−clip_value, clip_value], in place (changes direction)."""
    c = float(clip_value)
    if not c >= 0:
        raise ValueError(f"clip_value must be >= 0, got {clip_value!r}")
    params = _params(params)
    recorder = current_modes().recorder
    if recorder is not None:
        recorder.unsupported("the step calls clip_grad_value_")
    for g in _grads(params):
        np.clip(g, -c, c, out=g)
    _mark_modified(params)
