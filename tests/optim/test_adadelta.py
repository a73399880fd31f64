"""Adadelta equals torch.optim.Adadelta over 100 steps (float64, both backends), and checks its arguments."""
import numpy as np
import pytest

from tinygrad_lab.optim import Adadelta

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("kw", [{}, {"lr": 0.5, "rho": 0.8, "eps": 1e-4, "weight_decay": 1e-2}])
def test_matches_torch(kw, make_param, backend):
    rng = np.random.default_rng(4)
    init = [rng.standard_normal(s) for s in [(4, 3), (5,), ()]]
    ours = [make_param(a) for a in init]
    theirs = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in init]
    opt, topt = Adadelta(ours, **kw), torch.optim.Adadelta(theirs, **kw)
    for _ in range(100):
        for p, t in zip(ours, theirs):
            g = rng.standard_normal(p.data.shape)
            p.set_grad(g)
            t.grad = torch.tensor(g)
        opt.step()
        topt.step()
    for p, t in zip(ours, theirs):
        np.testing.assert_allclose(p.data, t.detach().numpy(), rtol=1e-10, atol=1e-12)


def test_bad_rho_is_named(make_param):
    with pytest.raises(ValueError, match="rho"):
        Adadelta([make_param([1.0])], rho=1.5)
