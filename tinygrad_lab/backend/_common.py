"""Shared by both backends: the argument contract and the per-step scalar arithmetic.

Keeping the scalar work (bias corrections, ``1 - dampening``...) in one place, in Python floats,
is what lets the NumPy and Numba kernels agree bit for bit in float64.
"""

from __future__ import annotations

import math

import numpy as np


def check_flat(param: np.ndarray, *others: np.ndarray) -> None:
    """Raise ValueError unless every array is 1-D, C-contiguous, of ``param``'s size and dtype.

    ``param`` must also be writeable and of a floating dtype (float32 or float64).
    """
    if param.ndim != 1 or not param.flags.c_contiguous or not param.flags.writeable:
        raise ValueError("param must be a writeable 1-D C-contiguous array (use .reshape(-1))")
    if param.dtype not in (np.float32, np.float64):
        raise ValueError(f"param dtype must be float32 or float64, got {param.dtype}")
    for i, a in enumerate(others):
        if a.ndim != 1 or not a.flags.c_contiguous:
            raise ValueError(f"array argument {i + 1} must be 1-D and C-contiguous")
        if a.shape != param.shape or a.dtype != param.dtype:
            raise ValueError(
                f"array argument {i + 1} has shape {a.shape} and dtype {a.dtype}; "
                f"param has {param.shape} and {param.dtype}"
            )


def adam_scalars(lr: float, beta1: float, beta2: float, step: int) -> tuple[float, float]:
    """Return ``(step_size, sqrt_bc2)`` = (lr / (1 − β₁ᵗ), √(1 − β₂ᵗ)) as PyTorch computes them."""
    if step < 1:
        raise ValueError(f"step must be >= 1, got {step}")
    bias_correction1 = 1.0 - beta1**step
    bias_correction2 = 1.0 - beta2**step
    return lr / bias_correction1, math.sqrt(bias_correction2)
