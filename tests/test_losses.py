import numpy as np
import pytest

from tinygrad_lab import Tensor, cross_entropy, mse_loss


def test_mse_reductions():
    y, t = np.array([[1.0, 2.0], [3.0, 5.0]]), np.array([[0.0, 2.0], [1.0, 1.0]])
    squares = ((y - t) ** 2).sum()
    assert mse_loss(Tensor(y), Tensor(t)).item() == 0.5 * squares
    assert mse_loss(Tensor(y), Tensor(t), reduction="mean").item() == squares / 4
    assert mse_loss(Tensor(y), Tensor(t), reduction="sum").item() == squares


def test_half_sum_gradient_is_y_minus_t():
    y, t = Tensor(np.array([[0.3, 0.9]]), requires_grad=True), Tensor(np.array([[1.0, 0.0]]))
    mse_loss(y, t).backward()
    np.testing.assert_allclose(y.grad.data, y.data - t.data)


def test_mse_refuses_shape_mismatch_and_unknown_reduction():
    with pytest.raises(ValueError, match=r"output shape \(4, 1\) and target shape \(4,\) differ"):
        mse_loss(Tensor(np.ones((4, 1))), Tensor(np.ones(4)))
    with pytest.raises(ValueError, match="'avg'"):
        mse_loss(Tensor(np.ones(2)), Tensor(np.ones(2)), reduction="avg")


def test_cross_entropy_matches_the_definition_and_is_stable():
    logits = np.array([[2.0, 1.0, 0.1], [0.5, 2.5, 0.3]])
    t = np.array([0, 1])
    p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    expected = -np.log(p[[0, 1], t]).mean()
    assert abs(cross_entropy(Tensor(logits), t).item() - expected) < 1e-15
    huge = Tensor(np.array([[1000.0, -1000.0]]), requires_grad=True)
    loss = cross_entropy(huge, np.array([1]))
    loss.backward()
    assert loss.item() == 2000.0 and np.all(np.isfinite(huge.grad.data))


def test_cross_entropy_gradient_is_softmax_minus_onehot_over_n():
    logits = Tensor(np.array([[0.0, 0.0], [1.0, -1.0]]), requires_grad=True)
    cross_entropy(logits, np.array([1, 0])).backward()
    p = np.exp(logits.data) / np.exp(logits.data).sum(1, keepdims=True)
    np.testing.assert_allclose(logits.grad.data, (p - np.eye(2)[[1, 0]]) / 2)


def test_cross_entropy_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    logits, t = rng.normal(size=(7, 5)) * 3, rng.integers(0, 5, 7)
    for reduction in ("mean", "sum"):
        x = Tensor(logits, requires_grad=True)
        ours = cross_entropy(x, t, reduction=reduction)
        ours.backward()
        xt = torch.tensor(logits, requires_grad=True)
        ref = torch.nn.functional.cross_entropy(xt, torch.tensor(t), reduction=reduction)
        ref.backward()
        assert abs(ours.item() - ref.item()) < 1e-12
        np.testing.assert_allclose(x.grad.data, xt.grad.numpy(), atol=1e-14)


@pytest.mark.parametrize("logits, targets, error, message", [
    (np.zeros((3, 4)), np.array([0, 4, 1]), ValueError, r"target 4 is outside \[0, 4\) for 4 classes"),
    (np.zeros((3, 4)), np.array([0, -1, 1]), ValueError, r"target -1 is outside"),
    (np.zeros((3, 4)), np.array([0, 1]), ValueError, r"targets must have shape \(3,\).*got \(2,\)"),
    (np.zeros(4), np.array([0]), ValueError, r"logits must have shape \(N, C\), got \(4,\)"),
    (np.zeros((2, 4)), np.array([0.5, 1.0]), TypeError, "integer class indices"),
])
def test_cross_entropy_bad_inputs(logits, targets, error, message):
    with pytest.raises(error, match=message):
        cross_entropy(Tensor(logits), targets)
