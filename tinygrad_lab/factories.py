"""Tensor factories named like PyTorch's: zeros, ones, randn, zeros_like, ones_like.

Random numbers come from a numpy ``Generator`` (``generator=np.random.default_rng(seed)``), the
project's one source of randomness: pass the same seeded Generator for reproducible runs.
"""
from __future__ import annotations

import numpy as np

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
    """Samples of N(0, 1) drawn from ``generator`` (a fresh unseeded one if None)."""
    if generator is None:
        generator = np.random.default_rng()
    if not isinstance(generator, np.random.Generator):
        raise TypeError(f"randn: generator must be a numpy.random.Generator "
                        f"(np.random.default_rng(seed)), got {type(generator).__name__}")
    return Tensor(generator.standard_normal(_shape(shape)).astype(dtype), requires_grad=requires_grad)


def zeros_like(t: Tensor, requires_grad: bool = False) -> Tensor:
    """Zeros of ``t``'s shape and dtype."""
    return zeros(t.shape, dtype=t.dtype, requires_grad=requires_grad)


def ones_like(t: Tensor, requires_grad: bool = False) -> Tensor:
    """Ones of ``t``'s shape and dtype."""
    return ones(t.shape, dtype=t.dtype, requires_grad=requires_grad)
