"""The narrow interface where array kernels live.

A backend is a module of plain functions over NumPy arrays satisfying the declared interface
:class:`~tinygrad_lab.backend.interface.Backend` (the optimizer update and the fused layer
kernels). Two backends exist:

* ``"numpy"``: the reference, the shared formulas evaluated on whole arrays;
* ``"numba"``: the same formulas compiled into one serial ``@njit`` loop per kernel (the default
  when Numba imports).

Choose with :func:`set_backend`, or with the environment variable ``TINYGRAD_LAB_BACKEND``
(read at the first :func:`get_backend` call).
"""

from __future__ import annotations

import contextlib
import importlib
import os
from collections.abc import Iterator
from types import ModuleType

__all__ = ["BACKENDS", "get_backend", "set_backend", "use_backend"]

#: Backend name -> module path.
BACKENDS = {
    "numpy": "tinygrad_lab.backend.numpy_backend",
    "numba": "tinygrad_lab.backend.numba_backend",
}
ENV_VAR = "TINYGRAD_LAB_BACKEND"

_current: ModuleType | None = None


def _load(name: str) -> ModuleType:
    if name not in BACKENDS:
        raise ValueError(f"unknown backend {name!r}; choose one of {sorted(BACKENDS)}")
    return importlib.import_module(BACKENDS[name])


def _default() -> ModuleType:
    requested = os.environ.get(ENV_VAR)
    if requested:
        return _load(requested.strip().lower())
    try:
        return _load("numba")
    except ImportError:
        return _load("numpy")


def get_backend() -> ModuleType:
    """Return the active backend module (choosing the default on first use)."""
    global _current
    if _current is None:
        _current = _default()
    return _current


def set_backend(name: str) -> ModuleType:
    """Make ``name`` ("numpy" or "numba") the active backend and return it.

    Raises ValueError for an unknown name and ImportError when numba is asked for but missing.
    """
    global _current
    _current = _load(name)
    return _current


@contextlib.contextmanager
def use_backend(name: str) -> Iterator[ModuleType]:
    """Context manager: run the block with backend ``name``, then restore the previous one."""
    global _current
    previous = _current
    try:
        yield set_backend(name)
    finally:
        _current = previous
