"""Tensor factories named like PyTorch's: tensor, zeros, ones, arange, randn, zeros_like, ones_like.

Random numbers come from a numpy ``Generator`` (``generator=np.random.default_rng(seed)``), the
project's one source of randomness: pass the same seeded Generator for reproducible runs; without
one they come from the default generator (:func:`tinygrad_lab.manual_seed` seeds it).
"""
from __future__ import annotations

import numpy as np

from tinygrad_lab import random
from tinygrad_lab.tensor import Tensor


def _shape(shape) -> tuple[int, ...]:
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = shape[0]
    return tuple(int(n) for n in shape)


def zeros(*shape, dtype=np.float64, requires_grad: bool = False) -> Tensor:
    """A tensor of zeros: ``zeros(2, 3)`` or ``zeros((2, 3))``."""
    return Tensor(np.zeros(_shape(shape), dtype=dtype), requires_grad=requires_grad)


def ones(*shape, dtype=np.float64, requires_grad: bool = False) -> Tensor:
    """A tensor of ones: ``ones(2, 3)`` or ``ones((2, 3))``."""
    return Tensor(np.ones(_shape(shape), dtype=dtype), requires_grad=requires_grad)


def randn(*shape, generator: np.random.Generator | None = None, dtype=np.float64,
          requires_grad: bool = False) -> Tensor:
    """Samples of N(0, 1) drawn from ``generator`` (the default generator if None)."""
    generator = random.generator(generator, what="randn: generator")
    return Tensor(generator.standard_normal(_shape(shape)).astype(dtype), requires_grad=requires_grad)


def zeros_like(t: Tensor, requires_grad: bool = False) -> Tensor:
    """Zeros of ``t``'s shape and dtype."""
    return zeros(t.shape, dtype=t.dtype, requires_grad=requires_grad)


def ones_like(t: Tensor, requires_grad: bool = False) -> Tensor:
    """Ones of ``t``'s shape and dtype."""
    return ones(t.shape, dtype=t.dtype, requires_grad=requires_grad)


def tensor(data, dtype=None, requires_grad: bool = False) -> Tensor:
    """A new leaf holding a copy of ``data`` (numbers, nested lists, arrays, 0-d tensors inside a
    list), as ``torch.tensor``: float32/float64 data keep their dtype, other numbers become float64
    unless ``dtype`` says otherwise; a Tensor's values are copied without its graph."""
    return Tensor(data, requires_grad=requires_grad, dtype=dtype)


def arange(start, end=None, step=1, dtype=np.float64, requires_grad: bool = False) -> Tensor:
    """start, start + step, … up to but excluding ``end`` (``arange(n)`` = 0 … n − 1), as
    ``torch.arange``; the values are floats (Tensors hold float32 or float64)."""
    if end is None:
        start, end = 0, start
    for name, value in (("start", start), ("end", end), ("step", step)):
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
                or not np.isfinite(value):
            raise ValueError(f"arange: {name} must be a finite number, got {value!r}")
    if step == 0:
        raise ValueError("arange: step must be nonzero")
    return Tensor(np.arange(start, end, step, dtype=np.float64), requires_grad=requires_grad, dtype=dtype)
