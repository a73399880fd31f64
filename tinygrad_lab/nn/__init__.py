"""Layers and models: ``Module``, ``Parameter``, ``Linear``, one activation layer per activation of
:mod:`tinygrad_lab.activations` (``ReLU``, ``Sigmoid``, ``Tanh``, ``Identity``, ...),
``BatchNorm1d``, ``Sequential`` and the ``MLP`` builder."""
from tinygrad_lab.nn.activation import LAYERS, Activation, get_activation
from tinygrad_lab.nn.batchnorm import BatchNorm1d
from tinygrad_lab.nn.linear import Linear
from tinygrad_lab.nn.mlp import MLP
from tinygrad_lab.nn.module import Module, Parameter, Sequential

globals().update({cls.__name__: cls for cls in LAYERS.values()})

__all__ = ["Activation", "BatchNorm1d", "LAYERS", "Linear", "MLP", "Module", "Parameter", "Sequential",
           "get_activation", *(cls.__name__ for cls in LAYERS.values())]
