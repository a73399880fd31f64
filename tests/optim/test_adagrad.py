"""Adagrad by hand, and the per-coordinate accumulator against the homework's scalar-sum bug."""

import numpy as np
import pytest

from tinygrad_lab.optim import Adagrad

TH0 = np.array([1.0, -2.0])
G1 = np.array([0.5, -1.0])
G2 = np.array([0.25, 2.0])


def test_two_steps(make_param, backend):
    p = make_param(TH0)
    opt = Adagrad([p], lr=0.1)
    p.set_grad(G1)
    opt.step()
    th1 = TH0 - 0.1 * G1 / (np.sqrt([0.25, 1.0]) + 1e-10)  # s = g1^2
    np.testing.assert_allclose(p.data, th1, rtol=1e-15)
    p.set_grad(G2)
    opt.step()
    th2 = th1 - 0.1 * G2 / (np.sqrt([0.3125, 5.0]) + 1e-10)  # s = g1^2 + g2^2
    np.testing.assert_allclose(p.data, th2, rtol=1e-15)
    np.testing.assert_allclose(opt.state[id(p)]["sum"], [0.3125, 5.0], rtol=1e-15)


def test_lr_decay_and_initial_accumulator(make_param, backend):
    p = make_param(TH0)
    opt = Adagrad([p], lr=0.1, lr_decay=0.5, initial_accumulator_value=1.0)
    p.set_grad(G1)
    opt.step()
    th1 = TH0 - 0.1 * G1 / np.sqrt([1.25, 2.0])
    p.set_grad(G2)
    opt.step()
    th2 = th1 - (0.1 / 1.5) * G2 / np.sqrt([1.3125, 6.0])
    np.testing.assert_allclose(p.data, th2, rtol=1e-9)


def f_grad(w):
    """f(x, y) = x^2/20 + y^2 (DLFS/003): curvatures 0.1 and 2."""
    return np.array([w[0] / 10, 2 * w[1]])


def homework_adagrad(w, lr, steps):
    """the homework's AdaGrad, copied: ONE scalar accumulates the squares of all coordinates."""
    w = w.copy()
    gt = 0.0
    for _ in range(steps):
        grad = f_grad(w)
        gt += np.sum(np.square(grad))
        w -= lr * grad / np.sqrt(gt + 1e-9)
    return w


def test_per_coordinate_adagrad_beats_the_scalar_sum_bug(make_param, backend):
    """Per coordinate, AdaGrad rescales each axis to unit speed: both reach the optimum.
    The scalar version divides the flat x-axis by the steep y-axis' gradient and crawls."""
    start, lr, steps = np.array([-7.0, 2.0]), 1.5, 100
    p = make_param(start)
    opt = Adagrad([p], lr=lr)
    for _ in range(steps):
        p.set_grad(f_grad(p.data))
        opt.step()
    assert np.all(np.abs(p.data) < 1e-4)  # measured: |x| = 1.9e-5, |y| = 1e-56
    buggy = homework_adagrad(start, lr, steps)
    assert abs(buggy[1]) < 1e-4  # the steep axis converges either way...
    assert abs(buggy[0]) > 0.1  # ...but x is still at -0.30 (it started at -7): 16000x worse


@pytest.mark.parametrize("kw", [{"lr": -0.1}, {"eps": -1.0}, {"lr_decay": -1.0},
                                {"weight_decay": -1.0}, {"initial_accumulator_value": -1.0}])
def test_negative_values(make_param, kw):
    name = next(iter(kw))
    with pytest.raises(ValueError, match=f"invalid {name}"):
        Adagrad([make_param([1.0])], **kw)
