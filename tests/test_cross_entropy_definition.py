"""The softmax cross-entropy formulas, composed with the row max and sums as the backends compose
them, are PyTorch's cross_entropy and its gradient, and stay finite for large logits."""
import numpy as np
import pytest

from tinygrad_lab import cross_entropy_definition as xent


def _loss_and_grad(x, t, scale):
    rows = np.arange(len(t))
    top = x.max(axis=1, keepdims=True)
    e = xent.shifted_exp(x, top)
    totals = e.sum(axis=1, keepdims=True)
    p = xent.probability(e, totals)
    onehot = np.zeros_like(x)
    onehot[rows, t] = 1
    return xent.row_loss(totals[:, 0], x[rows, t], top[:, 0]).sum(), xent.logit_grad(p, onehot, scale)


def test_the_formulas_are_torchs_cross_entropy_and_its_gradient():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    x, t = rng.standard_normal((8, 6)) * 4, rng.integers(0, 6, 8)
    loss, grad = _loss_and_grad(x, t, 1 / 8)
    xt = torch.tensor(x, requires_grad=True)
    lt = torch.nn.functional.cross_entropy(xt, torch.tensor(t), reduction="sum")
    (lt / 8).backward()
    np.testing.assert_allclose(loss, lt.item(), rtol=1e-12)
    np.testing.assert_allclose(grad, xt.grad.numpy(), rtol=1e-12, atol=1e-15)


def test_large_logits_stay_finite():
    x = np.array([[1000.0, 0.0, -1000.0], [-1000.0, -999.0, -1001.0]])
    loss, grad = _loss_and_grad(x, np.array([1, 1]), 1.0)
    assert np.isfinite(grad).all()
    # row 1: log Σ eˣ − x₁ = 1000 + log(1 + e⁻¹⁰⁰⁰ + e⁻²⁰⁰⁰); row 2 (its target is its max): log(1 + e⁻¹ + e⁻²)
    np.testing.assert_allclose(loss, 1000.0 + np.log(1 + np.exp(-1.0) + np.exp(-2.0)), rtol=1e-12)
