"""Activation layers a = σ(z): one Module class per activation of :mod:`tinygrad_lab.activations`,
generated from its definition (``ReLU``, ``Sigmoid``, ``Tanh``, ``Identity``, ...)."""
from __future__ import annotations

import sys

import numpy as np

from tinygrad_lab import activations, ops
from tinygrad_lab.nn.module import Module


class Activation(Module):
    """a = σ(z) elementwise, as one graph node (:class:`~tinygrad_lab.ops.Activate`).

    ``definition`` is the activation's one definition; ``derivative(z, a)`` gives σ'(z) as an
    array from it (a = σ(z) is passed too, because σ' is cheapest in terms of it for sigmoid and
    tanh), which the homework's :mod:`~tinygrad_lab.backprop` uses.
    """

    definition: activations.Definition

    @property
    def name(self) -> str:
        return self.definition.name

    def forward(self, z):
        return ops.Activate(self.definition).apply(z)

    def derivative(self, z: np.ndarray, a: np.ndarray) -> np.ndarray:
        return self.definition.derivative(z, a)


def _hand_on(self, z):
    """σ(z) = z: the Identity layer hands its input on, adding no node to the graph."""
    return z


#: layer class by activation name, one per registered definition
LAYERS: dict[str, type[Activation]] = {}
for _definition in activations.REGISTRY.values():
    LAYERS[_definition.name] = type(_definition.title, (Activation,), {
        "definition": _definition, "__module__": __name__,
        "__doc__": sys.modules[_definition.sigma.__module__].__doc__,
        **({"forward": _hand_on} if _definition.name == "identity" else {})})
    globals()[_definition.title] = LAYERS[_definition.name]


def get_activation(name: str) -> Activation:
    """A new activation layer by name (see :data:`tinygrad_lab.activations.REGISTRY`)."""
    return LAYERS[activations.get(name).name]()


__all__ = ["Activation", "LAYERS", "get_activation", *(cls.__name__ for cls in LAYERS.values())]
