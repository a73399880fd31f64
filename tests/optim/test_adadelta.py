"""Adadelta equals torch.optim.Adadelta over 100 steps (float64, both backends), and checks its arguments."""
import pytest

from tinygrad_lab.optim import Adadelta

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("kw", [{}, {"lr": 0.5, "rho": 0.8, "eps": 1e-4, "weight_decay": 1e-2}])
def test_matches_torch(kw, matches_torch, backend):
    matches_torch(Adadelta, torch.optim.Adadelta, **kw)


def test_bad_rho_is_named(make_param):
    with pytest.raises(ValueError, match="rho"):
        Adadelta([make_param([1.0])], rho=1.5)
