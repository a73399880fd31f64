"""Stochastic gradient descent, with optional momentum, Nesterov momentum and weight decay."""

from __future__ import annotations

import numpy as np

from .optimizer import Optimizer, check_nonnegative, l2_decay, unused

__all__ = ["SGD"]


class SGD(Optimizer):
    r"""SGD as ``torch.optim.SGD`` (plain gradient descent when the batch is the whole data set).

    PyTorch's rule, with lr γ, momentum μ, dampening τ, weight decay λ, gradient g::

        g ← g + λθ
        if μ ≠ 0:  b ← g at the first step, else b ← μb + (1 − τ)g
                   g ← g + μb   (nesterov)   or   g ← b
        θ ← θ − γg

    The textbooks (Deep Learning from Scratch, cs231n's notes) write momentum as a velocity that carries
    the learning rate inside it::

        v ← αv − η∇L,   w ← w + v          (DLFS; the lecture notes: m ← μm + η∇L, w ← w − m)

    With τ = 0 and a constant lr these are the same trajectory (v = −γb). They differ as soon as
    the lr changes: PyTorch rescales the whole accumulated step by the new γ at once, the textbooks'
    velocity keeps the old η inside v and forgets it only at rate α. the lecture notes's Nesterov
    (gradient taken at the look-ahead point w − μm) is the same algorithm as PyTorch's
    ``g + μb`` form after a change of variables; PyTorch's first momentum step also differs from
    the zero-initialised velocity (b₁ = g₁, not (1 − τ)g₁).

    Raises ValueError for lr, momentum, dampening or weight_decay < 0 and for Nesterov without
    momentum (or with dampening).
    """

    def __init__(self, params, lr: float, momentum: float = 0.0, dampening: float = 0.0,
                 nesterov: bool = False, weight_decay: float = 0.0, flat: bool = False):
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      nesterov=nesterov, weight_decay=weight_decay), flat)

    def _validate(self, group):
        super()._validate(group)
        for name in ("momentum", "dampening", "weight_decay"):
            check_nonnegative(name, group[name])
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError(
                "Nesterov momentum requires momentum > 0 and dampening = 0, got "
                f"momentum={group['momentum']!r}, dampening={group['dampening']!r}"
            )

    def _init_state(self, param, group):
        return {"momentum_buffer": None}

    def _update(self, backend, param, grad, state, group):
        momentum = group["momentum"]
        first = momentum != 0 and state["momentum_buffer"] is None
        if first:
            state["momentum_buffer"] = np.empty_like(param)
        buf = state["momentum_buffer"] if momentum != 0 else unused(param)
        backend.update_unchecked(sgd_rule, param, grad, (buf,),
                       (group["lr"], momentum, 1.0 - group["dampening"], group["weight_decay"],
                        bool(group["nesterov"]), first, momentum != 0))


def sgd_rule(p, g, b, lr, momentum, keep, weight_decay, nesterov, first, has_momentum):
    """One coordinate: d = g + λθ;  b = d (first step) or μb + (1 − τ)d;  d = d + μb (Nesterov)
    or b;  θ ← θ − γd.  Returns (θ, b); ``keep`` = 1 − τ."""
    d = l2_decay(p, g, weight_decay)
    if has_momentum:
        if first:
            b = d
        else:
            b = b * momentum + d * keep
        if nesterov:
            d = d + b * momentum
        else:
            d = b
    return p - d * lr, b
