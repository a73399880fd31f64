"""The fully connected layer, and its graph node: the affine map with an optional activation inside."""
from __future__ import annotations

import numpy as np

from tinygrad_lab import activations, backend, ops, threads
from tinygrad_lab.activations import Definition
from tinygrad_lab.function import Fused
from tinygrad_lab.init import get_initializer
from tinygrad_lab.nn.module import Module, Parameter
from tinygrad_lab.tensor import Tensor


class Affine(Fused):
    """y = σ(z), z = a Wᵀ + b for a batch of rows a (N, in), W (out, in), b (out,): the homework's
    z(l) = W(l) a(l−1) + b(l) and a(l) = σ(z(l)), one sample per row, as ONE graph node (the
    composition ``activation(a @ W.T + b)``).

    Backward, with δ = ∂E/∂z:  δ = gy ⊙ σ'(z),  ga = δ W,  gW = δᵀ a  (= Σₙ δₙ aₙᵀ, the homework's
    δ(l) a(l−1)ᵀ),  gb = Σₙ δₙ.  The GEMMs run on BLAS; the epilogues (z + b then σ, and δ with gb)
    are one pass each in the backend (:mod:`tinygrad_lab.backend`).  z is kept only when σ' is
    written through z.
    """

    def __init__(self, act: Definition | str = "identity"):
        self.act = act if isinstance(act, Definition) else activations.get(act)

    @property
    def name(self) -> str:
        return "Affine" if self.act.name == "identity" else f"Affine+{self.act.name}"

    def composition(self, a, w, b=None):
        z = a @ w.T if b is None else a @ w.T + b
        return z if self.act.name == "identity" else ops.activation(z, self.act)

    def forward(self, a, w, b=None):
        if a.ndim != 2 or a.shape[1] != w.shape[1]:
            raise ValueError(f"linear layer with weight of shape {w.shape} expects input of shape "
                             f"(N, {w.shape[1]}), got {a.shape}")
        z = np.empty((a.shape[0], w.shape[0]), a.dtype)
        y = z if self.act.uses == "y" else np.empty_like(z)
        self.z = None if y is z else z
        return self.forward_into(a, w, b, z, y)

    def forward_into(self, a, w, b, z, y):
        """z ← a Wᵀ (BLAS), then z ← z + b and y ← σ(z) in one backend pass (y may be z); returns y."""
        threads.matmul(a, w.T, z)
        return backend.active.bias_act(z, b, self.act, y)

    def fast_backward(self, gy, a, w, b=None, *, y):
        needs = self.needs_grad
        ga = np.empty(a.shape, a.dtype) if needs[0] else None
        gw = np.empty(w.shape, w.dtype) if needs[1] else None
        gb = np.empty(gy.shape[1], gy.dtype) if b is not None and needs[2] else None
        self.backward_into(gy, a, w, self.z, y, np.empty_like(gy), ga, gw, gb)
        return (ga, gw) if b is None else (ga, gw, gb)

    def backward_into(self, gy, a, w, z, y, delta, ga, gw, gb):
        """δ ← gy ⊙ σ'(z) with gb ← Σₙ δₙ in one backend pass, then ga ← δ W and gW ← δᵀ a (BLAS),
        each into its buffer (None: not wanted)."""
        backend.active.act_backward_bias(gy, z, y, self.act, delta, gb)
        if ga is not None:
            threads.matmul(delta, w, ga)
        if gw is not None:
            threads.matmul(delta.T, a, gw)

    def lower(self, plan, inputs, out):
        """Replayed as :meth:`forward_into` and :meth:`backward_into` on the plan's buffers."""
        a, w = plan.value(inputs[0]), plan.value(inputs[1])
        b = plan.value(inputs[2]) if len(inputs) == 3 else None
        z = np.empty((a.shape[0], w.shape[0]), a.dtype)
        y = plan.output(out, z if self.act.uses == "y" else np.empty_like(z))
        plan.forward(self.name, self.forward_into, a, w, b, z, y)
        grads = [plan.grad(t) if needed else None for t, needed in zip(inputs, self.needs_grad)]
        plan.backward(f"{self.name} backward", self.backward_into, plan.grad(out), a, w, None if y is z else z, y,
                      np.empty_like(y), grads[0], grads[1], grads[2] if b is not None else None)

    def jvp(self, da, dw, db=None, *, xs, y):
        a, w = xs[:2]
        dz = da @ w.T + a @ dw.T
        return self.act.derivative(self.z, y) * (dz if db is None else dz + db)


def affine(a, w, b=None, act: Definition | str = "identity"):
    """σ(a Wᵀ + b) as one node (see :class:`Affine`)."""
    return Affine(act).apply(a, w) if b is None else Affine(act).apply(a, w, b)


class Linear(Module):
    """z = a Wᵀ + b: the homework's z(l) = W(l) a(l−1) + b(l) applied to a batch of rows; with
    ``activation="relu"`` (or any name of :mod:`tinygrad_lab.activations`) the layer computes
    a = σ(z) itself, as ONE fused graph node (:class:`Affine`): same numbers as
    ``Linear`` followed by the activation layer, fewer nodes, one pass for bias + σ.

    ``weight`` has shape (out_features, in_features) like W(l) (row i holds the weights w_ij into
    unit i); ``bias`` has shape (out_features,) and starts at 0.  ``init`` names the weight
    initializer (see :func:`tinygrad_lab.init.get_initializer`; default "lecun", N(0, 1/n_in)).
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, init="lecun",
                 rng: np.random.Generator | None = None, dtype=np.float64, activation: str = "identity"):
        if in_features < 1 or out_features < 1:
            raise ValueError(f"Linear needs positive sizes, got in_features={in_features}, "
                             f"out_features={out_features}")
        self.in_features, self.out_features = in_features, out_features
        self.activation = activations.get(activation)
        self.weight = Parameter(np.zeros((out_features, in_features), dtype=dtype))
        get_initializer(init)(self.weight, rng=rng)
        self.bias = Parameter(np.zeros(out_features, dtype=dtype)) if bias else None

    def forward(self, a: Tensor) -> Tensor:
        """σ(a Wᵀ + b), σ = identity unless the layer was built with an ``activation``."""
        a = self.layer_input(a, self.weight.dtype, f"Linear({self.in_features}, {self.out_features})")
        return affine(a, self.weight, self.bias, self.activation)

    def extra_repr(self) -> str:
        act = "" if self.activation.name == "identity" else f", activation={self.activation.name!r}"
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}{act}"
