"""The differentiable ops: each a Function with its forward and its vector–Jacobian product.

Notation: y = f(x), gy = ∂E/∂y, and each backward returns gx = ∂E/∂x = gy · ∂y/∂x; each jvp
returns the forward-mode tangent dy = ∂y/∂x · dx (linear ops: ``jvp = linear_jvp``, dy = f(dx)).
Every backward is written so it runs on numpy arrays and on Tensors alike (see
:mod:`tinygrad_lab.function`).  Broadcasting in the forward direction is undone in the backward
direction by :func:`sum_to`: the gradient of a broadcast input is summed over the axes the
broadcast created or stretched.
"""
from __future__ import annotations

import builtins
import functools
import math
import operator

import numpy as np

from tinygrad_lab import activations, backend, threads
from tinygrad_lab.activations import Definition
from tinygrad_lab.function import Function, data, linear_jvp
from tinygrad_lab.tensor import FLOAT_DTYPES, Tensor


def shape_of(x) -> tuple[int, ...]:
    """The shape of a Tensor, array, number or nested list: ``np.shape``, whose dispatch costs more
    than a small op, skipped for tensors and arrays."""
    return x.shape if isinstance(x, (Tensor, np.ndarray)) else np.shape(x)


def _norm_shape(shape) -> tuple[int, ...]:
    """A shape given as ``f(2, 3)`` or ``f((2, 3))``: Python or numpy integers only (2.5 is refused)."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = shape[0]
    return tuple(_integer("shape", n) for n in shape)


def _integer(what: str, value) -> int:
    """``value`` as an int: Python and numpy integers are accepted, bools and floats refused."""
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{what} must be an integer, got {value!r}")
    try:
        return operator.index(value)
    except TypeError:
        raise TypeError(f"{what} must be an integer, got {value!r}") from None


def normalize_axes(name: str, shape: tuple[int, ...], axis, extra: int = 0) -> tuple[int, ...] | None:
    """``axis`` (None, an integer or a sequence of them, negative counting from the end) as sorted
    non-negative axes of a tensor of ``shape`` (with ``extra`` new axes: stack); out of range or
    repeated axes are refused."""
    if axis is None:
        return None
    ndim = len(shape) + extra
    many = isinstance(axis, (tuple, list))
    axes = [_integer(f"{name}: axis", a) for a in (axis if many else (axis,))]
    for a in axes:
        if not -ndim <= a < ndim:
            raise ValueError(f"{name}: axis {a} is out of range for a tensor of shape {tuple(shape)}"
                             + (f" (with {extra} new axis)" if extra else ""))
    normalized = [a % ndim for a in axes]
    if len(set(normalized)) != len(normalized):
        raise ValueError(f"{name}: axis {tuple(axes)} repeats an axis")
    return tuple(sorted(normalized))


@functools.lru_cache(maxsize=1024)  # a step meets the same few shapes again and again
def _broadcast_shape(name: str, a: tuple[int, ...], b: tuple[int, ...]) -> tuple[int, ...]:
    """The shape of ``a`` and ``b`` broadcast together, or a one-line error naming the op."""
    try:
        return np.broadcast_shapes(a, b)
    except ValueError:
        raise ValueError(f"{name}: shapes {a} and {b} cannot be broadcast "
                         "together (numpy rules: trailing dimensions must be equal or 1)") from None


def _broadcasting(op, name: str, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``op(a, b)`` by numpy's broadcasting rules, with numpy's error replaced by one naming the op
    and the shapes; the shapes are checked only when numpy refuses them, so success costs nothing."""
    try:
        return op(a, b)
    except ValueError:
        _broadcast_shape(name, a.shape, b.shape)  # raises the one-line error if the shapes clash
        raise


# ----- broadcasting ----------------------------------------------------------------------------
class BroadcastTo(Function):
    """y = x stretched to ``shape`` by numpy's rules; gx = gy summed back to x's shape."""

    saves_inputs = False
    view = True

    jvp = linear_jvp

    def __init__(self, shape):
        self.shape = shape

    def forward(self, x):
        return np.broadcast_to(x, self.shape)

    def backward(self, gy, x, y):
        return sum_to(gy, x.shape)


class SumTo(Function):
    """y = x summed over the axes that broadcasting to x's shape would add or stretch (inverse of
    BroadcastTo); gx = gy broadcast back to x's shape."""

    saves_inputs = False
    view = True

    jvp = linear_jvp

    def __init__(self, shape):
        self.shape = shape

    def forward(self, x):
        lead = x.ndim - len(self.shape)
        axes = tuple(range(lead)) + tuple(lead + i for i, n in enumerate(self.shape)
                                          if n == 1 and x.shape[lead + i] != 1)
        return x.sum(axis=axes, keepdims=True).reshape(self.shape) if axes else x

    def backward(self, gy, x, y):
        return broadcast_to(gy, x.shape)


def broadcast_to(x, *shape):
    shape = _norm_shape(shape)
    return x if shape_of(x) == shape else BroadcastTo(shape).apply(x)


def sum_to(x, *shape):
    """x summed back to ``shape`` (the gradient of a broadcast input).  Backward rules pass a
    ``.shape`` tuple, which already fits most of the time: that case returns at once, before the
    validation a user's shape gets."""
    if len(shape) == 1 and shape[0] == getattr(x, "shape", None):
        return x
    shape = _norm_shape(shape)
    return x if shape_of(x) == shape else SumTo(shape).apply(x)


#: a full reduction's gradient for an input of at most this many elements is a filled array, which
#: is cheaper to make than a view (and can become a leaf's .grad without a copy); above, the view
_FILLED_UP_TO = 256


def _expand(g, shape):
    """The gradient ``g`` of a reduction (keepdims layout: same rank; or one element, the gradient
    of a full reduction), broadcast back to the input's ``shape``.  On an array (an ordinary
    backward pass) this is np.broadcast_to's read-only view, built directly (stride 0 along each
    stretched axis, O(1) memory): np.broadcast_to's argument handling costs more than a whole tiny
    backward pass.  A small full reduction's gradient is a filled array instead (``_FILLED_UP_TO``)."""
    if g.shape == shape:
        return g
    if not isinstance(g, np.ndarray):
        return BroadcastTo(shape).apply(g)
    if g.size == 1:  # one number, repeated
        if math.prod(shape) <= _FILLED_UP_TO:
            filled = np.empty(shape, g.dtype)
            filled[...] = g
            return filled
        strides = (0,) * len(shape)  # stride 0 along every axis
    elif g.flags.c_contiguous:
        strides = [0 if n == 1 else s for n, s in zip(g.shape, g.strides)]
    else:
        return BroadcastTo(shape).apply(g)
    view = np.ndarray(shape, g.dtype, g, 0, strides)
    view.setflags(write=False)
    return view


# ----- arithmetic ------------------------------------------------------------------------------
class Add(Function):
    """y = a + b;  ga = gy,  gb = gy  (each summed back to its input's shape)."""

    saves_inputs = False

    jvp = linear_jvp

    def forward(self, a, b):
        return _broadcasting(operator.add, "add", a, b)

    def backward(self, gy, a, b, y):
        return sum_to(gy, a.shape), sum_to(gy, b.shape)


class Sub(Function):
    """y = a − b;  ga = gy,  gb = −gy."""

    saves_inputs = False

    jvp = linear_jvp

    def forward(self, a, b):
        return _broadcasting(operator.sub, "sub", a, b)

    def backward(self, gy, a, b, y):
        return sum_to(gy, a.shape), sum_to(-gy, b.shape) if self.needs_grad[1] else None


class Mul(Function):
    """y = a ⊙ b;  ga = gy ⊙ b,  gb = gy ⊙ a."""

    def forward(self, a, b):
        return _broadcasting(operator.mul, "mul", a, b)

    def backward(self, gy, a, b, y):
        ga = sum_to(gy * b, a.shape) if self.needs_grad[0] else None
        gb = sum_to(gy * a, b.shape) if self.needs_grad[1] else None
        return ga, gb

    def jvp(self, da, db, *, xs, y):
        a, b = xs
        return da * b + a * db


class Div(Function):
    """y = a / b;  ga = gy / b,  gb = −gy ⊙ a / b²."""

    def forward(self, a, b):
        return _broadcasting(operator.truediv, "div", a, b)

    def backward(self, gy, a, b, y):
        ga = sum_to(gy / b, a.shape) if self.needs_grad[0] else None
        gb = sum_to(-gy * a / (b * b), b.shape) if self.needs_grad[1] else None
        return ga, gb

    def jvp(self, da, db, *, xs, y):
        return (da - y * db) / xs[1]


class Neg(Function):
    """y = −x;  gx = −gy."""

    saves_inputs = False

    jvp = linear_jvp

    def forward(self, x):
        return -x

    def backward(self, gy, x, y):
        return -gy


class PowScalar(Function):
    """y = xᶜ for a constant c;  gx = gy ⊙ c xᶜ⁻¹  (c = 0: gx = 0 everywhere, x = 0 included, as
    PyTorch: y = 1 is constant)."""

    def __init__(self, c: float):
        self.c = c

    def forward(self, x):
        return x ** self.c

    def backward(self, gy, x, y):
        return gy * 0.0 if self.c == 0 else gy * (self.c * x ** (self.c - 1))

    def jvp(self, dx, *, xs, y):
        return dx * 0.0 if self.c == 0 else self.c * xs[0] ** (self.c - 1) * dx


class Pow(Function):
    """y = aᵇ with a tensor exponent;  ga = gy ⊙ b aᵇ⁻¹,  gb = gy ⊙ aᵇ ln a.

    At a = 0, as PyTorch: ga = 0 where also b = 0 (y = 1 is constant in a; b·aᵇ⁻¹ would be
    0·inf), and gb = 0 where b ≥ 0 (aᵇ ln a → 0); elsewhere at a ≤ 0, gb is ±inf or NaN like ln a.
    The masks cover only those points, so second derivatives elsewhere (b = 0, a ≠ 0) stay exact.
    """

    def forward(self, a, b):
        return _broadcasting(operator.pow, "pow", a, b)

    @staticmethod
    def _masks(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(a = 0 and b = 0, a = 0 and b ≥ 0): where ∂y/∂a resp. ∂y/∂b are 0 by the rule above."""
        return (a == 0) & (b == 0), (a == 0) & (b >= 0)

    def backward(self, gy, a, b, y):
        both_zero, a_zero = self._masks(data(a), data(b))
        ga = sum_to(where(both_zero, 0.0, gy * b * a ** (b - 1)), a.shape) if self.needs_grad[0] else None
        gb = sum_to(gy * where(a_zero, 0.0, y * log(where(a_zero, 1.0, a))), b.shape) if self.needs_grad[1] else None
        return ga, gb

    def jvp(self, da, db, *, xs, y):
        a, b = xs
        both_zero, a_zero = self._masks(a, b)
        with np.errstate(divide="ignore", invalid="ignore"):
            dy = np.where(both_zero, 0.0, b * a ** (b - 1) * da)
            return dy + np.where(a_zero | (db == 0), 0.0, y * np.log(np.where(a_zero, 1.0, a)) * db)


class MatMul(Function):
    """y = a @ b (2-D, or batched over leading dims);  ga = gy @ bᵀ,  gb = aᵀ @ gy."""

    def forward(self, a, b):
        if a.ndim < 2 or b.ndim < 2:
            raise ValueError(f"matmul needs tensors with at least 2 dimensions, got shapes {a.shape} "
                             f"and {b.shape} (reshape a vector to (1, n) or (n, 1))")
        if a.shape[-1] != b.shape[-2]:
            raise ValueError(f"matmul: shapes {a.shape} and {b.shape} are not aligned: "
                             f"{a.shape[-1]} (last dim of a) != {b.shape[-2]} (second-to-last of b)")
        _broadcast_shape("matmul (batch dims)", a.shape[:-2], b.shape[:-2])
        return threads.matmul(a, b)

    def backward(self, gy, a, b, y):
        ga = sum_to(matmul(gy, b.swapaxes(-1, -2)), a.shape) if self.needs_grad[0] else None
        gb = sum_to(matmul(a.swapaxes(-1, -2), gy), b.shape) if self.needs_grad[1] else None
        return ga, gb

    def jvp(self, da, db, *, xs, y):
        a, b = xs
        return da @ b + a @ db


def add(a, b):
    return Add().apply(a, b)


def sub(a, b):
    return Sub().apply(a, b)


def mul(a, b):
    return Mul().apply(a, b)


def div(a, b):
    return Div().apply(a, b)


def neg(x):
    return Neg().apply(x)


def pow(a, b):
    """aᵇ; a constant number b gives the one-input PowScalar node."""
    if isinstance(b, (int, float, np.number)):
        return PowScalar(float(b)).apply(a)
    return Pow().apply(a, b)


def matmul(a, b):
    return MatMul().apply(a, b)


# ----- elementwise functions -------------------------------------------------------------------
class Exp(Function):
    """y = eˣ;  gx = gy ⊙ y."""

    def forward(self, x):
        return np.exp(x)

    def backward(self, gy, x, y):
        return gy * y

    def jvp(self, dx, *, xs, y):
        return y * dx


class Log(Function):
    """y = ln x;  gx = gy / x."""

    def forward(self, x):
        return np.log(x)

    def backward(self, gy, x, y):
        return gy / x

    def jvp(self, dx, *, xs, y):
        return dx / xs[0]


class Sqrt(Function):
    """y = √x;  gx = gy / (2y)."""

    def forward(self, x):
        return np.sqrt(x)

    def backward(self, gy, x, y):
        return gy / (2 * y)

    def jvp(self, dx, *, xs, y):
        return dx / (2 * y)


class Abs(Function):
    """y = |x|;  gx = gy ⊙ sign(x)  (0 at the kink x = 0)."""

    def forward(self, x):
        return np.abs(x)

    def backward(self, gy, x, y):
        return gy * np.sign(data(x))

    def jvp(self, dx, *, xs, y):
        return np.sign(xs[0]) * dx


def _bound(v) -> np.ndarray:
    """An array bound of clip, copied: later changes to the caller's array are not seen."""
    array = np.array(data(v))
    if array.dtype.kind not in "biuf":
        raise TypeError(f"clip: bounds must be numbers, got dtype {array.dtype}")
    return array


class Clip(Function):
    """y = min(max(x, lo), hi);  gx = gy where lo ≤ x ≤ hi, else 0."""

    def __init__(self, lo, hi):
        self.lo, self.hi = (v if v is None or isinstance(v, (int, float)) else _bound(v) for v in (lo, hi))

    def forward(self, x):
        return np.clip(x, self.lo, self.hi).astype(x.dtype, copy=False)

    def _inside(self, x: np.ndarray) -> np.ndarray:
        """The mask lo ≤ x ≤ hi where y = x (slope 1); elsewhere y is constant (slope 0)."""
        inside = np.ones(x.shape, dtype=bool)
        if self.lo is not None:
            inside &= x >= self.lo
        if self.hi is not None:
            inside &= x <= self.hi
        return inside

    def backward(self, gy, x, y):
        return gy * self._inside(data(x))

    def jvp(self, dx, *, xs, y):
        return self._inside(xs[0]) * dx


class Where(Function):
    """y = a where cond else b;  ga = gy ⊙ cond,  gb = gy ⊙ ¬cond."""

    jvp = linear_jvp

    def __init__(self, cond):
        self.cond = np.array(data(cond), dtype=bool)  # a copy: later changes to the caller's mask are not seen

    def forward(self, a, b):
        _broadcast_shape("where", shape_of(a), shape_of(b))
        _broadcast_shape("where (condition)", self.cond.shape, np.broadcast_shapes(shape_of(a), shape_of(b)))
        return np.where(self.cond, a, b)

    def backward(self, gy, a, b, y):
        ga = sum_to(gy * self.cond, a.shape) if self.needs_grad[0] else None
        gb = sum_to(gy * ~self.cond, b.shape) if self.needs_grad[1] else None
        return ga, gb


class Maximum(Function):
    """y = max(a, b) elementwise;  the gradient goes to the larger input, split evenly on ties."""

    def forward(self, a, b):
        return _broadcasting(np.maximum, "maximum", a, b)

    @staticmethod
    def _share_a(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """∂y/∂a: 1 where a > b, ½ on ties, 0 where a < b (and ∂y/∂b = 1 − ∂y/∂a)."""
        return ((a > b) + 0.5 * (a == b)).astype(np.result_type(a, b))

    def backward(self, gy, a, b, y):
        share_a = self._share_a(data(a), data(b))
        ga = sum_to(gy * share_a, a.shape) if self.needs_grad[0] else None
        gb = sum_to(gy * (1 - share_a), b.shape) if self.needs_grad[1] else None
        return ga, gb

    def jvp(self, da, db, *, xs, y):
        share_a = self._share_a(*xs)
        return share_a * da + (1 - share_a) * db


def exp(x):
    return Exp().apply(x)


def log(x):
    return Log().apply(x)


def sqrt(x):
    return Sqrt().apply(x)


def abs(x):
    return Abs().apply(x)


def clip(x, lo=None, hi=None):
    if lo is None and hi is None:
        raise ValueError("clip needs at least one of lo and hi")
    return Clip(lo, hi).apply(x)


def where(cond, a, b):
    return Where(cond).apply(a, b)


def maximum(a, b):
    return Maximum().apply(a, b)


# ----- activations -----------------------------------------------------------------------------
class Activate(Function):
    """y = σ(x) elementwise for an activation of :mod:`tinygrad_lab.activations`;  gx = gy ⊙ σ'(x),
    σ' read from the activation's one definition (through x or y = σ(x), as it is written there).
    On arrays both are the backend's activation kernels, which it builds from that definition, as
    for the fused ``Affine(σ)``; on Tensors (``create_graph``) σ' is evaluated with graph ops.  The
    node is named after the activation (``ReLU``, ``Sigmoid``, ...)."""

    def __init__(self, act: Definition):
        self.act = act

    @property
    def name(self) -> str:
        return self.act.title

    def forward(self, x):
        y = np.empty(x.shape, x.dtype)
        self.forward_into(x, y)
        return y

    def backward(self, gy, x, y):
        if isinstance(gy, Tensor):  # act.derivative(x, y) inlined: σ' of x or of y, as it is written
            return gy * self.act.sigma_prime(y if self.act.uses == "y" else x)
        gx = np.empty(gy.shape, gy.dtype)
        self.backward_into(gy, x, y, gx)
        return gx

    def forward_into(self, x, y):
        """y ← σ(x) in the buffer ``y``."""
        backend.active.bias_act(_row(x), None, self.act, _row(y))

    def backward_into(self, gy, x, y, gx):
        """gx ← gy ⊙ σ'(x) in the buffer ``gx``."""
        y = _row(y)
        z = _row(x) if self.act.uses == "z" else y  # y stands in for the z that σ' does not read
        backend.active.act_backward_bias(_row(gy), z, y, self.act, _row(gx), None)

    def lower(self, plan, inputs, out):
        """Replayed as :meth:`forward_into` and :meth:`backward_into` on the plan's buffers."""
        x = plan.value(inputs[0])
        y = plan.output(out, np.empty(out.shape, out.dtype))
        plan.forward(self.name, self.forward_into, x, y)
        if self.needs_grad[0]:
            plan.backward(f"{self.name} backward", self.backward_into, plan.grad(out), x, y, plan.grad(inputs[0]))

    def jvp(self, dx, *, xs, y):
        return self.act.derivative(xs[0], y) * dx


def _row(a: np.ndarray) -> np.ndarray:
    """The array as the one row of a matrix, as the backend's row kernels take it: a view of an array
    in C order (the buffers written to are), else a copy; a read-only array is copied too, since
    Numba compiles no kernel that stores into one (``bias_act`` stores into z when given a bias)."""
    return a.reshape(1, -1) if a.flags.writeable else a.reshape(1, -1).copy()


def activation(x, name):
    """σ(x) for the activation ``name`` (or an :class:`~tinygrad_lab.activations.Definition`)."""
    return Activate(activations.get(name)).apply(x)


def relu(x):
    return activation(x, "relu")


def sigmoid(x):
    return activation(x, "sigmoid")


def tanh(x):
    return activation(x, "tanh")


class Softmax(Function):
    """yᵢ = e^{xᵢ} / Σⱼ e^{xⱼ} along ``axis``;  gx = y ⊙ (gy − Σⱼ gyⱼ yⱼ)."""

    def __init__(self, axis: int):
        self.axis = axis

    def forward(self, x):
        e = np.exp(x - x.max(axis=self.axis, keepdims=True))
        return e / e.sum(axis=self.axis, keepdims=True)

    def backward(self, gy, x, y):
        return y * (gy - (gy * y).sum(axis=self.axis, keepdims=True))

    def jvp(self, dx, *, xs, y):
        return y * (dx - (dx * y).sum(axis=self.axis, keepdims=True))


class LogSoftmax(Function):
    """yᵢ = xᵢ − log Σⱼ e^{xⱼ} (shifted by the max: stable);  gx = gy − softmax(x) Σⱼ gyⱼ."""

    def __init__(self, axis: int):
        self.axis = axis

    def forward(self, x):
        shifted = x - x.max(axis=self.axis, keepdims=True)
        return shifted - np.log(np.exp(shifted).sum(axis=self.axis, keepdims=True))

    def backward(self, gy, x, y):
        return gy - exp(y) * gy.sum(axis=self.axis, keepdims=True)

    def jvp(self, dx, *, xs, y):
        return dx - (np.exp(y) * dx).sum(axis=self.axis, keepdims=True)


def softmax(x, axis: int = -1):
    return Softmax(axis).apply(x)


def log_softmax(x, axis: int = -1):
    return LogSoftmax(axis).apply(x)


# ----- reductions ------------------------------------------------------------------------------
def _keepdims_shape(shape, axis) -> tuple[int, ...]:
    """``shape`` with the (normalized) reduced axes kept as 1."""
    if axis is None:
        return (1,) * len(shape)
    return tuple(1 if i in axis else n for i, n in enumerate(shape))


class Sum(Function):
    """y = Σ x over ``axis``;  gx = gy copied back along the summed axes."""

    saves_inputs = False

    jvp = linear_jvp

    def __init__(self, axis, keepdims: bool):
        self.axis, self.keepdims = axis, keepdims

    def forward(self, x):
        # np.sum without its Python wrapper, and np.add.reduce's arguments (axis, dtype, out,
        # keepdims) by position: the wrapper and keywords both cost more than a small sum
        return np.add.reduce(x, self.axis, None, None, self.keepdims)

    def backward(self, gy, x, y):
        if self.axis is not None:  # a full sum's gy is one number, which _expand takes as it is
            gy = gy.reshape(_keepdims_shape(x.shape, self.axis))
        return _expand(gy, x.shape)


class Max(Function):
    """y = max x over ``axis``;  the gradient flows to the maximal elements, split evenly on ties."""

    reduce = staticmethod(np.max)

    def __init__(self, axis, keepdims: bool):
        self.axis, self.keepdims = axis, keepdims

    def forward(self, x):
        if x.size == 0:
            raise ValueError(f"{self.name.lower()} of an empty tensor of shape {x.shape}")
        return self.reduce(x, axis=self.axis, keepdims=self.keepdims)

    def _share(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """∂y/∂x: 1 at the extreme element, split evenly on ties, 0 elsewhere (keepdims layout)."""
        is_extreme = (x == y.reshape(_keepdims_shape(x.shape, self.axis))).astype(x.dtype)
        return is_extreme / is_extreme.sum(axis=self.axis, keepdims=True)

    def backward(self, gy, x, y):
        kept = _keepdims_shape(x.shape, self.axis)
        return _expand(gy.reshape(kept), x.shape) * self._share(data(x), data(y))

    def jvp(self, dx, *, xs, y):
        return (self._share(xs[0], y) * dx).sum(axis=self.axis, keepdims=self.keepdims)


class Min(Max):
    """y = min x over ``axis``;  the gradient flows to the minimal elements, split evenly on ties."""

    reduce = staticmethod(np.min)


def sum(x, axis=None, keepdims: bool = False):
    return Sum(axis if axis is None else normalize_axes("sum", shape_of(x), axis), keepdims).apply(x)


def max(x, axis=None, keepdims: bool = False):
    return Max(normalize_axes("max", shape_of(x), axis), keepdims).apply(x)


def min(x, axis=None, keepdims: bool = False):
    return Min(normalize_axes("min", shape_of(x), axis), keepdims).apply(x)


def _count(shape, axis) -> int:
    """How many values each output of a reduction over (normalized) ``axis`` of ``shape`` sums."""
    return math.prod(shape if axis is None else (shape[a] for a in axis))


def _inverse(n: int) -> float:
    """1 / n, and NaN for n ≤ 0 (the mean of nothing is NaN, as in PyTorch)."""
    return 1.0 / n if n > 0 else math.nan


def mean(x, axis=None, keepdims: bool = False):
    """Σ x / n over ``axis`` (a sum node and a scale); NaN where n = 0 (an empty axis), as PyTorch."""
    axis = normalize_axes("mean", shape_of(x), axis)
    return sum(x, axis, keepdims) * _inverse(_count(shape_of(x), axis))


class Var(Function):
    """y = Σ (x − x̄)² / max(0, n − c) over ``axis``, c the correction (PyTorch's ``correction``,
    numpy's ``ddof``): c = 1 the unbiased estimate, c = 0 the population variance.  Where n − c ≤ 0
    the quotient is S/0: inf, or NaN where S = 0 (all values equal, or an empty axis), as PyTorch.

    gx = 2 (x − x̄) gy / (n − c), the derivative of Σ (x − x̄)² (its x̄ term sums to zero), written
    as PyTorch's ``var_backward`` is, including where n − c ≤ 0: a full reduction (``axis`` None)
    gives gy · (NaN where x = x̄, inf elsewhere); a reduction over given axes uses n − c as it is.
    """

    def __init__(self, axis, keepdims: bool, correction: float, n: int):
        self.axis, self.keepdims, self.dof = axis, keepdims, n - correction

    def forward(self, x):
        centred = x - np.mean(x, axis=self.axis, keepdims=True) if x.size else x
        with np.errstate(divide="ignore", invalid="ignore"):  # S/0 is inf or NaN, as PyTorch's
            return np.add.reduce(centred * centred, self.axis, None, None, self.keepdims) / builtins.max(0.0, self.dof)

    def backward(self, gy, x, y):
        gy = gy.reshape(_keepdims_shape(x.shape, self.axis))
        centred = x - x.mean(axis=self.axis, keepdims=True)
        with np.errstate(invalid="ignore"):  # where n ≤ c, 0 · inf is NaN, as PyTorch's
            if self.dof <= 0 and (self.axis is None or x.ndim == 0):
                return gy * np.where(data(centred) == 0, math.nan, math.inf).astype(x.dtype)
            return centred * gy * (2.0 / self.dof if self.dof else math.inf)

    def jvp(self, dx, *, xs, y):
        centred = xs[0] - xs[0].mean(axis=self.axis, keepdims=True)
        return (centred * dx).sum(axis=self.axis, keepdims=self.keepdims) * (2.0 / self.dof if self.dof else math.inf)


def _correction(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not math.isfinite(value):
        raise TypeError(f"{name}: the correction (ddof) must be a finite number, got {value!r}")
    return float(value)


def var(x, axis=None, keepdims: bool = False, ddof: float = 1):
    """Σ (x − mean)² / (n − ddof) over ``axis``, as PyTorch's ``var``: by default the unbiased
    estimate (``ddof`` = ``correction`` = 1; numpy's default is 0, the population variance: pass
    ``ddof=0``/``correction=0`` for it).  n − ddof ≤ 0 gives inf, or NaN where all values are equal
    (one value with ddof=1, or an empty axis), as PyTorch (see :class:`Var`)."""
    axis = normalize_axes("var", shape_of(x), axis)
    return Var(axis, keepdims, _correction("var", ddof), _count(shape_of(x), axis)).apply(x)


# ----- shapes and indexing ---------------------------------------------------------------------
class Reshape(Function):
    """y = x with a new shape;  gx = gy reshaped back."""

    saves_inputs = False
    view = True

    jvp = linear_jvp

    def __init__(self, shape):
        self.shape = shape

    def forward(self, x):
        try:
            return x.reshape(self.shape)
        except ValueError:
            raise ValueError(f"reshape: cannot reshape a tensor of shape {x.shape} "
                             f"({x.size} elements) into shape {self.shape}") from None

    def backward(self, gy, x, y):
        return reshape(gy, x.shape)


class Transpose(Function):
    """y = x with its axes permuted;  gx = gy with the inverse permutation."""

    saves_inputs = False
    view = True

    jvp = linear_jvp

    def __init__(self, axes):
        self.axes = axes

    def forward(self, x):
        return np.transpose(x, self.axes)

    def backward(self, gy, x, y):
        if self.axes is None:
            return transpose(gy)
        return transpose(gy, *np.argsort(self.axes))


class GetItem(Function):
    """y = x[index] (slices, integers, integer arrays);  gx = zeros with gy added at ``index``."""

    saves_inputs = False
    view = True

    jvp = linear_jvp

    def __init__(self, index):
        self.index = index

    def forward(self, x):
        return x[self.index]

    def backward(self, gy, x, y):
        return ScatterAdd(self.index, x.shape).apply(gy)


class ScatterAdd(Function):
    """y = zeros(shape) with x added at ``index`` (repeated indices accumulate): GetItem's adjoint;
    gx = gy[index]."""

    saves_inputs = False

    jvp = linear_jvp

    def __init__(self, index, shape):
        self.index, self.shape = index, shape

    def forward(self, x):
        out = np.zeros(self.shape, dtype=x.dtype)
        if _has_array_index(self.index):
            np.add.at(out, self.index, x)
        else:
            out[self.index] = x
        return out

    def backward(self, gy, x, y):
        return getitem(gy, self.index)


def _has_array_index(index) -> bool:
    parts = index if isinstance(index, tuple) else (index,)
    return any(isinstance(p, np.ndarray) for p in parts)


class Concatenate(Function):
    """y = [x₁, x₂, …] joined along ``axis``;  gxᵢ = the slice of gy that xᵢ occupies."""

    saves_inputs = False

    jvp = linear_jvp

    def __init__(self, axis: int):
        self.axis = axis

    def forward(self, *xs):
        try:
            return np.concatenate(xs, axis=self.axis)
        except ValueError as e:
            raise ValueError(f"concatenate along axis {self.axis}: shapes "
                             f"{[x.shape for x in xs]}: {e}") from None

    def backward(self, gy, *xs, y):
        axis = self.axis % y.ndim
        bounds = np.cumsum([0] + [x.shape[axis] for x in xs])
        lead = (slice(None),) * axis
        return tuple(getitem(gy, lead + (slice(int(lo), int(hi)),))
                     for lo, hi in zip(bounds[:-1], bounds[1:]))


class Stack(Function):
    """y = [x₁, x₂, …] stacked along a new ``axis``;  gxᵢ = gy's i-th entry along it."""

    saves_inputs = False

    jvp = linear_jvp

    def __init__(self, axis: int):
        self.axis = axis

    def forward(self, *xs):
        try:
            return np.stack(xs, axis=self.axis)
        except ValueError as e:
            raise ValueError(f"stack: shapes {[x.shape for x in xs]}: {e}") from None

    def backward(self, gy, *xs, y):
        lead = (slice(None),) * (self.axis % y.ndim)
        return tuple(getitem(gy, lead + (i,)) for i in range(len(xs)))


def reshape(x, *shape):
    shape = _norm_shape(shape)
    return x if shape_of(x) == shape else Reshape(shape).apply(x)


def transpose(x, *axes):
    """Permute the axes (all reversed by default, so ``x.T`` is the matrix transpose)."""
    if not axes:
        return Transpose(None).apply(x)
    if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
        axes = tuple(axes[0])
    ndim = np.ndim(x)
    if len(axes) != ndim:
        raise ValueError(f"transpose: {len(axes)} axes {axes} for a tensor of shape {shape_of(x)}")
    normalize_axes("transpose", shape_of(x), list(axes))  # each in range, none repeated
    return Transpose(tuple(_integer("transpose: axis", a) % ndim for a in axes)).apply(x)


def t(x):
    """The matrix transpose of a tensor of at most 2 dimensions (0-d and 1-d ones are returned as
    they are), as PyTorch's ``t()``; use ``transpose`` for more dimensions."""
    if np.ndim(x) > 2:
        raise ValueError(f"t() expects a tensor with <= 2 dimensions, got shape {shape_of(x)}; "
                         "use transpose(...) or swapaxes(...)")
    return x if np.ndim(x) < 2 else Transpose(None).apply(x)


def swapaxes(x, a: int, b: int):
    ndim = np.ndim(x)
    (a,), (b,) = normalize_axes("swapaxes", shape_of(x), a), normalize_axes("swapaxes", shape_of(x), b)
    axes = list(range(ndim))
    axes[a], axes[b] = axes[b], axes[a]
    return Transpose(tuple(axes)).apply(x)


def _index_part(part):
    """One component of an index, with a sequence, array or tensor as an integer or boolean array
    (numpy's advanced indexing), copied: later changes to the caller's array are not seen."""
    if isinstance(part, Tensor):
        part = part.data
    if not isinstance(part, (list, tuple, np.ndarray)):
        return part
    array = np.array(part)
    if array.size == 0 and array.dtype.kind == "f":  # x[[]]: an empty integer index
        array = array.astype(np.intp)
    if array.dtype.kind not in "iub":
        raise IndexError(f"index arrays must be integers or booleans, got dtype {array.dtype}")
    return array


def getitem(x, index):
    """x[index]: integers, slices, None, ..., and integer/boolean arrays (lists and tuples inside a
    tuple index are arrays, as in numpy: ``x[(0, 0), :]`` takes row 0 twice)."""
    index = tuple(map(_index_part, index)) if isinstance(index, tuple) else _index_part(index)
    return GetItem(index).apply(x)


def _tensor_list(name: str, xs) -> list:
    xs = list(xs)
    if not xs:
        raise ValueError(f"{name} needs at least one tensor")
    return xs


def concatenate(xs, axis: int = 0):
    xs = _tensor_list("concatenate", xs)
    return Concatenate(normalize_axes("concatenate", shape_of(xs[0]), axis)[0]).apply(*xs)


def stack(xs, axis: int = 0):
    xs = _tensor_list("stack", xs)
    return Stack(normalize_axes("stack", shape_of(xs[0]), axis, extra=1)[0]).apply(*xs)


def cat(tensors, dim: int = 0):
    """PyTorch's name for :func:`concatenate`: ``cat([a, b], dim=1)``."""
    return concatenate(tensors, dim)




# ----- PyTorch's everyday tensor methods -------------------------------------------------------
class Clone(Function):
    """y = a copy of x (new memory, same values), differentiable like PyTorch's ``clone``;  gx = gy."""

    saves_inputs = False

    jvp = linear_jvp

    def forward(self, x):
        return x.copy()

    def backward(self, gy, x, y):
        return gy


class Cast(Function):
    """y = x converted to ``dtype`` (float32 or float64);  gx = gy converted back to x's dtype."""

    saves_inputs = False

    jvp = linear_jvp

    def __init__(self, dtype):
        self.dtype = np.dtype(dtype)

    def forward(self, x):
        return x.astype(self.dtype)

    def backward(self, gy, x, y):
        return Cast(x.dtype).apply(gy)


def clone(x):
    return Clone().apply(x)


def to(x, dtype):
    """x as ``dtype`` (float32 or float64, numpy dtype or its name); x itself if it already is."""
    try:
        dtype = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"to: {dtype!r} is not a dtype; Tensors hold float32 or float64") from None
    if dtype not in FLOAT_DTYPES:
        raise TypeError(f"to: Tensors hold float32 or float64, got dtype {dtype}")
    return x if x.dtype == dtype else Cast(dtype).apply(x)


def minimum(a, b):
    """min(a, b) elementwise = −max(−a, −b): the gradient goes to the smaller input, split on ties."""
    return neg(maximum(neg(a), neg(b)))


def logsumexp(x, axis=None, keepdims: bool = False):
    """log Σ eˣ over ``axis``, as m + log Σ e^{x − m} with m = max x held constant (no overflow;
    the shift cancels in the gradient, which is softmax(x))."""
    normalize_axes("logsumexp", shape_of(x), axis)
    m = np.max(data(x), axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0)
    out = log(sum(exp(x - m), axis, keepdims=True)) + m
    return out if keepdims else reshape(out, np.sum(m, axis=axis).shape)


def std(x, axis=None, keepdims: bool = False, ddof: float = 1):
    """√var(x) over ``axis``, as PyTorch's ``std``: unbiased by default (``ddof`` = ``correction``
    = 1, dividing by n − 1); ``ddof=0`` divides by n, numpy's default."""
    return sqrt(var(x, axis, keepdims, ddof))


def argmax(x, axis=None, keepdims: bool = False) -> np.ndarray:
    """Indices of the maxima along ``axis`` (of the flattened tensor for None), as a numpy int64
    array (Tensors hold floats; indices carry no gradient)."""
    normalize_axes("argmax", shape_of(x), axis)
    return np.argmax(data(x), axis=axis, keepdims=keepdims)


def argmin(x, axis=None, keepdims: bool = False) -> np.ndarray:
    """Indices of the minima along ``axis``, as a numpy int64 array (see :func:`argmax`)."""
    normalize_axes("argmin", shape_of(x), axis)
    return np.argmin(data(x), axis=axis, keepdims=keepdims)


def unsqueeze(x, dim: int):
    """x with a new size-1 axis inserted at ``dim`` (−ndim−1 ≤ dim ≤ ndim, PyTorch's range)."""
    shape = list(shape_of(x))
    if not -len(shape) - 1 <= dim <= len(shape):
        raise ValueError(f"unsqueeze: dim {dim} is out of range for a tensor of shape {tuple(shape)}")
    shape.insert(dim % (len(shape) + 1), 1)
    return reshape(x, shape)


def squeeze(x, dim=None):
    """x without its size-1 axes (only ``dim``'s if given; like PyTorch, a ``dim`` whose size is not
    1 is left as it is)."""
    shape = shape_of(x)
    normalize_axes("squeeze", shape, dim)
    dims = range(len(shape)) if dim is None else [d % len(shape) for d in np.atleast_1d(dim)]
    return reshape(x, [n for i, n in enumerate(shape) if not (i in dims and n == 1)])


def flatten(x, start_dim: int = 0, end_dim: int = -1):
    """x with the axes start_dim … end_dim merged into one (all of them by default)."""
    shape = shape_of(x)
    if not shape:
        return reshape(x, (1,))
    (lo,), (hi,) = (normalize_axes("flatten", shape, d) for d in (start_dim, end_dim))
    if lo > hi:
        raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim} for shape {shape}")
    return reshape(x, shape[:lo] + (int(np.prod(shape[lo:hi + 1])),) + shape[hi + 1:])
