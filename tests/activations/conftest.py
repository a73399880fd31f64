"""``matches_torch(layer, torch_fn, z)``: an activation layer's values and gradients equal torch's."""
import numpy as np
import pytest

from tinygrad_lab import Tensor


@pytest.fixture
def matches_torch():
    torch = pytest.importorskip("torch")

    def run(layer, torch_fn, z, rtol=1e-13, atol=1e-15, grad_atol=1e-14):
        ours = Tensor(z, requires_grad=True)
        y = layer(ours)
        (y * y).sum().backward()
        theirs = torch.tensor(z, requires_grad=True)
        ty = torch_fn(theirs)
        (ty * ty).sum().backward()
        np.testing.assert_allclose(y.data, ty.detach().numpy(), rtol=rtol, atol=atol)
        np.testing.assert_allclose(ours.grad.data, theirs.grad.numpy(), rtol=rtol * 10, atol=grad_atol)
    return run
