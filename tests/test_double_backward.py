"""backward(create_graph=True) and grad(create_graph=True): gradients that are graphs themselves."""
import numpy as np
import pytest

from tinygrad_lab.autograd import grad
from tinygrad_lab.tensor import Tensor


def test_third_derivative_by_repeated_grad():
    x = Tensor([0.5, -2.0], requires_grad=True)
    (g1,) = grad((x ** 4).sum(), x, create_graph=True)        # 4x³
    (g2,) = grad(g1.sum(), x, create_graph=True)              # 12x²
    (g3,) = grad(g2.sum(), x)                                 # 24x
    np.testing.assert_allclose(g1.data, 4 * x.data ** 3)
    np.testing.assert_allclose(g2.data, 12 * x.data ** 2)
    np.testing.assert_allclose(g3.data, 24 * x.data)
    assert g1.requires_grad and not g3.requires_grad
    assert x.grad is None


def test_a_gradient_left_by_create_graph_can_be_differentiated_and_is_not_mutated():
    x = Tensor([1.0, 2.0], requires_grad=True)
    (x ** 3).sum().backward(create_graph=True)
    g = x.grad                                                # 3x², a graph tensor
    np.testing.assert_allclose(g.data, [3.0, 12.0])
    (g * g).sum().backward()                                  # accumulates d(Σ 9x⁴)/dx = 36x³
    np.testing.assert_allclose(x.grad.data, [3.0 + 36.0, 12.0 + 288.0])
    np.testing.assert_allclose(g.data, [3.0, 12.0])           # the held gradient keeps its value


def test_plain_backward_after_create_graph_accumulates_into_read_only_or_shared_grads():
    a = Tensor([1.0, 2.0], requires_grad=True)
    b = Tensor([3.0, 4.0], requires_grad=True)
    (a + b).sum().backward(create_graph=True)                 # a.grad, b.grad: one broadcast view
    (a * a).sum().backward()
    np.testing.assert_allclose(a.grad.data, [3.0, 5.0])
    np.testing.assert_allclose(b.grad.data, [1.0, 1.0])


def test_create_graph_keeps_the_forward_graph_for_the_second_backward():
    x = Tensor([0.3], requires_grad=True)
    y = x.tanh()
    (g,) = grad(y, x, create_graph=True)                      # retain_graph defaults to True
    (h,) = grad(g, x)                                         # d/dx (1 − tanh²) = −2 tanh (1 − tanh²)
    t = np.tanh(0.3)
    np.testing.assert_allclose(h.data, [-2 * t * (1 - t * t)])
    with pytest.raises(RuntimeError, match="second time"):
        grad(g, x)
