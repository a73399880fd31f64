"""The few elementwise primitives the activation formulas are written with.

Each works on a number, a numpy array (numpy's ufunc) and a Tensor (a graph op, so a derivative
written with them can be differentiated again under ``create_graph``); the Numba backend compiles
each to its scalar form (``numba.extending.overload``), so the same formula runs inside a kernel.
"""
from __future__ import annotations

import numpy as np

#: what numpy computes on; anything else is a Tensor, computed on through its methods (graph ops).
#: (A duck test, so that this module imports no Tensor: tensor → ops → activations stays acyclic.)
NUMERIC = (np.ndarray, np.generic, float, int)


def tanh(x):
    """tanh x."""
    return np.tanh(x) if isinstance(x, NUMERIC) else x.tanh()


def exp(x):
    """eˣ."""
    return np.exp(x) if isinstance(x, NUMERIC) else x.exp()


def log1p(x):
    """ln(1 + x), exact for small x."""
    return np.log1p(x) if isinstance(x, NUMERIC) else (x + 1.0).log()


def abs(x):
    """|x|."""
    return np.abs(x) if isinstance(x, NUMERIC) else x.abs()


def maximum(x, c: float):
    """max(x, c) for a constant c."""
    return np.maximum(x, c) if isinstance(x, NUMERIC) else x.maximum(c)


def step(x):
    """The Heaviside step H(x) = 1 for x > 0, else 0: a constant (its derivative is 0 almost
    everywhere), so on a Tensor it gives a plain array of the Tensor's dtype."""
    if not isinstance(x, NUMERIC):
        x = x.data
    return np.greater(x, 0).astype(np.result_type(x, np.float16))


PRIMITIVES = (tanh, exp, log1p, abs, maximum, step)
