"""``save(obj, path)`` and ``load(path)``: PyTorch's names for storing state dicts and results.

``obj`` is a tree of dicts, lists and tuples whose leaves are numpy arrays, Tensors (stored as
their arrays), numbers, strings, booleans or None: a model's ``state_dict()``, an optimizer's, a
dict holding both and the epoch.  The file is one ``.npz`` written by
:mod:`tinygrad_lab.checkpoint`: no pickle (loading never runs code from the file), an atomic write
(temporary file in the same folder, fsync, rename), each array a member named by its path in the
tree (``numpy.load(path)["model.0.weight"]``).  ``load`` gives the tree back with numpy arrays in
place of Tensors.

A model is rebuilt from a file with :func:`tinygrad_lab.nn.save_model` / :func:`~tinygrad_lab.nn.load_model`,
which store the architecture (:func:`tinygrad_lab.nn.spec`) next to the state dict.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from tinygrad_lab.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from tinygrad_lab.tensor import Tensor

__all__ = ["CheckpointError", "load", "save"]


def _storable(value, where: str):
    """``value`` with Tensors replaced by copies of their arrays; a TypeError naming ``where`` for a
    value that cannot be stored without pickle."""
    if isinstance(value, Tensor):
        value = value.data.copy()
    if isinstance(value, np.ndarray):
        if value.dtype.hasobject or value.dtype.kind not in "biufcUS":
            raise TypeError(f"save: cannot store the {value.dtype} array at {where} (no pickle: "
                            "numeric, boolean or string arrays only)")
        return value
    if isinstance(value, dict):
        for k in value:
            if not isinstance(k, (str, int)) or isinstance(k, bool):
                raise TypeError(f"save: the key {k!r} in {where} is a {type(k).__name__}; keys must be "
                                "strings or integers")
        return {k: _storable(v, f"{where}[{k!r}]") for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_storable(v, f"{where}[{i}]") for i, v in enumerate(value))
    if value is None or isinstance(value, (bool, int, float, str, np.generic)):
        return value
    raise TypeError(f"save: cannot store a {type(value).__name__} at {where} (arrays, Tensors, numbers, "
                    "strings, None, and dicts/lists/tuples of them)")


def save(obj, path) -> Path:
    """Write ``obj`` (see the module docstring) to ``path`` atomically; returns the path."""
    return save_checkpoint(path, _storable(obj, "obj"))


def load(path):
    """The tree stored by :func:`save` at ``path`` (arrays as numpy arrays).  A missing file raises
    FileNotFoundError, a truncated or corrupted one :class:`~tinygrad_lab.checkpoint.CheckpointError`,
    each naming the file."""
    return load_checkpoint(path)
