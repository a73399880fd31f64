"""Derivatives of a function as functions: vjp, jvp, hvp, jacobian, hessian, and Newton's step.

For y = f(x) with Jacobian J = ∂y/∂x (and, for a scalar f, gradient ∇f and Hessian H = ∂²f/∂x²):

* ``vjp(f, x, u)``  = uᵀJ      reverse mode: one backward pass (the homework's δ recursion);
* ``jvp(f, x, v)``  = J v      forward mode: one pass with dual numbers (:mod:`tinygrad_lab.forward_ad`);
* ``hvp(f, x, v)``  = H v      double backward: the gradient of ⟨∇f(x), v⟩, itself a graph;
* ``jacobian(f, x, mode)``     J row by row (``"rev"``: one vjp per output element) or column by
  column (``"fwd"``: one jvp per input element): choose the mode with fewer passes;
* ``hessian(f, x)``            H row by row: ∇f is built once as a graph, then one backward pass per
  element of x (small x only: n passes, n² numbers);
* ``newton_step(f, x, damping)``  x − (H + λI)⁻¹ ∇f (cs231n's second-order method).

``x`` is a Tensor or a tuple of Tensors (then ``v``/``u`` are tuples too, and results come as
tuples: ``jacobian`` gives one J per input, ``hessian`` the blocks H[i][j] = ∂²f/∂xᵢ∂xⱼ).  The
functions never touch ``x.grad``: they differentiate fresh leaves sharing x's data.  Results are
Tensors cut from any graph, like ``torch.autograd.functional``'s, and, like those, they record
the graph they need even when called under ``no_grad()``.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from tinygrad_lab.autograd import grad
from tinygrad_lab.forward_ad import dual_level, make_dual, tangent_of
from tinygrad_lab.function import data
from tinygrad_lab.tensor import Tensor, enable_grad

JACOBIAN_MODES = ("rev", "fwd")


def _as_tuple(x) -> tuple:
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def _like_input(x, results: Sequence):
    """``results`` shaped like the input argument: one item for a Tensor, a tuple for a tuple."""
    return tuple(results) if isinstance(x, (tuple, list)) else results[0]


def _leaves(x) -> tuple[Tensor, ...]:
    """Fresh leaves that require grad and share the data of each input."""
    return tuple(Tensor(data(xi), requires_grad=True) for xi in _as_tuple(x))


def _pairs(name: str, xs, vs) -> tuple[np.ndarray, ...]:
    vs = _as_tuple(vs)
    if len(vs) != len(xs):
        raise ValueError(f"{name}: {len(xs)} input(s) but {len(vs)} vector(s)")
    arrays = tuple(np.asarray(data(v), dtype=x.dtype) for x, v in zip(xs, vs))
    for i, (x, v) in enumerate(zip(xs, arrays)):
        if v.shape != x.shape:
            raise ValueError(f"{name}: vector {i} has shape {v.shape} but input {i} has shape {x.shape}")
    return arrays


def _grads(y: Tensor, xs, seed=None, create_graph: bool = False, retain_graph: bool | None = None) -> list:
    """∂⟨seed, y⟩/∂xᵢ for each input; zeros (not None) where y does not depend on xᵢ."""
    found = (grad(y, xs, grad_outputs=seed, create_graph=create_graph, retain_graph=retain_graph,
                  allow_unused=True) if y.requires_grad else (None,) * len(xs))
    return [Tensor(np.zeros(x.shape, dtype=x.dtype)) if g is None else g for x, g in zip(xs, found)]


def _scalar(name: str, y: Tensor) -> Tensor:
    if not isinstance(y, Tensor) or y.size != 1:
        raise ValueError(f"{name} needs a scalar-valued f, got output of shape {np.shape(y)}")
    return y


@enable_grad()  # builds the graphs it differentiates, even under no_grad()
def vjp(f: Callable[..., Tensor], x, u=None) -> tuple[Tensor, Tensor | tuple[Tensor, ...]]:
    """(f(x), uᵀJ): the vector–Jacobian product by one backward pass (u may be omitted for scalar f)."""
    xs = _leaves(x)
    y = f(*xs)
    seed = None if u is None else np.asarray(data(u), dtype=y.dtype)
    return y.detach(), _like_input(x, [g.detach() for g in _grads(y, xs, seed)])


def jvp(f: Callable[..., Tensor], x, v) -> tuple[Tensor, Tensor]:
    """(f(x), J v): the Jacobian–vector product by one forward pass with dual numbers."""
    xs = tuple(Tensor(data(xi)) for xi in _as_tuple(x))
    vs = _pairs("jvp", xs, v)
    with dual_level():
        y = f(*(make_dual(xi, vi) for xi, vi in zip(xs, vs)))
        return y.detach(), Tensor(tangent_of(y))


@enable_grad()  # builds the graphs it differentiates, even under no_grad()
def hvp(f: Callable[..., Tensor], x, v) -> tuple[Tensor, Tensor | tuple[Tensor, ...]]:
    """(f(x), H v) for scalar f by double backward: H v = ∇ₓ⟨∇f(x), v⟩, the gradient graph being
    built by ``create_graph=True``.  Costs about two backward passes, never forms H."""
    xs = _leaves(x)
    y = _scalar("hvp", f(*xs))
    vs = _pairs("hvp", xs, v)
    gs = _grads(y, xs, create_graph=True)
    terms = [(g * vi).sum() for g, vi in zip(gs, vs)]
    dot = sum(terms[1:], terms[0])
    return y.detach(), _like_input(x, [h.detach() for h in _grads(dot, xs)])


def _jacobian_rev(y: Tensor, xs) -> list[np.ndarray]:
    """∂y/∂xᵢ (shape y.shape + xᵢ.shape) for each input, one backward pass per element of y."""
    jacs = [np.zeros((y.size,) + x.shape, dtype=x.dtype) for x in xs]
    for k in range(y.size):
        seed = np.zeros(y.shape, dtype=y.dtype)
        seed.flat[k] = 1
        for jac, g in zip(jacs, _grads(y, xs, seed, retain_graph=True)):
            jac[k] = g.data
    return [jac.reshape(y.shape + x.shape) for jac, x in zip(jacs, xs)]


def _jacobian_fwd(f, xs) -> list[np.ndarray]:
    """∂y/∂xᵢ for each input, one forward pass per element of the inputs (a column of J each)."""
    y_shape = f(*xs).shape
    jacs = []
    for i, x in enumerate(xs):
        columns = np.zeros((x.size,) + y_shape, dtype=x.dtype)
        for k in range(x.size):
            tangents = [np.zeros(xj.shape, dtype=xj.dtype) for xj in xs]
            tangents[i].flat[k] = 1
            columns[k] = jvp(f, xs, tangents)[1].data
        jacs.append(np.moveaxis(columns, 0, -1).reshape(y_shape + x.shape))
    return jacs


@enable_grad()  # builds the graphs it differentiates, even under no_grad()
def jacobian(f: Callable[..., Tensor], x, mode: str = "rev") -> Tensor | tuple[Tensor, ...]:
    """J = ∂f(x)/∂x of shape f(x).shape + x.shape (one per input for a tuple x): ``mode="rev"``
    builds it from vjps (a pass per output element), ``"fwd"`` from jvps (a pass per input element)."""
    if mode not in JACOBIAN_MODES:
        raise ValueError(f"jacobian: mode must be one of {JACOBIAN_MODES}, got {mode!r}")
    xs = _leaves(x)
    jacs = _jacobian_rev(f(*xs), xs) if mode == "rev" else _jacobian_fwd(f, xs)
    return _like_input(x, [Tensor(j) for j in jacs])


@enable_grad()  # builds the graphs it differentiates, even under no_grad()
def _gradient_and_hessian(f, x) -> tuple[list[Tensor], list[list[np.ndarray]]]:
    """∇f as graph tensors and the blocks H[i][j] = ∂(∇ₓᵢ f)/∂xⱼ, one backward pass per row."""
    xs = _leaves(x)
    gs = _grads(_scalar("hessian", f(*xs)), xs, create_graph=True)
    return gs, [_jacobian_rev(g, xs) for g in gs]


def hessian(f: Callable[..., Tensor], x) -> Tensor | tuple[tuple[Tensor, ...], ...]:
    """H = ∂²f/∂x² for scalar f, shape x.shape + x.shape (blocks H[i][j] for a tuple x), computed
    as the Jacobian of the gradient graph ∇f (rows by backward passes through it)."""
    _, blocks = _gradient_and_hessian(f, x)
    if not isinstance(x, (tuple, list)):
        return Tensor(blocks[0][0])
    return tuple(tuple(Tensor(b) for b in row) for row in blocks)


def newton_step(f: Callable[[Tensor], Tensor], x: Tensor, damping: float = 0.0) -> Tensor:
    """One step of Newton's method (cs231n, second-order methods) on a scalar f:

        x ← x − d,   (H + λI) d = ∇f(x),   λ = ``damping``

    with the exact Hessian H.  On a quadratic ½ xᵀAx − bᵀx (A symmetric positive definite) one
    undamped step lands on the minimum A⁻¹b from anywhere.  λ > 0 (Levenberg–Marquardt style)
    shortens the step and keeps H + λI invertible where H is singular or indefinite.  Returns the
    new point as a fresh Tensor; ``x`` is not modified.
    """
    if damping < 0:
        raise ValueError(f"newton_step: damping must be >= 0, got {damping}")
    (g,), ((h,),) = _gradient_and_hessian(f, x)
    n = g.size
    try:
        d = np.linalg.solve(h.reshape(n, n) + damping * np.eye(n), g.data.reshape(n))
    except np.linalg.LinAlgError:
        raise ValueError(f"newton_step: the Hessian (+ {damping}·I) of shape ({n}, {n}) is singular; "
                         "pass damping > 0") from None
    return Tensor(data(x) - d.reshape(g.shape))
