"""Hypothesis strategies for testing ops and layers, reusable in your own tests;
:func:`check_op`, the one-call property test for an op of your own; and :func:`check_backprop` /
:func:`assert_backprop`, which check a hand-written backprop and name its mistake
(:mod:`tinygrad_lab.check_backprop`).

Gradient checks fail at kinks by design, so values are *moved away* from kinks (relu at 0, ties in
max, the poles of log and 1/x) by a deterministic map rather than filtered out: filtering would
reject most examples.

    from hypothesis import given
    from tinygrad_lab.testing import arrays, shapes, away_from

    @given(arrays(shapes()))
    def test_my_op(x):
        x = away_from(x, [0.0])
        ...
"""
from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from tinygrad_lab.check_backprop import CheckReport, assert_backprop, check_backprop
from tinygrad_lab.gradcheck import away_from

#: values are drawn from [-VALUE_RANGE, VALUE_RANGE]: large enough to exercise sign changes and
#: saturation, small enough that exp/pow stay well conditioned
VALUE_RANGE = 2.0


def shapes(min_dims: int = 0, max_dims: int = 3, min_side: int = 1, max_side: int = 4):
    """Array shapes, size-1 dimensions included."""
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side)


def broadcastable_shapes(num_shapes: int = 2, min_dims: int = 0, max_dims: int = 3, max_side: int = 4):
    """A tuple of ``num_shapes`` shapes that broadcast together (numpy rules: missing leading dims
    and size-1 dims stretch)."""
    return hnp.mutually_broadcastable_shapes(num_shapes=num_shapes, min_dims=min_dims,
                                             max_dims=max_dims, max_side=max_side).map(lambda r: r.input_shapes)


def arrays(shape, dtype=np.float64, low: float = -VALUE_RANGE, high: float = VALUE_RANGE):
    """Finite float arrays of ``shape`` (a tuple or a strategy of shapes) with values in [low, high]."""
    width = 32 if np.dtype(dtype) == np.float32 else 64
    elements = st.floats(low, high, allow_nan=False, allow_infinity=False, allow_subnormal=False, width=width)
    return hnp.arrays(dtype, shape, elements=elements)


def positive(x: np.ndarray, low: float = 0.5) -> np.ndarray:
    """|x| + low: a domain for log, sqrt, and the base of a real power."""
    return np.abs(x) + low


def nonzero(x: np.ndarray, low: float = 0.5) -> np.ndarray:
    """x pushed out of (−low, low), keeping its sign: a domain for divisors."""
    return np.where(x >= 0, x + low, x - low)


def distinct(x: np.ndarray, gap: float = 0.05) -> np.ndarray:
    """x + gap·rank(x): all values distinct, neighbours at least ``gap`` apart (no ties for max/min)."""
    flat = np.asarray(x, dtype=np.float64).reshape(-1)
    ranks = np.empty(flat.size)
    ranks[np.argsort(flat, kind="stable")] = np.arange(flat.size)
    return (flat + gap * ranks).reshape(np.shape(x)).astype(np.asarray(x).dtype)


@st.composite
def op_inputs(draw, case):
    """Inputs (arrays, params) for one :class:`tinygrad_lab.op_catalogue.OpCase`."""
    shapes_, params = case.build(lambda lo, hi: draw(st.integers(lo, hi)))
    raw = [draw(arrays(s)) for s in shapes_]
    return case.prepare(*raw), params


def check_op(fn, n_inputs: int = 1, shape=None, prepare=None, max_examples: int = 25,
             second_order: bool = True, forward_mode: bool = True) -> None:
    """Property-test the op ``fn(*tensors)`` on Hypothesis inputs in float64, in one call:

    * gradcheck: backward against central differences (first derivatives);
    * gradgradcheck: the backward of backward (second derivatives; ``second_order=False`` skips it);
    * forward mode: the jvp (one dual-number pass, :func:`tinygrad_lab.func.jvp`) against the
      directional difference (f(x + hv) − f(x − hv)) / 2h (``forward_mode=False`` skips it).

    ``n_inputs`` arrays of one shape drawn from ``shape`` (default :func:`shapes`), values in [−2, 2]
    mapped into the op's domain by ``prepare(*arrays) -> list of arrays`` (e.g. ``lambda x: [positive(x)]``;
    see :func:`away_from` for kinks).  Raises on the first failing example, which Hypothesis shrinks
    and prints.  Put it in a test of your own: ``def test_swish(): check_op(swish)``.
    """
    from tinygrad_lab.func import jvp
    from tinygrad_lab.gradcheck import gradcheck, gradgradcheck
    from tinygrad_lab.tensor import Tensor, no_grad

    shape = shapes() if shape is None else shape
    inputs = shape.flatmap(lambda s: st.tuples(*[arrays(s)] * n_inputs))

    @settings(max_examples=max_examples, deadline=None, database=None)
    @given(inputs)
    def check(raw):
        values = [np.asarray(a, dtype=np.float64) for a in (prepare(*raw) if prepare else raw)]
        tensors = [Tensor(a, requires_grad=True) for a in values]
        assert gradcheck(fn, tensors)
        if second_order:
            assert gradgradcheck(fn, tensors)
        if forward_mode:
            vs = [np.random.default_rng(0).standard_normal(a.shape) for a in values]
            try:
                _, dy = jvp(fn, tuple(Tensor(a) for a in values), tuple(vs))
            except NotImplementedError as e:  # re-raised here: the engine's frames say nothing more
                raise NotImplementedError(f"{e}; write its jvp, or pass check_op(..., forward_mode=False) "
                                          "to test the backward pass only") from None
            h = 1e-6
            with no_grad():
                plus = fn(*(Tensor(a + h * v) for a, v in zip(values, vs))).data
                minus = fn(*(Tensor(a - h * v) for a, v in zip(values, vs))).data
            difference = (plus - minus) / (2 * h)
            if not np.allclose(dy.data, difference, rtol=1e-3, atol=1e-5):  # our message, no numpy frames
                raise AssertionError(f"forward mode: jvp differs from the directional difference (rtol 1e-3, "
                                     f"atol 1e-5): jvp {np.array2string(dy.data, precision=6)}, difference "
                                     f"{np.array2string(difference, precision=6)}")

    check()


__all__ = ["VALUE_RANGE", "shapes", "broadcastable_shapes", "arrays", "away_from", "positive", "nonzero",
           "distinct", "op_inputs", "check_op", "CheckReport", "check_backprop", "assert_backprop"]
