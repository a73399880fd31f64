"""Layers and models: ``Module``, ``Parameter``, ``Linear``, one activation layer per activation of
:mod:`tinygrad_lab.activations` (``ReLU``, ``Sigmoid``, ``Tanh``, ``Identity``, ...), ``BatchNorm1d``,
``Dropout``, ``Flatten``, ``Sequential``, the ``MLP`` builder, the loss modules, ``summary``, and
``save_model``/``load_model`` (architecture + weights in one file).  ``nn.functional`` holds the
same operations as functions, named like ``torch.nn.functional``'s; ``nn.init`` is
:mod:`tinygrad_lab.init` and ``nn.utils`` holds ``clip_grad_norm_``/``clip_grad_value_``, as in PyTorch."""
from tinygrad_lab.nn.activation import LAYERS, Activation, get_activation
from tinygrad_lab.nn.batchnorm import BatchNorm1d
from tinygrad_lab.nn.dropout import Dropout
from tinygrad_lab.nn.flatten import Flatten
from tinygrad_lab.nn.linear import Linear
from tinygrad_lab.nn.loss import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, MSELoss, NLLLoss
from tinygrad_lab.nn.mlp import MLP
from tinygrad_lab.nn.module import Module, Parameter, Sequential, summary
from tinygrad_lab.nn.saving import from_spec, load_model, save_model, spec
from tinygrad_lab.nn import functional, utils  # noqa: E402  (after the layers it names)
from tinygrad_lab import init  # noqa: E402  (nn.init, as torch.nn.init)

globals().update({cls.__name__: cls for cls in LAYERS.values()})

__all__ = ["Activation", "BCELoss", "BCEWithLogitsLoss", "BatchNorm1d", "CrossEntropyLoss", "Dropout", "Flatten", "LAYERS",
           "Linear", "MLP", "MSELoss", "Module", "NLLLoss", "Parameter", "Sequential", "from_spec", "functional",
           "get_activation", "init", "load_model", "save_model", "spec", "summary", "utils", *(cls.__name__ for cls in LAYERS.values())]
