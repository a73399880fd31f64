"""Class 6: edge inputs give PyTorch's answer or a clear error, never an internal crash or a quiet
wrong value: empty tensors, numpy integer scalars, out-of-range axes, non-numeric data, and the
Python/numpy protocols (``__array__``, comparisons, ``__bool__``, ``__abs__``, ``len``, iteration)."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_lab as tl
from tinygrad_lab import Tensor, ops


def test_mean_over_an_empty_axis_is_nan_like_pytorch():
    x = Tensor(np.zeros((3, 0)), requires_grad=True)
    with np.errstate(invalid="ignore"):
        y = x.mean(axis=1)
        assert np.isnan(y.data).all() and y.shape == (3,)
        y.backward(np.ones(3))
    assert x.grad.shape == (3, 0)


def test_mean_of_an_empty_tensor_is_nan():
    with np.errstate(invalid="ignore"):
        assert np.isnan(Tensor(np.zeros(0)).mean().item())


@pytest.mark.parametrize("reduction, expected", [("mean", np.nan), ("sum", 0.0)])
def test_cross_entropy_on_an_empty_batch_is_pytorchs(reduction, expected):
    x = Tensor(np.zeros((0, 3)), requires_grad=True)
    with np.errstate(invalid="ignore"):
        loss = tl.cross_entropy(x, np.zeros(0, dtype=np.int64), reduction=reduction)
        loss.backward()
    np.testing.assert_array_equal(loss.data, expected)
    assert x.grad.shape == (0, 3)


def test_var_with_too_few_values_is_nan():
    with np.errstate(invalid="ignore", divide="ignore"):
        assert np.isnan(Tensor([1.0]).var(ddof=1).item())


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(0, 3), min_size=1, max_size=3).filter(lambda s: 0 in s),
       st.sampled_from(["sum", "reshape", "transpose", "neg", "exp", "mul", "add", "getitem", "concatenate"]))
def test_zero_size_tensors_through_ops(shape, op):
    x = Tensor(np.zeros(shape), requires_grad=True)
    fn = {"sum": lambda t: t.sum(axis=0), "reshape": lambda t: t.reshape(-1), "transpose": lambda t: t.T,
          "neg": lambda t: -t, "exp": ops.exp, "mul": lambda t: t * 2.0, "add": lambda t: t + t,
          "getitem": lambda t: t[..., :1], "concatenate": lambda t: ops.concatenate([t, t], axis=0)}[op]
    y = fn(x)
    y.backward(np.ones(y.shape))
    assert x.grad.shape == x.shape and x.grad.dtype == x.dtype


NUMPY_INTS = {
    "sum axis": lambda t: t.sum(axis=np.int64(1)), "mean axis": lambda t: t.mean(axis=np.int32(0)),
    "max axis": lambda t: t.max(axis=np.int64(-1)), "var ddof": lambda t: t.var(axis=0, ddof=np.int64(1)),
    "reshape": lambda t: t.reshape(np.int64(3), np.int64(2)), "transpose": lambda t: t.transpose(np.int64(1), 0),
    "swapaxes": lambda t: t.swapaxes(np.int8(0), np.int8(1)), "getitem": lambda t: t[np.int64(1)],
    "concatenate axis": lambda t: ops.concatenate([t, t], axis=np.int64(1)),
    "stack axis": lambda t: ops.stack([t, t], axis=np.int64(2)), "softmax axis": lambda t: t.softmax(axis=np.int64(1)),
    "axis tuple": lambda t: t.sum(axis=(np.int64(0), np.int64(1))),
}


@pytest.mark.parametrize("name", sorted(NUMPY_INTS))
def test_numpy_integer_scalars_are_accepted(name):
    t = Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    y = NUMPY_INTS[name](t)
    y.backward(np.ones(y.shape))
    assert t.grad.shape == (2, 3)


AXIS_OUT_OF_RANGE = {
    "sum": lambda t: t.sum(axis=2), "sum negative": lambda t: t.sum(axis=-3), "mean": lambda t: t.mean(axis=5),
    "max": lambda t: t.max(axis=2), "min": lambda t: t.min(axis=-3), "var": lambda t: t.var(axis=2),
    "transpose": lambda t: t.transpose(3, 0), "transpose repeated": lambda t: t.transpose(0, 0),
    "transpose too few": lambda t: t.transpose(0), "swapaxes": lambda t: t.swapaxes(0, 2),
    "concatenate": lambda t: ops.concatenate([t, t], axis=2), "stack": lambda t: ops.stack([t, t], axis=3),
    "sum repeated": lambda t: t.sum(axis=(0, -2)),
}


@pytest.mark.parametrize("name", sorted(AXIS_OUT_OF_RANGE))
def test_axes_are_range_checked(name):
    with pytest.raises(ValueError, match=r"axis|axes"):
        AXIS_OUT_OF_RANGE[name](Tensor(np.zeros((2, 3))))


@pytest.mark.parametrize("bad", [1.5, True, "1", None])
def test_non_integer_axes_and_sizes_are_refused(bad):
    with pytest.raises(TypeError, match="integer"):
        Tensor(np.zeros((2, 3))).sum(axis=bad) if bad is not None else Tensor(np.zeros(6)).reshape(bad, 3)


NON_NUMERIC = {"string": "abc", "numeric string": "1.5", "none": None, "complex": 1 + 2j,
               "complex array": np.array([1j]), "object": object(), "strings": ["1", "2"],
               "datetime": np.array(["2020-01-01"], dtype="datetime64[D]")}


@pytest.mark.parametrize("dtype", [None, np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(NON_NUMERIC))
def test_non_numeric_data_is_refused_with_or_without_dtype(name, dtype):
    with pytest.raises(TypeError, match="cannot make a Tensor from data of dtype"):
        Tensor(NON_NUMERIC[name], dtype=dtype)


def test_ragged_data_is_refused_clearly():
    with pytest.raises(ValueError, match="nested sequences of unequal lengths"):
        Tensor([[1.0, 2.0], [3.0]])


@pytest.mark.parametrize("dtype", [np.int32, np.float16, "complex64", bool])
def test_non_float_dtype_argument_is_refused(dtype):
    with pytest.raises(TypeError, match="dtype must be float32 or float64"):
        Tensor([1.0], dtype=dtype)


def test_numpy_asarray_gives_the_float_array():
    t = Tensor(np.array([1.0, 2.0], dtype=np.float32))
    a = np.asarray(t)
    assert a.dtype == np.float32 and a.shape == (2,)
    assert np.asarray([t, t]).shape == (2, 2)


@pytest.mark.parametrize("op, expected", [("__eq__", [False, True, False]), ("__ne__", [True, False, True]),
                                          ("__lt__", [True, False, False]), ("__le__", [True, True, False]),
                                          ("__gt__", [False, False, True]), ("__ge__", [False, True, True])])
def test_comparisons_give_boolean_tensors_without_grad(op, expected):
    t = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    for other in (2.0, np.float64(2.0), Tensor([2.0, 2.0, 2.0]), np.array([2.0, 2.0, 2.0])):
        r = getattr(t, op)(other)
        assert isinstance(r, Tensor) and r.dtype == bool and not r.requires_grad
        np.testing.assert_array_equal(r.data, expected)


def test_reflected_comparison_with_a_number():
    np.testing.assert_array_equal((2.0 < Tensor([1.0, 3.0])).data, [False, True])


def test_comparison_with_none_is_identity_and_tensors_stay_hashable():
    t = Tensor([1.0])
    assert (t == None) is False and (t != None) is True  # noqa: E711
    assert t in {t: 1} and t in [t] and len({t, Tensor([1.0])}) == 2


def test_comparison_shapes_are_checked():
    with pytest.raises(ValueError, match=r"eq: shapes \(2,\) and \(3,\)"):
        Tensor([1.0, 2.0]) == Tensor([1.0, 2.0, 3.0])  # noqa: B015


def test_a_boolean_tensor_works_as_a_mask_and_as_a_factor():
    x = Tensor([-1.0, 2.0], requires_grad=True)
    (x * (x > 0)).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [0, 1])
    np.testing.assert_array_equal(x[x > 0].data, [2.0])


@pytest.mark.parametrize("value, truth", [([0.0], False), ([2.0], True), (0.0, False), ([[np.nan]], True)])
def test_bool_of_one_element(value, truth):
    assert bool(Tensor(value)) is truth


@pytest.mark.parametrize("shape", [(2,), (0,), (2, 2)])
def test_bool_of_several_or_no_elements_is_ambiguous(shape):
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(Tensor(np.zeros(shape)))


def test_abs_operator_is_differentiable():
    x = Tensor([-2.0, 3.0], requires_grad=True)
    abs(x).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [-1, 1])


def test_len_and_iteration_of_a_zero_d_tensor_are_refused():
    t = Tensor(3.0)
    with pytest.raises(TypeError, match="len"):
        len(t)
    with pytest.raises(TypeError, match="iteration over a 0-d tensor"):
        list(t)


def test_iteration_yields_rows_with_gradient():
    x = Tensor(np.arange(4.0).reshape(2, 2), requires_grad=True)
    rows = list(x)
    assert len(rows) == 2
    rows[1].sum().backward()
    np.testing.assert_array_equal(x.grad.data, [[0, 0], [1, 1]])


@pytest.mark.parametrize("index", [[], np.array([], dtype=np.int64), (np.array([], dtype=np.int64), slice(None))])
def test_empty_index_arrays(index):
    x = Tensor(np.ones((3, 2)), requires_grad=True)
    y = x[index]
    y.backward(np.ones(y.shape))
    np.testing.assert_array_equal(x.grad.data, np.zeros((3, 2)))


@pytest.mark.parametrize("index", [[0.5], np.array([1.0]), (Tensor([1.0]), slice(None))])
def test_float_index_arrays_are_refused(index):
    with pytest.raises(IndexError, match="integers or booleans"):
        Tensor(np.ones((3, 2)))[index]


@settings(max_examples=30, deadline=None)
@given(st.sampled_from([np.float32, np.float64]), st.sampled_from([np.float32, np.float64]))
def test_mixed_float_dtypes_are_refused_and_equal_ones_kept(a, b):
    x, y = Tensor(np.ones(2, dtype=a)), Tensor(np.ones(2, dtype=b))
    if a == b:
        assert (x + y).dtype == a
    else:
        with pytest.raises(TypeError, match="inputs mix"):
            x + y


def test_stack_and_concatenate_of_nothing_are_refused():
    for fn in (ops.stack, ops.concatenate):
        with pytest.raises(ValueError, match="at least one tensor"):
            fn([])
