import numpy as np
import pytest

from tinygrad_lab import (
    Tensor, binary_cross_entropy, binary_cross_entropy_with_logits, cross_entropy, half_sum_squared_error, mse_loss,
    nll_loss,
)
from tinygrad_lab.gradcheck import gradcheck, gradgradcheck


def test_mse_reductions_are_pytorchs():
    y, t = np.array([[1.0, 2.0], [3.0, 5.0]]), np.array([[0.0, 2.0], [1.0, 1.0]])
    squares = ((y - t) ** 2).sum()
    assert mse_loss(Tensor(y), Tensor(t)).item() == squares / 4
    assert mse_loss(Tensor(y), Tensor(t), reduction="sum").item() == squares
    np.testing.assert_array_equal(mse_loss(Tensor(y), Tensor(t), reduction="none").data, (y - t) ** 2)
    assert half_sum_squared_error(Tensor(y), Tensor(t)).item() == 0.5 * squares


def test_half_sum_gradient_is_y_minus_t():
    y, t = Tensor(np.array([[0.3, 0.9]]), requires_grad=True), Tensor(np.array([[1.0, 0.0]]))
    half_sum_squared_error(y, t).backward()
    np.testing.assert_allclose(y.grad.data, y.data - t.data)


def test_mse_refuses_shape_mismatch_and_unknown_reduction():
    for loss in (mse_loss, half_sum_squared_error):
        with pytest.raises(ValueError, match=r"output shape \(4, 1\) and target shape \(4,\) differ"):
            loss(Tensor(np.ones((4, 1))), Tensor(np.ones(4)))
    with pytest.raises(ValueError, match="'avg'"):
        mse_loss(Tensor(np.ones(2)), Tensor(np.ones(2)), reduction="avg")
    with pytest.raises(ValueError, match="'half_sum'"):   # the homework's E has its own name now
        mse_loss(Tensor(np.ones(2)), Tensor(np.ones(2)), reduction="half_sum")


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


# ----- PyTorch's losses, cross-checked against torch.nn.functional ----------------------------------
RNG = np.random.default_rng(3)
LOGITS, CLASSES = RNG.normal(size=(6, 4)) * 2, RNG.integers(0, 4, 6)
PROBS, BINARY = RNG.uniform(0.05, 0.95, (5, 3)), RNG.uniform(0, 1, (5, 3))
REGRESSION, TARGET = RNG.normal(size=(5, 3)), RNG.normal(size=(5, 3))

# (name, ours, theirs, input, target); the target array is passed as a constant
TORCH_CASES = [
    ("mse_loss", mse_loss, "mse_loss", REGRESSION, TARGET),
    ("nll_loss", nll_loss, "nll_loss", LOGITS - np.log(np.exp(LOGITS).sum(1, keepdims=True)), CLASSES),
    ("cross_entropy", cross_entropy, "cross_entropy", LOGITS, CLASSES),
    ("binary_cross_entropy", binary_cross_entropy, "binary_cross_entropy", PROBS, BINARY),
    ("binary_cross_entropy_with_logits", binary_cross_entropy_with_logits, "binary_cross_entropy_with_logits",
     REGRESSION * 3, BINARY),
]


def _torch_target(torch, target):
    return torch.tensor(target) if target.dtype.kind == "i" else torch.tensor(target, dtype=torch.float64)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("name, ours, theirs, x, target", TORCH_CASES, ids=[c[0] for c in TORCH_CASES])
def test_losses_match_torch(name, ours, theirs, x, target, reduction, same_as_torch):
    torch = pytest.importorskip("torch")
    xs = Tensor(x, requires_grad=True)
    y = ours(xs, target if target.dtype.kind == "i" else Tensor(target), reduction=reduction)
    xt = torch.tensor(x, requires_grad=True)
    yt = getattr(torch.nn.functional, theirs)(xt, _torch_target(torch, target), reduction=reduction)
    same_as_torch(y, yt, [(xs, xt)], seed=0)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("smoothing", [0.0, 0.1, 1.0])
def test_cross_entropy_label_smoothing_matches_torch(reduction, smoothing):
    torch = pytest.importorskip("torch")
    x = Tensor(LOGITS, requires_grad=True)
    y = cross_entropy(x, CLASSES, reduction=reduction, label_smoothing=smoothing)
    xt = torch.tensor(LOGITS, requires_grad=True)
    yt = torch.nn.functional.cross_entropy(xt, torch.tensor(CLASSES), reduction=reduction, label_smoothing=smoothing)
    np.testing.assert_allclose(y.data, yt.detach().numpy(), rtol=1e-12, atol=1e-12)
    y.sum().backward()
    yt.sum().backward()
    np.testing.assert_allclose(x.grad.data, xt.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name, ours, theirs, x, target", TORCH_CASES, ids=[c[0] for c in TORCH_CASES])
def test_losses_pass_gradcheck_and_gradgradcheck(name, ours, theirs, x, target):
    t = target if target.dtype.kind == "i" else Tensor(target)
    for reduction in ("mean", "none"):
        f = (lambda v, r=reduction: ours(v, t, reduction=r))
        assert gradcheck(f, [Tensor(x, requires_grad=True)])
        assert gradgradcheck(f, [Tensor(x, requires_grad=True)])
    smooth = (lambda v: cross_entropy(v, CLASSES, label_smoothing=0.2))
    assert gradcheck(smooth, [Tensor(LOGITS, requires_grad=True)])
    assert gradgradcheck(smooth, [Tensor(LOGITS, requires_grad=True)])


def test_binary_cross_entropy_at_saturation_is_finite_like_torch():
    torch = pytest.importorskip("torch")
    p, t = np.array([0.0, 1.0, 1.0, 0.0]), np.array([0.0, 1.0, 0.0, 1.0])
    x = Tensor(p, requires_grad=True)
    y = binary_cross_entropy(x, Tensor(t), reduction="sum")
    y.backward()
    xt = torch.tensor(p, requires_grad=True)
    yt = torch.nn.functional.binary_cross_entropy(xt, torch.tensor(t), reduction="sum")
    yt.backward()
    assert y.item() == yt.item() == 200.0
    np.testing.assert_allclose(x.grad.data, xt.grad.numpy(), rtol=1e-8)   # ±1e12: (p − t) / max(p(1 − p), 1e-12)


def test_bce_with_logits_is_stable_for_huge_logits():
    x = Tensor(np.array([1000.0, -1000.0, 0.0]), requires_grad=True)
    y = binary_cross_entropy_with_logits(x, Tensor(np.array([0.0, 1.0, 1.0])), reduction="none")
    np.testing.assert_allclose(y.data, [1000.0, 1000.0, np.log(2)])
    y.sum().backward()
    np.testing.assert_allclose(x.grad.data, [1.0, -1.0, -0.5])   # σ(x) − t, exact at x = 0 too


@pytest.mark.parametrize("call, error, message", [
    (lambda: binary_cross_entropy(Tensor([0.5, 1.5]), Tensor([0.0, 1.0])), ValueError,
     r"probabilities in \[0, 1\], got values in \[0.5, 1.5\]"),
    (lambda: binary_cross_entropy(Tensor([0.5]), Tensor([1.0], requires_grad=True)), ValueError,
     "gradients with respect to the target"),
    (lambda: binary_cross_entropy_with_logits(Tensor([0.5, 1.0]), Tensor([1.0])), ValueError,
     r"output shape \(2,\) and target shape \(1,\) differ"),
    (lambda: cross_entropy(Tensor(LOGITS), CLASSES, label_smoothing=1.5), ValueError,
     r"label_smoothing must be in \[0, 1\], got 1.5"),
    (lambda: nll_loss(Tensor(LOGITS), CLASSES, reduction="avg"), ValueError, "nll_loss: reduction must be one of"),
])
def test_loss_errors(call, error, message):
    with pytest.raises(error, match=message):
        call()
