"""Class 2: the graph never reads an array the caller still owns.

Each probe builds a graph, then changes the caller's array in place, then runs backward: the
gradient must be the one of the values at forward time.  ``Tensor.from_numpy`` is the one explicit
way to share memory.
"""
from __future__ import annotations

import numpy as np
import pytest

import tinygrad_lab as tl
from tinygrad_lab import Tensor, nn, ops
from tinygrad_lab.forward_ad import dual_level, make_dual, tangent_of


def test_tensor_copies_its_array():
    a = np.array([1.0, 2.0])
    x = Tensor(a, requires_grad=True)
    y = (x * x).sum()
    a[:] = 10
    y.backward()
    np.testing.assert_array_equal(x.grad.data, [2, 4])
    np.testing.assert_array_equal(x.data, [1, 2])


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
def test_tensor_copies_with_and_without_dtype(dtype):
    a = np.array([1, 2], dtype=dtype)
    for t in (Tensor(a), Tensor(a, dtype=np.float64), Tensor(a, dtype=np.float32)):
        assert not np.shares_memory(t.data, a)


def test_tensor_of_a_tensor_copies():
    x = Tensor([1.0, 2.0])
    y = Tensor(x)
    assert not np.shares_memory(x.data, y.data)


def test_from_numpy_shares_memory_explicitly():
    a = np.array([1.0, 2.0])
    x = Tensor.from_numpy(a, requires_grad=True)
    a[0] = 5.0
    assert x.data[0] == 5.0 and x.requires_grad


@pytest.mark.parametrize("bad", [np.array([1, 2]), [1.0, 2.0]])
def test_from_numpy_refuses_what_it_cannot_share(bad):
    with pytest.raises(TypeError, match="from_numpy needs a float32 or float64 numpy array"):
        Tensor.from_numpy(bad)


def test_two_parameters_from_one_array_are_independent():
    a = np.array([1.0, 2.0])
    p, q = nn.Parameter(a), nn.Parameter(a)
    opt = tl.optim.SGD([p, q], lr=1.0)
    (p.sum() + 2 * q.sum()).backward()
    opt.step()
    np.testing.assert_array_equal(p.data, [0, 1])
    np.testing.assert_array_equal(q.data, [-1, 0])
    np.testing.assert_array_equal(a, [1, 2])


CONSTANT_OPS = {
    "mul": lambda x, c: x * c, "rmul": lambda x, c: c * x, "div": lambda x, c: x / c,
    "rdiv": lambda x, c: c / x, "sub": lambda x, c: c - x, "pow": lambda x, c: ops.pow(x, c),
    "maximum": lambda x, c: ops.maximum(x, c), "matmul": lambda x, c: x.reshape(1, 2) @ c.reshape(2, 1),
    "where-branch": lambda x, c: ops.where(np.array([True, False]), x * c, c * c),
}


@pytest.mark.parametrize("name", sorted(CONSTANT_OPS))
def test_constant_operand_changed_after_forward(name):
    fn = CONSTANT_OPS[name]
    c = np.array([2.0, 3.0])
    x = Tensor([1.5, 0.5], requires_grad=True)
    fn(x, c).sum().backward()
    expected = x.grad.data.copy()
    x2 = Tensor([1.5, 0.5], requires_grad=True)
    y = fn(x2, c).sum()
    c[:] = [7.0, -1.0]
    y.backward()
    np.testing.assert_array_equal(x2.grad.data, expected)


@pytest.mark.parametrize("kind", ["list", "array", "array-in-tuple", "bool mask"])
def test_index_changed_after_forward(kind):
    index = {"list": [0, 0, 1], "array": np.array([0, 0, 1]), "array-in-tuple": np.array([0, 0, 1]),
             "bool mask": np.array([True, False, True])}[kind]
    x = Tensor(np.arange(3.0), requires_grad=True)
    y = x[(index,)] if kind == "array-in-tuple" else x[index]
    expected = np.zeros(3)
    np.add.at(expected, np.array(index) if kind != "bool mask" else np.nonzero(index), 1.0)
    if isinstance(index, list):
        index[:] = [2, 2, 2]
    else:
        index[...] = index[::-1] if kind != "bool mask" else [False, True, False]
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.data, expected)


def test_where_condition_changed_after_forward():
    cond = np.array([True, False])
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = ops.where(cond, x, 0.0).sum()
    cond[:] = [False, True]
    y.backward()
    np.testing.assert_array_equal(x.grad.data, [1, 0])


def test_clip_bounds_changed_after_forward():
    lo = np.array([0.0, 0.0])
    x = Tensor([0.5, -0.5], requires_grad=True)
    y = ops.clip(x, lo, 1.0).sum()
    lo[:] = 10.0
    y.backward()
    np.testing.assert_array_equal(x.grad.data, [1, 0])


def test_cross_entropy_targets_changed_after_forward():
    targets = np.array([0, 1])
    x = Tensor(np.zeros((2, 3)), requires_grad=True)
    tl.cross_entropy(x, targets).backward()
    expected = x.grad.data.copy()
    x.grad = None
    loss = tl.cross_entropy(x, targets)
    targets[:] = 2
    loss.backward()
    np.testing.assert_array_equal(x.grad.data, expected)


def test_mse_target_changed_after_forward():
    t = np.array([1.0, 2.0])
    y = Tensor([0.0, 0.0], requires_grad=True)
    loss = tl.mse_loss(y, t)
    t[:] = 100
    loss.backward()
    np.testing.assert_array_equal(y.grad.data, [-1, -2])


def test_backward_seed_changed_after_backward_does_not_change_grad():
    seed = np.array([1.0, 1.0])
    x = Tensor([1.0, 2.0], requires_grad=True)
    (x * 1.0).backward(seed)
    seed[:] = 5
    np.testing.assert_array_equal(x.grad.data, [1, 1])


def test_dual_tangent_changed_after_make_dual():
    tangent = np.array([1.0, 0.0])
    with dual_level():
        x = make_dual(np.array([2.0, 3.0]), tangent)
        tangent[:] = [0.0, 1.0]
        y = x * x
        np.testing.assert_array_equal(tangent_of(y), [4, 0])


def test_data_setter_copies():
    a = np.array([1.0, 2.0])
    x = Tensor([0.0, 0.0])
    x.data = a
    a[0] = 9
    assert x.data[0] == 1.0


def test_copy_source_is_not_kept():
    a = np.array([1.0, 2.0])
    x = Tensor([0.0, 0.0]).copy_(a)
    a[0] = 9
    assert x.data[0] == 1.0


def test_module_load_state_dict_copies():
    layer = nn.Linear(2, 1)
    state = layer.state_dict()
    layer.load_state_dict(state)
    state["weight"][...] = 42
    assert not np.any(layer.weight.data == 42)
