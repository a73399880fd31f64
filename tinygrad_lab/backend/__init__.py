"""The narrow interface where array kernels live.

A backend is a module of plain functions over NumPy arrays satisfying the declared interface
:class:`~tinygrad_lab.backend.interface.Backend` (the optimizer update and the fused layer
kernels). Two backends exist:

* ``"numpy"``: the reference, the shared formulas evaluated on whole arrays;
* ``"numba"``: the same formulas compiled into one serial ``@njit`` loop per kernel (the default
  when Numba imports).

Choose with :func:`set_backend`, or with the environment variable ``TINYGRAD_LAB_BACKEND``
(read at first use).  The kernels' callers read the active module as ``backend.active``, one
attribute lookup: :func:`set_backend` binds it, and until then the module's ``__getattr__``
(PEP 562) chooses the default, so Numba is imported only when a kernel is first needed.
"""

from __future__ import annotations

import contextlib
import importlib
import os
from collections.abc import Iterator
from types import ModuleType

__all__ = ["BACKENDS", "active", "get_backend", "set_backend", "use_backend"]

#: Backend name -> module path.
BACKENDS = {
    "numpy": "tinygrad_lab.backend.numpy_backend",
    "numba": "tinygrad_lab.backend.numba_backend",
}
ENV_VAR = "TINYGRAD_LAB_BACKEND"


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


def __getattr__(name: str) -> ModuleType:
    """``backend.active`` while no backend is chosen: the default, chosen now and bound (PEP 562)."""
    if name != "active":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    global active
    active = _default()
    return active


def get_backend() -> ModuleType:
    """Return the active backend module, ``backend.active`` (choosing the default on first use)."""
    return globals().get("active") or __getattr__("active")


def set_backend(name: str) -> ModuleType:
    """Make ``name`` ("numpy" or "numba") the active backend and return it.

    Raises ValueError for an unknown name and ImportError when numba is asked for but missing.
    """
    global active
    active = _load(name)
    return active


@contextlib.contextmanager
def use_backend(name: str) -> Iterator[ModuleType]:
    """Context manager: run the block with backend ``name``, then restore the previous one."""
    global active
    previous = globals().get("active")  # None while no backend was chosen yet
    try:
        yield set_backend(name)
    finally:
        if previous is None:
            del active  # unchosen again: the next use chooses the default
        else:
            active = previous
