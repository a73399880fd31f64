"""SGD's first two steps by hand on a 2-parameter problem, every variant, both backends."""

import numpy as np
import pytest

from tinygrad_lab.optim import SGD



def test_plain(two_steps, backend):
    s1, s2 = two_steps(SGD, lr=0.1)
    np.testing.assert_allclose(s1, [1 - 0.05, -2 + 0.1], rtol=1e-15)
    np.testing.assert_allclose(s2, [0.95 - 0.025, -1.9 - 0.2], rtol=1e-15)


def test_momentum(two_steps, backend):
    # b1 = g1 = (0.5, -1); theta1 = (0.95, -1.9)
    # b2 = 0.9 b1 + g2 = (0.7, 1.1); theta2 = theta1 - 0.1 b2 = (0.88, -2.01)
    s1, s2 = two_steps(SGD, lr=0.1, momentum=0.9)
    np.testing.assert_allclose(s1, [0.95, -1.9], rtol=1e-15)
    np.testing.assert_allclose(s2, [0.88, -2.01], rtol=1e-14)


def test_dampening(two_steps, backend):
    # the first buffer is g1 undamped; then b2 = 0.9 b1 + 0.5 g2 = (0.575, 0.1)
    s1, s2 = two_steps(SGD, lr=0.1, momentum=0.9, dampening=0.5)
    np.testing.assert_allclose(s1, [0.95, -1.9], rtol=1e-15)
    np.testing.assert_allclose(s2, [0.95 - 0.0575, -1.9 - 0.01], rtol=1e-14)


def test_nesterov(two_steps, backend):
    # step 1: b1 = g1, d = g1 + 0.9 b1 = 1.9 g1 -> theta1 = (1 - 0.095, -2 + 0.19)
    # step 2: b2 = (0.7, 1.1), d = g2 + 0.9 b2 = (0.88, 2.99)
    s1, s2 = two_steps(SGD, lr=0.1, momentum=0.9, nesterov=True)
    np.testing.assert_allclose(s1, [0.905, -1.81], rtol=1e-15)
    np.testing.assert_allclose(s2, [0.905 - 0.088, -1.81 - 0.299], rtol=1e-14)


def test_weight_decay(two_steps, backend):
    # d1 = g1 + 0.1 theta0 = (0.6, -1.2): theta1 = (0.94, -1.88)
    # d2 = g2 + 0.1 theta1 = (0.344, 1.812): theta2 = (0.9056, -2.0612)
    s1, s2 = two_steps(SGD, lr=0.1, weight_decay=0.1)
    np.testing.assert_allclose(s1, [0.94, -1.88], rtol=1e-15)
    np.testing.assert_allclose(s2, [0.9056, -2.0612], rtol=1e-14)


def test_seed_velocity_form_equals_pytorch_at_constant_lr(make_param):
    """DLFS: v = a v - eta g, w = w + v is PyTorch's momentum while the lr is constant..."""
    rng = np.random.default_rng(0)
    grads = rng.standard_normal((20, 2))
    p = make_param([1.0, -2.0])
    opt = SGD([p], lr=0.05, momentum=0.8)
    w, v, eta = np.array([1.0, -2.0]), np.zeros(2), 0.05
    for k, g in enumerate(grads):
        p.set_grad(g)
        opt.step()
        v = 0.8 * v - eta * g
        w = w + v
        if k == 9:  # ...and differs once the lr changes: PyTorch rescales the whole buffer
            np.testing.assert_allclose(p.data, w, rtol=1e-12)
            eta = opt.param_groups[0]["lr"] = 0.01
    assert not np.allclose(p.data, w, rtol=1e-6)


def test_nesterov_requires_momentum(make_param):
    with pytest.raises(ValueError, match="momentum"):
        SGD([make_param([1.0])], lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="dampening"):
        SGD([make_param([1.0])], lr=0.1, momentum=0.9, dampening=0.1, nesterov=True)


@pytest.mark.parametrize("kw", [{"momentum": -0.1}, {"dampening": -1.0}, {"weight_decay": -1e-4}])
def test_negative_hyperparameters(make_param, kw):
    name, value = next(iter(kw.items()))
    with pytest.raises(ValueError, match=f"{name}.*{value}"):
        SGD([make_param([1.0])], lr=0.1, **kw)
