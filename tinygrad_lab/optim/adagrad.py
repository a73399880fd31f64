"""AdaGrad: per-coordinate step sizes from the running sum of squared gradients."""

from __future__ import annotations

import numpy as np
from numpy import sqrt

from .optimizer import Optimizer, check_eps, check_nonnegative, l2_decay

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    r"""AdaGrad as ``torch.optim.Adagrad``.

    PyTorch's rule (lr γ, lr decay η_d, weight decay λ, step t = 1, 2, ...)::

        g ← g + λθ
        s ← s + g ⊙ g                       (s starts at initial_accumulator_value)
        θ ← θ − γ / (1 + (t − 1)η_d) · g / (√s + ε),   ε = 1e-10

    The textbooks write the same thing as h ← h + ∂L/∂W ⊙ ∂L/∂W, W ← W − η/√h · ∂L/∂W (DLFS)
    and ``cache += dx**2; x += -lr * dx / (sqrt(cache) + eps)`` (cs231n). Everything is **per
    coordinate**: a common homework version sums all squared coordinates into one scalar
    (``gt += np.sum(np.square(grad))``), which turns AdaGrad into gradient descent with a single
    shrinking step size and loses the rescaling of flat directions; see the tests.
    """

    def __init__(self, params, lr: float = 1e-2, lr_decay: float = 0.0, weight_decay: float = 0.0,
                 initial_accumulator_value: float = 0.0, eps: float = 1e-10, flat: bool = False):
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value,
                                      eps=eps), flat)

    def _validate(self, group):
        super()._validate(group)
        for name in ("lr_decay", "weight_decay", "initial_accumulator_value"):
            check_nonnegative(name, group[name])
        check_eps(group)

    def _init_state(self, param, group):
        return {"step": 0, "sum": np.full_like(param, group["initial_accumulator_value"])}

    def _update(self, backend, param, grad, state, group):
        state["step"] += 1
        clr = group["lr"] / (1 + (state["step"] - 1) * group["lr_decay"])
        backend.update_unchecked(adagrad_rule, param, grad, (state["sum"],), (clr, group["eps"], group["weight_decay"]))


def adagrad_rule(p, g, s, clr, eps, weight_decay):
    """One coordinate: d = g + λθ;  s ← s + d²;  θ ← θ − clr·d / (√s + ε), clr = γ/(1 + (t − 1)η_d).
    Returns (θ, s)."""
    d = l2_decay(p, g, weight_decay)
    s = s + d * d
    return p - (d * clr) / (sqrt(s) + eps), s
