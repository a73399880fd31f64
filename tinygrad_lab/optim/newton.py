"""Newton's method for small problems (seed 002 ends with it): θ ← θ − (H + δI)⁻¹ ∇f.

On a quadratic f = ½θᵀAθ + bᵀθ the Hessian is A everywhere, so one undamped step lands on the
minimiser whatever the conditioning: x² + 50y² (condition number 50, where gradient descent
crawls along x) is solved in one step. The Hessian here comes from central differences of the
gradient that backward computes; :func:`hessian_fd` is the single place to swap in an exact,
graph-built Hessian later.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["gradient", "hessian_fd", "newton_step"]


def gradient(f: Callable[[Any], Any], x: Any) -> np.ndarray:
    """∇f(x) as a new float64 array, via ``f(x).backward()``; ``x.grad`` is left as it was."""
    saved = x.grad
    x.grad = None
    try:
        f(x).backward()
        if x.grad is None:
            raise ValueError("f(x) does not depend on x: backward left x.grad None")
        return np.array(x.grad.data, dtype=np.float64)
    finally:
        x.grad = saved


def hessian_fd(f: Callable[[Any], Any], x: Any, eps: float = 1e-5) -> np.ndarray:
    """The n×n Hessian of f at x (n = x.data.size), by central differences of the gradient.

    Column j is (∇f(x + εeⱼ) − ∇f(x − εeⱼ)) / 2ε (exact for quadratics up to rounding); the
    result is symmetrised, (H + Hᵀ)/2. ``x.data`` is perturbed in place and restored bit for bit,
    ``x.grad`` is preserved: the call has no side effects.
    """
    flat = x.data.reshape(-1)
    if not np.shares_memory(flat, x.data):
        raise ValueError("x.data must be C-contiguous so it can be perturbed in place")
    n = flat.size
    hess = np.empty((n, n))
    for j in range(n):
        original = flat[j]
        try:
            flat[j] = original + eps
            plus = gradient(f, x).reshape(-1)
            flat[j] = original - eps
            minus = gradient(f, x).reshape(-1)
        finally:
            flat[j] = original
        hess[:, j] = (plus - minus) / (2 * eps)
    return (hess + hess.T) / 2


def newton_step(f: Callable[[Any], Any], x: Any, damping: float = 0.0,
                eps: float = 1e-5) -> np.ndarray:
    """One (damped) Newton step on ``x`` in place; returns the step d that was subtracted.

    Solves (H + δI) d = ∇f(x) with H = :func:`hessian_fd` and sets ``x.data -= d``. ``damping``
    δ ≥ 0 (Levenberg-style) keeps the step finite and downhill when H is singular or indefinite.
    Costs 2n + 1 backward passes and an n×n solve: for small problems only.
    """
    if not damping >= 0:
        raise ValueError(f"damping must be >= 0, got {damping!r}")
    g = gradient(f, x).reshape(-1)
    hess = hessian_fd(f, x, eps)
    d = np.linalg.solve(hess + damping * np.eye(g.size), g)
    x.data -= d.reshape(x.data.shape).astype(x.data.dtype, copy=False)
    return d
