"""Adam and AdamW (decoupled weight decay)."""

from __future__ import annotations

import math

import numpy as np
from numpy import sqrt

from .optimizer import Optimizer, check_eps, check_nonnegative, check_unit_interval, l2_decay

__all__ = ["Adam", "AdamW", "adam_rule"]


def check_betas(betas) -> None:
    """Raise unless ``betas`` is a pair (β₁, β₂) with both in [0, 1)."""
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise ValueError(f"betas must be a pair (beta1, beta2), got {betas!r}")
    check_unit_interval("beta1", betas[0])
    check_unit_interval("beta2", betas[1])


def decay(p, g, weight_decay, decay_factor, decoupled):
    """Weight decay for one coordinate: L2 (d = g + λθ, :func:`~.optimizer.l2_decay`) or decoupled
    (θ ← θ(1 − γλ), d = g, with ``decay_factor`` = 1 − γλ).  Returns (θ, d)."""
    if decoupled:
        return (p * decay_factor if weight_decay != 0 else p), g
    return p, l2_decay(p, g, weight_decay)


class Adam(Optimizer):
    r"""Adam as ``torch.optim.Adam`` (no amsgrad).

    PyTorch's rule (lr γ, betas β₁ β₂, weight decay λ, step t = 1, 2, ...)::

        g ← g + λθ                       (Adam: L2 penalty folded into the gradient)
        m ← β₁m + (1 − β₁)g,   v ← β₂v + (1 − β₂)g²        (both start at 0)
        m̂ = m / (1 − β₁ᵗ),     v̂ = v / (1 − β₂ᵗ)
        θ ← θ − γ m̂ / (√v̂ + ε)

    cs231n's notes write the same bias-corrected form. Deep Learning from Scratch / DeZero
    fold the corrections into the step size, lr_t = η√(1 − β₂ᵗ)/(1 − β₁ᵗ),
    θ ← θ − lr_t m / (√v + ε), which equals PyTorch's rule with ε scaled by 1/√(1 − β₂ᵗ)
    (31.6x at t = 1). A common homework version corrects v with β₁ (``r/(1-rho1**t)``): wrong.
    """

    decoupled = False

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, flat: bool = False):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay), flat)

    def _validate(self, group):
        super()._validate(group)
        check_betas(group["betas"])
        check_eps(group)
        check_nonnegative("weight_decay", group["weight_decay"])

    def _init_state(self, param, group):
        return {"step": 0, "exp_avg": np.zeros_like(param),
                "exp_avg_sq": np.zeros_like(param)}

    def _update(self, backend, param, grad, state, group):
        state["step"] += 1
        t, lr, wd = state["step"], group["lr"], group["weight_decay"]
        beta1, beta2 = group["betas"]
        backend.update_unchecked(adam_rule, param, grad, (state["exp_avg"], state["exp_avg_sq"]),
                       (lr / (1.0 - beta1**t), math.sqrt(1.0 - beta2**t), beta1, beta2, 1.0 - beta1,
                        1.0 - beta2, group["eps"], wd, 1.0 - lr * wd, self.decoupled))


def adam_rule(p, g, m, v, step_size, sqrt_bc2, beta1, beta2, keep1, keep2, eps, weight_decay,
              decay_factor, decoupled):
    """One coordinate at step t: Adam d = g + λθ, AdamW θ ← θ(1 − γλ) and d = g;
    m ← β₁m + (1 − β₁)d;  v ← β₂v + (1 − β₂)d²;  θ ← θ − (γ/(1 − β₁ᵗ)) m / (√v/√(1 − β₂ᵗ) + ε).
    Returns (θ, m, v); ``step_size`` = γ/(1 − β₁ᵗ), ``sqrt_bc2`` = √(1 − β₂ᵗ), ``decay_factor`` = 1 − γλ."""
    p, d = decay(p, g, weight_decay, decay_factor, decoupled)
    m = m * beta1 + d * keep1
    v = v * beta2 + (d * keep2) * d
    return p - (m * step_size) / (sqrt(v) / sqrt_bc2 + eps), m, v


class AdamW(Adam):
    r"""AdamW as ``torch.optim.AdamW``: Adam with decoupled weight decay.

    Same moments and bias correction as :class:`Adam`, but the decay shrinks the weights
    directly instead of entering the gradient (and hence m and v)::

        θ ← θ(1 − γλ);   m, v, m̂, v̂ from g (no λθ);   θ ← θ − γ m̂ / (√v̂ + ε)

    Default λ = 1e-2, as PyTorch.
    """

    decoupled = True

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 1e-2, flat: bool = False):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, flat=flat)
