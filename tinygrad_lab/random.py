"""The default random generator: where every draw goes when no ``rng``/``seed``/``generator`` is given.

Initializers, ``Linear``/``MLP`` weights, ``Dropout`` masks, ``nn.functional.dropout``, ``randn``
and the shuffling of :func:`~tinygrad_lab.data.batches` draw from one numpy ``Generator`` unless
they are handed one of their own.  :func:`manual_seed` resets it, as ``torch.manual_seed`` resets
PyTorch's default generator: ``manual_seed(0)`` before building a model twice gives the same model.
"""
from __future__ import annotations

import numpy as np

__all__ = ["default_generator", "generator", "manual_seed"]

_DEFAULT = np.random.default_rng()


def manual_seed(seed: int) -> np.random.Generator:
    """Reset the default generator to the stream of ``np.random.default_rng(seed)``, in place (layers
    that hold it see the new stream), and return it."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"manual_seed: the seed must be a non-negative integer, got {seed!r}")
    _DEFAULT.bit_generator.state = np.random.default_rng(int(seed)).bit_generator.state
    return _DEFAULT


def default_generator() -> np.random.Generator:
    """The generator used wherever none is passed."""
    return _DEFAULT


def generator(rng: np.random.Generator | None = None, seed: int | None = None, what: str = "rng") -> np.random.Generator:
    """``rng`` if given, else ``np.random.default_rng(seed)`` if a seed is given, else the default
    generator; anything but a numpy Generator as ``rng`` is refused, naming ``what``."""
    if rng is not None:
        if not isinstance(rng, np.random.Generator):
            raise TypeError(f"{what} must be a numpy.random.Generator (np.random.default_rng(seed)), "
                            f"got {type(rng).__name__}")
        return rng
    return np.random.default_rng(seed) if seed is not None else _DEFAULT
