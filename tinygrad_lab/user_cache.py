"""Where tinygrad_lab keeps what it can rebuild: downloaded datasets, their decoded arrays, compiled kernels.

:func:`root` is ``$TINYGRAD_LAB_CACHE`` when that variable is set; otherwise
``$XDG_CACHE_HOME/tinygrad_lab``, or, without that variable, ``~/Library/Caches`` on macOS,
``%LOCALAPPDATA%`` on Windows and ``~/.cache`` elsewhere, each followed by ``tinygrad_lab``.
Everything in it is named by what it was made from, so deleting any part of it only costs the time
to make that part again.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

ENV_VAR = "TINYGRAD_LAB_CACHE"

__all__ = ["ENV_VAR", "root"]


def root() -> Path:
    """The per-user cache folder of tinygrad_lab (see the module docstring); not created here."""
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR])
    if os.environ.get("XDG_CACHE_HOME"):
        base = Path(os.environ["XDG_CACHE_HOME"])
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    elif sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    else:
        base = Path.home() / ".cache"
    return base / "tinygrad_lab"
