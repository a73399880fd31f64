"""RMSprop: AdaGrad with an exponentially decaying average of squared gradients."""

from __future__ import annotations

import numpy as np
from numpy import sqrt

from tinygrad_lab.activations.elementwise import maximum

from .optimizer import Optimizer, check_eps, check_nonnegative, check_unit_interval, l2_decay, unused

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    r"""RMSprop as ``torch.optim.RMSprop`` (optional momentum and centering).

    PyTorch's rule (lr γ, smoothing α, weight decay λ, momentum μ)::

        g ← g + λθ
        v ← αv + (1 − α)g²                         (v starts at 0)
        centered:  ḡ ← αḡ + (1 − α)g,  a = √(v − ḡ²) + ε     else  a = √v + ε
        μ > 0:     b ← μb + g / a,  θ ← θ − γb               else  θ ← θ − γ g / a

    ε = 1e-8 sits **outside** the square root, α = 0.99 by default. the lecture notes writes
    E[g²] ← 0.9·E[g²] + 0.1·g², w ← w − η/√(E[g²] + ε) ⊙ g: decay α = 0.9 (pass ``alpha=0.9``)
    and ε inside the root; the two placements differ only while √v is comparable to ε. cs231n
    (cs231n) has ε outside, like PyTorch. The homework in the homework is wrong twice: it averages a
    single scalar over all coordinates and *assigns* ``x = lr*grad/...`` instead of subtracting.
    """

    def __init__(self, params, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0.0, momentum: float = 0.0, centered: bool = False,
                 flat: bool = False):
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                                      momentum=momentum, centered=centered), flat)

    def _validate(self, group):
        super()._validate(group)
        check_unit_interval("alpha", group["alpha"])
        for name in ("weight_decay", "momentum"):
            check_nonnegative(name, group[name])
        check_eps(group)

    def _init_state(self, param, group):
        return {"step": 0, "square_avg": np.zeros_like(param)}

    def _update(self, backend, param, grad, state, group):
        state["step"] += 1
        centered, momentum = bool(group["centered"]), group["momentum"]
        grad_avg = self._buffer(state, "grad_avg", param) if centered else unused(param)
        buf = self._buffer(state, "momentum_buffer", param) if momentum > 0 else unused(param)
        backend.update_unchecked(rmsprop_rule, param, grad, (state["square_avg"], grad_avg, buf),
                       (group["lr"], group["alpha"], 1.0 - group["alpha"], group["eps"],
                        group["weight_decay"], momentum, centered, momentum > 0))


def rmsprop_rule(p, g, v, gbar, b, lr, alpha, keep, eps, weight_decay, momentum, centered, has_momentum):
    """One coordinate: d = g + λθ;  v ← αv + (1 − α)d²;  centered: ḡ ← αḡ + (1 − α)d,
    a = √max(v − ḡ², 0) + ε (v ≥ ḡ² exactly; in floats, after many equal gradients, v − ḡ² can round
    below 0, where PyTorch's √ writes NaN), else a = √v + ε;  μ > 0: b ← μb + d/a, θ ← θ − γb, else θ ← θ − γd/a.
    Returns (θ, v, ḡ, b); ``keep`` = 1 − α."""
    d = l2_decay(p, g, weight_decay)
    v = v * alpha + (d * keep) * d
    if centered:
        gbar = gbar * alpha + d * keep
        a = sqrt(maximum(v - gbar * gbar, 0.0)) + eps  # v ≥ ḡ², but rounding can cross 0: no √ of < 0
    else:
        a = sqrt(v) + eps
    if has_momentum:
        b = b * momentum + d / a
        return p - b * lr, v, gbar, b
    return p - (d * lr) / a, v, gbar, b
