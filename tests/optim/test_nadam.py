"""NAdam equals torch.optim.NAdam over 100 steps (float64, both backends), and checks its arguments."""
import numpy as np
import pytest

from tinygrad_lab.optim import NAdam

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("kw", [{}, {"lr": 1e-2, "betas": (0.8, 0.99), "weight_decay": 1e-2},
                                {"lr": 1e-2, "weight_decay": 0.1, "decoupled_weight_decay": True,
                                 "momentum_decay": 1e-2}])
def test_matches_torch(kw, make_param, backend):
    # torch keeps the scalar state Πₜ in its default dtype: float64 here, as ours, for a float64 comparison
    default = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        run(kw, make_param)
    finally:
        torch.set_default_dtype(default)


def run(kw, make_param):
    rng = np.random.default_rng(3)
    init = [rng.standard_normal(s) for s in [(4, 3), (5,), ()]]
    ours = [make_param(a) for a in init]
    theirs = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in init]
    opt, topt = NAdam(ours, **kw), torch.optim.NAdam(theirs, **kw)
    for _ in range(100):
        for p, t in zip(ours, theirs):
            g = rng.standard_normal(p.data.shape)
            p.set_grad(g)
            t.grad = torch.tensor(g)
        opt.step()
        topt.step()
    for p, t in zip(ours, theirs):
        np.testing.assert_allclose(p.data, t.detach().numpy(), rtol=1e-10, atol=1e-12)


def test_bad_momentum_decay_is_named(make_param):
    with pytest.raises(ValueError, match="momentum_decay"):
        NAdam([make_param([1.0])], momentum_decay=-1)
