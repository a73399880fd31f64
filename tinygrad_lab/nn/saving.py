"""Rebuild an ``nn`` model from a file: the architecture as a spec (plain dicts) next to the weights.

``spec(model)`` describes a model made of this package's layers (Linear, BatchNorm1d, Dropout, Flatten,
the activations, Sequential, MLP) as ``{"type": "Linear", "config": {...}}`` trees; ``from_spec`` builds
a fresh model from one.  ``save_model(model, path)`` stores ``{"spec": ..., "state_dict": ...}``
with :func:`tinygrad_lab.save`, and ``load_model(path)`` returns the model with its weights, in eval
mode::

    nn.save_model(model, "model.npz")
    model = nn.load_model("model.npz")          # same class, sizes and weights

A model of your own Module subclass has no spec: build it in code and load its weights with
``model.load_state_dict(tinygrad_lab.load(path))``, as in PyTorch.
"""
from __future__ import annotations

import numpy as np

from tinygrad_lab.nn.activation import LAYERS
from tinygrad_lab.nn.batchnorm import BatchNorm1d
from tinygrad_lab.nn.dropout import Dropout
from tinygrad_lab.nn.flatten import Flatten
from tinygrad_lab.nn.linear import Linear
from tinygrad_lab.nn.mlp import MLP
from tinygrad_lab.nn.module import Module, Sequential
from tinygrad_lab.serialization import load, save

FORMAT = "tinygrad_lab.nn.model/1"


def _config(m: Module) -> dict:
    """The constructor arguments that rebuild ``m`` (its weights aside)."""
    if type(m) is MLP:
        return {"sizes": m.sizes, "activation": m.activation, "batchnorm": m.batchnorm, "dropout": m.dropout,
                "output_activation": m.output_activation, "dtype": m.dtype, "fuse": m.fuse}
    if type(m) is Sequential:
        return {"layers": [spec(layer) for layer in m]}
    if type(m) is Linear:
        return {"in_features": m.in_features, "out_features": m.out_features, "bias": m.bias is not None,
                "activation": m.activation.name, "dtype": m.weight.dtype.name}
    if type(m) is BatchNorm1d:
        return {"num_features": m.num_features, "eps": m.eps, "momentum": m.momentum, "dtype": m.weight.dtype.name}
    if type(m) is Dropout:
        return {"p": m.p}
    if type(m) is Flatten:
        return {"start_dim": m.start_dim, "end_dim": m.end_dim}
    if type(m) in LAYERS.values():
        return {}
    raise TypeError(f"spec: {type(m).__name__} is not one of tinygrad_lab.nn's layers; build it in code "
                    "and load its weights with load_state_dict(tinygrad_lab.load(path))")


_TYPES = {cls.__name__: cls for cls in (MLP, Sequential, Linear, BatchNorm1d, Dropout, Flatten, *LAYERS.values())}


def spec(model: Module) -> dict:
    """``{"type": class name, "config": constructor arguments}``, nested for Sequential."""
    return {"type": type(model).__name__, "config": _config(model)}


def from_spec(tree: dict) -> Module:
    """A fresh model (new weights) built from :func:`spec`'s description."""
    try:
        cls, config = _TYPES[tree["type"]], dict(tree["config"])
    except (KeyError, TypeError):
        raise ValueError(f"from_spec: not a model spec: {str(tree)[:80]} (known types: "
                         f"{', '.join(_TYPES)})") from None
    if cls is Sequential:
        return Sequential(*(from_spec(layer) for layer in config.pop("layers")), **config)
    if "dtype" in config:
        config["dtype"] = np.dtype(config["dtype"])
    return cls(**config)


def save_model(model: Module, path):
    """Store the architecture and the weights of ``model`` in one file (see :func:`load_model`)."""
    return save({"format": FORMAT, "spec": spec(model), "state_dict": model.state_dict()}, path)


def load_model(path) -> Module:
    """The model stored by :func:`save_model`: rebuilt from its spec, its weights loaded, in eval mode."""
    stored = load(path)
    if not isinstance(stored, dict) or stored.get("format") != FORMAT:
        raise ValueError(f"load_model: {path} holds no model saved by nn.save_model")
    model = from_spec(stored["spec"])
    model.load_state_dict(stored["state_dict"])
    return model.eval()
