"""Softmax cross-entropy of a row of logits x against its target class t, each formula written
once, per element.

With m = maxⱼ xⱼ (the shift that keeps every exponential ≤ 1)::

    eⱼ = exp(xⱼ − m),   S = Σⱼ eⱼ,   pⱼ = eⱼ / S = softmax(x)ⱼ
    loss = −log p_t = log S − (x_t − m)                  (log-sum-exp)
    ∂loss/∂xⱼ = pⱼ − [j = t]

and the gradient of a batch's reduced loss is (pⱼ − [j = t]) · scale, scale = gy / N for the mean
(gy for the sum).  The row max and the sums are the backends' loops; the functions below are what
runs inside them, on numbers (compiled into the Numba backend's kernels) or on whole arrays (the
NumPy backend, and the fused node's tangent).  They use arithmetic and NumPy's exp and log only.
"""
from __future__ import annotations

from numpy import exp, log

__all__ = ["logit_grad", "probability", "row_loss", "shifted_exp"]


def shifted_exp(x, top):
    """e = exp(x − m), m the row's maximum."""
    return exp(x - top)


def probability(e, total):
    """p = e / S, S = Σⱼ eⱼ over the row."""
    return e / total


def row_loss(total, x_target, top):
    """−log p_t = log S − (x_t − m)."""
    return log(total) - (x_target - top)


def logit_grad(p, onehot, scale):
    """(p − [j = t]) · scale, ``onehot`` being [j = t] (1 at the target class, 0 elsewhere)."""
    return (p - onehot) * scale
