"""Adam / AdamW first two steps by hand, and their input validation."""

import math

import numpy as np
import pytest

from tinygrad_lab.optim import Adam, AdamW

TH0 = np.array([1.0, -2.0])
G1 = np.array([0.5, -1.0])
G2 = np.array([0.25, 2.0])
EPS = 1e-8




def test_adam_two_steps(two_steps, backend):
    s1, s2 = two_steps(Adam, lr=0.1)
    # t=1: m = 0.1 g1, v = 0.001 g1^2 -> m_hat = g1, v_hat = g1^2: a step of lr * sign(g)
    th1 = TH0 - 0.1 * G1 / (np.abs(G1) + EPS)
    np.testing.assert_allclose(s1, th1, rtol=1e-15)
    # t=2: m = 0.9 m + 0.1 g2 = (0.07, 0.11); v = 0.999 v + 0.001 g2^2 = (0.00031225, 0.004999)
    m_hat = np.array([0.07, 0.11]) / (1 - 0.9**2)
    v_hat = np.array([0.00031225, 0.004999]) / (1 - 0.999**2)
    np.testing.assert_allclose(s2, th1 - 0.1 * m_hat / (np.sqrt(v_hat) + EPS), rtol=1e-13)


def test_adam_l2_weight_decay_enters_the_moments(two_steps, backend):
    s1, _ = two_steps(Adam, lr=0.1, weight_decay=2.0)
    d1 = G1 + 2.0 * TH0  # (2.5, -5): same signs, so still a sign step at t=1
    np.testing.assert_allclose(s1, TH0 - 0.1 * d1 / (np.abs(d1) + EPS), rtol=1e-15)


def test_adamw_two_steps(two_steps, backend):
    s1, s2 = two_steps(AdamW, lr=0.1, weight_decay=0.5)
    th1 = TH0 * (1 - 0.1 * 0.5) - 0.1 * G1 / (np.abs(G1) + EPS)
    np.testing.assert_allclose(s1, th1, rtol=1e-15)
    m_hat = np.array([0.07, 0.11]) / (1 - 0.9**2)
    v_hat = np.array([0.00031225, 0.004999]) / (1 - 0.999**2)
    th2 = th1 * 0.95 - 0.1 * m_hat / (np.sqrt(v_hat) + EPS)
    np.testing.assert_allclose(s2, th2, rtol=1e-13)


def test_adamw_default_weight_decay(make_param):
    assert AdamW([make_param([1.0])]).param_groups[0]["weight_decay"] == 1e-2
    assert Adam([make_param([1.0])]).param_groups[0]["weight_decay"] == 0


def test_first_step_is_lr_not_the_homeworks_10x(make_param):
    """the homework corrects v with beta1 (r / (1 - rho1**t)); at t=1 that makes its step 10 lr."""
    p = make_param([1.0])
    p.set_grad([4.0])
    Adam([p], lr=0.1).step()
    assert math.isclose(1.0 - p.data[0], 0.1, rel_tol=1e-8)
    g, rho1, rho2 = 4.0, 0.9, 0.999
    s_hat = (1 - rho1) * g / (1 - rho1)
    r_hat_bug = (1 - rho2) * g * g / (1 - rho1)
    assert math.isclose(0.1 * s_hat / math.sqrt(r_hat_bug), 1.0, rel_tol=1e-9)


@pytest.mark.parametrize("betas", [(1.0, 0.999), (0.9, 1.0), (-0.1, 0.999), (0.9, 1.5)])
def test_bad_betas(make_param, betas):
    with pytest.raises(ValueError, match=r"beta[12].*must be in \[0, 1\)"):
        Adam([make_param([1.0])], betas=betas)


@pytest.mark.parametrize("kw", [{"lr": -1e-3}, {"eps": -1e-8}, {"weight_decay": -0.1}])
def test_negative_values(make_param, kw):
    name, value = next(iter(kw.items()))
    with pytest.raises(ValueError, match=f"invalid {name}: {value}"):
        AdamW([make_param([1.0])], **kw)


def test_betas_must_be_a_pair(make_param):
    with pytest.raises(ValueError, match="pair"):
        Adam([make_param([1.0])], betas=(0.9,))
