import numpy as np
import pytest

from tinygrad_lab import Tensor, nn
from tinygrad_lab.autograd import grad


@pytest.mark.parametrize("name", ["relu", "sigmoid", "tanh", "identity"])
def test_derivative_is_the_graph_gradient(name):
    z = np.array([-2.0, -0.3, 0.4, 1.7])
    act = nn.get_activation(name)
    zt = Tensor(z, requires_grad=True)
    a = act(zt)
    (g,) = grad(a.sum(), zt)
    np.testing.assert_allclose(act.derivative(z, np.asarray(a.data)), g.data, atol=1e-15)


def test_forward_values():
    z = np.array([-1.0, 0.0, 2.0])
    np.testing.assert_allclose(nn.Sigmoid()(Tensor(z)).data, 1 / (1 + np.exp(-z)), atol=1e-15)
    np.testing.assert_allclose(nn.Tanh()(Tensor(z)).data, np.tanh(z))
    np.testing.assert_array_equal(nn.ReLU()(Tensor(z)).data, [0, 0, 2])
