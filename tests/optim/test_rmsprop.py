"""RMSprop by hand: plain, with momentum, centered; validation."""

import numpy as np
import pytest

from tinygrad_lab.optim import RMSprop

TH0 = np.array([1.0, -2.0])
G1 = np.array([0.5, -1.0])
G2 = np.array([0.25, 2.0])
EPS = 1e-8
V1 = np.array([0.0025, 0.01])  # 0.01 g1^2
V2 = np.array([0.0031, 0.0499])  # 0.99 V1 + 0.01 g2^2


def run(two_steps, **kw):
    return two_steps(RMSprop, lr=0.01, **kw)


def test_plain(two_steps, backend):
    s1, s2 = run(two_steps)
    th1 = TH0 - 0.01 * G1 / (np.sqrt(V1) + EPS)  # ~ TH0 - 0.01 * (10, -10)
    np.testing.assert_allclose(s1, th1, rtol=1e-15)
    np.testing.assert_allclose(s1, [0.9, -1.9], rtol=1e-6)
    np.testing.assert_allclose(s2, th1 - 0.01 * G2 / (np.sqrt(V2) + EPS), rtol=1e-14)


def test_momentum(two_steps, backend):
    s1, s2 = run(two_steps, momentum=0.9)
    b1 = G1 / (np.sqrt(V1) + EPS)
    b2 = 0.9 * b1 + G2 / (np.sqrt(V2) + EPS)
    np.testing.assert_allclose(s1, TH0 - 0.01 * b1, rtol=1e-15)
    np.testing.assert_allclose(s2, TH0 - 0.01 * b1 - 0.01 * b2, rtol=1e-14)


def test_centered(two_steps, backend):
    s1, s2 = run(two_steps, centered=True)
    gbar1 = 0.01 * G1
    gbar2 = 0.99 * gbar1 + 0.01 * G2
    th1 = TH0 - 0.01 * G1 / (np.sqrt(V1 - gbar1**2) + EPS)
    np.testing.assert_allclose(s1, th1, rtol=1e-14)
    np.testing.assert_allclose(s2, th1 - 0.01 * G2 / (np.sqrt(V2 - gbar2**2) + EPS), rtol=1e-13)


def test_lecture_notes_decay(make_param):
    """the lecture notes's decay 0.9 is alpha=0.9 (its eps sits inside the root: negligible here)."""
    p = make_param(TH0)
    p.set_grad(G1)
    RMSprop([p], lr=1e-3, alpha=0.9).step()
    np.testing.assert_allclose(p.data, TH0 - 1e-3 * G1 / np.sqrt(0.1 * G1**2 + 1e-8), rtol=1e-7)


@pytest.mark.parametrize("kw", [{"alpha": 1.0}, {"alpha": -0.5}, {"eps": -1e-8},
                                {"momentum": -0.9}, {"lr": -1.0}, {"weight_decay": -1.0}])
def test_bad_values(make_param, kw):
    name = next(iter(kw))
    with pytest.raises(ValueError, match=f"invalid {name}"):
        RMSprop([make_param([1.0])], **kw)
