"""The fully connected layer."""
from __future__ import annotations

import numpy as np

from tinygrad_lab import activations, ops
from tinygrad_lab.init import get_initializer
from tinygrad_lab.nn.module import Module, Parameter
from tinygrad_lab.tensor import Tensor


class Linear(Module):
    """z = a Wᵀ + b: the homework's z(l) = W(l) a(l−1) + b(l) applied to a batch of rows; with
    ``activation="relu"`` (or any name of :mod:`tinygrad_lab.activations`) the layer computes
    a = σ(z) itself, as ONE fused graph node (:class:`~tinygrad_lab.ops.Affine`): same numbers as
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
        return ops.affine(a, self.weight, self.bias, self.activation)

    def extra_repr(self) -> str:
        act = "" if self.activation.name == "identity" else f", activation={self.activation.name!r}"
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}{act}"
