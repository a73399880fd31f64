"""Softplus equals torch.nn.functional.softplus, value and gradient (to 3e-9 above its threshold 20)."""
import numpy as np
import pytest

from tinygrad_lab import Tensor, nn

torch = pytest.importorskip("torch")


def test_matches_torch():
    z = np.linspace(-30, 30, 61) + 0.25
    ours = Tensor(z, requires_grad=True)
    y = nn.Softplus()(ours)
    (y * y).sum().backward()
    theirs = torch.tensor(z, requires_grad=True)
    ty = torch.nn.functional.softplus(theirs)
    (ty * ty).sum().backward()
    np.testing.assert_allclose(y.data, ty.detach().numpy(), rtol=1e-12, atol=3e-9)
    np.testing.assert_allclose(ours.grad.data, theirs.grad.numpy(), rtol=1e-9, atol=1e-7)  # 2y·σ': 2·20·2e-9


def test_large_inputs_do_not_overflow():
    y = nn.Softplus()(Tensor(np.array([-800.0, 800.0])))
    np.testing.assert_allclose(y.data, [0.0, 800.0])
