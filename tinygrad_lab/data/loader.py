"""Mini-batch iteration with reproducible per-epoch shuffling."""

from __future__ import annotations

import numbers
from collections.abc import Iterator
from typing import Any

import numpy as np

from tinygrad_lab import random

__all__ = ["batches", "DataLoader"]


def _check_inputs(x: np.ndarray, y: np.ndarray, batch_size: int) -> None:
    """Reject a non-positive or non-integer batch size and inputs of different lengths."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral) or batch_size < 1:
        raise ValueError(f"batch_size must be an integer >= 1, got {batch_size!r}")
    if len(x) != len(y):
        raise ValueError(f"x and y must have the same length, got len(x)={len(x)} and len(y)={len(y)}")


def batches(
    x: np.ndarray,
    y: np.ndarray,
    batch_size: int,
    rng: np.random.Generator | None = None,
    shuffle: bool = True,
    drop_last: bool = False,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield ``(x_batch, y_batch)`` pairs covering every sample once.

    With ``shuffle=True`` the order is a permutation drawn from ``rng`` (a
    default generator of :func:`tinygrad_lab.manual_seed` when ``rng`` is
    None). ``drop_last=True`` skips a final batch smaller than
    ``batch_size``. Inputs are validated when the function is called.
    """
    x, y = np.asarray(x), np.asarray(y)
    _check_inputs(x, y, batch_size)
    order = random.generator(rng).permutation(len(x)) if shuffle else None
    return _iterate(x, y, batch_size, order, drop_last)


def _iterate(
    x: np.ndarray, y: np.ndarray, batch_size: int, order: np.ndarray | None, drop_last: bool
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """The generator behind :func:`batches`; ``order`` is a permutation or None for sequential."""
    stop = len(x) - len(x) % batch_size if drop_last else len(x)
    for start in range(0, stop, batch_size):
        picked = slice(start, start + batch_size) if order is None else order[start:start + batch_size]
        yield x[picked], y[picked]


class DataLoader:
    """Iterate over ``(x, y)`` in mini-batches, one epoch per ``iter()``, reshuffled each epoch.

    Shuffling draws from a ``numpy.random.Generator`` (``rng``, or one seeded
    with ``seed``). :meth:`state_dict` / :meth:`load_state_dict` save and
    restore the generator and epoch counter, so a run resumed from a
    checkpoint taken between epochs sees the same future batches.
    """

    def __init__(
        self,
        x: np.ndarray,
        y: np.ndarray,
        batch_size: int,
        *,
        seed: int | None = 0,
        rng: np.random.Generator | None = None,
        shuffle: bool = True,
        drop_last: bool = False,
    ):
        self.x, self.y = np.asarray(x), np.asarray(y)
        _check_inputs(self.x, self.y, batch_size)
        self.batch_size = batch_size
        self.rng = rng if rng is not None else np.random.default_rng(seed)
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.epoch = 0

    def __len__(self) -> int:
        """Number of batches per epoch."""
        full, rest = divmod(len(self.x), self.batch_size)
        return full + (1 if rest and not self.drop_last else 0)

    def __iter__(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Start the next epoch: draw its order now and return its batches."""
        self.epoch += 1
        return batches(self.x, self.y, self.batch_size, self.rng, self.shuffle, self.drop_last)

    def state_dict(self) -> dict[str, Any]:
        """The generator state and number of epochs started, for checkpointing."""
        return {"epoch": self.epoch, "rng_state": self.rng.bit_generator.state}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""
        self.epoch = state["epoch"]
        self.rng.bit_generator.state = state["rng_state"]
