"""NAdam: Adam with Nesterov momentum (Dozat 2016), as ``torch.optim.NAdam``."""

from __future__ import annotations

import numpy as np
from numpy import sqrt

from .adam import check_betas, decay
from .optimizer import Optimizer, check_eps, check_nonnegative

__all__ = ["NAdam"]


class NAdam(Optimizer):
    r"""NAdam as ``torch.optim.NAdam``.

    PyTorch's rule (lr γ, betas β₁ β₂, weight decay λ, momentum decay ψ, step t = 1, 2, ...)::

        g ← g + λθ                      (decoupled_weight_decay: θ ← θ(1 − γλ) instead)
        μₜ = β₁(1 − ½·0.96^(tψ)),   Πₜ = μ₁⋯μₜ          (the momentum schedule)
        m ← β₁m + (1 − β₁)g,   v ← β₂v + (1 − β₂)g²
        θ ← θ − γ(1 − μₜ)/(1 − Πₜ) · g/(√(v/(1 − β₂ᵗ)) + ε) − γμₜ₊₁/(1 − Πₜμₜ₊₁) · m/(√(v/(1 − β₂ᵗ)) + ε)
    """

    def __init__(self, params, lr: float = 2e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, momentum_decay: float = 4e-3,
                 decoupled_weight_decay: bool = False, flat: bool = False):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                                      momentum_decay=momentum_decay,
                                      decoupled_weight_decay=decoupled_weight_decay), flat)

    def _validate(self, group):
        super()._validate(group)
        check_betas(group["betas"])
        for name in ("weight_decay", "momentum_decay"):
            check_nonnegative(name, group[name])
        check_eps(group)

    def _init_state(self, param, group):
        return {"step": 0, "mu_product": 1.0, "exp_avg": np.zeros_like(param),
                "exp_avg_sq": np.zeros_like(param)}

    def _update(self, backend, param, grad, state, group):
        state["step"] += 1
        t, lr, wd, psi = state["step"], group["lr"], group["weight_decay"], group["momentum_decay"]
        beta1, beta2 = group["betas"]
        mu = beta1 * (1.0 - 0.5 * 0.96 ** (t * psi))
        mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * psi))
        state["mu_product"] *= mu
        product = state["mu_product"]
        backend.update_unchecked(nadam_rule, param, grad, (state["exp_avg"], state["exp_avg_sq"]),
                       (-lr * (1.0 - mu) / (1.0 - product), -lr * mu_next / (1.0 - product * mu_next),
                        1.0 - beta2**t, beta2, 1.0 - beta1, 1.0 - beta2, group["eps"], wd,
                        1.0 - lr * wd, bool(group["decoupled_weight_decay"])))


def nadam_rule(p, g, m, v, grad_step, momentum_step, bc2, beta2, keep1, keep2, eps, weight_decay,
               decay_factor, decoupled):
    """One coordinate: d = g + λθ (or θ ← θ(1 − γλ));  m ← β₁m + (1 − β₁)d;  v ← β₂v + (1 − β₂)d²;
    θ ← θ + a·d/(√(v/(1 − β₂ᵗ)) + ε) + b·m/(same), a = −γ(1 − μₜ)/(1 − Πₜ), b = −γμₜ₊₁/(1 − Πₜμₜ₊₁).
    Returns (θ, m, v)."""
    p, d = decay(p, g, weight_decay, decay_factor, decoupled)
    m = m + (d - m) * keep1                   # = β₁m + (1 − β₁)d, in PyTorch's lerp order
    v = v * beta2 + (d * keep2) * d
    denom = sqrt(v / bc2) + eps
    p = p + grad_step * (d / denom)
    return p + momentum_step * (m / denom), m, v
