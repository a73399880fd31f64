"""The Tensor: a numpy array that remembers how it was made.

Every op applied to tensors creates a :class:`~tinygrad_lab.function.Function` node that holds its
inputs; the output tensor points at that node (``tensor.creator``).  This module knows nothing of
the graph machinery built on top of it: :mod:`tinygrad_lab.ops` binds the ops onto Tensor as its
operators and methods (``a * b``, ``t.sum()``), and :mod:`tinygrad_lab.autograd`, the reverse-mode
engine, provides ``Tensor.backward``; the package's ``__init__`` imports both first thing.
"""
from __future__ import annotations

import itertools
import weakref
from typing import Iterator

import numpy as np

from tinygrad_lab.mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled, tensor_written

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
__all__ = ["FLOAT_DTYPES", "Tensor", "as_float_array", "enable_grad", "is_grad_enabled", "no_grad",
           "set_grad_enabled"]


#: a tensor's creation number (``Tensor._seq``), as PyTorch's sequence_nr: an op's inputs exist before
#: its output, so they always have smaller numbers, and the backward engine visits tensors in
#: decreasing ``_seq``, a reverse topological order found without sorting the graph
_SEQUENCE = itertools.count()


def _scalar_values(data):
    """``data`` with each 0-d Tensor inside its nested lists/tuples replaced by its value (as
    ``torch.tensor([t0, t1])``); called only when numpy found the nesting ragged, so a Tensor of
    more dimensions here is refused, pointing to ``stack``."""
    if isinstance(data, Tensor):
        if data.ndim:
            raise ValueError(f"cannot make a Tensor from a sequence holding a tensor of shape {data.shape} "
                             "beside values of other shapes; join tensors with stack(tensors)")
        return data._data[()]
    if isinstance(data, (list, tuple)):
        return [_scalar_values(d) for d in data]
    return data


def numeric_array(data, what: str = "a Tensor") -> np.ndarray:
    """``data`` as a numpy array of booleans, integers or floats; anything else is refused.  A
    (nested) sequence may hold 0-d Tensors: their values are taken, without their graph."""
    if isinstance(data, Tensor):
        return data._data
    try:
        array = np.asarray(data)
    except ValueError:  # ragged nesting, or tensors inside the sequence
        try:
            array = np.asarray(_scalar_values(data))
        except ValueError as e:
            if "stack" in str(e):
                raise
            raise ValueError(f"cannot make {what} from nested sequences of unequal lengths") from None
    if array.dtype.kind not in "biuf":
        raise TypeError(f"cannot make {what} from data of dtype {array.dtype}")
    return array


def as_float_array(data, dtype=None) -> np.ndarray:
    """A new float32/float64 array holding ``data`` (always a copy, never the caller's array):
    float arrays keep their dtype, other numbers become float64, non-numeric data is refused."""
    if type(data) is np.ndarray and data.dtype in FLOAT_DTYPES and (dtype is None or data.dtype == dtype):
        return data.astype(data.dtype)  # the common case, a batch of floats: copied, layout kept
    array = numeric_array(data)
    if dtype is not None:
        dtype = np.dtype(dtype)
        if dtype not in FLOAT_DTYPES:
            raise TypeError(f"Tensor dtype must be float32 or float64, got {dtype}")
    else:
        dtype = array.dtype if array.dtype in FLOAT_DTYPES else np.dtype(np.float64)
    fresh = isinstance(data, (list, tuple, int, float, np.generic))  # np.asarray built a new array
    return array.astype(dtype, copy=not fresh)


_COMPARISON_NAMES = {"equal": "eq", "not_equal": "ne", "less": "lt", "less_equal": "le", "greater": "gt",
                     "greater_equal": "ge"}


def _comparison(op):
    """``t == other`` and the like: a boolean tensor, outside the graph (no gradient), as PyTorch."""
    name = _COMPARISON_NAMES[op.__name__]

    def compare(self, other):
        if not isinstance(other, (Tensor, np.ndarray, np.generic, int, float, list, tuple)):
            return NotImplemented  # e.g. t == None: Python's default (identity) comparison
        other = numeric_array(other, "a comparison operand")
        try:
            np.broadcast_shapes(self.shape, other.shape)
        except ValueError:
            raise ValueError(f"{name}: shapes {self.shape} and {other.shape} cannot be broadcast together") from None
        return Tensor.wrap(op(self._data, other))

    compare.__name__ = f"__{name}__"
    return compare


class Tensor:
    """An n-dimensional float array with reverse-mode automatic differentiation.

    ``Tensor(data, requires_grad=False, dtype=None)`` copies ``data``, as ``torch.tensor`` does:
    changing the caller's array afterwards changes neither the tensor nor a graph that uses it
    (:meth:`from_numpy` shares memory instead).  float32 and float64 data keep their dtype, other
    numbers become float64; strings, None, complex and object data are refused.  Ops between two
    tensors of different dtypes are refused (no silent up- or down-cast); Python numbers and plain
    arrays take the tensor's dtype.
    """

    __slots__ = ("_data", "_version", "grad", "requires_grad", "creator", "name", "_seq", "_source", "__weakref__")
    __array_ufunc__ = None  # numpy defers to Tensor's reflected operators: ndarray * Tensor -> Tensor
    __hash__ = object.__hash__  # == is elementwise, but tensors stay usable as dict keys (by identity)

    def __init__(self, data, requires_grad: bool = False, dtype=None, name: str | None = None):
        self._data: np.ndarray = as_float_array(data, dtype)
        self._version = [0]  # in-place changes, shared with views and detach(); see `version`
        self.grad: Tensor | None = None
        self.requires_grad = bool(requires_grad)
        self.creator = None  # the Function that produced this tensor; None for leaves
        self.name = name
        self._seq = next(_SEQUENCE)  # the creation number (see _SEQUENCE)
        # what it is a copy of, while that lives: a captured step binds such a copy of one of its
        # arguments to the argument itself (see `copied_from`)
        self._source = weakref.ref(data) if isinstance(data, (np.ndarray, Tensor)) else None

    @classmethod
    def wrap(cls, array: np.ndarray) -> "Tensor":
        """A leaf around an op's float result, without checking or copying it (the graph's fast path)."""
        if type(array) is not np.ndarray:  # e.g. the numpy scalar of a full reduction
            array = np.asarray(array)
        t = object.__new__(cls)
        t._data, t._version, t.grad, t.requires_grad, t.creator, t.name, t._seq = (
            array, [0], None, False, None, None, next(_SEQUENCE))
        return t

    def __getstate__(self):
        """Pickled and deep-copied without the weak reference to the copied data (see :meth:`copied_from`)."""
        _, slots = object.__getstate__(self)
        slots.pop("_source", None)
        return None, slots

    def copied_from(self):
        """The array or Tensor this tensor copied in ``Tensor(data)``, while it still exists; else None
        (an op's result, ``from_numpy``, or a copy of a list or a number)."""
        source = getattr(self, "_source", None)
        return source() if source is not None else None

    @classmethod
    def from_numpy(cls, array: np.ndarray, requires_grad: bool = False) -> "Tensor":
        """A tensor that shares memory with the float32/float64 ``array`` (no copy), as
        ``torch.from_numpy``.  The caller must not change the array while a graph that uses the
        tensor may still run ``backward()``: such a change is invisible to the version check."""
        if not isinstance(array, np.ndarray) or array.dtype not in FLOAT_DTYPES:
            what = f"an array of dtype {array.dtype}" if isinstance(array, np.ndarray) else type(array).__name__
            raise TypeError(f"Tensor.from_numpy needs a float32 or float64 numpy array, got {what}")
        t = cls.wrap(array)
        t.requires_grad = bool(requires_grad)
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
        self._version[0] += 1
        tensor_written()

    @property
    def version(self) -> int:
        """How many in-place changes this tensor's memory has seen (shared with its views and
        ``detach()``).  A graph node records its inputs' versions and refuses to run its backward
        if one has changed, instead of silently using the new values."""
        return self._version[0]

    def mark_modified(self) -> None:
        """Record an in-place change of ``data`` made through the array (optimizers' kernels)."""
        self._version[0] += 1

    def copy_(self, value) -> "Tensor":
        """Write ``value`` (broadcast, cast to this dtype) into this tensor in place; bump its version.

        The one way to change a tensor's values: initializers, optimizers, Newton's step and
        ``load_state_dict`` use it.  The write itself is not differentiated, so it is refused on a
        tensor computed by the graph while grad mode is on (detach it or use ``no_grad()``).
        """
        if self.creator is not None and is_grad_enabled():
            raise RuntimeError(f"copy_: the tensor of shape {self.shape} was computed by the graph "
                               f"({self.creator.name}) and in-place writes are not differentiable; "
                               "write into x.detach() or inside no_grad()")
        source = numeric_array(value, "a value to copy")
        try:
            np.copyto(self._data, source, casting="unsafe")
        except ValueError:
            if not self._data.flags.writeable:
                raise RuntimeError(f"copy_: the tensor of shape {self.shape} is a read-only view "
                                   "(a broadcast); copy it first") from None
            raise ValueError(f"copy_: a value of shape {source.shape} cannot be written into a tensor "
                             f"of shape {self.shape}") from None
        self._version[0] += 1
        tensor_written()
        return self

    shape = property(lambda self: self._data.shape)
    ndim = property(lambda self: self._data.ndim)
    size = property(lambda self: self._data.size)
    dtype = property(lambda self: self._data.dtype)

    @property
    def is_leaf(self) -> bool:
        return self.creator is None

    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self._data)

    def __iter__(self) -> Iterator["Tensor"]:
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(len(self._data)))

    def __bool__(self) -> bool:
        if self._data.size != 1:
            raise RuntimeError(f"Boolean value of a tensor of shape {self.shape} with {self.size} values "
                               "is ambiguous; use .any() or .all() on t.data")
        return bool(self._data.item())

    __eq__, __ne__, __lt__, __le__, __gt__, __ge__ = map(
        _comparison, (np.equal, np.not_equal, np.less, np.less_equal, np.greater, np.greater_equal))

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        """``np.asarray(t)``: the data (shared, like :meth:`numpy`; a copy when ``copy=True``)."""
        array = self._data if dtype is None else self._data.astype(dtype, copy=False)
        return array.copy() if copy and array is self._data else array

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
        """A new leaf cut from the graph that shares this tensor's data and version counter (as
        PyTorch): an in-place change through either is seen by graphs that saved the other."""
        t = Tensor.wrap(self._data)
        t._version = self._version
        return t

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
