"""Backpropagation exactly as the homework derives it (docs/backprop.md), with no graph at all.

Notation (one sample is a row; a batch stacks rows):

    z(l) = W(l) a(l−1) + b(l),   a(l) = σ(z(l)),   a(0) = x,   y = a(L),   E = ½ Σ (y − t)²

    δ(L) = (a(L) − t) ⊙ σ'(z(L))                       output layer
    δ(l) = σ'(z(l)) ⊙ W(l+1)ᵀ δ(l+1)                   every hidden layer, from the one above
    ∂E/∂W(l) = δ(l) a(l−1)ᵀ,   ∂E/∂b(l) = δ(l)         summed over the samples of the batch

For row batches W(l+1)ᵀ δ(l+1) is written ``delta @ W`` and δ(l) a(l−1)ᵀ is ``delta.T @ a_prev``.
The autograd graph computes the same numbers (``tests/test_backprop.py`` checks them to 1e-12).

:class:`Variant` switches known mistakes into the same recursion (its default is the derivation
above); :mod:`tinygrad_lab.check_backprop` runs them to name the mistake in a student's backprop.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinygrad_lab.nn.activation import Activation, Identity
from tinygrad_lab.nn.linear import Linear
from tinygrad_lab.nn.module import Sequential


@dataclass
class Layer:
    """One layer l of the homework: its weights and its activation σ."""

    W: np.ndarray
    b: np.ndarray
    sigma: Activation


@dataclass
class ForwardPass:
    """z(l) and a(l) for l = 1..L (lists indexed from 0 for layer 1), and a(0) = x."""

    x: np.ndarray
    z: list[np.ndarray]
    a: list[np.ndarray]


@dataclass(frozen=True)
class Variant:
    """Which derivation :func:`gradients` runs: the homework's when every field has its default, else
    the homework's with known mistakes switched in, each one term of the recursion substituted.

    * ``sigma_prime_at_a``: the layers ("output", "hidden") whose σ' is taken at a(l), σ'(a(l)),
      where σ'(z(l)) belongs;
    * ``output_sigma_prime=False``: δ(L) = a(L) − t, σ'(z(L)) forgotten;
    * ``output_factor``: δ(L) = factor · (a(L) − t) ⊙ σ'(z(L)): −1 flips its sign, 2 is the
      derivative of E = Σ (y − t)², the ½ forgotten;
    * ``weights_from_above=False``: δ(l) = σ'(z(l)) ⊙ W(l)ᵀ δ(l+1), W(l) where W(l+1) belongs
      (only defined when every layer has the same width);
    * ``recursion=False``: δ(l) = δ(L) at every layer;
    * ``dW_input_from_below=False``: ∂E/∂W(l) = δ(l) a(l)ᵀ, a(l) where a(l−1) belongs;
    * ``dW_transposed``: ∂E/∂W(l) = a(l−1) δ(l)ᵀ, of the shape of W(l)ᵀ;
    * ``bias_gradient``: "δ" (the homework's), "0" (missing) or "1" (∂z(l)/∂b(l) = 1 without δ(l)).
    """

    sigma_prime_at_a: frozenset[str] = frozenset()
    output_sigma_prime: bool = True
    output_factor: float = 1.0
    weights_from_above: bool = True
    recursion: bool = True
    dW_input_from_below: bool = True
    dW_transposed: bool = False
    bias_gradient: str = "δ"


#: the homework's derivation, no mistake switched in
HOMEWORK = Variant()


@dataclass
class Gradients:
    delta: list[np.ndarray]   # δ(l), shape (N, units of layer l)
    dW: list[np.ndarray]      # ∂E/∂W(l), the shape of W(l)
    db: list[np.ndarray]      # ∂E/∂b(l), the shape of b(l)


def layers_of(model: Sequential) -> list[Layer]:
    """The (W, b, σ) of each Linear in a Sequential of Linear layers each followed by at most one
    elementwise activation (a Linear with no activation after it gets σ = identity)."""
    layers: list[Layer] = []
    for module in model:
        if isinstance(module, Linear):
            if module.bias is None:
                raise ValueError("homework backprop needs every Linear to have a bias")
            layers.append(Layer(module.weight.data, module.bias.data, Identity()))
        elif isinstance(module, Activation) and layers and isinstance(layers[-1].sigma, Identity):
            layers[-1].sigma = module
        else:
            raise ValueError(f"homework backprop handles Linear layers each followed by one activation; "
                             f"got {type(module).__name__} at this position")
    return layers


def forward(layers: list[Layer], x: np.ndarray) -> ForwardPass:
    """z(l) = W(l) a(l−1) + b(l) and a(l) = σ(z(l)), layer by layer."""
    zs, activations = [], []
    a = x
    for layer in layers:
        z = a @ layer.W.T + layer.b
        a = layer.sigma.forward(z)
        zs.append(z)
        activations.append(a)
    return ForwardPass(x, zs, activations)


def gradients(layers: list[Layer], fp: ForwardPass, t: np.ndarray, variant: Variant = HOMEWORK) -> Gradients:
    """The homework's recursion for E = ½ Σ (y − t)²: δ(L), then δ(l) from δ(l+1), then ∂E/∂W, ∂E/∂b
    (with the mistakes of ``variant`` switched in, if any)."""
    sigma_prime_L = sigma_prime(layers[-1], fp.z[-1], fp.a[-1], "output" in variant.sigma_prime_at_a)
    if not variant.output_sigma_prime:
        sigma_prime_L = np.ones_like(sigma_prime_L)
    output_delta = variant.output_factor * (fp.a[-1] - t) * sigma_prime_L     # δ(L) = (a(L) − t) ⊙ σ'(z(L))
    return backpropagate(layers, fp, output_delta, variant)


def sigma_prime(layer: Layer, z: np.ndarray, a: np.ndarray, at_a: bool = False) -> np.ndarray:
    """σ'(z(l)) from z(l) and a(l) = σ(z(l)); ``at_a`` takes it at a(l) instead, σ'(a(l)) (a mistake)."""
    if at_a:
        return layer.sigma.derivative(a, layer.sigma.forward(a))
    return layer.sigma.derivative(z, a)


def backpropagate(layers: list[Layer], fp: ForwardPass, output_delta: np.ndarray,
                  variant: Variant = HOMEWORK) -> Gradients:
    """The recursion from a given δ(L) = ∂E/∂z(L), so any loss fits: δ(l) from δ(l+1), ∂E/∂W, ∂E/∂b
    (with the mistakes of ``variant`` switched in, if any).

    For the softmax cross-entropy E = −log softmax(z(L))[t] (no σ on the output layer),
    δ(L) = softmax(z(L)) − onehot(t).
    """
    L = len(layers)
    delta: list[np.ndarray] = [np.empty(0)] * L
    at_a = "hidden" in variant.sigma_prime_at_a
    sigma_primes = [sigma_prime(layer, z, a, at_a) for layer, z, a in zip(layers[:-1], fp.z, fp.a)]
    W_above = [layer.W for layer in (layers[1:] if variant.weights_from_above else layers[:-1])]
    if not variant.recursion:                     # δ(l) = δ(L): each step below copies δ(l+1)
        sigma_primes, W_above = [1.0] * (L - 1), [np.eye(output_delta.shape[1])] * (L - 1)
    delta[L - 1] = output_delta
    for l in range(L - 2, -1, -1):
        delta[l] = sigma_primes[l] * (delta[l + 1] @ W_above[l])           # δ(l) = σ'(z(l)) ⊙ W(l+1)ᵀ δ(l+1)
    a_prev = [fp.x] + fp.a[:-1] if variant.dW_input_from_below else fp.a
    dW = [delta[l].T @ a_prev[l] for l in range(L)]                        # ∂E/∂W(l) = δ(l) a(l−1)ᵀ
    db = [delta[l].sum(axis=0) for l in range(L)]                          # ∂E/∂b(l) = δ(l)
    if variant.dW_transposed:
        dW = [g.T for g in dW]
    if variant.bias_gradient != "δ":
        db = [np.full(g.shape, float(variant.bias_gradient) * len(fp.x)) for g in db]
    return Gradients(delta, dW, db)


def input_jacobian(layers: list[Layer], x: np.ndarray) -> np.ndarray:
    """∂y/∂x per sample (the homework, question 2): the chain product
    diag(σ'(z(L))) W(L) ⋯ diag(σ'(z(1))) W(1), shape (N, outputs, inputs)."""
    fp = forward(layers, x)
    jac = np.broadcast_to(np.eye(x.shape[1]), (x.shape[0], x.shape[1], x.shape[1]))
    for layer, z, a in zip(layers, fp.z, fp.a):
        jac = layer.sigma.derivative(z, a)[:, :, None] * (layer.W @ jac)    # diag(σ'(z(l))) W(l) · (…)
    return jac


def homework_gradients(model: Sequential, x: np.ndarray, t: np.ndarray) -> Gradients:
    """∂E/∂W(l), ∂E/∂b(l) and δ(l) of ``model`` at (x, t) for E = ½ Σ (y − t)², by the homework's recursion.

    ``x`` is a batch of rows (N, n(0)), one sample (n(0),), or one sample as the homework writes it, a
    column (n(0), 1); ``t`` is given the same way, and δ(l) comes back in that form too."""
    layers = layers_of(model)
    n_in, n_out = layers[0].W.shape[1], layers[-1].W.shape[0]
    x, t = np.asarray(x, dtype=layers[0].W.dtype), np.asarray(t, dtype=layers[0].W.dtype)
    if x.ndim == 1 and x.shape == (n_in,):
        form, expected_t = "1-D", (n_out,)
    elif x.ndim == 2 and x.shape == (n_in, 1) and n_in != 1:
        form, expected_t = "column", (n_out, 1)
    elif x.ndim == 2 and x.shape[1] == n_in:
        form, expected_t = "rows", (x.shape[0], n_out)
    else:
        raise ValueError(f"x has shape {x.shape}; the model takes {n_in} inputs: give one sample ({n_in},), "
                         f"a column ({n_in}, 1) or a batch of rows (N, {n_in})")
    if t.shape != expected_t:
        raise ValueError(f"target shape {t.shape} differs from the output shape {expected_t}")
    rows = (lambda v: v.reshape(1, -1)) if form != "rows" else (lambda v: v)
    g = gradients(layers, forward(layers, rows(x)), rows(t))
    if form != "rows":                                   # δ(l) back in the sample's own form
        shape = (lambda v: v.reshape(-1)) if form == "1-D" else (lambda v: v.reshape(-1, 1))
        g.delta = [shape(d) for d in g.delta]
    return g
