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


# ----- plain numpy functions --------------------------------------------------------------------------------
def _E(W, b):
    """E = ½ ‖σ(W x + b) − t‖² for a fixed sample, in plain numpy."""
    y = 1 / (1 + np.exp(-(W @ np.array([0.5, -1.0]) + b)))
    return 0.5 * np.sum((y - np.array([0.0, 1.0])) ** 2)


def _dE(W, b, forget_sigma_prime=False):
    y = 1 / (1 + np.exp(-(W @ np.array([0.5, -1.0]) + b)))
    delta = (y - np.array([0.0, 1.0])) * (1 if forget_sigma_prime else y * (1 - y))
    return np.outer(delta, [0.5, -1.0]), delta


def _Wb():
    rng = np.random.default_rng(4)
    return rng.normal(size=(2, 2)), rng.normal(size=2)


def test_numerical_grad_of_a_plain_function_restores_the_arrays():
    W, b = _Wb()
    saved = W.copy(), b.copy()
    dW, db = numerical_grad(_E, [W, b])
    np.testing.assert_array_equal(W, saved[0])
    np.testing.assert_array_equal(b, saved[1])
    for mine, numeric in zip(_dE(W, b), (dW, db)):
        np.testing.assert_allclose(numeric, mine, rtol=1e-6, atol=1e-9)
    (g,) = numerical_grad(lambda x: float(np.sum(np.sin(x))), np.linspace(0, 1, 4))
    np.testing.assert_allclose(g, np.cos(np.linspace(0, 1, 4)), rtol=1e-8)


def test_gradcheck_checks_your_own_gradient_of_a_plain_function():
    W, b = _Wb()
    assert gradcheck(_E, [W, b], grad_fn=_dE)
    with pytest.raises(GradcheckError, match=r"gradient mismatch for input 0 of shape \(2, 2\)"):
        gradcheck(_E, [W, b], grad_fn=lambda W, b: _dE(W, b, forget_sigma_prime=True))
    x = np.array([0.3, -0.7])
    assert gradcheck(lambda x: np.sum(x ** 3), x, grad_fn=lambda x: 3 * x ** 2)   # one input, one array


@pytest.mark.parametrize("f, message", [
    (lambda x: [1.0], r"^f must return a float \(a number or a one-element array\); it returned a list$"),
    (lambda x: x * 2, r"it returned an array of shape \(3,\)"),
    (lambda x: "1.0", "it returned a str"),
    (lambda x: None, "it returned None$"),
    (lambda x: np.array(["a"]), "it returned a <U1 array"),
])
def test_a_plain_function_returning_no_float_gets_one_clear_error(f, message):
    with pytest.raises(TypeError, match=message):
        numerical_grad(f, [np.ones(3)])
    with pytest.raises(TypeError, match=message):
        gradcheck(f, [np.ones(3)], grad_fn=lambda x: x)


def test_one_element_arrays_and_numpy_scalars_count_as_floats():
    for f in [lambda x: np.sum(x), lambda x: np.sum(x, keepdims=True), lambda x: int(x.size)]:
        numerical_grad(f, [np.ones(3)])


@pytest.mark.parametrize("call, error, message", [
    (lambda: numerical_grad(lambda x: 1.0, [np.ones(3, dtype=int)]), TypeError,
     r"input 0 is an int64 array; central differences need float arrays"),
    (lambda: numerical_grad(lambda x: 1.0, np.float64(1.0)), TypeError, "input 0 is a float64; central differences"),
    (lambda: gradcheck(_E, list(_Wb()), grad_fn=lambda W, b: W), TypeError,
     r"grad_fn returned an array of shape \(2, 2\); expected one array per input \(2\)"),
    (lambda: gradcheck(_E, list(_Wb()), grad_fn=lambda W, b: (W, W)), ValueError,
     r"grad_fn's gradient of input 1 has shape \(2, 2\) and dtype float64; expected numbers of the input's shape \(2,\)"),
    (lambda: gradcheck(lambda w: float(np.sum(w.data ** 2)), [Tensor(np.ones(2), requires_grad=True)]), TypeError,
     r"f returned a float, not a Tensor: gradcheck differentiates f by backward\(\); .* grad_fn=\.\.\.\)"),
])
def test_wrong_inputs_and_gradients_are_named(call, error, message):
    with pytest.raises(error, match=message):
        call()
