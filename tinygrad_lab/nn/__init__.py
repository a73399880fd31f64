"""Layers and models: ``Module``, ``Parameter``, ``Linear``, ``ReLU``/``Sigmoid``/``Tanh``,
``BatchNorm1d``, ``Sequential`` and the ``MLP`` builder."""
from tinygrad_lab.nn.activation import Activation, Identity, ReLU, Sigmoid, Tanh, get_activation
from tinygrad_lab.nn.batchnorm import BatchNorm1d
from tinygrad_lab.nn.linear import Linear
from tinygrad_lab.nn.mlp import MLP
from tinygrad_lab.nn.module import Module, Parameter, Sequential

__all__ = ["Activation", "BatchNorm1d", "Identity", "Linear", "MLP", "Module", "Parameter", "ReLU",
           "Sequential", "Sigmoid", "Tanh", "get_activation"]
