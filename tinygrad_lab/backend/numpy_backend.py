"""Reference backend: each formula evaluated on whole NumPy arrays (see :mod:`.interface`).

The optimizer rules, the activation formulas and the formulas of the reductions (softmax
cross-entropy, batch norm) are the shared definitions, run as array expressions around NumPy's
reductions; the Numba backend compiles the same definitions into loops, so the two agree bit for
bit in float64 (up to the order of the sums in the reductions).
"""

from __future__ import annotations

import numpy as np

from tinygrad_lab import cross_entropy_definition as xent
from tinygrad_lab.nn import batchnorm_definition as bn

from ._common import cast_hyper, check_flat

NAME = "numpy"


def update(rule, param, grad, state, hyper):
    """(param, *state) ← rule(param, grad, *state, *hyper), elementwise over whole arrays (checked)."""
    check_flat(param, grad, *state)
    update_unchecked(rule, param, grad, state, hyper)


def update_unchecked(rule, param, grad, state, hyper):
    """:func:`update` without the checks of its arrays."""
    new = rule(param, grad, *state, *cast_hyper(param.dtype, hyper))
    for array, value in zip((param, *state), new):
        np.copyto(array, value)


def all_finite(a):
    """Whether every element of ``a`` is finite."""
    return bool(np.isfinite(a).all())


def bias_act(z, b, act, y):
    """z ← z + b; y ← σ(z)."""
    if b is not None:
        z += b
    np.copyto(y, act.sigma(z), casting="same_kind")
    return y


def act_backward_bias(gy, z, y, act, gz, gb):
    """gz ← gy ⊙ σ'(z); gb ← Σ_rows gz."""
    np.multiply(gy, act.derivative(z, y), out=gz, casting="same_kind")
    if gb is not None:
        np.sum(gz, axis=0, out=gb)
    return gz


def softmax_xent(logits, targets, probs):
    """probs ← softmax(logits) per row; returns Σₙ −log probs[n, tₙ] (through log-sum-exp; the
    formulas are :mod:`tinygrad_lab.cross_entropy_definition`'s)."""
    top = logits.max(axis=1, keepdims=True)
    np.copyto(probs, xent.shifted_exp(logits, top))
    totals = probs.sum(axis=1, keepdims=True)
    losses = xent.row_loss(totals[:, 0], logits[np.arange(len(targets)), targets], top[:, 0])
    np.copyto(probs, xent.probability(probs, totals))
    return float(np.sum(losses))


def xent_grad(probs, targets, scale, out):
    """out ← (probs − onehot(targets)) · scale: the formula with [j = t] = 0 everywhere, then
    again at the targets with [j = t] = 1."""
    rows = np.arange(len(targets))
    np.copyto(out, xent.logit_grad(probs, 0.0, scale))
    out[rows, targets] = xent.logit_grad(probs[rows, targets], 1.0, scale)
    return out


def batchnorm_forward(x, gamma, beta, eps, xhat, y):
    """xhat ← (x − μ)/√(σ² + ε), y ← γ xhat + β over the rows of x; returns (μ, σ²) (the formulas
    are :mod:`tinygrad_lab.nn.batchnorm_definition`'s)."""
    mean = x.mean(axis=0)
    var = np.mean(bn.squared_deviation(x, mean), axis=0)
    np.copyto(xhat, bn.normalise(x, mean, bn.inv_std(var, eps)))
    np.copyto(y, bn.affine(xhat, gamma, beta))
    return mean, var


def batchnorm_backward(gy, xhat, gamma, inv_std, gx, ggamma, gbeta):
    """gβ ← Σ gy, gγ ← Σ gy ⊙ xhat, gx ← γ/(N√(σ² + ε)) · (N gy − gβ − xhat ⊙ gγ)."""
    np.sum(gy, axis=0, out=gbeta)
    np.sum(gy * xhat, axis=0, out=ggamma)
    np.copyto(gx, bn.input_grad(gy, xhat, gamma, inv_std, len(gy), gbeta, ggamma))
    return gx
