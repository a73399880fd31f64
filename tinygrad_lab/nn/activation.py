"""Elementwise activations a = σ(z), each with its derivative σ'(z) for the homework's backprop."""
from __future__ import annotations

import numpy as np

from tinygrad_lab import ops
from tinygrad_lab.nn.module import Module


class Activation(Module):
    """a = σ(z) elementwise.  ``derivative(z, a)`` gives σ'(z) as an array (a = σ(z) is passed
    because σ' is cheapest in terms of it for sigmoid and tanh).  ``name`` is the activation's name
    in :data:`ACTIVATIONS` and in the fused Linear node (:class:`~tinygrad_lab.ops.Affine`)."""

    name = ""

    def forward(self, z):
        raise NotImplementedError

    @staticmethod
    def derivative(z: np.ndarray, a: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class ReLU(Activation):
    """σ(z) = max(z, 0);  σ'(z) = 1 if z > 0 else 0."""

    name = "relu"

    def forward(self, z):
        return ops.relu(z)

    @staticmethod
    def derivative(z, a):
        return (z > 0).astype(z.dtype)


class Sigmoid(Activation):
    """σ(z) = 1 / (1 + e⁻ᶻ);  σ'(z) = σ(z)(1 − σ(z))."""

    name = "sigmoid"

    def forward(self, z):
        return ops.sigmoid(z)

    @staticmethod
    def derivative(z, a):
        return a * (1 - a)


class Tanh(Activation):
    """σ(z) = tanh z;  σ'(z) = 1 − tanh² z."""

    name = "tanh"

    def forward(self, z):
        return ops.tanh(z)

    @staticmethod
    def derivative(z, a):
        return 1 - a * a


class Identity(Activation):
    """σ(z) = z;  σ'(z) = 1 (a linear output layer)."""

    name = "identity"

    def forward(self, z):
        return z

    @staticmethod
    def derivative(z, a):
        return np.ones_like(z)


ACTIVATIONS: dict[str, type[Activation]] = {
    "relu": ReLU, "sigmoid": Sigmoid, "tanh": Tanh, "identity": Identity,
}


def get_activation(name: str) -> Activation:
    """A new activation module by name: relu, sigmoid, tanh or identity."""
    try:
        return ACTIVATIONS[name]()
    except (KeyError, TypeError):
        raise ValueError(f"unknown activation {name!r}; known: {', '.join(ACTIVATIONS)}") from None

#: activations a Linear layer can absorb into its graph node (see Sequential)
FUSABLE = (ReLU, Sigmoid, Tanh)
