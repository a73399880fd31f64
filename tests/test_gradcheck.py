"""The gradient checker catches wrong gradients and names the worst element."""
import numpy as np
import pytest

from tinygrad_lab import Tensor
from tinygrad_lab.function import Function, REGISTRY
from tinygrad_lab.gradcheck import GradcheckError, gradcheck, max_errors, numerical_grad, numerical_jacobian


class _WrongSquare(Function, register=False):
    """y = x², with the classic bug gx = gy ⊙ x (the factor 2 forgotten)."""

    def forward(self, x):
        return x * x

    def backward(self, gy, x, y):
        return gy * x


def test_unregistered_functions_stay_out_of_the_registry():
    assert "_WrongSquare" not in REGISTRY


def test_gradcheck_catches_a_wrong_backward_and_names_the_element():
    x = Tensor(np.array([[1.0, -2.0], [3.0, 0.5]]), requires_grad=True, name="x")
    with pytest.raises(GradcheckError, match=r"input 0 \(x\) of shape \(2, 2\) at index \(1, 0\): "
                                             r"analytic 3, numerical 6"):
        gradcheck(lambda t: _WrongSquare().apply(t).sum(), [x])


def test_gradcheck_passes_a_correct_non_scalar_function():
    x = Tensor(np.random.default_rng(0).normal(size=(3, 2)), requires_grad=True)
    assert gradcheck(lambda t: (t * t).exp(), [x])


def test_gradcheck_fails_at_a_kink_by_design():
    x = Tensor(np.array([0.0]), requires_grad=True)
    with pytest.raises(GradcheckError):
        gradcheck(lambda t: t.abs().sum() + t.relu().sum(), [x])


def test_numerical_grad_restores_inputs_bit_for_bit():
    data = np.random.default_rng(2).normal(size=(4, 3))
    x = Tensor(data.copy(), requires_grad=True)
    (g,) = numerical_grad(lambda t: t.exp().sum(), [x])
    np.testing.assert_array_equal(x.data, data)
    np.testing.assert_allclose(g, np.exp(data), rtol=1e-7)


def test_numerical_jacobian_of_a_linear_map_is_its_matrix():
    A = np.random.default_rng(3).normal(size=(2, 3))
    x = Tensor(np.ones((3, 1)))
    np.testing.assert_allclose(numerical_jacobian(lambda t: Tensor(A) @ t, x)[:, 0, :, 0], A, atol=1e-9)


def test_float32_inputs_warn():
    x = Tensor(np.ones(2, np.float32), requires_grad=True)
    with pytest.warns(UserWarning, match="float64"):
        max_errors(lambda t: (t * t).sum(), [x], eps=1e-2)


def test_non_tensor_inputs_are_refused():
    with pytest.raises(TypeError, match="needs Tensors"):
        gradcheck(lambda t: t, [np.ones(2)])
