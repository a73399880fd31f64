"""tinygrad_lab: a from-scratch reverse-mode autograd micro-framework for studying backprop.

``tinygrad_lab.tensor`` is the factory function (as ``torch.tensor``); the module that defines
``Tensor`` is imported as ``from tinygrad_lab.tensor import Tensor``.
"""
import numpy as np

from tinygrad_lab.tensor import Tensor, enable_grad, is_grad_enabled, no_grad, set_grad_enabled

# First thing: Tensor's operators and methods are bound, autograd provides Tensor.backward.
from tinygrad_lab import autograd, ops, tensor_methods  # noqa: F401
from tinygrad_lab import init, nn, optim
from tinygrad_lab.anomaly import AnomalyError, detect_anomaly
from tinygrad_lab.autograd import grad
from tinygrad_lab.backend import get_backend, set_backend
from tinygrad_lab.capture import capture
from tinygrad_lab.factories import arange, ones, ones_like, randn, tensor, zeros, zeros_like  # noqa: F811
from tinygrad_lab.random import manual_seed
from tinygrad_lab.losses import (
    binary_cross_entropy, binary_cross_entropy_with_logits, cross_entropy, half_sum_squared_error, mse_loss, nll_loss,
)
from tinygrad_lab.serialization import load, save
from tinygrad_lab.ops import (
    cat, concatenate, exp, log, log_softmax, matmul, maximum, relu, sigmoid, softmax, sqrt, stack, tanh, where,
)

#: the dtypes a Tensor holds, by PyTorch's names (``tensor(x, dtype=tinygrad_lab.float32)``)
float32, float64 = np.float32, np.float64

__version__ = "0.1.0"
__all__ = [
    "AnomalyError", "Tensor", "capture", "concatenate", "cross_entropy", "detect_anomaly", "enable_grad", "exp", "get_backend", "grad",
    "init", "is_grad_enabled", "log", "log_softmax", "matmul", "maximum", "mse_loss", "nn", "no_grad", "optim",
    "relu", "set_backend", "set_grad_enabled", "sigmoid", "softmax", "sqrt", "stack", "tanh", "where",
    "arange", "cat", "float32", "float64", "manual_seed", "ones", "ones_like", "randn", "tensor", "zeros", "zeros_like",
    "binary_cross_entropy", "binary_cross_entropy_with_logits", "half_sum_squared_error", "nll_loss",
    "func", "load", "save",
]


def __getattr__(name: str):
    """``tinygrad_lab.func`` (vjp, jvp, hessian, ...) is imported on first use: it brings forward mode."""
    if name == "func":
        import importlib

        return importlib.import_module("tinygrad_lab.func")
    raise AttributeError(f"module 'tinygrad_lab' has no attribute {name!r}")
