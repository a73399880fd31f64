"""Adadelta (Zeiler 2012): step sizes from running averages of squared gradients and squared steps."""

from __future__ import annotations

import numpy as np
from numpy import sqrt

from .optimizer import Optimizer, check_eps, check_nonnegative, check_unit_interval, l2_decay

__all__ = ["Adadelta"]


class Adadelta(Optimizer):
    r"""Adadelta as ``torch.optim.Adadelta``.

    PyTorch's rule (lr γ, decay ρ, weight decay λ)::

        g ← g + λθ
        v ← ρv + (1 − ρ)g²                       (v, u start at 0)
        Δ = √(u + ε) / √(v + ε) · g
        u ← ρu + (1 − ρ)Δ²
        θ ← θ − γΔ

    ε = 1e-6 sits **inside** both roots; γ = 1 by default (Zeiler's method has no learning rate).
    """

    def __init__(self, params, lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6,
                 weight_decay: float = 0.0, flat: bool = False):
        super().__init__(params, dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay), flat)

    def _validate(self, group):
        super()._validate(group)
        check_unit_interval("rho", group["rho"])
        check_nonnegative("weight_decay", group["weight_decay"])
        check_eps(group)

    def _init_state(self, param, group):
        return {"step": 0, "square_avg": np.zeros_like(param), "acc_delta": np.zeros_like(param)}

    def _update(self, backend, param, grad, state, group):
        state["step"] += 1
        backend.update_unchecked(adadelta_rule, param, grad, (state["square_avg"], state["acc_delta"]),
                       (group["lr"], group["rho"], 1.0 - group["rho"], group["eps"], group["weight_decay"]))


def adadelta_rule(p, g, v, u, lr, rho, keep, eps, weight_decay):
    """One coordinate: d = g + λθ;  v ← ρv + (1 − ρ)d²;  Δ = √(u + ε)/√(v + ε) · d;
    u ← ρu + (1 − ρ)Δ²;  θ ← θ − γΔ.  Returns (θ, v, u); ``keep`` = 1 − ρ."""
    d = l2_decay(p, g, weight_decay)
    v = v * rho + (d * keep) * d
    delta = sqrt(u + eps) / sqrt(v + eps) * d
    u = u * rho + (delta * keep) * delta
    return p - delta * lr, v, u
