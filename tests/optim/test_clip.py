"""Gradient clipping: PyTorch semantics (and against torch when it is installed)."""

import math

import numpy as np
import pytest

from tinygrad_lab.optim import clip_grad_norm_, clip_grad_value_


def params(make_param, grads):
    out = []
    for g in grads:
        p = make_param(np.zeros(np.shape(g)))
        p.set_grad(g)
        out.append(p)
    return out


def test_norm_clips_jointly_and_returns_total(make_param):
    ps = params(make_param, [[3.0, 0.0], [0.0, 4.0]])  # total 2-norm 5
    total = clip_grad_norm_(ps, max_norm=1.0)
    assert total == pytest.approx(5.0)
    coef = 1.0 / (5.0 + 1e-6)
    np.testing.assert_allclose(ps[0].grad.data, [3 * coef, 0.0])
    np.testing.assert_allclose(ps[1].grad.data, [0.0, 4 * coef])


def test_norm_below_max_is_untouched(make_param):
    ps = params(make_param, [[0.3, 0.4]])
    assert clip_grad_norm_(ps, 1.0) == pytest.approx(0.5)
    np.testing.assert_array_equal(ps[0].grad.data, [0.3, 0.4])


def test_inf_and_one_norms_single_param_and_none_grads(make_param):
    p, q = params(make_param, [[-3.0, 1.0], [2.0]])
    r = make_param([1.0])  # no grad: skipped
    assert clip_grad_norm_([p, q, r], 1.0, norm_type=math.inf) == 3.0
    assert clip_grad_norm_(p, 100.0, norm_type=1) == pytest.approx(4 / 3, rel=1e-5)  # (-1, 1/3) now
    assert clip_grad_norm_([r], 1.0) == 0.0


def test_nonfinite_total(make_param):
    ps = params(make_param, [[np.inf, 1.0]])
    with pytest.raises(FloatingPointError, match="inf"):
        clip_grad_norm_(ps, 1.0, error_if_nonfinite=True)


def test_value(make_param):
    ps = params(make_param, [[-3.0, 0.5, 2.0]])
    clip_grad_value_(ps, 1.0)
    np.testing.assert_array_equal(ps[0].grad.data, [-1.0, 0.5, 1.0])


def test_bad_arguments(make_param):
    ps = params(make_param, [[1.0]])
    with pytest.raises(ValueError, match="max_norm"):
        clip_grad_norm_(ps, -1.0)
    with pytest.raises(ValueError, match="clip_value"):
        clip_grad_value_(ps, -0.5)


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, math.inf])
def test_matches_torch(make_param, norm_type):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    grads = [rng.standard_normal(s) * 5 for s in [(3, 4), (7,)]]
    ps = params(make_param, grads)
    ts = []
    for g in grads:
        t = torch.zeros(g.shape, dtype=torch.float64, requires_grad=True)
        t.grad = torch.tensor(g)
        ts.append(t)
    total = clip_grad_norm_(ps, 2.0, norm_type=norm_type)
    ttotal = torch.nn.utils.clip_grad_norm_(ts, 2.0, norm_type=norm_type)
    assert total == pytest.approx(float(ttotal), rel=1e-12)
    for p, t in zip(ps, ts):
        np.testing.assert_allclose(p.grad.data, t.grad.numpy(), rtol=1e-12)
