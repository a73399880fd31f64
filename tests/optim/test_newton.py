"""Newton's method as an in-place update, with the graph's exact Hessian."""

import numpy as np
import pytest

from tinygrad_lab import Tensor
from tinygrad_lab.func import hessian
from tinygrad_lab.optim import newton_step_


def elongated(x):
    return x[0] ** 2 + 50 * x[1] ** 2  # the nine-layer experiment


def test_hessian_of_a_quadratic_and_no_side_effects():
    x = Tensor(np.array([3.0, -2.0]), requires_grad=True)
    before = x.data.copy()
    h = hessian(elongated, x)
    np.testing.assert_array_equal(h.data, [[2.0, 0.0], [0.0, 100.0]])
    np.testing.assert_array_equal(x.data, before)
    assert x.grad is None


def test_hessian_of_a_coupled_function():
    def f(x):
        return x[0] ** 2 * x[1] + 3 * x[0] * x[1] ** 2

    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    # H = [[2y, 2x + 6y], [2x + 6y, 6x]] at (1, 2)
    np.testing.assert_allclose(hessian(f, x).data, [[4.0, 14.0], [14.0, 6.0]], rtol=1e-12)


def test_one_step_solves_the_ill_conditioned_quadratic():
    x = Tensor(np.array([-7.0, 2.0]), requires_grad=True)
    d = newton_step_(elongated, x)
    np.testing.assert_allclose(d, [-7.0, 2.0], rtol=1e-9)
    assert np.all(np.abs(x.data) < 1e-9)
    assert elongated(x).item() < 1e-16


def test_damping_shortens_the_step():
    x = Tensor(np.array([-7.0, 2.0]), requires_grad=True)
    d = newton_step_(elongated, x, damping=2.0)
    # (H + 2I) d = g: d = (2*-7/4, 100*2/102)
    np.testing.assert_allclose(d, [-3.5, 200 / 102], rtol=1e-8)
    with pytest.raises(ValueError, match="damping"):
        newton_step_(elongated, x, damping=-1.0)


def test_keeps_an_existing_gradient():
    x = Tensor(np.array([1.0, 1.0]), requires_grad=True)
    elongated(x).backward()
    g = x.grad.data.copy()
    newton_step_(elongated, x)
    np.testing.assert_array_equal(x.grad.data, g)
