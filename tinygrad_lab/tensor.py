"""The Tensor: a numpy array that remembers how it was made, and reverse-mode autodiff over that record.

Every op applied to tensors creates a :class:`~tinygrad_lab.function.Function` node that holds its
inputs; the output tensor points at that node (``tensor.creator``).  ``backward()`` walks the nodes
from the output back to the leaves in reverse topological order and applies the chain rule:
each node receives ∂E/∂(its output) and hands ∂E/∂(each input) to its inputs, where the
contributions of every path are summed.  Leaves with ``requires_grad=True`` keep the sum in
``.grad``.
"""
from __future__ import annotations

import contextlib
import functools
from typing import Iterator, NamedTuple

import numpy as np

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


class _GradMode:
    enabled = True


def is_grad_enabled() -> bool:
    """Whether ops record the graph (False inside ``no_grad()``)."""
    return _GradMode.enabled


@contextlib.contextmanager
def set_grad_enabled(enabled: bool) -> Iterator[None]:
    """Record the graph (``True``) or not (``False``) inside the ``with`` block."""
    previous, _GradMode.enabled = _GradMode.enabled, bool(enabled)
    try:
        yield
    finally:
        _GradMode.enabled = previous


def no_grad() -> contextlib.AbstractContextManager[None]:
    """Context in which ops record no graph: for evaluation and parameter updates."""
    return set_grad_enabled(False)


def as_float_array(data, dtype=None) -> np.ndarray:
    """``data`` as a float32/float64 array: float arrays keep their dtype, anything else is float64."""
    if isinstance(data, Tensor):
        data = data.data
    array = np.asarray(data)
    if dtype is not None:
        dtype = np.dtype(dtype)
        if dtype not in FLOAT_DTYPES:
            raise TypeError(f"Tensor dtype must be float32 or float64, got {dtype}")
        return array.astype(dtype, copy=False)
    if array.dtype in FLOAT_DTYPES:
        return array
    if array.dtype.kind not in "biuf":
        raise TypeError(f"cannot make a Tensor from data of dtype {array.dtype}")
    return array.astype(np.float64)


class Tensor:
    """An n-dimensional float array with reverse-mode automatic differentiation.

    ``Tensor(data, requires_grad=False, dtype=None)``: float32 and float64 data keep their dtype,
    other numbers become float64.  Ops between two tensors of different dtypes are refused (no
    silent up- or down-cast); Python numbers and plain arrays take the tensor's dtype.
    """

    __slots__ = ("_data", "version", "grad", "requires_grad", "creator", "name", "__weakref__")
    __array_ufunc__ = None  # numpy defers to Tensor's reflected operators: ndarray * Tensor -> Tensor

    def __init__(self, data, requires_grad: bool = False, dtype=None, name: str | None = None):
        self._data: np.ndarray = as_float_array(data, dtype)
        self.version = 0  # counts in-place changes; the graph checks it before using saved inputs
        self.grad: Tensor | None = None
        self.requires_grad = bool(requires_grad)
        self.creator = None  # the Function that produced this tensor; None for leaves
        self.name = name

    @classmethod
    def wrap(cls, array: np.ndarray) -> "Tensor":
        """A leaf around an op's float result, without re-checking it (the graph's fast path)."""
        t = object.__new__(cls)
        t._data, t.version, t.grad, t.requires_grad, t.creator, t.name = (
            np.asarray(array), 0, None, False, None, None)
        return t

    # ----- plain properties -------------------------------------------------------------------
    @property
    def data(self) -> np.ndarray:
        """The numpy array.  Assigning it (``t.data = …``, ``t.data -= …``) counts as an in-place
        change; after writing into it through a view (``t.data[...] = …``) call :meth:`mark_modified`."""
        return self._data

    @data.setter
    def data(self, value) -> None:
        self._data = as_float_array(value, self._data.dtype)
        self.version += 1

    def mark_modified(self) -> None:
        """Record an in-place change of ``data`` (optimizers call this after their update)."""
        self.version += 1

    shape = property(lambda self: self.data.shape)
    ndim = property(lambda self: self.data.ndim)
    size = property(lambda self: self.data.size)
    dtype = property(lambda self: self.data.dtype)

    @property
    def is_leaf(self) -> bool:
        return self.creator is None

    def __len__(self) -> int:
        return len(self.data)

    def __repr__(self) -> str:
        grad = ", requires_grad=True" if self.requires_grad else ""
        body = np.array2string(self.data, precision=4, separator=", ", prefix="Tensor(")
        return f"Tensor({body}, dtype={self.dtype}{grad})"

    def numpy(self) -> np.ndarray:
        """The data as a numpy array, shared, not copied (as PyTorch's ``numpy()``): writing into it
        writes into the tensor.  Take ``t.numpy().copy()`` for an independent array."""
        return self.data

    def item(self) -> float:
        return self.data.item()

    def detach(self) -> "Tensor":
        """A new leaf sharing this tensor's data, cut from the graph."""
        return Tensor(self.data)

    def zero_grad(self) -> None:
        """Forget the accumulated gradient (``.grad = None``)."""
        self.grad = None

    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        """Start (or stop) recording gradients for this leaf, in place; returns the tensor."""
        if not self.is_leaf and not requires_grad:
            raise RuntimeError(f"requires_grad_(False) on a non-leaf tensor of shape {self.shape}: "
                               "it is part of a graph; use detach() to get a leaf")
        self.requires_grad = bool(requires_grad)
        return self

    # ----- reverse mode -----------------------------------------------------------------------
    def backward(self, grad=None, retain_graph: bool = False, create_graph: bool = False) -> None:
        """Accumulate ∂self/∂leaf into ``leaf.grad`` for every leaf that requires grad.

        ``grad`` is ∂E/∂self, the upstream gradient; it may be omitted only for a scalar (then 1).
        The graph is freed afterwards unless ``retain_graph=True``.  With ``create_graph=True`` the
        gradients are themselves computed by graph ops, so they can be differentiated again.
        """
        from tinygrad_lab.autograd import backward

        backward([self], [grad], retain_graph=retain_graph, create_graph=create_graph)


def _install_methods() -> None:
    """Bind the ops of :mod:`tinygrad_lab.ops` to Tensor as operators and methods."""
    from tinygrad_lab import ops

    def swap(fn):
        return lambda self, other: fn(other, self)

    methods = {
        "__add__": ops.add, "__radd__": swap(ops.add),
        "__sub__": ops.sub, "__rsub__": swap(ops.sub),
        "__mul__": ops.mul, "__rmul__": swap(ops.mul),
        "__truediv__": ops.div, "__rtruediv__": swap(ops.div),
        "__pow__": ops.pow, "__rpow__": swap(ops.pow),
        "__matmul__": ops.matmul, "__rmatmul__": swap(ops.matmul),
        "__neg__": ops.neg, "__getitem__": ops.getitem,
        "exp": ops.exp, "log": ops.log, "sqrt": ops.sqrt, "abs": ops.abs,
        "sum": ops.sum, "mean": ops.mean, "max": ops.max, "min": ops.min, "var": ops.var,
        "reshape": ops.reshape, "transpose": ops.transpose, "swapaxes": ops.swapaxes,
        "broadcast_to": ops.broadcast_to, "clip": ops.clip, "maximum": ops.maximum,
        "relu": ops.relu, "sigmoid": ops.sigmoid, "tanh": ops.tanh,
        "softmax": ops.softmax, "log_softmax": ops.log_softmax,
    }
    methods.update({  # PyTorch's everyday methods; reductions also take dim= / keepdim=
        "clone": ops.clone, "to": ops.to, "minimum": ops.minimum,
        "float": lambda self: ops.to(self, np.float32), "double": lambda self: ops.to(self, np.float64),
        "unsqueeze": ops.unsqueeze, "squeeze": ops.squeeze, "flatten": ops.flatten,
        "view": ops.reshape, "logsumexp": ops.logsumexp, "std": ops.std,
        "argmax": ops.argmax, "argmin": ops.argmin,
    })
    for name in ("sum", "mean", "var", "std", "logsumexp", "argmax", "argmin", "softmax", "log_softmax"):
        methods[name] = _torch_keywords(methods[name])
    for name in ("max", "min"):
        methods[name] = _torch_keywords(methods[name], with_indices=getattr(ops, f"arg{name}"))
    for name, fn in methods.items():
        setattr(Tensor, name, fn)
    Tensor.T = property(lambda self: ops.transpose(self))


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
