"""Reference backend: fused optimizer updates as in-place NumPy operations.

Contract shared by every backend's update functions:

* ``param`` and the state arrays are 1-D, C-contiguous, of one float dtype, and are updated in
  place (``param`` is typically ``p.data.reshape(-1)``, a view, so the Tensor sees the change);
* ``grad`` has the same shape and dtype and is only read;
* hyperparameters are Python scalars; the return value is ``None``.

Each function implements PyTorch's update rule for that optimizer (the docstrings of
:mod:`tinygrad_lab.optim` give the maths); the Numba backend implements the same arithmetic in
the same order, so the two agree bit for bit in float64.
"""

from __future__ import annotations

import numpy as np

from ._common import adam_scalars, check_flat

NAME = "numpy"


def _decayed(grad: np.ndarray, param: np.ndarray, weight_decay: float) -> np.ndarray:
    """g + λθ as a new array (or ``grad`` itself when λ = 0; it is never written to)."""
    if weight_decay == 0:
        return grad
    d = np.multiply(param, weight_decay)
    d += grad
    return d


def sgd_update(param, grad, buf, lr, momentum, dampening, nesterov, weight_decay, first):
    """SGD: d = g + λθ; b = d (first step) or μb + (1−τ)d; d = d + μb (Nesterov) or b; θ −= γd.

    ``buf`` is ignored (may be empty) when ``momentum == 0``; ``first`` marks the step that
    initialises it.
    """
    if momentum != 0:
        check_flat(param, grad, buf)
    else:
        check_flat(param, grad)
    d = _decayed(grad, param, weight_decay)
    if momentum != 0:
        if first:
            np.copyto(buf, d)
        else:
            buf *= momentum
            buf += np.multiply(d, 1.0 - dampening)
        if nesterov:
            d = np.add(d, np.multiply(buf, momentum))
        else:
            d = buf
    param -= np.multiply(d, lr)


def adagrad_update(param, grad, state_sum, clr, eps, weight_decay):
    """Adagrad: d = g + λθ; s += d²; θ −= clr·d / (√s + ε) (``clr`` already holds lr decay)."""
    check_flat(param, grad, state_sum)
    d = _decayed(grad, param, weight_decay)
    state_sum += np.multiply(d, d)
    std = np.sqrt(state_sum)
    std += eps
    step = np.multiply(d, clr)
    step /= std
    param -= step


def rmsprop_update(param, grad, square_avg, grad_avg, buf, lr, alpha, eps, weight_decay,
                   momentum, centered):
    """RMSprop: d = g + λθ; v = αv + (1−α)d²; (centered: ḡ = αḡ + (1−α)d, v − ḡ² under the root);
    a = √v + ε; with momentum μ > 0: b = μb + d/a, θ −= γb; else θ −= γd/a.

    ``grad_avg`` is ignored unless ``centered``; ``buf`` is ignored unless ``momentum > 0``
    (either may then be empty).
    """
    check_flat(param, grad, square_avg, *((grad_avg,) if centered else ()),
               *((buf,) if momentum > 0 else ()))
    d = _decayed(grad, param, weight_decay)
    sq = np.multiply(d, 1.0 - alpha)
    sq *= d
    square_avg *= alpha
    square_avg += sq
    if centered:
        grad_avg *= alpha
        grad_avg += np.multiply(d, 1.0 - alpha)
        avg = np.multiply(grad_avg, grad_avg)
        np.subtract(square_avg, avg, out=avg)
        np.sqrt(avg, out=avg)
    else:
        avg = np.sqrt(square_avg)
    avg += eps
    if momentum > 0:
        buf *= momentum
        buf += np.divide(d, avg)
        param -= np.multiply(buf, lr)
    else:
        step = np.multiply(d, lr)
        step /= avg
        param -= step


def adam_update(param, grad, m, v, lr, beta1, beta2, eps, weight_decay, step, decoupled):
    """Adam / AdamW at step t ≥ 1 (PyTorch's form, bias correction on both moments).

    Adam: d = g + λθ.  AdamW (``decoupled``): θ ← θ(1 − γλ), d = g.
    m = β₁m + (1−β₁)d; v = β₂v + (1−β₂)d²;
    θ −= (γ / (1−β₁ᵗ)) · m / (√v / √(1−β₂ᵗ) + ε).
    """
    check_flat(param, grad, m, v)
    step_size, sqrt_bc2 = adam_scalars(lr, beta1, beta2, step)
    if decoupled:
        if weight_decay != 0:
            param *= 1.0 - lr * weight_decay
        d = grad
    else:
        d = _decayed(grad, param, weight_decay)
    m *= beta1
    m += np.multiply(d, 1.0 - beta1)
    sq = np.multiply(d, 1.0 - beta2)
    sq *= d
    v *= beta2
    v += sq
    denom = np.sqrt(v)
    denom /= sqrt_bc2
    denom += eps
    upd = np.multiply(m, step_size)
    upd /= denom
    param -= upd


# ----- layer kernels ----------------------------------------------------------------------------
# Activations are named "identity", "relu", "sigmoid", "tanh". Row batches: z and gy are (N, M)
# C-contiguous, b and gb are (M,).


def bias_act_(z, b, act):
    """In place: z ← σ(z + b), the Linear layer's epilogue after the GEMM z = a Wᵀ (b may be None)."""
    if b is not None:
        z += b
    if act == "relu":
        np.maximum(z, 0, out=z)
    elif act == "sigmoid":
        z *= 0.5
        np.tanh(z, out=z)
        z += 1
        z *= 0.5
    elif act == "tanh":
        np.tanh(z, out=z)
    return z


def act_backward_bias(gy, y, act, gz, gb):
    """gz ← gy ⊙ σ'(z) with σ' written through y = σ(z), and gb ← Σ_rows gz (gb may be None)."""
    if act == "relu":
        np.multiply(gy, y > 0, out=gz)
    elif act == "sigmoid":
        np.subtract(1, y, out=gz)
        gz *= y
        gz *= gy
    elif act == "tanh":
        np.multiply(y, y, out=gz)
        np.subtract(1, gz, out=gz)
        gz *= gy
    else:
        gz[...] = gy
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
    """out ← (probs − onehot(targets)) · scale: the gradient of the summed cross-entropy times scale."""
    np.multiply(probs, scale, out=out)
    out[np.arange(len(targets)), targets] -= scale
    return out


def batchnorm_forward(x, gamma, beta, eps, xhat, y):
    """Training-mode batch norm over the rows of x (N, C): xhat ← (x − μ)/√(σ² + ε), y ← γ xhat + β;
    returns (μ, σ²) with the biased variance."""
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
