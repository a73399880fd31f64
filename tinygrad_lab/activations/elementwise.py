"""The few elementwise primitives the activation formulas are written with.

Each works on a number, a numpy array (numpy's ufunc) and a Tensor (a graph op, so a derivative
written with them can be differentiated again under ``create_graph``); the Numba backend compiles
each to its scalar form (``numba.extending.overload``), so the same formula runs inside a kernel.
"""
from __future__ import annotations

import numpy as np

from tinygrad_lab.tensor import Tensor


def tanh(x):
    """tanh x."""
    return x.tanh() if isinstance(x, Tensor) else np.tanh(x)


def exp(x):
    """eˣ."""
    return x.exp() if isinstance(x, Tensor) else np.exp(x)


def log1p(x):
    """ln(1 + x), exact for small x."""
    return (x + 1.0).log() if isinstance(x, Tensor) else np.log1p(x)


def abs(x):
    """|x|."""
    return x.abs() if isinstance(x, Tensor) else np.abs(x)


def maximum(x, c: float):
    """max(x, c) for a constant c."""
    return x.maximum(c) if isinstance(x, Tensor) else np.maximum(x, c)


def step(x):
    """The Heaviside step H(x) = 1 for x > 0, else 0: a constant (its derivative is 0 almost
    everywhere), so on a Tensor it gives a plain array of the Tensor's dtype."""
    if isinstance(x, Tensor):
        x = x.data
    return np.greater(x, 0).astype(np.result_type(x, np.float16))


PRIMITIVES = (tanh, exp, log1p, abs, maximum, step)
