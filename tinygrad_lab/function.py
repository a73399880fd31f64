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

A captured step (:mod:`tinygrad_lab.capture`) replays the nodes that declare how, with a fourth:

* ``lower(plan, inputs, out)``: hand the plan the node's kernels over the plan's buffers —
  ``plan.forward(name, fn, *args)`` and ``plan.backward(name, fn, *args)``, where ``fn`` is the
  node's own ``forward_into`` / ``backward_into`` (the methods its eager ``forward`` and
  ``backward`` call, so the kernel sequence is written once), the buffers from ``plan.value(t)``,
  ``plan.grad(t)`` and ``plan.output(out, array)``; an input taken from the step's arguments
  other than through a tensor (a loss's targets) from ``plan.argument(given, array, convert)``;
  and the state its forward pass changes besides its output (running statistics, a random
  generator) with ``plan.changes(*state)``.  A node without ``lower`` makes the step run eagerly.
"""
from __future__ import annotations

import numpy as np

from tinygrad_lab import autograd
from tinygrad_lab.anomaly import check_forward
from tinygrad_lab.mode import MODES, dual_tangents
from tinygrad_lab.tensor import FLOAT_DTYPES, Tensor

_FLOATS = frozenset(FLOAT_DTYPES)

#: every Function subclass by name; the gradient checks enumerate it
REGISTRY: dict[str, type["Function"]] = {}


def data(x) -> np.ndarray:
    """The numpy array behind ``x`` (a Tensor or already an array)."""
    return x.data if isinstance(x, Tensor) else x


class _FunctionType(type):
    """The type of Function classes: ``Op.apply(x, …)`` on a class runs ``Op().apply(x, …)``.

    A property of the metaclass is seen only when ``apply`` is read from the class, so on an
    instance (every op call) ``apply`` stays an ordinary method, with no Python-level ``__get__``
    to run first."""

    @property
    def apply(cls):
        return lambda *inputs: cls().apply(*inputs)


class Function(metaclass=_FunctionType):
    """Base class of graph nodes.  Subclasses set attributes in ``__init__`` (axis, shape, …)."""

    needs_grad: tuple[bool, ...] = ()
    inputs: tuple[Tensor, ...] | None = None
    freed = False
    #: False for ops whose backward does not read its inputs' values (Add, Reshape, ...): changing
    #: those inputs in place after the forward pass is harmless, so it is not checked
    saves_inputs = True
    versions: list[int] | tuple[()] = ()  # the inputs' versions when the node was made
    #: the output's version when it was made (checked, like the inputs', when ``saves_inputs``)
    out_version = 0
    #: True for ops whose forward may return a view of input 0 (Reshape, GetItem, ...): the output
    #: shares that input's version counter, so an in-place write through either is seen by both
    view = False
    #: ``lower(plan, inputs, out)``, for the ops a captured step can replay (see the module's docstring)
    lower = None

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

    def apply(self, *inputs):
        """Run the op: ``Op(params).apply(x, …)``, or ``Op.apply(x, …)`` (PyTorch's habit) for an op
        whose constructor takes no arguments.  On plain arrays it returns an array; with a Tensor
        among the inputs it returns a Tensor and, when some input requires grad and grad mode is on,
        records this node.

        Every op of every step passes through here, so the common case is kept lean: when all
        inputs are Tensors of one float dtype (one set of dtypes, ``None`` standing for anything
        else), they are the node's inputs as they come, with no constant to convert and no dtype to
        reconcile."""
        dtypes = {x._data.dtype if isinstance(x, Tensor) else None for x in inputs}
        if len(dtypes) == 1 and dtypes <= _FLOATS:
            arrays = [t._data for t in inputs]
        else:
            tensors = [x for x in inputs if isinstance(x, Tensor)]
            if not tensors:
                return self.forward(*inputs)
            dtype = tensors[0]._data.dtype
            if dtype.kind != "f" or any(t._data.dtype != dtype for t in tensors):
                dtype, inputs, tensors = self._common_dtype(inputs, tensors)
            arrays = [x._data if isinstance(x, Tensor) else _constant(x, dtype) for x in inputs]
            inputs = tuple(x if isinstance(x, Tensor) else Tensor.wrap(a) for x, a in zip(inputs, arrays))
        out = Tensor.wrap(self.forward(*arrays))
        if self.view:
            out._version = inputs[0]._version
        if MODES.anomaly_enabled:
            check_forward(self, arrays, out._data)
        if MODES.tangents is not None:
            self._push_tangent(inputs, arrays, out)
        if MODES.grad_enabled:
            needs_grad = tuple([t.requires_grad for t in inputs])
            if True in needs_grad:
                self.inputs, self.arrays, self.needs_grad = inputs, arrays, needs_grad
                if self.saves_inputs:
                    self.versions = [t._version[0] for t in inputs]
                    self.out_version = out._version[0]
                out.requires_grad = True
                out.creator = self
        return out

    def _common_dtype(self, inputs, tensors):
        """(dtype, inputs, tensors) when the tensors' dtypes differ: boolean tensors (comparison
        results) become constants of the float tensors' dtype (float64 if there are none); two
        float dtypes are refused."""
        floats = [t for t in tensors if t.dtype in FLOAT_DTYPES]
        for t in floats[1:]:
            if t.dtype != floats[0].dtype:
                raise TypeError(
                    f"{self.name}: inputs mix {floats[0].dtype} and {t.dtype} tensors of shapes "
                    f"{floats[0].shape} and {t.shape}; convert one with Tensor(x.data, dtype=...)"
                )
        dtype = floats[0].dtype if floats else np.dtype(np.float64)
        inputs = tuple(x if not isinstance(x, Tensor) or x.dtype in FLOAT_DTYPES
                       else Tensor.wrap(x._data.astype(dtype)) for x in inputs)
        return dtype, inputs, [x for x in inputs if isinstance(x, Tensor)]

    def _push_tangent(self, inputs, arrays, out: Tensor) -> None:
        """Forward mode: if an input is dual, give ``out`` the tangent dy = Σᵢ ∂y/∂xᵢ dxᵢ."""
        tangents = dual_tangents()
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


    def check_versions(self, out: Tensor) -> None:
        """Raise if an input or the output ``out``, which this node's backward may read, was changed
        in place since the forward pass."""
        if out._version[0] == self.out_version and self.versions == [x._version[0] for x in self.inputs]:
            return  # nothing changed: the check of every backward pass, kept cheap
        if out.version != self.out_version:
            raise RuntimeError(
                f"{self.name}: its output of shape {out.shape} was modified in place after the forward "
                f"pass (version {self.out_version} -> {out.version}), but the backward pass needs its "
                "old value; compute the graph again")
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
    """A Python number or array operand, copied (the graph must not see later changes to the
    caller's array) in the dtype of the tensors it meets."""
    array = np.asarray(x)
    if array.dtype.kind not in "biuf":
        raise TypeError(f"cannot use a value of dtype {array.dtype} in a tensor op")
    return np.array(array, dtype=dtype)


class Fused(Function, register=False):
    """A graph node that is a declared acceleration of a composition of unfused ops.

    ``composition(*xs)`` is what the node means, written with the ops of :mod:`tinygrad_lab.ops`; ``forward`` and
    ``fast_backward`` compute the same numbers on arrays with the backend's fused kernels.  The
    backward contract is the composition's: on arrays (an ordinary backward pass) the fast kernels
    run; on Tensors (``create_graph=True``) the vector–Jacobian product of the composition itself
    is taken, so a fused node is differentiable again and can never disagree with its meaning
    (``tests/test_function.py`` checks forward and backward against the composition).
    """

    def composition(self, *xs):
        raise NotImplementedError

    def fast_backward(self, gy, *xs, y):
        raise NotImplementedError

    def backward(self, gy, *xs, y):
        if not isinstance(gy, Tensor):
            return self.fast_backward(gy, *xs, y=y)
        wanted = [x for x, needed in zip(xs, self.needs_grad) if needed]
        found = iter(autograd.grad(self.composition(*xs), wanted, gy, create_graph=True, allow_unused=True))
        return tuple(next(found) if needed else None for needed in self.needs_grad)
