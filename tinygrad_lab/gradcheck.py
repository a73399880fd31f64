"""Gradient checking by central differences: is an op's backward the derivative of its forward?

For a scalar function f, the central difference (f(x + h eᵢ) − f(x − h eᵢ)) / 2h has error O(h²)
(plus rounding of order ε_machine·|f|/h), so in float64 with h = 1e-6 it agrees with the true
∂f/∂xᵢ to about 1e-9 — unless f has a kink within h of x (relu at 0, |x| at 0, ties in max), where
the one-sided slopes differ and the check fails by design.

A non-scalar f is checked through the scalar ⟨u, f(x)⟩ with a fixed random u: its gradient is the
vector–Jacobian product uᵀJ that backward computes, and a wrong Jacobian entry shows up for almost
every u.  Inputs are perturbed in place and restored bit for bit; f must not have side effects that
change its value (run a BatchNorm in eval mode, or build the layer inside f).

A plain numpy function works too: ``numerical_grad(E, [W, b])`` with float numpy arrays calls
``E(W, b)``, which must return a float (a number or a one-element array), and
``gradcheck(E, [W, b], grad_fn=dE)`` checks your own gradient ``dE(W, b) -> (dW, db)`` against it.
"""
from __future__ import annotations

import warnings
from typing import Callable, Sequence

import numpy as np

from tinygrad_lab.autograd import grad
from tinygrad_lab.tensor import Tensor, no_grad, set_grad_enabled


class GradcheckError(AssertionError):
    """The analytic gradient of some input differs from the numerical one beyond the tolerance."""


def away_from(x: np.ndarray, points, margin: float = 0.05) -> np.ndarray:
    """``x`` with every value closer than ``margin`` to one of ``points`` pushed out to that distance
    (on the side it was on; exact hits go up): inputs moved off the kinks where the check fails by
    design (re-exported by :mod:`tinygrad_lab.testing`)."""
    x = np.array(x, dtype=np.result_type(x, np.float32), copy=True)
    for p in points:
        near = np.abs(x - p) < margin
        x[near] = p + np.where(x[near] >= p, margin, -margin)
    return x


def _as_tensors(inputs) -> list[Tensor]:
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    for i, x in enumerate(inputs):
        if not isinstance(x, Tensor):
            raise TypeError(f"input {i} is a {type(x).__name__}; gradcheck needs Tensors")
    return inputs


def _as_arrays(inputs) -> list[np.ndarray]:
    """The inputs of a plain numpy function: float arrays, perturbed in place."""
    inputs = [inputs] if isinstance(inputs, np.ndarray) else list(inputs) \
        if isinstance(inputs, (list, tuple)) else [inputs]
    for i, x in enumerate(inputs):
        if not isinstance(x, np.ndarray) or x.dtype.kind != "f":
            what = f"{x.dtype} array" if isinstance(x, np.ndarray) else type(x).__name__
            raise TypeError(f"input {i} is {_article(what)} {what}; central differences need float arrays "
                            "(np.array(x, dtype=float)) or Tensors")
    return inputs


def numerical_grad(f: Callable, inputs, eps: float = 1e-6) -> list[np.ndarray]:
    """∂f/∂x for each input x of a scalar-valued f, by central differences (f(x+h) − f(x−h)) / 2h.

    ``inputs`` are Tensors (f returns a Tensor, summed if it has several elements), or float numpy
    arrays of a plain numpy f returning a float (a TypeError names anything else it returns)."""
    plain = not (isinstance(inputs, Tensor) or isinstance(inputs, (list, tuple)) and inputs
                 and all(isinstance(x, Tensor) for x in inputs))
    inputs = _as_arrays(inputs) if plain else _as_tensors(inputs)
    value = _plain_value if plain else (lambda y: float(np.sum(_value(y))))
    grads = []
    with no_grad():
        for x in inputs:
            data = x if plain else x.data
            g = np.zeros(x.shape, dtype=np.float64)
            flat = data.reshape(-1)  # a view: writes go into x
            if not np.shares_memory(flat, data) and x.size:
                raise ValueError(f"input of shape {x.shape} is not contiguous; pass a contiguous copy")
            for i in range(flat.size):
                original = flat[i]
                flat[i] = original + eps
                f_plus = value(f(*inputs))
                flat[i] = original - eps
                f_minus = value(f(*inputs))
                flat[i] = original
                g.reshape(-1)[i] = (f_plus - f_minus) / (2 * eps)
            grads.append(g)
    return grads


def _value(y) -> np.ndarray:
    return y.data if isinstance(y, Tensor) else np.asarray(y)


def _plain_value(y) -> float:
    """The float a plain function returned, or a TypeError saying what it returned instead."""
    if isinstance(y, (bool, np.bool_)) or not isinstance(y, (int, float, np.number, np.ndarray)):
        what = "None" if y is None else f"{_article(type(y).__name__)} {type(y).__name__}"
    elif np.size(y) != 1:
        what = f"an array of shape {np.shape(y)}"
    elif np.asarray(y).dtype.kind not in "iuf":
        what = f"{_article(str(np.asarray(y).dtype))} {np.asarray(y).dtype} array"
    else:
        return float(np.asarray(y).reshape(-1)[0])
    raise TypeError(f"f must return a float (a number or a one-element array); it returned {what}")


def _article(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"


def numerical_jacobian(f: Callable[..., Tensor], x: Tensor, eps: float = 1e-6) -> np.ndarray:
    """The numerical Jacobian ∂f(x)/∂x by central differences, shape f(x).shape + x.shape."""
    (x,) = _as_tensors([x])
    with no_grad():
        out_shape = _value(f(x)).shape
        jac = np.zeros(out_shape + x.shape)
        flat = x.data.reshape(-1)
        for i in range(flat.size):
            original = flat[i]
            flat[i] = original + eps
            plus = _value(f(x)).astype(np.float64)
            flat[i] = original - eps
            minus = _value(f(x)).astype(np.float64)
            flat[i] = original
            jac.reshape(out_shape + (-1,))[..., i] = (plus - minus) / (2 * eps)
    return jac


def compare(f: Callable[..., Tensor], inputs: Sequence[Tensor], eps: float = 1e-6,
            seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """(analytic, numerical) gradient of each input, for scalar f or for ⟨u, f⟩ with a fixed random u."""
    inputs = _as_tensors(inputs)
    for x in inputs:
        if x.dtype != np.float64:
            warnings.warn(f"gradcheck on a {x.dtype} input of shape {x.shape}: central differences "
                          "need float64 (rounding error ~1e-7/eps in float32)", stacklevel=3)
    probe = f(*inputs)
    if not isinstance(probe, Tensor):
        raise TypeError(f"f returned a {type(probe).__name__}, not a Tensor: gradcheck differentiates f by "
                        "backward(); build f from Tensor ops, or check a plain numpy f against your own "
                        "gradient with gradcheck(f, arrays, grad_fn=...)")
    if probe.size == 1:
        scalar_f = f
    else:
        u = np.random.default_rng(seed).standard_normal(probe.shape).astype(probe.dtype)

        def scalar_f(*xs):
            return (f(*xs) * u).sum()

    needing = [x for x in inputs if x.requires_grad]
    analytic = dict(zip(map(id, needing), grad(scalar_f(*inputs), needing, allow_unused=True)))
    numeric = numerical_grad(scalar_f, inputs, eps)
    pairs = []
    for x, n in zip(inputs, numeric):
        a = analytic.get(id(x))
        pairs.append((np.zeros(x.shape) if a is None else a.data.astype(np.float64), n))
    return pairs


def gradcheck(f: Callable[..., Tensor], inputs: Sequence[Tensor] | Tensor, eps: float = 1e-6,
              atol: float = 1e-5, rtol: float = 1e-3, seed: int = 0, grad_fn: Callable | None = None) -> bool:
    """True if backward's gradient of every input equals central differences within
    |analytic − numeric| ≤ atol + rtol·|numeric| elementwise; else raise :class:`GradcheckError`
    naming the input, the index, and both values of the worst element.

    Inputs that do not require grad are checked to receive no gradient (their numeric one is
    compared with zero only if they require grad).  Use float64 inputs.

    With ``grad_fn``, f is a plain numpy function of float arrays returning a float, and the
    gradient checked is your own, ``grad_fn(*inputs)``: one array per input (or one array when there
    is one input), in place of backward's.
    """
    if grad_fn is None:
        inputs = _as_tensors(inputs)
        pairs = compare(f, inputs, eps, seed)
    else:
        inputs = _as_arrays(inputs)
        pairs = list(zip(_own_gradients(grad_fn, inputs), numerical_grad(f, inputs, eps)))
    for i, (x, (a, n)) in enumerate(zip(inputs, pairs)):
        if not getattr(x, "requires_grad", True):
            continue
        excess = np.abs(a - n) - (atol + rtol * np.abs(n))
        if excess.size and excess.max() > 0 or not np.all(np.isfinite(a)):
            worst = np.unravel_index(np.nanargmax(np.where(np.isfinite(a), excess, np.inf)), x.shape)
            label = f"input {i}" + (f" ({x.name})" if getattr(x, "name", None) else "") + f" of shape {x.shape}"
            raise GradcheckError(
                f"gradient mismatch for {label} at index {tuple(int(k) for k in worst)}: "
                f"analytic {a[worst]:.10g}, numerical {n[worst]:.10g} "
                f"(|diff| {abs(a[worst] - n[worst]):.3g} > atol {atol} + rtol {rtol}·|numerical|)"
            )
    return True


def _own_gradients(grad_fn: Callable, inputs: list[np.ndarray]) -> list[np.ndarray]:
    """``grad_fn(*inputs)`` as one float64 array per input, or a TypeError/ValueError naming the input."""
    grads = grad_fn(*inputs)
    if len(inputs) == 1 and not isinstance(grads, (list, tuple)):
        grads = [grads]
    if not isinstance(grads, (list, tuple)) or len(grads) != len(inputs):
        got = f"{len(grads)} values" if isinstance(grads, (list, tuple)) else f"an array of shape {np.shape(grads)}" \
            if isinstance(grads, np.ndarray) else f"{_article(type(grads).__name__)} {type(grads).__name__}"
        raise TypeError(f"grad_fn returned {got}; expected one array per input ({len(inputs)})")
    arrays = []
    for i, (g, x) in enumerate(zip(grads, inputs)):
        g = np.asarray(g)
        if g.dtype.kind not in "iuf" or g.shape != x.shape:
            raise ValueError(f"grad_fn's gradient of input {i} has shape {g.shape} and dtype {g.dtype}; "
                             f"expected numbers of the input's shape {x.shape}")
        arrays.append(g.astype(np.float64))
    return arrays


def gradient_dot(f: Callable[..., Tensor], inputs: Sequence[Tensor], seed: int = 0) -> tuple[Callable[..., Tensor], Tensor]:
    """φ(x₁, …, xₙ, u) = Σᵢ ⟨∇ₓᵢ ⟨u, f(x)⟩, vᵢ⟩ with fixed random vᵢ, and a random u to pass as its
    last input.

    The gradient is computed by backward with ``create_graph=True``, so ∇φ is the double backward
    (a Hessian-vector product Hv for scalar f): checking φ by :func:`gradcheck` checks second
    derivatives.  φ is linear in u (the upstream gradient ∂E/∂y), which is also an input, as in
    PyTorch's gradgradcheck: so φ depends on its inputs even when f is linear and ∇f constant.
    """
    inputs = _as_tensors(inputs)
    rng = np.random.default_rng(seed)
    with no_grad():
        out_shape = f(*inputs).shape
    vs = [rng.standard_normal(x.shape).astype(x.dtype) for x in inputs]
    u = Tensor(rng.standard_normal(out_shape), dtype=inputs[0].dtype, requires_grad=True, name="u = ∂E/∂y")

    def phi(*xs_and_u):
        *xs, u = xs_and_u
        with set_grad_enabled(True):  # central differences call φ under no_grad; φ needs a graph
            needing = [x for x in xs if x.requires_grad]
            grads = grad(f(*xs), needing, grad_outputs=u, create_graph=True, allow_unused=True)
            by_id = dict(zip(map(id, needing), grads))
            terms = [(by_id[id(x)] * v).sum() for x, v in zip(xs, vs) if by_id.get(id(x)) is not None]
            return sum(terms[1:], terms[0])

    return phi, u


def gradgradcheck(f: Callable[..., Tensor], inputs: Sequence[Tensor] | Tensor, eps: float = 1e-6,
                  atol: float = 1e-5, rtol: float = 1e-3, seed: int = 0) -> bool:
    """Second derivatives by :func:`gradcheck` of φ(x, u) = ⟨∇ₓ⟨u, f(x)⟩, v⟩ (see
    :func:`gradient_dot`): the double-backward gradient of φ against central differences of φ,
    whose value is itself a first-order backward.  Raises :class:`GradcheckError` on a mismatch."""
    inputs = _as_tensors(inputs)
    phi, u = gradient_dot(f, inputs, seed)
    return gradcheck(phi, inputs + [u], eps, atol, rtol, seed)


def max_errors(f: Callable[..., Tensor], inputs: Sequence[Tensor], eps: float = 1e-6) -> tuple[float, float]:
    """The largest absolute and relative difference between analytic and numerical gradients."""
    abs_err = rel_err = 0.0
    for x, (a, n) in zip(_as_tensors(inputs), compare(f, inputs, eps)):
        if x.requires_grad and a.size:
            diff = np.abs(a - n)
            abs_err = max(abs_err, float(diff.max()))
            rel_err = max(rel_err, float((diff / np.maximum(np.abs(n), 1e-8)).max()))
    return abs_err, rel_err
