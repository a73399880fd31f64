"""Tensor's operators and methods, bound in one place: ``a * b`` is ``ops.mul(a, b)``, ``t.sum(dim=0)``
is ``ops.sum(t, axis=0)``.  tensor.py knows nothing of the graph; the package imports this module
first thing, and from then on every Tensor has them."""
from __future__ import annotations

import functools
from typing import NamedTuple

import numpy as np

from tinygrad_lab import ops
from tinygrad_lab.tensor import Tensor


class ValuesIndices(NamedTuple):
    """What ``max(dim=…)`` / ``min(dim=…)`` return, as PyTorch's: the values and their indices."""

    values: Tensor
    indices: np.ndarray


TORCH_KEYWORDS = {"dim": "axis", "keepdim": "keepdims", "correction": "ddof"}


def _torch_keywords(fn, with_indices=None):
    """``fn`` accepting PyTorch's keyword names ``dim``/``keepdim``/``correction`` for numpy's
    ``axis``/``keepdims``/``ddof``.  With ``with_indices`` (max and min), a call that names ``dim``
    returns (values, indices) as PyTorch's ``max(dim=…)`` does; ``axis=`` returns the values only."""
    @functools.wraps(fn)
    def method(self, *args, **kwargs):
        if not kwargs:  # x.sum(), x.max(1): no keyword to translate
            return fn(self, *args)
        torch_style = "dim" in kwargs
        for torch_name, numpy_name in TORCH_KEYWORDS.items():
            if torch_name in kwargs:
                if numpy_name in kwargs:
                    raise TypeError(f"{fn.__name__}: got both {torch_name}= and {numpy_name}=; pass one")
                kwargs[numpy_name] = kwargs.pop(torch_name)
        values = fn(self, *args, **kwargs)
        if with_indices is None or not torch_style:
            return values
        return ValuesIndices(values, with_indices(self, kwargs["axis"], kwargs.get("keepdims", False)))
    return method


def _swap(fn):
    """``other ∘ self`` for the reflected operators: ``2 - t`` is ``t.__rsub__(2)`` = sub(2, t)."""
    return lambda self, other: fn(other, self)


TENSOR_METHODS = {
    "__add__": ops.add, "__radd__": _swap(ops.add),
    "__sub__": ops.sub, "__rsub__": _swap(ops.sub),
    "__mul__": ops.mul, "__rmul__": _swap(ops.mul),
    "__truediv__": ops.div, "__rtruediv__": _swap(ops.div),
    "__pow__": ops.pow, "__rpow__": _swap(ops.pow),
    "__matmul__": ops.matmul, "__rmatmul__": _swap(ops.matmul),
    "__neg__": ops.neg, "__getitem__": ops.getitem,
    "__abs__": ops.abs, "exp": ops.exp, "log": ops.log, "sqrt": ops.sqrt, "abs": ops.abs,
    "reshape": ops.reshape, "transpose": ops.transpose, "swapaxes": ops.swapaxes, "t": ops.t,
    "broadcast_to": ops.broadcast_to, "clip": ops.clip, "maximum": ops.maximum,
    "relu": ops.relu, "sigmoid": ops.sigmoid, "tanh": ops.tanh,
    # PyTorch's everyday methods; reductions also take dim= / keepdim=
    "clone": ops.clone, "to": ops.to, "minimum": ops.minimum,
    "float": lambda self: ops.to(self, np.float32), "double": lambda self: ops.to(self, np.float64),
    "unsqueeze": ops.unsqueeze, "squeeze": ops.squeeze, "flatten": ops.flatten, "view": ops.reshape,
    **{fn.__name__: _torch_keywords(fn) for fn in (ops.sum, ops.mean, ops.var, ops.std, ops.logsumexp, ops.argmax,
                                                    ops.argmin, ops.softmax, ops.log_softmax)},
    "max": _torch_keywords(ops.max, with_indices=ops.argmax), "min": _torch_keywords(ops.min, with_indices=ops.argmin),
}
for _name, _method in TENSOR_METHODS.items():
    setattr(Tensor, _name, _method)
Tensor.T = property(lambda self: ops.transpose(self))
