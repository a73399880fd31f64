"""Leaky ReLU equals torch.nn.functional.leaky_relu (value and gradient)."""
import numpy as np
import pytest

from tinygrad_lab import Tensor, nn

torch = pytest.importorskip("torch")


def test_matches_torch():
    z = np.array([-3.0, -0.5, -1e-3, 1e-3, 0.7, 4.0])
    ours = Tensor(z, requires_grad=True)
    y = nn.LeakyReLU()(ours)
    (y * y).sum().backward()
    theirs = torch.tensor(z, requires_grad=True)
    ty = torch.nn.functional.leaky_relu(theirs)
    (ty * ty).sum().backward()
    np.testing.assert_allclose(y.data, ty.detach().numpy(), rtol=1e-15)
    np.testing.assert_allclose(ours.grad.data, theirs.grad.numpy(), rtol=1e-15)
