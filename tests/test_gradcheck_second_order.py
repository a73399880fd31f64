"""Every op and layer has correct second derivatives: gradgradcheck on Hypothesis inputs (float64)."""
import numpy as np
import pytest
from hypothesis import given

from tinygrad_lab import activations, ops
from tinygrad_lab.function import data
from tinygrad_lab.gradcheck import GradcheckError, gradgradcheck
from tinygrad_lab.op_catalogue import CASES, run_case
from tinygrad_lab.tensor import Tensor
from tinygrad_lab.testing import op_inputs


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_second_derivatives_match_central_differences(case):
    @given(op_inputs(case))
    def check(inputs):
        arrays, params = inputs
        fn, tensors = run_case(case, arrays, params)
        assert gradgradcheck(fn, tensors)

    check()


class _FrozenSigmoid(ops.Activate, register=False):
    """A sigmoid whose backward reads σ' from the data: right first derivative, no second one."""

    def __init__(self):
        super().__init__(activations.get("sigmoid"))

    def backward(self, gy, x, y):
        s = data(y)
        return gy * (s * (1 - s))


def test_gradgradcheck_catches_a_backward_that_is_not_differentiable():
    x = Tensor(np.linspace(-1, 1, 5), requires_grad=True)
    with pytest.raises(GradcheckError, match="input 0"):
        gradgradcheck(lambda t: _FrozenSigmoid().apply(t), [x])


def test_gradgradcheck_passes_linear_ops_through_the_upstream_gradient():
    x = Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    assert gradgradcheck(lambda t: t.sum(axis=0) * 2.0, [x])


def test_gradgradcheck_leaves_inputs_unchanged():
    x = Tensor(np.array([0.3, -1.2, 2.0]), requires_grad=True)
    before = x.data.copy()
    gradgradcheck(lambda t: (t * t * t).sum(), [x])
    np.testing.assert_array_equal(x.data, before)
    assert x.grad is None
