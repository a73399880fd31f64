"""GELU (tanh approximation) equals torch.nn.functional.gelu(approximate="tanh"), value and gradient."""
import numpy as np
import pytest

from tinygrad_lab import Tensor, nn

torch = pytest.importorskip("torch")


def test_matches_torch():
    z = np.linspace(-6, 6, 49)
    ours = Tensor(z, requires_grad=True)
    y = nn.GELU()(ours)
    (y * y).sum().backward()
    theirs = torch.tensor(z, requires_grad=True)
    ty = torch.nn.functional.gelu(theirs, approximate="tanh")
    (ty * ty).sum().backward()
    np.testing.assert_allclose(y.data, ty.detach().numpy(), rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(ours.grad.data, theirs.grad.numpy(), rtol=1e-12, atol=1e-14)
