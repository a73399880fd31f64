"""Dropout (Srivastava et al. 2014), inverted as in PyTorch: y = x ⊙ m / (1 − p) in training, with
mᵢ ~ Bernoulli(1 − p), so that E[y] = x; y = x in evaluation."""
from __future__ import annotations

import numpy as np

from tinygrad_lab import random
from tinygrad_lab.function import Function
from tinygrad_lab.mode import effect_made
from tinygrad_lab.nn.module import Module


def check_p(p) -> float:
    if isinstance(p, bool) or not isinstance(p, (int, float, np.floating)) or not 0 <= p <= 1:
        raise ValueError(f"dropout probability must be a number in [0, 1], got {p!r}")
    return float(p)


def dropout_mask(shape, p: float, rng: np.random.Generator, dtype) -> np.ndarray:
    """m / (1 − p) with mᵢ ~ Bernoulli(1 − p): the multiplier of inverted dropout (zeros for p = 1)."""
    keep = rng.random(shape) >= p
    return keep.astype(dtype) / (1 - p) if p < 1 else np.zeros(shape, dtype=dtype)


class DropoutTrain(Function):
    """y = x ⊙ m / (1 − p), the mask m / (1 − p) drawn from ``rng`` inside the forward pass (so a
    captured step's replay draws it again, from the same generator); gx = gy ⊙ m / (1 − p)."""

    def __init__(self, p: float, rng: np.random.Generator):
        self.p, self.rng = p, rng

    def forward(self, x):
        self.mask = np.empty_like(x)
        return self.forward_into(x, self.mask, np.empty_like(x))

    def forward_into(self, x, mask, y):
        """Draw the mask into ``mask``, write x ⊙ mask into ``y``; returns y."""
        mask[...] = dropout_mask(x.shape, self.p, self.rng, x.dtype)
        effect_made()
        return np.multiply(x, mask, out=y)

    def backward(self, gy, x, y):
        return gy * self.mask

    def backward_into(self, gy, gx):
        """gx ← :meth:`backward` (gy ⊙ mask) into the buffer ``gx``."""
        np.copyto(gx, self.backward(gy, None, None))

    def lower(self, plan, inputs, out):
        """Replayed as :meth:`forward_into` (a fresh mask from the generator, which is state the
        forward pass changes) and :meth:`backward_into` on the plan's buffers."""
        x = plan.value(inputs[0])
        self.mask, y = np.empty_like(x), plan.output(out, np.empty_like(x))
        plan.forward(self.name, self.forward_into, x, self.mask, y)
        plan.changes(self.rng)
        if self.needs_grad[0]:
            plan.backward(f"{self.name} backward", self.backward_into, plan.grad(out), plan.grad(inputs[0]))

    def jvp(self, dx, *, xs, y):
        return dx * self.mask


def dropout(x, p: float, rng: np.random.Generator):
    """Inverted dropout of ``x`` with probability ``p`` > 0 (one :class:`DropoutTrain` node)."""
    return DropoutTrain(p, rng).apply(x)


class Dropout(Module):
    """``Dropout(p=0.5)``: zeroes each element with probability p in training and scales the
    survivors by 1 / (1 − p); the identity in eval mode.

    The masks come from ``rng`` (a numpy Generator; ``numpy.random.default_rng(seed)`` if None, the default
    generator of :func:`tinygrad_lab.manual_seed` if both are None), so a
    seeded model drops the same units run after run.  The mask is a constant of the graph: the
    gradient is gy ⊙ m / (1 − p), the same mask as the forward pass.
    """

    def __init__(self, p: float = 0.5, seed: int | None = None, rng: np.random.Generator | None = None):
        self.p = check_p(p)
        self.rng = random.generator(rng, seed)

    def forward(self, x):
        if not self.training or self.p == 0:
            return x
        return dropout(x, self.p, self.rng)

    def extra_repr(self) -> str:
        return f"p={self.p}"
