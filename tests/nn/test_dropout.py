"""nn.Dropout: inverted dropout, identity in eval, seeded masks, gradient with the mask fixed."""
import numpy as np
import pytest

from tinygrad_lab import Tensor, nn
from tinygrad_lab.gradcheck import gradcheck, gradgradcheck


def test_training_zeroes_about_p_and_scales_the_rest():
    x = Tensor(np.ones((200, 50)))
    y = nn.Dropout(0.3, seed=0)(x).data
    kept = y != 0
    assert abs(kept.mean() - 0.7) < 0.02
    np.testing.assert_allclose(y[kept], 1 / 0.7)
    assert abs(y.mean() - 1.0) < 0.03                     # inverted: E[y] = x


def test_eval_mode_and_p_zero_are_the_identity():
    x = Tensor(np.random.default_rng(0).standard_normal((4, 5)))
    assert nn.Dropout(0.5).eval()(x) is x
    assert nn.Dropout(0.0)(x) is x
    np.testing.assert_array_equal(nn.Dropout(1.0)(x).data, np.zeros((4, 5)))


def test_masks_are_reproducible_from_a_seed_and_differ_between_calls():
    x = Tensor(np.ones((6, 7)))
    a, b = nn.Dropout(0.5, seed=3), nn.Dropout(0.5, rng=np.random.default_rng(3))
    first = a(x).data
    np.testing.assert_array_equal(first, b(x).data)
    assert not np.array_equal(first, a(x).data)


def test_gradient_uses_the_forward_mask():
    x = Tensor(np.random.default_rng(1).standard_normal((5, 4)), requires_grad=True)
    y = nn.Dropout(0.4, seed=2)(x)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.data, (y.data != 0) / 0.6)


def test_gradcheck_with_the_mask_fixed():
    def dropped(t):                                      # a fresh layer with the same seed: the same mask
        return nn.Dropout(0.5, seed=11)(t) * t
    x = Tensor(np.random.default_rng(2).standard_normal((3, 4)), requires_grad=True)
    assert gradcheck(dropped, [x]) and gradgradcheck(dropped, [x])


def test_matches_torch_given_the_same_mask():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(4).standard_normal((3, 5))
    ours = nn.Dropout(0.25, seed=9)(Tensor(x)).data
    mask = torch.tensor(ours != 0)
    ref = torch.where(mask, torch.tensor(x) / 0.75, torch.zeros(()))   # PyTorch's inverted dropout formula
    np.testing.assert_allclose(ours, ref.numpy(), rtol=1e-15)


@pytest.mark.parametrize("p", [-0.1, 1.5, "0.5", None, True, float("nan")])
def test_p_is_validated(p):
    with pytest.raises(ValueError, match=r"dropout probability must be a number in \[0, 1\], got"):
        nn.Dropout(p)


def test_mlp_dropout_after_each_hidden_activation_same_weights():
    plain, dropped = nn.MLP([4, 6, 5, 2], seed=0), nn.MLP([4, 6, 5, 2], dropout=0.2, seed=0)
    assert [type(m).__name__ for m in dropped] == ["Linear", "ReLU", "Dropout", "Linear", "ReLU", "Dropout",
                                                    "Linear"]
    for (k, a), (_, b) in zip(plain.state_dict().items(), dropped.state_dict().items()):
        np.testing.assert_array_equal(a, b, err_msg=k)
    x = Tensor(np.random.default_rng(0).standard_normal((3, 4)))
    np.testing.assert_allclose(dropped.eval()(x).data, plain.eval()(x).data)
    with pytest.raises(ValueError, match="dropout probability"):
        nn.MLP([2, 2], dropout=2)
