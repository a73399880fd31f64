"""Anomaly detection: find the op that first produced a NaN or an infinity.

Inside ``with detect_anomaly():`` every op records where in your code it was created (the stack
is kept only in this mode) and checks its output; every backward step checks the gradients it
hands on.  The first non-finite value raises :class:`AnomalyError` naming the op, its input shapes
and the line of your code that created it — instead of a NaN loss many steps later.
"""
from __future__ import annotations

import contextlib
import os
import traceback

import numpy as np

from tinygrad_lab.mode import anomaly_mode

_PACKAGE = os.path.dirname(os.path.abspath(__file__))


class AnomalyError(FloatingPointError):
    """An op's forward or backward produced NaN or inf (raised only in anomaly mode)."""


def detect_anomaly(enabled: bool = True) -> contextlib.AbstractContextManager[None]:
    """Check every op's forward output and backward gradients for NaN/inf inside the block
    (in this thread only, like every autograd mode: see :mod:`tinygrad_lab.mode`)."""
    return anomaly_mode(enabled)


def user_frame(stack: traceback.StackSummary) -> str:
    """'file:line in function: code' of the innermost frame outside tinygrad_lab."""
    for frame in reversed(stack):
        if not os.path.abspath(frame.filename).startswith(_PACKAGE):
            return f"{frame.filename}:{frame.lineno} in {frame.name}: {(frame.line or '').strip()}"
    return "(inside tinygrad_lab)"


def _non_finite(array: np.ndarray) -> str | None:
    array = np.asarray(array)
    if array.dtype.kind != "f" or np.isfinite(array).all():
        return None
    return "NaN" if np.isnan(array).any() else "inf"


def check_forward(node, arrays, out: np.ndarray) -> None:
    """Record where ``node`` was created and raise if its output is not finite."""
    node.created_at = traceback.extract_stack()[:-3]
    bad = _non_finite(out)
    if bad is None:
        return
    shapes = ", ".join(str(np.shape(a)) for a in arrays)
    already = [i for i, a in enumerate(arrays) if _non_finite(a)]
    cause = (f"input(s) {already} already held non-finite values" if already
             else "all of its inputs were finite")
    raise AnomalyError(f"{node.name} (inputs of shapes {shapes}) produced {bad} in its forward pass; "
                       f"{cause}. Created at {user_frame(node.created_at)}")


def check_backward(node, grads, output_shape) -> None:
    """Raise if the gradients ``node`` hands to its inputs are not finite."""
    for i, g in enumerate(grads):
        bad = None if g is None else _non_finite(getattr(g, "data", g))
        if bad is not None:
            shapes = ", ".join(str(x.shape) for x in node.inputs)
            where = getattr(node, "created_at", None)
            site = user_frame(where) if where is not None else "(created outside anomaly mode)"
            raise AnomalyError(f"{node.name} (inputs of shapes {shapes}, output {output_shape}) produced {bad} "
                               f"in the gradient of input {i} during backward. Created at {site}")
