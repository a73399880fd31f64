"""The autograd modes of the current thread: grad mode, anomaly mode and the forward-mode level;
and the process-wide count of edits that a captured step's guard reads (:class:`Edits`).

PyTorch keeps these per thread, and so do we: one :class:`Modes` object per thread
(``threading.local``), so that one thread's ``with no_grad():`` or ``detect_anomaly()`` never
changes what another thread records.  A new thread starts with the defaults (grad on, anomaly off,
no dual level).  Other modules change the modes only through the functions below; the hot path
(:meth:`Function.apply <tinygrad_lab.function.Function.apply>`, the backward engine) reads the
fields of :data:`MODES` directly, one attribute lookup instead of a call per op.
"""
from __future__ import annotations

import contextlib
import itertools
import threading
from typing import Iterator


class Modes(threading.local):
    """The current thread's modes (class attributes are the defaults a new thread sees)."""

    grad_enabled = True
    anomaly_enabled = False
    #: while a dual level is open, id(tensor) -> (tensor, tangent) for every dual tensor; else None
    tangents: dict | None = None
    #: while :func:`tinygrad_lab.capture` records a step, its recorder (told of the step's
    #: ``zero_grad``, ``backward``, ``clip_grad_norm_`` and optimizer step); else None
    recorder = None


#: this thread's modes (a ``threading.local``: each thread reads and writes its own fields)
MODES = Modes()


def current_modes() -> Modes:
    """This thread's :class:`Modes` (read its fields; change them only with the functions below)."""
    return MODES


def is_grad_enabled() -> bool:
    """Whether ops record the graph in this thread (False inside ``no_grad()``)."""
    return MODES.grad_enabled


def is_anomaly_enabled() -> bool:
    """Whether anomaly detection is on in this thread (inside ``detect_anomaly()``)."""
    return MODES.anomaly_enabled


def dual_tangents() -> dict | None:
    """The open dual level's tangent table in this thread, or None outside ``dual_level()``."""
    return MODES.tangents


class set_grad_enabled:
    """Turn graph recording on or off in this thread, as ``torch.set_grad_enabled``.

    As a plain call it takes effect at once and stays (``set_grad_enabled(False)``); as a context
    manager (``with set_grad_enabled(False):``) the previous mode comes back when the block ends.
    """

    def __init__(self, enabled: bool):
        self.previous = MODES.grad_enabled
        MODES.grad_enabled = bool(enabled)

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc) -> None:
        MODES.grad_enabled = self.previous


class _GradModeBlock(contextlib.ContextDecorator):
    """``with no_grad():`` / ``@no_grad()``: a grad mode for the block, restored afterwards."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.previous: list[bool] = []

    def __enter__(self) -> None:
        self.previous.append(MODES.grad_enabled)
        MODES.grad_enabled = self.enabled

    def __exit__(self, *exc) -> None:
        MODES.grad_enabled = self.previous.pop()

    def _recreate_cm(self) -> "_GradModeBlock":
        # as a decorator, a fresh block per call: threads calling the function at once must not
        # share one stack of previous modes
        return _GradModeBlock(self.enabled)


def no_grad() -> _GradModeBlock:
    """Context (or decorator) in which ops record no graph: for evaluation and parameter updates."""
    return _GradModeBlock(False)


def enable_grad() -> _GradModeBlock:
    """Context (or decorator) in which ops record the graph, even inside ``no_grad()``."""
    return _GradModeBlock(True)


@contextlib.contextmanager
def anomaly_mode(enabled: bool) -> Iterator[None]:
    """Anomaly detection on or off in this thread inside the block."""
    previous, MODES.anomaly_enabled = MODES.anomaly_enabled, bool(enabled)
    try:
        yield
    finally:
        MODES.anomaly_enabled = previous


@contextlib.contextmanager
def recording(recorder) -> Iterator[None]:
    """Tell ``recorder`` what this thread's code does inside the block (see :mod:`tinygrad_lab.capture`)."""
    previous, MODES.recorder = MODES.recorder, recorder
    try:
        yield
    finally:
        MODES.recorder = previous


class Edits:
    """Stamps of the last edit, in any thread, of what a captured step's recording reads besides its
    arguments: ``modules`` of a module's attributes (a sub-module, a parameter, a setting, its
    ``training`` flag) or of a ``Sequential``'s layer list, ``groups`` of the parameter groups (a new
    optimizer or ``add_param_group``), ``tensors`` of an in-place write into a tensor (``copy_``,
    ``.data = …``).  Each stamp is a new number, so a guard that kept the stamps it saw knows, in a
    few comparisons, whether anything may have changed since.  ``effects`` counts the state changes
    made by graph nodes (BatchNorm's running statistics, Dropout's generator), so a recording can
    check that every one of them happened inside the graph it replays."""

    modules = 0
    groups = 0
    tensors = 0
    effects = 0


_EDITS = Edits()
_STAMPS = itertools.count(1)  # next() is atomic: two threads editing at once get different stamps
_EFFECTS = itertools.count(1)


def edits() -> Edits:
    """The :class:`Edits` stamps (read them; change them only with the functions below)."""
    return _EDITS


def module_edited() -> None:
    """Note that a module's attributes or a ``Sequential``'s layers changed."""
    _EDITS.modules = next(_STAMPS)


def groups_edited() -> None:
    """Note that an optimizer's parameter groups were made or extended."""
    _EDITS.groups = next(_STAMPS)


def tensor_written() -> None:
    """Note that a tensor's values were written in place by ``copy_`` or ``.data = …``."""
    _EDITS.tensors = next(_STAMPS)


def effect_made() -> None:
    """Count a state change made by a graph node's forward pass (outside the tensors it returns)."""
    _EDITS.effects = next(_EFFECTS)


@contextlib.contextmanager
def dual_level_mode() -> Iterator[None]:
    """A fresh tangent table for this thread inside the block (see :mod:`tinygrad_lab.forward_ad`)."""
    previous, MODES.tangents = MODES.tangents, {}
    try:
        yield
    finally:
        MODES.tangents = previous


__all__ = ["Edits", "MODES", "Modes", "anomaly_mode", "current_modes", "dual_level_mode", "dual_tangents", "edits",
           "effect_made", "enable_grad", "groups_edited", "is_anomaly_enabled", "is_grad_enabled", "module_edited",
           "no_grad", "recording", "set_grad_enabled", "tensor_written"]
