"""nn.Flatten against torch.nn.Flatten."""
import numpy as np
import pytest

from tinygrad_lab import Tensor, nn

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("dims", [(), (0,), (1, 2), (0, -2)])
def test_flatten_matches_torch(dims, same_as_torch):
    x = np.random.default_rng(0).standard_normal((2, 3, 2, 2))
    ours, xt = Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    layer = nn.Flatten(*dims)
    same_as_torch(layer(ours), torch.nn.Flatten(*dims)(xt), [(ours, xt)])
    assert repr(nn.Sequential(layer)).count("Flatten(start_dim=") == 1


def test_flatten_then_linear_takes_images():
    model = nn.Sequential(nn.Flatten(), nn.Linear(4, 2))
    assert model(Tensor(np.ones((5, 2, 2)))).shape == (5, 2)
