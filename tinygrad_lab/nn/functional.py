"""Functions named and behaving like ``torch.nn.functional``'s, for code written the PyTorch way::

    import tinygrad_lab.nn.functional as F
    loss = F.cross_entropy(F.linear(F.relu(x), w, b), targets)

Keyword names follow PyTorch (``dim``, ``reduction``, ``training``).  Each is a thin name over the
op or loss that implements it (:mod:`tinygrad_lab.ops`, :mod:`tinygrad_lab.losses`).  The homework's
E = ½ Σ (y − t)² is :func:`half_sum_squared_error`; :func:`mse_loss` is PyTorch's mean.
"""
from __future__ import annotations

import numpy as np

from tinygrad_lab import ops, random
from tinygrad_lab.losses import (
    binary_cross_entropy, binary_cross_entropy_with_logits, cross_entropy, half_sum_squared_error, mse_loss,
    nll_loss,
)
from tinygrad_lab.nn import dropout as _dropout
from tinygrad_lab.nn.linear import affine

__all__ = ["binary_cross_entropy", "binary_cross_entropy_with_logits", "cross_entropy", "dropout",
           "half_sum_squared_error", "linear", "log_softmax", "mse_loss", "nll_loss", "relu", "sigmoid",
           "softmax", "tanh"]

relu, sigmoid, tanh = ops.relu, ops.sigmoid, ops.tanh


def softmax(x, dim: int = -1):
    """e^{xᵢ} / Σⱼ e^{xⱼ} along ``dim``."""
    return ops.softmax(x, dim)


def log_softmax(x, dim: int = -1):
    """xᵢ − log Σⱼ e^{xⱼ} along ``dim`` (stable)."""
    return ops.log_softmax(x, dim)


def linear(x, weight, bias=None):
    """x Wᵀ + b for x (N, in), W (out, in), b (out,): one :class:`~tinygrad_lab.nn.linear.Affine` node."""
    return affine(x, weight, bias)


def dropout(x, p: float = 0.5, training: bool = True, generator: np.random.Generator | None = None):
    """Inverted dropout: x ⊙ m / (1 − p), mᵢ ~ Bernoulli(1 − p), if ``training`` (True by default,
    as in PyTorch); x itself otherwise.  The mask is drawn from ``generator`` (a fresh unseeded
    default generator if None, see :func:`tinygrad_lab.manual_seed`)."""
    p = _dropout.check_p(p)
    if not training or p == 0:
        return x
    return _dropout.dropout(x, p, random.generator(generator, what="dropout: generator"))
