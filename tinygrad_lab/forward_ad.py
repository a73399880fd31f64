"""Forward-mode automatic differentiation with dual numbers.

A dual tensor carries a primal value x and a tangent ẋ, like the dual number x + ẋε with ε² = 0:
f(x + ẋε) = f(x) + f'(x)ẋ ε.  While a :func:`dual_level` is open, every op applied to a dual input
also computes its output's tangent by the op's ``jvp`` rule, ẏ = Σᵢ ∂y/∂xᵢ ẋᵢ, in the same forward
pass: one pass gives the Jacobian–vector product J ẋ (a column of J per unit tangent), where reverse
mode gives uᵀJ (a row per pass).

    with dual_level():
        x = make_dual(primal, tangent)
        y = f(x)
        dy = tangent_of(y)      # = J_f(primal) @ tangent

Forward mode is independent of the reverse-mode graph: it works under ``no_grad()`` too.
"""
from __future__ import annotations

import contextlib

import numpy as np

from tinygrad_lab.function import data
from tinygrad_lab.mode import dual_level_mode, dual_tangents
from tinygrad_lab.tensor import Tensor


def dual_level() -> contextlib.AbstractContextManager[None]:
    """Open a level (in this thread) in which dual tensors propagate tangents; they are forgotten
    when it closes."""
    return dual_level_mode()


def _tangents() -> dict:
    tangents = dual_tangents()
    if tangents is None:
        raise RuntimeError("forward-mode AD needs an open level: use `with dual_level():`")
    return tangents


def make_dual(primal, tangent) -> Tensor:
    """A new tensor with the value of ``primal`` and the tangent ``tangent`` (same shape)."""
    x = Tensor(data(primal))
    dx = np.array(data(tangent), dtype=x.dtype)  # a copy: later changes to the caller's array are not seen
    if dx.shape != x.shape:
        raise ValueError(f"tangent of shape {dx.shape} for a primal of shape {x.shape}")
    _tangents()[id(x)] = (x, dx)
    return x


def tangent_of(y: Tensor) -> np.ndarray:
    """The tangent ẏ of ``y`` in the open level: zeros if y does not depend on a dual tensor."""
    entry = _tangents().get(id(y))
    return entry[1] if entry is not None and entry[0] is y else np.zeros(y.shape, dtype=y.dtype)
