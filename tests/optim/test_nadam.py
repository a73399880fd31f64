"""NAdam equals torch.optim.NAdam over 100 steps (float64, both backends), and checks its arguments."""
import pytest

from tinygrad_lab.optim import NAdam

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("kw", [{}, {"lr": 1e-2, "betas": (0.8, 0.99), "weight_decay": 1e-2},
                                {"lr": 1e-2, "weight_decay": 0.1, "decoupled_weight_decay": True,
                                 "momentum_decay": 1e-2}])
def test_matches_torch(kw, matches_torch, backend):
    matches_torch(NAdam, torch.optim.NAdam, **kw)


def test_bad_momentum_decay_is_named(make_param):
    with pytest.raises(ValueError, match="momentum_decay"):
        NAdam([make_param([1.0])], momentum_decay=-1)
