"""Numba backend: the shared formulas compiled into serial loops (see :mod:`.interface`).

Nothing here restates a formula that is written elsewhere: an optimizer's kernel is one loop
generated around its update rule (:func:`update`), an activation's kernels are two loops generated
around its σ and σ' (:func:`bias_act`, :func:`act_backward_bias`); Numba inlines the jitted scalar
function into the loop (the idea of minitorch's ``tensor_map(njit(fn))``).  A σ or σ' that calls
tanh, exp or log1p is evaluated as the NumPy backend evaluates it instead: numpy's SIMD ufuncs are
faster than a loop of libm calls (:data:`_LIBM`).  The reductions are
loops too, written here as the skeleton of their sums (a row's max and sum of exponentials; a
column's sums over the batch), around the per-element formulas of softmax cross-entropy
(:mod:`tinygrad_lab.cross_entropy_definition`) and batch norm
(:mod:`tinygrad_lab.nn.batchnorm_definition`), which the NumPy backend evaluates on whole arrays.
The primitives the activations use (:mod:`tinygrad_lab.activations.elementwise`) get their scalar
forms here.

Kernels use ``error_model='numpy'`` (division by zero gives inf/nan instead of raising, which lets
LLVM vectorise loops that divide: ~7x on a fused Adam) and ``fastmath=False`` (no reassociation,
so float64 results match NumPy bit for bit).  They are serial: ``parallel=True`` next to a
multithreaded BLAS oversubscribes small machines.  Every kernel's machine code is kept on disk:
the generated ones through :mod:`.kernel_cache`, which files their source under a key of
everything they depend on (so a changed formula gives a new kernel), the one written here (the
finiteness check) by Numba beside this file (or in its user-wide cache when the package is
read-only); so a process compiles only what no earlier one on the machine did.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import math
import types
from pathlib import Path

import numpy as np
from numba import njit
from numba.extending import overload

from tinygrad_lab import cross_entropy_definition as xent
from tinygrad_lab.activations import elementwise
from tinygrad_lab.nn import batchnorm_definition as bn

from . import kernel_cache, numpy_backend
from ._common import cast_hyper, check_flat

NAME = "numba"

_OPTIONS = dict(error_model="numpy", fastmath=False)
_jit = njit(cache=True, **_OPTIONS)
_jit_in_memory = njit(**_OPTIONS)
#: what every generated kernel also depends on: this file (the options above, the scalar forms below)
_SALT = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()


def _compile(name: str, source: str, **values) -> dict:
    """The functions ``source`` defines (its globals: ``values``), jitted; their machine code is
    cached on disk whenever :func:`.kernel_cache.compile_source` could file their source."""
    functions, on_disk = kernel_cache.compile_source(name, source, values, _SALT)
    jit = _jit if on_disk else _jit_in_memory
    return {fname: jit(fn) for fname, fn in functions.items()}


# ----- the primitives' scalar forms ------------------------------------------------------------
@overload(elementwise.tanh)
def _tanh(x):
    return lambda x: math.tanh(x)


@overload(elementwise.exp)
def _exp(x):
    return lambda x: math.exp(x)


@overload(elementwise.log1p)
def _log1p(x):
    return lambda x: math.log1p(x)


@overload(elementwise.abs)
def _abs(x):
    return lambda x: abs(x)


@overload(elementwise.maximum)
def _maximum(x, c):
    return lambda x, c: x if x > c else x * 0 + c


@overload(elementwise.step)
def _step(x):
    return lambda x: 1.0 if x > 0 else 0.0


# ----- optimizer rules -------------------------------------------------------------------------
@functools.cache
def _jit_formula(fn):
    """``fn`` jitted, with every package function it calls (a shared helper formula such as
    ``optim.adam.decay``) jitted the same way, so a rule can be written with helpers."""
    scope = dict(fn.__globals__)
    for name in fn.__code__.co_names:
        helper = scope.get(name)
        if (inspect.isfunction(helper) and helper.__module__.startswith("tinygrad_lab.")
                and helper not in elementwise.PRIMITIVES):            # those have scalar forms above
            scope[name] = _jit_formula(helper)
    return _jit_in_memory(types.FunctionType(fn.__code__, scope, fn.__name__, fn.__defaults__, fn.__closure__))


@functools.cache
def _update_kernel(rule, n_state: int):
    """for i: (p[i], s₁[i], …) = rule(p[i], g[i], s₁[i], …, *hyper), one jitted loop.  (The rule
    itself is compiled into it only when no earlier process left the loop's machine code.)"""
    state = ", ".join(f"s{k}" for k in range(n_state))
    at_i = "".join(f", s{k}[i]" for k in range(n_state))
    source = (f"def kernel(p, g, {state}, hyper):\n"
              f"    for i in range(p.shape[0]):\n"
              f"        p[i]{at_i} = rule(p[i], g[i]{at_i}, *hyper)\n")
    return _compile(f"update_{rule.__name__}_{n_state}", source, rule=_jit_formula(rule))["kernel"]


def update(rule, param, grad, state, hyper):
    """(param, *state) ← rule(param, grad, *state, *hyper), one pass over the flat arrays (checked)."""
    check_flat(param, grad, *state)
    update_unchecked(rule, param, grad, state, hyper)


def update_unchecked(rule, param, grad, state, hyper):
    """:func:`update` without the checks of its arrays."""
    _update_kernel(rule, len(state))(param, grad, *state, cast_hyper(param.dtype, hyper))


# ----- the finiteness check --------------------------------------------------------------------
@_jit
def _all_finite_kernel(a):
    finite = True
    for i in range(a.shape[0]):
        finite &= a[i] - a[i] == 0  # x − x is 0 for a finite x, NaN for NaN and ±inf
    return finite


def all_finite(a):
    """Whether every element of ``a`` is finite, in one vectorised pass (no temporary array)."""
    return bool(_all_finite_kernel(a))


# ----- activations -----------------------------------------------------------------------------
_ACT_SOURCE = """
def forward(z, b, has_bias, y):
    n, m = z.shape
    if has_bias:
        for i in range(n):
            for j in range(m):
                v = z[i, j] + b[j]
                z[i, j] = v
                y[i, j] = sigma(v)
    else:
        for i in range(n):
            for j in range(m):
                y[i, j] = sigma(z[i, j])


def forward_in_place(z, b, has_bias):
    n, m = z.shape
    for i in range(n):
        for j in range(m):
            z[i, j] = sigma(z[i, j] + b[j] if has_bias else z[i, j])


def backward(gy, z, y, gz, gb, has_bias):
    n, m = gy.shape
    if has_bias:
        for j in range(m):
            gb[j] = 0
    for i in range(n):
        for j in range(m):
            g = gy[i, j] * sigma_prime(z[i, j] if uses_z else y[i, j])
            gz[i, j] = g
            if has_bias:
                gb[j] += g


def backward_in_place(gy, z, y, gb, has_bias):
    n, m = gy.shape
    if has_bias:
        for j in range(m):
            gb[j] = 0
    for i in range(n):
        for j in range(m):
            gy[i, j] *= sigma_prime(z[i, j] if uses_z else y[i, j])
            if has_bias:
                gb[j] += gy[i, j]
"""


#: the primitives numpy's ufuncs evaluate with SIMD instructions, where a compiled loop calls libm
#: one element at a time: tanh over a 128x512 float32 array took 0.21 ms in numpy and 1.3 ms in the
#: loop (1.3x in float64)
_LIBM = (elementwise.tanh, elementwise.exp, elementwise.log1p)


def _calls_libm(formula) -> bool:
    """Whether the formula calls one of the ``_LIBM`` primitives."""
    return any(formula.__globals__.get(name) in _LIBM for name in formula.__code__.co_names)


@functools.cache
def _act_kernels(name: str, sigma, sigma_prime, uses: str):
    """The loops around the jitted σ and σ' of an activation (``_ACT_SOURCE``): forward into a
    separate y, forward in place (y is z), backward into a separate gz, backward in place (gz is gy).
    Keyed by what they are compiled from (the fields of its definition), which hash in C.  The pair
    for a formula that calls libm (:func:`_calls_libm`: tanh, sigmoid, GELU, softplus) is
    (None, None): :func:`bias_act` and :func:`act_backward_bias` evaluate it as the NumPy backend does.

    Each aliased call has its own loop because LLVM vectorises a loop only after a run-time check
    that its output does not overlap its inputs; one array passed as both fails that check, and the
    loop runs scalar (bias + ReLU on 512x512 float32: 150 µs instead of 27 µs)."""
    kernels = _compile(f"act_{name}", _ACT_SOURCE, sigma=_jit_formula(sigma),
                       sigma_prime=_jit_formula(sigma_prime), uses_z=uses == "z")
    forwards = (None, None) if _calls_libm(sigma) else (kernels["forward"], kernels["forward_in_place"])
    backwards = (None, None) if _calls_libm(sigma_prime) else (kernels["backward"], kernels["backward_in_place"])
    return forwards + backwards


_EMPTY = {np.dtype(np.float32): np.zeros(1, np.float32), np.dtype(np.float64): np.zeros(1, np.float64)}
#: [j = t] in the logits' dtype: the gradient's arithmetic stays in it, as in the NumPy backend
_ZERO_ONE = {np.dtype(t): (t(0), t(1)) for t in (np.float32, np.float64)}


def bias_act(z, b, act, y):
    """z ← z + b; y ← σ(z) in one pass (or as the NumPy backend does, see :func:`_act_kernels`)."""
    forward, forward_in_place, _, _ = _act_kernels(act.name, act.sigma, act.sigma_prime, act.uses)
    if forward is None:
        return numpy_backend.bias_act(z, b, act, y)
    bias = _EMPTY[z.dtype] if b is None else b
    if y is z:
        forward_in_place(z, bias, b is not None)
    else:
        forward(z, bias, b is not None, y)
    return y


def act_backward_bias(gy, z, y, act, gz, gb):
    """gz ← gy ⊙ σ'(z) and gb ← Σ_rows gz in one pass (or as the NumPy backend does, see
    :func:`_act_kernels`)."""
    _, _, backward, backward_in_place = _act_kernels(act.name, act.sigma, act.sigma_prime, act.uses)
    if backward is None:
        return numpy_backend.act_backward_bias(gy, z, y, act, gz, gb)
    bias = _EMPTY[gz.dtype] if gb is None else gb
    if gz is gy:
        backward_in_place(gy, z, y, bias, gb is not None)
    else:
        backward(gy, z, y, gz, bias, gb is not None)
    return gz


# ----- reductions: softmax cross-entropy and batch norm ----------------------------------------
_XENT_SOURCE = """
def softmax_xent(logits, targets, probs):
    n, m = logits.shape
    loss = 0.0
    for i in range(n):
        top = logits[i, 0]
        for j in range(1, m):
            if logits[i, j] > top:
                top = logits[i, j]
        total = 0.0
        for j in range(m):
            e = shifted_exp(logits[i, j], top)
            probs[i, j] = e
            total += e
        for j in range(m):
            probs[i, j] = probability(probs[i, j], total)
        loss += row_loss(total, logits[i, targets[i]], top)
    return loss


def xent_grad(probs, targets, scale, zero, one, out):
    n, m = probs.shape
    for i in range(n):
        for j in range(m):
            out[i, j] = logit_grad(probs[i, j], zero, scale)
        out[i, targets[i]] = logit_grad(probs[i, targets[i]], one, scale)
"""


@functools.cache
def _xent_kernels():
    """The loops of softmax cross-entropy (``_XENT_SOURCE``: the row max, the sum of the shifted
    exponentials, the batch's loss) around the jitted formulas of
    :mod:`tinygrad_lab.cross_entropy_definition`: (softmax_xent, xent_grad)."""
    kernels = _compile("softmax_xent", _XENT_SOURCE, **{name: _jit_formula(getattr(xent, name))
                                                        for name in xent.__all__})
    return kernels["softmax_xent"], kernels["xent_grad"]


def softmax_xent(logits, targets, probs):
    """probs ← softmax(logits); returns Σₙ −log probs[n, tₙ] (see ``numpy_backend.softmax_xent``)."""
    return float(_xent_kernels()[0](logits, targets, probs))


def xent_grad(probs, targets, scale, out):
    """out ← (probs − onehot) · scale (see ``numpy_backend.xent_grad``)."""
    zero, one = _ZERO_ONE[probs.dtype]
    _xent_kernels()[1](probs, targets, probs.dtype.type(scale), zero, one, out)
    return out


_BATCHNORM_SOURCE = """
def forward(x, gamma, beta, eps, xhat, y, mean, var):
    n, m = x.shape
    total = np.zeros(m)  # float64 accumulators
    for i in range(n):
        for j in range(m):
            total[j] += x[i, j]
    for j in range(m):
        mean[j] = total[j] / n
        total[j] = 0.0
    for i in range(n):
        for j in range(m):
            total[j] += squared_deviation(x[i, j], mean[j])
    for j in range(m):
        var[j] = total[j] / n
        total[j] = inv_std(var[j], eps)
    for i in range(n):
        for j in range(m):
            h = normalise(x[i, j], mean[j], total[j])
            xhat[i, j] = h
            y[i, j] = affine(h, gamma[j], beta[j])


def backward(gy, xhat, gamma, inv_std, gx, ggamma, gbeta):
    n, m = gy.shape
    sum_gy = np.zeros(m)
    sum_gy_xhat = np.zeros(m)
    for i in range(n):
        for j in range(m):
            sum_gy[j] += gy[i, j]
            sum_gy_xhat[j] += gy[i, j] * xhat[i, j]
    for j in range(m):
        gbeta[j] = sum_gy[j]
        ggamma[j] = sum_gy_xhat[j]
    for i in range(n):
        for j in range(m):
            gx[i, j] = input_grad(gy[i, j], xhat[i, j], gamma[j], inv_std[j], n, sum_gy[j], sum_gy_xhat[j])
"""


@functools.cache
def _batchnorm_kernels():
    """The loops of batch norm (``_BATCHNORM_SOURCE``: the column sums, in float64) around the
    jitted formulas of :mod:`tinygrad_lab.nn.batchnorm_definition`: (forward, backward)."""
    kernels = _compile("batchnorm", _BATCHNORM_SOURCE, np=np, **{name: _jit_formula(getattr(bn, name))
                                                                 for name in bn.__all__})
    return kernels["forward"], kernels["backward"]


def batchnorm_forward(x, gamma, beta, eps, xhat, y):
    """Training-mode batch norm in three passes (see ``numpy_backend.batchnorm_forward``)."""
    mean, var = np.empty(x.shape[1], x.dtype), np.empty(x.shape[1], x.dtype)
    _batchnorm_kernels()[0](x, gamma, beta, float(eps), xhat, y, mean, var)
    return mean, var


def batchnorm_backward(gy, xhat, gamma, inv_std, gx, ggamma, gbeta):
    """Its backward in two passes (see ``numpy_backend.batchnorm_backward``)."""
    _batchnorm_kernels()[1](gy, xhat, gamma, inv_std, gx, ggamma, gbeta)
    return gx
