"""Reference backend: each formula evaluated on whole NumPy arrays (see :mod:`.interface`).

The optimizer rules and activation formulas are the shared definitions, run as array
expressions; the Numba backend compiles the same definitions into loops, so the two agree bit for
bit in float64.
"""

from __future__ import annotations

import numpy as np

from ._common import cast_hyper, check_flat

NAME = "numpy"


def update(rule, param, grad, state, hyper):
    """(param, *state) ← rule(param, grad, *state, *hyper), elementwise over whole arrays."""
    check_flat(param, grad, *state)
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
    """probs ← softmax(logits) per row; returns Σₙ −log probs[n, tₙ] (through log-sum-exp)."""
    np.subtract(logits, logits.max(axis=1, keepdims=True), out=probs)
    picked = probs[np.arange(len(targets)), targets]
    np.exp(probs, out=probs)
    sums = probs.sum(axis=1, keepdims=True)
    probs /= sums
    return float(np.sum(np.log(sums[:, 0]) - picked))


def xent_grad(probs, targets, scale, out):
    """out ← (probs − onehot(targets)) · scale."""
    np.multiply(probs, scale, out=out)
    out[np.arange(len(targets)), targets] -= scale
    return out


def batchnorm_forward(x, gamma, beta, eps, xhat, y):
    """xhat ← (x − μ)/√(σ² + ε), y ← γ xhat + β over the rows of x; returns (μ, σ²)."""
    mean = x.mean(axis=0)
    np.subtract(x, mean, out=xhat)
    var = np.mean(xhat * xhat, axis=0)
    xhat *= 1 / np.sqrt(var + eps)
    np.multiply(xhat, gamma, out=y)
    y += beta
    return mean, var


def batchnorm_backward(gy, xhat, gamma, inv_std, gx, ggamma, gbeta):
    """gβ ← Σ gy, gγ ← Σ gy ⊙ xhat, gx ← γ/(N√(σ² + ε)) · (N gy − gβ − xhat ⊙ gγ)."""
    n = gy.shape[0]
    np.sum(gy, axis=0, out=gbeta)
    np.sum(gy * xhat, axis=0, out=ggamma)
    np.multiply(xhat, ggamma, out=gx)
    np.subtract(gy * n, gx, out=gx)
    gx -= gbeta
    gx *= gamma * inv_std / n
    return gx
