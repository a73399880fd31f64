"""Newton's method as an in-place update of a parameter:

    θ ← θ − d,   (H + δI) d = ∇f(θ)

with the exact Hessian H built from the graph (:func:`tinygrad_lab.func.hessian`, by double
backward).  On a quadratic f = ½θᵀAθ + bᵀθ the Hessian is A everywhere, so one undamped step lands
on the minimiser whatever the conditioning: x² + 50y² (condition number 50, where gradient descent
crawls along x) is solved in one step.  For small problems only: H has n² entries.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from tinygrad_lab import func

__all__ = ["newton_step_"]


def newton_step_(f: Callable[[Any], Any], x: Any, damping: float = 0.0) -> np.ndarray:
    """One (damped) Newton step on the Tensor ``x`` in place (the trailing _ as in PyTorch;
    ``func.newton_step`` returns the new point instead); returns the step d that was subtracted.

    ``damping`` δ ≥ 0 (Levenberg-style) keeps the step finite and downhill when H is singular or
    indefinite.  ``x.grad`` is left as it was.
    """
    new = func.newton_step(f, x, damping)
    step = x.data - new.data
    x.copy_(new)
    return step.reshape(-1)
