"""Function: one differentiable op, one node of the graph.

A subclass writes two methods, in the homework's terms for one node y = f(x₁, …, xₙ):

* ``forward(*xs) -> y`` on numpy arrays;
* ``backward(gy, *xs, y) -> (gx₁, …, gxₙ)``: given gy = ∂E/∂y, return gxᵢ = ∂E/∂xᵢ (the
  vector–Jacobian product), or ``None`` for an input that needs no gradient
  (``self.needs_grad[i]`` is False).

``backward`` is written once and runs two ways: on numpy arrays for an ordinary backward pass
(lean, no graph), and on Tensors when ``create_graph=True``, where every operator it uses records a
graph of its own, so the gradient can be differentiated again.  That works because every op called
on plain arrays simply returns ``forward``'s array (see :meth:`Function.apply`), and numpy defers
operators to Tensor.  So a backward rule uses only operators, array methods shared by numpy and
Tensor, and the ops of :mod:`tinygrad_lab.ops`; constants (masks, indices) come from
``data(x)``.

Forward mode (:mod:`tinygrad_lab.forward_ad`) adds a third, optional method:

* ``jvp(*dxs, xs, y) -> dy``: given tangents dxᵢ of the inputs, return the tangent of the output,
  dy = Σᵢ ∂y/∂xᵢ · dxᵢ (the Jacobian–vector product), on numpy arrays.  An input without a tangent
  gets zeros.  A linear op (y = f(x₁, …, xₙ) linear in all its inputs) sets ``jvp = linear_jvp``:
  its tangent rule is f itself.
"""
from __future__ import annotations

import functools
import types

import numpy as np

from tinygrad_lab.anomaly import AnomalyMode, check_forward
from tinygrad_lab.tensor import Tensor, _GradMode

#: every Function subclass by name; the gradient checks enumerate it
REGISTRY: dict[str, type["Function"]] = {}


class ForwardMode:
    """While :func:`tinygrad_lab.forward_ad.dual_level` is open, ``tangents`` maps id(tensor) to
    (tensor, tangent) for every dual tensor; ``None`` otherwise (the one check on the normal path)."""

    tangents: dict[int, tuple[Tensor, np.ndarray]] | None = None


def data(x) -> np.ndarray:
    """The numpy array behind ``x`` (a Tensor or already an array)."""
    return x.data if isinstance(x, Tensor) else x


class _instance_or_class_method:
    """A method callable on an instance, or on the class, which then runs it on a fresh ``cls()``."""

    def __init__(self, fn):
        self.fn = fn
        functools.update_wrapper(self, fn)

    def __get__(self, instance, owner):
        if instance is None:
            return lambda *inputs: self.fn(owner(), *inputs)
        return types.MethodType(self.fn, instance)


class Function:
    """Base class of graph nodes.  Subclasses set attributes in ``__init__`` (axis, shape, …)."""

    needs_grad: tuple[bool, ...] = ()
    inputs: tuple[Tensor, ...] | None = None
    freed = False
    #: False for ops whose backward does not read its inputs' values (Add, Reshape, ...): changing
    #: those inputs in place after the forward pass is harmless, so it is not checked
    saves_inputs = True
    versions: tuple[int, ...] = ()

    def __init_subclass__(cls, register: bool | None = None, **kwargs):
        """The package's own ops join :data:`REGISTRY` (the gradient-check catalogue enumerates it);
        a subclass defined elsewhere joins only with ``class MyOp(Function, register=True)``."""
        super().__init_subclass__(**kwargs)
        if register is None:
            register = cls.__module__.split(".")[0] == __name__.split(".")[0]
        if register:
            REGISTRY[cls.__name__] = cls

    @property
    def name(self) -> str:
        return type(self).__name__

    def forward(self, *xs: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def backward(self, gy, *xs, y):
        raise NotImplementedError

    def jvp(self, *dxs, xs, y):
        raise NotImplementedError(f"{self.name} has no forward-mode (jvp) rule")

    @_instance_or_class_method
    def apply(self, *inputs):
        """Run the op: ``Op(params).apply(x, …)``, or ``Op.apply(x, …)`` (PyTorch's habit) for an op
        whose constructor takes no arguments.  On plain arrays it returns an array; with a Tensor among the inputs it returns
        a Tensor and, when some input requires grad and grad mode is on, records this node."""
        tensors = [x for x in inputs if isinstance(x, Tensor)]
        if not tensors:
            return self.forward(*inputs)
        dtype = tensors[0].dtype
        for t in tensors[1:]:
            if t.dtype != dtype:
                raise TypeError(
                    f"{self.name}: inputs mix {dtype} and {t.dtype} tensors of shapes "
                    f"{tensors[0].shape} and {t.shape}; convert one with Tensor(x.data, dtype=...)"
                )
        arrays = [x._data if isinstance(x, Tensor) else _constant(x, dtype) for x in inputs]
        out = Tensor.wrap(self.forward(*arrays))
        if AnomalyMode.enabled:
            check_forward(self, arrays, out.data)
        if ForwardMode.tangents is not None:
            self._push_tangent(inputs, arrays, out)
        if _GradMode.enabled and any(t.requires_grad for t in tensors):
            self.inputs = tuple(x if isinstance(x, Tensor) else Tensor.wrap(a) for x, a in zip(inputs, arrays))
            self.needs_grad = tuple(t.requires_grad for t in self.inputs)
            if self.saves_inputs:
                self.versions = tuple(t.version for t in self.inputs)
            out.requires_grad = True
            out.creator = self
        return out

    def _push_tangent(self, inputs, arrays, out: Tensor) -> None:
        """Forward mode: if an input is dual, give ``out`` the tangent dy = Σᵢ ∂y/∂xᵢ dxᵢ."""
        tangents = ForwardMode.tangents
        entries = [tangents.get(id(x)) for x in inputs]
        dual = [e is not None and e[0] is x for e, x in zip(entries, inputs)]
        if not any(dual):
            return
        dxs = [e[1] if d else np.zeros_like(a) for e, d, a in zip(entries, dual, arrays)]
        dy = np.asarray(self.jvp(*dxs, xs=arrays, y=out.data), dtype=out.dtype)
        if dy.shape != out.shape:
            raise AssertionError(f"{self.name}.jvp gave a tangent of shape {dy.shape} for an output "
                                 f"of shape {out.shape}")
        tangents[id(out)] = (out, dy)


    def check_versions(self) -> None:
        """Raise if an input this node's backward reads was changed in place since the forward pass."""
        for i, (x, seen) in enumerate(zip(self.inputs, self.versions)):
            if x.version != seen:
                raise RuntimeError(
                    f"{self.name}: input {i} of shape {x.shape} was modified in place after the forward "
                    f"pass (version {seen} -> {x.version}), but the backward pass needs its old value. "
                    "Update parameters after backward(), or compute the graph again")


def linear_jvp(self: Function, *dxs, xs, y):
    """The tangent rule of a linear op y = f(x₁, …, xₙ): dy = f(dx₁, …, dxₙ)."""
    return self.forward(*dxs)


def _constant(x, dtype) -> np.ndarray:
    """A Python number or array operand, in the dtype of the tensors it meets."""
    array = np.asarray(x)
    if array.dtype.kind not in "biuf":
        raise TypeError(f"cannot use a value of dtype {array.dtype} in a tensor op")
    return array.astype(dtype, copy=False)
