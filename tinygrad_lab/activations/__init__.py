"""Every activation written once, one module each (σ and σ', see :class:`Definition`).

The graph ops (:mod:`tinygrad_lab.ops`), the nn layers (:mod:`tinygrad_lab.nn.activation`), the
homework's backprop (:mod:`tinygrad_lab.backprop`) and both backends' kernels are all derived from
these definitions.  A new activation is a module defining ``ACTIVATION`` plus its name in
``MODULES``.
"""
from __future__ import annotations

import importlib

from tinygrad_lab.activations.definition import Definition

#: the activation modules, in the order the CLI and the docs list them
MODULES = ("identity", "relu", "sigmoid", "tanh", "leaky_relu", "gelu", "softplus")

REGISTRY: dict[str, Definition] = {}
for _module in MODULES:
    _act = importlib.import_module(f"tinygrad_lab.activations.{_module}").ACTIVATION
    REGISTRY[_act.name] = _act


def get(name: str | Definition) -> Definition:
    """The activation called ``name`` (an :class:`Definition` is returned as it is)."""
    if isinstance(name, Definition):
        return name
    try:
        return REGISTRY[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown activation {name!r}; known: {', '.join(REGISTRY)}") from None


__all__ = ["Definition", "MODULES", "REGISTRY", "get"]
