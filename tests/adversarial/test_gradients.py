"""Class 1: wrong gradients on valid input.

Every kink or boundary an op defines gets the value PyTorch gives (checked against torch when it is
installed, and against the documented table in docs/gradcheck.md always); away from the kinks the
gradient matches central differences; every gradient has its tensor's dtype.
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_lab as tl
from tinygrad_lab import Tensor, ops
from tinygrad_lab.gradcheck import gradcheck


def _torch():
    try:
        import torch as t
    except ImportError:  # pragma: no cover - torch is in the test extra
        return None
    return t


# (name, our function, torch's function, point(s), documented gradient(s) at the point)
EDGES = [
    ("pow 0 at 0", lambda x: x ** 0.0, lambda x: x ** 0.0, [0.0], [0.0]),
    ("pow 1 at 0", lambda x: x ** 1.0, lambda x: x ** 1.0, [0.0], [1.0]),
    ("pow 2 at 0", lambda x: x ** 2.0, lambda x: x ** 2.0, [0.0], [0.0]),
    ("pow 0.5 at 0", lambda x: x ** 0.5, lambda x: x ** 0.5, [0.0], [np.inf]),
    ("pow -1 at 0", lambda x: x ** -1.0, lambda x: x ** -1.0, [0.0], [-np.inf]),
    ("sqrt at 0", ops.sqrt, lambda x: x.sqrt(), [0.0], [np.inf]),
    ("abs at 0", ops.abs, lambda x: x.abs(), [0.0, -0.0], [0.0, 0.0]),
    ("log at 0", ops.log, lambda x: x.log(), [0.0], [np.inf]),
    ("relu at 0", ops.relu, lambda x: x.relu(), [0.0], [0.0]),
    ("clip at lower bound", lambda x: ops.clip(x, -1.0, 1.0), lambda x: x.clamp(-1.0, 1.0), [-1.0], [1.0]),
    ("clip at upper bound", lambda x: ops.clip(x, -1.0, 1.0), lambda x: x.clamp(-1.0, 1.0), [1.0], [1.0]),
    ("clip outside", lambda x: ops.clip(x, -1.0, 1.0), lambda x: x.clamp(-1.0, 1.0), [-2.0, 2.0], [0.0, 0.0]),
    ("max tie (full reduction)", lambda x: x.max(), lambda x: x.max(), [1.0, 1.0, 0.0], [0.5, 0.5, 0.0]),
    ("min tie (full reduction)", lambda x: x.min(), lambda x: x.min(), [0.0, 2.0, 0.0], [0.5, 0.0, 0.5]),
    ("max tie along an axis", lambda x: x.reshape(1, 3).max(axis=1),
     lambda x: x.reshape(1, 3).amax(dim=1), [3.0, 3.0, 3.0], [1 / 3, 1 / 3, 1 / 3]),
    ("maximum tie", lambda x: ops.maximum(x, Tensor(np.array([1.0, 2.0]))),
     lambda x: x.maximum(_torch().tensor([1.0, 2.0], dtype=_torch().float64)), [1.0, 3.0], [0.5, 1.0]),
    ("sigmoid at 0", ops.sigmoid, lambda x: x.sigmoid(), [0.0], [0.25]),
    ("tanh at 0", ops.tanh, lambda x: x.tanh(), [0.0], [1.0]),
    ("exp at 0", ops.exp, lambda x: x.exp(), [0.0], [1.0]),
    ("div by 0", lambda x: 1.0 / x, lambda x: 1.0 / x, [0.0], [-np.inf]),
]


def _ours(fn, point):
    x = Tensor(np.array(point), requires_grad=True)
    with np.errstate(all="ignore"):
        fn(x).sum().backward()
    return x.grad.data


@pytest.mark.parametrize("name, ours, theirs, point, documented", EDGES, ids=[e[0] for e in EDGES])
def test_gradient_at_the_kink_is_the_documented_one(name, ours, theirs, point, documented):
    np.testing.assert_array_equal(_ours(ours, point), documented)


@pytest.mark.parametrize("name, ours, theirs, point, documented", EDGES, ids=[e[0] for e in EDGES])
def test_gradient_at_the_kink_matches_pytorch(name, ours, theirs, point, documented):
    t = _torch()
    if t is None:
        pytest.skip("torch is not installed")
    x = t.tensor(point, dtype=t.float64, requires_grad=True)
    theirs(x).sum().backward()
    np.testing.assert_array_equal(_ours(ours, point), x.grad.numpy())


TENSOR_POW = [  # (a, b, ∂/∂a, ∂/∂b), PyTorch's values
    (0.0, 0.0, 0.0, 0.0), (0.0, 2.0, 0.0, 0.0), (0.0, 1.0, 1.0, 0.0), (2.0, 0.0, 0.0, np.log(2.0)),
    (0.0, 0.5, np.inf, 0.0),
]


@pytest.mark.parametrize("a, b, ga, gb", TENSOR_POW)
def test_tensor_pow_at_zero(a, b, ga, gb):
    ta, tb = Tensor([a], requires_grad=True), Tensor([b], requires_grad=True)
    with np.errstate(all="ignore"):
        (ta ** tb).sum().backward()
    np.testing.assert_allclose([ta.grad.data[0], tb.grad.data[0]], [ga, gb])
    t = _torch()
    if t is not None:
        xa, xb = (t.tensor([v], dtype=t.float64, requires_grad=True) for v in (a, b))
        (xa ** xb).sum().backward()
        np.testing.assert_allclose([ta.grad.data[0], tb.grad.data[0]], [xa.grad.item(), xb.grad.item()])


SMOOTH = [  # central differences away from every kink
    ("pow 0.5", lambda x: x ** 0.5, np.array([0.3, 1.7])),
    ("pow tensor", lambda x: x ** Tensor(np.array([0.0, 2.5])), np.array([0.4, 1.3])),
    ("sqrt", ops.sqrt, np.array([0.2, 3.0])),
    ("abs", ops.abs, np.array([-1.2, 0.4])),
    ("log", ops.log, np.array([0.1, 5.0])),
    ("clip", lambda x: ops.clip(x, -1.0, 1.0), np.array([-1.5, 0.3, 1.5])),
    ("max", lambda x: x.max(axis=0), np.array([[1.0, 2.0], [3.0, 0.5]])),
    ("maximum", lambda x: ops.maximum(x, Tensor(np.array([0.0, 1.0]))), np.array([0.5, 0.2])),
    ("getitem with a repeated tuple index", lambda x: x[(0, 0, 1), :], np.arange(6.0).reshape(3, 2)),
]


@pytest.mark.parametrize("name, fn, point", SMOOTH, ids=[s[0] for s in SMOOTH])
def test_gradient_away_from_kinks_matches_central_differences(name, fn, point):
    assert gradcheck(fn, [Tensor(point, requires_grad=True)])


def test_tuple_inside_an_index_accumulates_repeats():
    x = Tensor(np.ones((3, 2)), requires_grad=True)
    x[(0, 0), :].sum().backward()
    np.testing.assert_array_equal(x.grad.data, [[2, 2], [0, 0], [0, 0]])


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(-4, 3), min_size=0, max_size=6), st.sampled_from(["list", "tuple", "array"]))
def test_any_index_with_repeats_scatters_like_np_add_at(rows, kind):
    x = Tensor(np.arange(8.0).reshape(4, 2), requires_grad=True)
    index = {"list": list(rows), "tuple": tuple(rows), "array": np.array(rows, dtype=np.int64)}[kind]
    y = x[index, :] if kind != "tuple" else x[(index, slice(None))]
    y.backward(np.ones(y.shape))
    expected = np.zeros((4, 2))
    np.add.at(expected, (np.array(rows, dtype=np.intp), slice(None)), 1.0)
    np.testing.assert_array_equal(x.grad.data, expected)


DTYPE_OPS = [
    ("max", lambda x: x.max()), ("min", lambda x: x.min()), ("max axis", lambda x: x.max(axis=0)),
    ("maximum", lambda x: ops.maximum(x, 0.5)), ("clip", lambda x: ops.clip(x, 0.2, 0.8)),
    ("pow", lambda x: x ** 2), ("pow 0", lambda x: x ** 0), ("tensor pow", lambda x: x ** x),
    ("abs", ops.abs), ("where", lambda x: ops.where(x.data > 0.5, x, 0.0)), ("mean", lambda x: x.mean()),
    ("var", lambda x: x.var()), ("getitem", lambda x: x[[0, 0]]), ("sqrt", ops.sqrt), ("log", ops.log),
]


@pytest.mark.parametrize("name, fn", DTYPE_OPS, ids=[d[0] for d in DTYPE_OPS])
def test_float32_gradients_stay_float32(name, fn):
    x = Tensor(np.array([0.25, 0.75, 0.5], dtype=np.float32), requires_grad=True)
    y = fn(x)
    y.backward(np.ones(y.shape))
    assert x.grad.dtype == np.float32


def test_a_float64_seed_gives_a_float32_gradient():
    x = Tensor(np.array([1.0, 2.0], dtype=np.float32), requires_grad=True)
    (x * 2).backward(Tensor(np.ones(2)))
    assert x.grad.dtype == np.float32
    np.testing.assert_array_equal(x.grad.data, [2, 2])


def test_a_custom_op_returning_another_dtype_is_caught():
    class Bad(tl.function.Function, register=False):
        def forward(self, x):
            return x * 2

        def backward(self, gy, x, y):
            return np.asarray(gy, dtype=np.float64) * 2

    x = Tensor(np.ones(2, dtype=np.float32), requires_grad=True)
    with pytest.raises(AssertionError, match="float64 gradient for a float32 input"):
        Bad().apply(x).sum().backward()


def test_create_graph_gradient_shared_by_two_leaves_is_clipped_once():
    a, b = Tensor([3.0], requires_grad=True), Tensor([4.0], requires_grad=True)
    (a + b).sum().backward(create_graph=True)
    assert a.grad is not b.grad and not np.shares_memory(a.grad.data, b.grad.data)
    tl.optim.clip_grad_norm_([a, b], max_norm=1.0)
    np.testing.assert_allclose([a.grad.data[0], b.grad.data[0]], [1 / np.sqrt(2)] * 2, rtol=1e-5)
