"""Tensor basics, the backward engine's contract, and its error messages."""
import gc
import weakref

import numpy as np
import pytest

import tinygrad_lab as tl
from tinygrad_lab import Tensor, no_grad


def test_dtype_is_kept_and_python_data_is_float64():
    assert Tensor([1, 2]).dtype == np.float64
    assert Tensor(np.ones(2, np.float32)).dtype == np.float32
    x = Tensor(np.ones(3, np.float32), requires_grad=True)
    y = (x * 2.5 + 1).exp().sum()
    y.backward()
    assert y.dtype == np.float32 and x.grad.dtype == np.float32


def test_mixing_float32_and_float64_tensors_is_refused_with_shapes():
    a, b = Tensor(np.ones((2, 3), np.float32)), Tensor(np.ones(3))
    with pytest.raises(TypeError, match=r"float32 and float64.*\(2, 3\) and \(3,\)"):
        a + b


def test_non_numeric_data_is_refused():
    with pytest.raises(TypeError, match="dtype"):
        Tensor(np.array(["a"]))


def test_grad_accumulates_until_zeroed():
    x = Tensor([1.0, 2.0], requires_grad=True)
    (x * x).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [4.0, 8.0])
    x.zero_grad()
    (x * 3).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [3.0, 3.0])


def test_shared_gradient_arrays_are_not_aliased_between_leaves():
    a, b = Tensor([1.0], requires_grad=True), Tensor([2.0], requires_grad=True)
    (a + b).sum().backward()
    a.grad.data += 10
    assert b.grad.data[0] == 1.0


def test_broadcast_gradients_are_summed_back_to_each_input_shape():
    a = Tensor(np.ones((2, 3)), requires_grad=True)
    b = Tensor(np.ones((3,)), requires_grad=True)
    c = Tensor(np.ones((2, 1)), requires_grad=True)
    (a * b + c).sum().backward()
    assert b.grad.shape == (3,) and c.grad.shape == (2, 1)
    np.testing.assert_array_equal(b.grad.data, [2, 2, 2])
    np.testing.assert_array_equal(c.grad.data, [[3], [3]])


def test_backward_of_a_non_scalar_needs_a_grad():
    x = Tensor(np.ones((3, 4)), requires_grad=True)
    with pytest.raises(RuntimeError, match=r"shape \(3, 4\) needs grad"):
        (x * 2).backward()
    (x * 2).backward(np.ones((3, 4)))
    np.testing.assert_array_equal(x.grad.data, 2 * np.ones((3, 4)))


def test_backward_grad_of_the_wrong_shape_is_refused():
    x = Tensor(np.ones(3), requires_grad=True)
    with pytest.raises(ValueError, match=r"grad has shape \(2,\) but the output has shape \(3,\)"):
        (x * 2).backward(np.ones(2))


def test_backward_twice_needs_retain_graph():
    x = Tensor([3.0], requires_grad=True)
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="second time.*retain_graph=True"):
        y.backward()
    z = (x * x).sum()
    z.backward(retain_graph=True)
    z.backward()
    np.testing.assert_array_equal(x.grad.data, [6.0 + 6.0 + 6.0])


def test_backward_without_any_grad_requiring_input_is_an_error():
    with pytest.raises(RuntimeError, match="does not require grad"):
        (Tensor([1.0]) * 2).sum().backward()


def test_no_grad_records_no_graph():
    x = Tensor([1.0], requires_grad=True)
    with no_grad():
        y = x * 2
    assert y.creator is None and not y.requires_grad
    assert tl.is_grad_enabled()


def test_detach_cuts_the_graph_and_shares_data():
    x = Tensor([1.0, 2.0], requires_grad=True)
    d = (x * 2).detach()
    assert d.creator is None and not d.requires_grad
    assert d.numpy() is d.data


def test_graph_is_freed_after_backward():
    x = Tensor(np.ones(4), requires_grad=True)
    hidden = x.exp()
    ref = weakref.ref(hidden)
    loss = hidden.sum()
    del hidden
    loss.backward()
    gc.collect()
    assert ref() is None, "the intermediate tensor outlived backward()"


def test_deep_chain_backward_has_no_recursion_limit():
    x = Tensor([1.0], requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0
    y.sum().backward()
    assert x.grad.data[0] == 1.0


def test_diamond_graph_sums_both_paths():
    x = Tensor([2.0], requires_grad=True)
    y = x * x
    (y + y * 3).sum().backward()  # d/dx (4x²) = 8x
    assert x.grad.data[0] == 16.0


def test_reflected_operators_with_numpy_arrays_return_tensors():
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = np.array([3.0, 4.0]) * x + np.array([1.0, 1.0])
    assert isinstance(y, Tensor)
    (2.0 ** x).sum().backward()
    np.testing.assert_allclose(x.grad.data, np.log(2) * 2.0 ** np.array([1.0, 2.0]))


def test_indexing_with_integer_arrays_accumulates_repeats():
    x = Tensor(np.arange(4.0), requires_grad=True)
    x[np.array([0, 0, 3])].sum().backward()
    np.testing.assert_array_equal(x.grad.data, [2, 0, 0, 1])


def test_float_index_is_refused():
    with pytest.raises(IndexError, match="float64"):
        Tensor(np.arange(4.0))[np.array([0.0])]


@pytest.mark.parametrize("make, message", [
    (lambda: Tensor(np.ones((2, 3))) @ Tensor(np.ones((2, 3))), r"\(2, 3\) and \(2, 3\) are not aligned"),
    (lambda: Tensor(np.ones(3)) @ Tensor(np.ones((3, 1))), r"at least 2 dimensions.*\(3,\)"),
    (lambda: Tensor(np.ones((2, 3))) + Tensor(np.ones(4)), r"add: shapes \(2, 3\) and \(4,\) cannot be broadcast"),
    (lambda: Tensor(np.ones(6)).reshape(4, 2), r"shape \(6,\).*into shape \(4, 2\)"),
    (lambda: Tensor(np.ones((2, 2))).sum(axis=2), r"axis 2 is out of range.*\(2, 2\)"),
    (lambda: tl.concatenate([Tensor(np.ones((2, 2))), Tensor(np.ones((3, 3)))], axis=0), r"\(2, 2\), \(3, 3\)"),
])
def test_shape_errors_name_the_shapes(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_max_splits_the_gradient_between_ties():
    x = Tensor([1.0, 3.0, 3.0], requires_grad=True)
    x.max().backward()
    np.testing.assert_array_equal(x.grad.data, [0, 0.5, 0.5])


def test_sigmoid_is_stable_for_large_inputs():
    with np.errstate(all="raise"):
        y = tl.sigmoid(Tensor([-1000.0, 0.0, 1000.0]))
    np.testing.assert_array_equal(y.data, [0.0, 0.5, 1.0])


def test_log_softmax_is_stable_and_softmax_sums_to_one():
    x = Tensor([[1000.0, 0.0, -1000.0]])
    assert np.all(np.isfinite(tl.log_softmax(x).data))
    np.testing.assert_allclose(tl.softmax(Tensor(np.random.default_rng(0).normal(size=(4, 5)))).data.sum(1), 1)


def test_var_matches_numpy():
    x = np.random.default_rng(1).normal(size=(5, 3))
    for ddof in (0, 1):
        np.testing.assert_allclose(Tensor(x).var(axis=0, ddof=ddof).data, x.var(axis=0, ddof=ddof))


def test_repr_and_item():
    x = Tensor([[1.5]], requires_grad=True)
    assert "requires_grad=True" in repr(x) and x.item() == 1.5


def test_grad_accumulates_in_place_into_the_leafs_own_array():
    x = Tensor([1.0, 2.0], requires_grad=True)
    (x * 3).sum().backward()
    array = x.grad.data
    (x * 3).sum().backward()
    assert x.grad.data is array
    np.testing.assert_array_equal(array, [6.0, 6.0])


def test_copied_from_names_the_data_a_tensor_copied_while_it_lives():
    import copy
    import gc
    import pickle

    x = np.ones(3)
    t = Tensor(x)
    assert t.copied_from() is x and Tensor(t).copied_from() is t
    assert Tensor([1.0, 2.0]).copied_from() is None and Tensor.wrap(x).copied_from() is None
    assert (t * 2).copied_from() is None
    u = Tensor(np.zeros(2))  # copied from a temporary that is gone
    gc.collect()
    assert u.copied_from() is None
    for other in (copy.deepcopy(t), pickle.loads(pickle.dumps(t))):  # a copy in another place copies nothing
        assert other.copied_from() is None and other.data.tobytes() == t.data.tobytes()
