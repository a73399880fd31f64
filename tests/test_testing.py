import numpy as np
from hypothesis import given

from tinygrad_lab import Tensor
from tinygrad_lab.testing import arrays, away_from, broadcastable_shapes, distinct, nonzero, positive, shapes


@given(arrays(shapes()))
def test_away_from_keeps_a_margin_and_the_side(x):
    y = away_from(x, [0.0, 1.0], margin=0.05)
    assert np.all(np.abs(y) >= 0.05 - 1e-12) and np.all(np.abs(y - 1) >= 0.05 - 1e-12)
    far = (np.abs(x) >= 0.05) & (np.abs(x - 1) >= 0.05)
    np.testing.assert_array_equal(y[far], x[far])


@given(arrays(shapes(min_dims=1)))
def test_distinct_values_are_well_separated(x):
    y = np.sort(distinct(x, gap=0.05).reshape(-1))
    assert np.all(np.diff(y) >= 0.05 - 1e-9)


@given(arrays(shapes()))
def test_domains(x):
    assert np.all(positive(x) >= 0.5) and np.all(np.abs(nonzero(x)) >= 0.5)


@given(broadcastable_shapes())
def test_broadcastable_shapes_broadcast(pair):
    np.broadcast_shapes(*pair)


# ----- check_op: the one-call property test for a user's op ----------------------------------------
import pytest  # noqa: E402

from tinygrad_lab import ops  # noqa: E402
from tinygrad_lab.function import REGISTRY, Function, data  # noqa: E402
from tinygrad_lab.testing import check_op  # noqa: E402


class Swish(Function):
    """y = x σ(x): a user's op, defined outside the package."""

    def forward(self, x):
        return x * ops.sigmoid(x)

    def backward(self, gy, x, y):
        s = ops.sigmoid(x)
        return gy * s * (1 + x * (1 - s))

    def jvp(self, dx, *, xs, y):
        s = ops.sigmoid(xs[0])
        return s * (1 + xs[0] * (1 - s)) * dx


class WrongSwish(Swish):
    def backward(self, gy, x, y):
        return gy * ops.sigmoid(x)          # forgets the x σ'(x) term


class FrozenSwish(Swish):
    def backward(self, gy, x, y):            # right numbers, but read from the data: no second derivative
        x = data(x)
        s = 1 / (1 + np.exp(-x))
        return gy * s * (1 + x * (1 - s))


class WrongJvp(Swish):
    def jvp(self, dx, *, xs, y):
        return dx


def test_check_op_passes_a_correct_op_called_the_pytorch_way():
    check_op(Swish.apply, max_examples=10)
    check_op(lambda a, b: ops.log(a) * b, n_inputs=2, prepare=lambda a, b: [positive(a), b], max_examples=10)


@pytest.mark.parametrize("op, where", [(WrongSwish, "gradient mismatch for input 0"),
                                       (FrozenSwish, "gradient mismatch"),
                                       (WrongJvp, "forward mode")])
def test_check_op_catches_each_kind_of_wrong_derivative(op, where):
    with pytest.raises(AssertionError, match=where):
        check_op(op.apply, max_examples=10)


class NoJvp(Swish):
    jvp = Function.jvp


def test_check_op_on_an_op_without_jvp_names_forward_mode_false():
    with pytest.raises(NotImplementedError, match=r"NoJvp has no forward-mode \(jvp\) rule; write its jvp, or pass "
                                                  r"check_op\(\.\.\., forward_mode=False\)") as caught:
        check_op(NoJvp.apply, max_examples=3)
    assert caught.value.__suppress_context__       # the engine's frames are not chained onto the report
    check_op(NoJvp.apply, max_examples=3, forward_mode=False)


def test_check_op_failure_report_holds_no_numpy_frames():
    with pytest.raises(AssertionError, match=r"forward mode: jvp differs from the directional difference") as caught:
        check_op(WrongJvp.apply, max_examples=3)
    assert not [f for f in caught.traceback if "numpy" in str(f.path)]


def test_user_functions_stay_out_of_the_package_registry_unless_they_ask():
    assert "Swish" not in REGISTRY and "WrongSwish" not in REGISTRY

    class JoinsTheCatalogue(Swish, register=True):
        pass

    try:
        assert REGISTRY["JoinsTheCatalogue"] is JoinsTheCatalogue
    finally:
        del REGISTRY["JoinsTheCatalogue"]


def test_apply_on_the_class_and_on_an_instance():
    x = Tensor(np.array([0.5, -1.0]), requires_grad=True)
    np.testing.assert_array_equal(Swish.apply(x).data, Swish().apply(x).data)
    Swish.apply(x).sum().backward()
    assert x.grad is not None
    assert ops.Softmax(0).apply(x).shape == (2,) and ops.Exp.apply(x).creator.name == "Exp"
