"""Weight initializers, in place on a Parameter, each drawing from a seeded numpy Generator.

With n_in = fan-in (inputs per unit) and n_out = fan-out, each function has PyTorch's meaning:

* Xavier / Glorot (``xavier_normal_``): W ~ N(0, 2/(n_in + n_out)), Glorot & Bengio's average of
  the forward and backward conditions;
* LeCun (``lecun_normal_``):            W ~ N(0, 1/n_in), the fan-in form of the same argument
  (std 1/√n_in keeps Var(z) = Var(a) for linear/tanh units); Deep Learning from Scratch and many
  course notes call it "Xavier";
* He / MSRA (``he_normal_``, PyTorch's ``kaiming_normal_``): W ~ N(0, 2/n_in) (ReLU zeroes half
  the inputs, so twice the variance).

Uniform versions draw from U(−a, a) with a = √3 · std, which has the same variance.  The names the
CLI and ``Linear(init=...)`` accept are the one table :data:`INITIALIZERS`, one meaning per name, as
the functions': ``"xavier"`` and ``"glorot"`` are Glorot's N(0, 2/(n_in + n_out)), ``"lecun"`` is
N(0, 1/n_in) (``Linear``'s default).
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from tinygrad_lab import random

FAN_MODES = ("fan_in", "fan_avg")


def _rng(rng: np.random.Generator | None) -> np.random.Generator:
    """``rng``, or the default generator (:func:`tinygrad_lab.manual_seed`) when it is None."""
    return random.generator(rng)


def fans(shape) -> tuple[int, int]:
    """(n_in, n_out) of a weight: a Linear weight of shape (out, in) has n_in = in, n_out = out."""
    if len(shape) < 2:
        raise ValueError(f"fan-in/fan-out need a weight with at least 2 dimensions, got shape {shape}")
    receptive = int(np.prod(shape[2:]))
    return shape[1] * receptive, shape[0] * receptive


def _finite(name: str, value) -> float:
    """``value`` as a finite float, or a ValueError naming the initializer's argument."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return float(value)


def _fill(param, values: np.ndarray):
    """Write ``values`` into the parameter in place (bumping its version: a graph built from the
    old weights refuses to backpropagate instead of silently using the new ones)."""
    return param.copy_(values)


def constant_(param, value: float, rng: np.random.Generator | None = None):
    """W = value everywhere (``rng`` is accepted, like every initializer's, and unused)."""
    return _fill(param, _finite("constant_: value", value))


def zeros_(param, rng: np.random.Generator | None = None):
    """W = 0 (the homework's θ = 0)."""
    return constant_(param, 0.0)


def normal_(param, std: float = 1.0, mean: float = 0.0, rng: np.random.Generator | None = None):
    """W ~ N(mean, std²): the "std 1" and "std 0.01" experiments."""
    if _finite("normal_: std", std) < 0:
        raise ValueError(f"normal_: std must be >= 0, got {std}")
    _finite("normal_: mean", mean)
    return _fill(param, _rng(rng).normal(mean, std, param.shape))


def uniform_(param, low: float = 0.0, high: float = 1.0, rng: np.random.Generator | None = None):
    """W ~ U(low, high)."""
    if not _finite("uniform_: low", low) <= _finite("uniform_: high", high):
        raise ValueError(f"uniform_: need low <= high, got low={low}, high={high}")
    return _fill(param, _rng(rng).uniform(low, high, param.shape))


def _std(shape, gain_sq: float, mode: str) -> float:
    if mode not in FAN_MODES:
        raise ValueError(f"mode must be one of {FAN_MODES}, got {mode!r}")
    n_in, n_out = fans(shape)
    return float(np.sqrt(gain_sq / n_in if mode == "fan_in" else 2 * gain_sq / (n_in + n_out)))


def xavier_normal_(param, mode: str = "fan_avg", rng: np.random.Generator | None = None):
    """Xavier / Glorot as PyTorch's ``xavier_normal_``: W ~ N(0, 2/(n_in + n_out));
    ``mode="fan_in"``: N(0, 1/n_in) (that is :func:`lecun_normal_`)."""
    return normal_(param, _std(param.shape, 1.0, mode), rng=rng)


def xavier_uniform_(param, mode: str = "fan_avg", rng: np.random.Generator | None = None):
    """Xavier / Glorot, uniform, as PyTorch's ``xavier_uniform_``: U(−a, a), a = √(6/(n_in + n_out))."""
    a = np.sqrt(3.0) * _std(param.shape, 1.0, mode)
    return uniform_(param, -a, a, rng=rng)


def lecun_normal_(param, rng: np.random.Generator | None = None):
    """LeCun: W ~ N(0, 1/n_in), the fan-in form (``--init lecun``; the "Xavier" of Deep Learning from
    Scratch)."""
    return xavier_normal_(param, mode="fan_in", rng=rng)


def lecun_uniform_(param, rng: np.random.Generator | None = None):
    """LeCun, uniform: U(−a, a), a = √(3/n_in)."""
    return xavier_uniform_(param, mode="fan_in", rng=rng)


def he_normal_(param, mode: str = "fan_in", rng: np.random.Generator | None = None):
    """He / MSRA: W ~ N(0, 2/n_in) (PyTorch's ``kaiming_normal_``); ``mode="fan_avg"``: N(0, 4/(n_in + n_out))."""
    return normal_(param, _std(param.shape, 2.0, mode), rng=rng)


def he_uniform_(param, mode: str = "fan_in", rng: np.random.Generator | None = None):
    """He / MSRA, uniform: U(−a, a) with a = √(6/n_in)."""
    a = np.sqrt(3.0) * _std(param.shape, 2.0, mode)
    return uniform_(param, -a, a, rng=rng)


msra_normal_ = he_normal_
msra_uniform_ = he_uniform_
kaiming_normal_ = he_normal_      # PyTorch's name
kaiming_uniform_ = he_uniform_

INITIALIZERS: dict[str, Callable] = {
    "zeros": zeros_,
    "lecun": lecun_normal_, "lecun_normal": lecun_normal_, "lecun_uniform": lecun_uniform_,
    "xavier": xavier_normal_, "xavier_normal": xavier_normal_, "xavier_uniform": xavier_uniform_,
    "glorot": xavier_normal_, "glorot_normal": xavier_normal_, "glorot_uniform": xavier_uniform_,
    "he": he_normal_, "he_normal": he_normal_, "he_uniform": he_uniform_,
    "msra": he_normal_, "msra_normal": he_normal_, "msra_uniform": he_uniform_,
    "kaiming": he_normal_, "kaiming_normal": he_normal_, "kaiming_uniform": he_uniform_,
}


def known_inits() -> str:
    """Every spec :func:`get_initializer` accepts, as one line (for help texts and errors)."""
    return ", ".join(sorted(INITIALIZERS)) + ", normal:STD, constant:VALUE"


def get_initializer(spec) -> Callable:
    """An initializer ``f(param, rng=...)`` from a name, ``"normal:STD"``, ``"constant:VALUE"``
    or a callable.

    Names: zeros, lecun (= lecun_normal: N(0, 1/n_in)), lecun_uniform, xavier (= xavier_normal =
    glorot = glorot_normal: Glorot's N(0, 2/(n_in + n_out))), xavier_uniform (= glorot_uniform),
    he / msra / kaiming (= he_normal), he_uniform (= msra_uniform, kaiming_uniform), normal:0.01,
    constant:0.5.
    """
    if callable(spec):
        return spec
    if not isinstance(spec, str):
        raise TypeError(f"init must be a name or a callable, got {spec!r}")
    name, _, arg = spec.partition(":")
    if name in ("normal", "constant"):
        try:
            value = float(arg) if arg else (1.0 if name == "normal" else 0.0)
        except ValueError:
            raise ValueError(f"init {spec!r}: {arg!r} is not a number") from None
        if name == "normal":
            return lambda p, rng=None: normal_(p, value, rng=rng)
        return lambda p, rng=None: constant_(p, value)
    if name not in INITIALIZERS or arg:
        raise ValueError(f"unknown init {spec!r}; known: {known_inits()}")
    return INITIALIZERS[name]
