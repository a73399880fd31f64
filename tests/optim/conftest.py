"""Shared fixtures: duck-typed parameters (the optimizers need only .data and .grad) and a
fixture that runs a test under each backend."""

from types import SimpleNamespace

import numpy as np
import pytest

from tinygrad_lab.backend import use_backend


class FakeParam:
    """The smallest thing an optimizer accepts: a float ``.data`` array and a ``.grad``."""

    def __init__(self, data, dtype=np.float64):
        self.data = np.array(data, dtype=dtype)
        self.grad = None

    def set_grad(self, g):
        self.grad = SimpleNamespace(data=np.array(g, dtype=self.data.dtype))


@pytest.fixture
def make_param():
    return FakeParam


#: the 2-parameter problem every optimizer's first two steps are checked on by hand
TH0 = np.array([1.0, -2.0])
G1 = np.array([0.5, -1.0])
G2 = np.array([0.25, 2.0])


@pytest.fixture
def two_steps():
    """``two_steps(OptimizerClass, **hyperparameters)``: θ after a step with G1, then with G2."""
    def run(opt_cls, **kw):
        p = FakeParam(TH0)
        opt = opt_cls([p], **kw)
        out = []
        for g in (G1, G2):
            p.set_grad(g)
            opt.step()
            out.append(p.data.copy())
        return out
    return run


@pytest.fixture(params=["numpy", "numba"])
def backend(request):
    with use_backend(request.param) as module:
        yield module


@pytest.fixture
def matches_torch():
    """``matches_torch(ours, theirs, **kw)``: 100 steps of our optimizer class and torch's on the same
    parameters and gradients agree to 1e-10 (float64; torch's scalar state in float64 too)."""
    torch = pytest.importorskip("torch")

    def run(ours_cls, torch_cls, **kw):
        default = torch.get_default_dtype()
        torch.set_default_dtype(torch.float64)
        try:
            rng = np.random.default_rng(3)
            init = [rng.standard_normal(s) for s in [(4, 3), (5,), ()]]
            ours = [FakeParam(a) for a in init]
            theirs = [torch.tensor(a, requires_grad=True) for a in init]
            opt, topt = ours_cls(ours, **kw), torch_cls(theirs, **kw)
            for _ in range(100):
                for p, t in zip(ours, theirs):
                    g = rng.standard_normal(p.data.shape)
                    p.set_grad(g)
                    t.grad = torch.tensor(g)
                opt.step()
                topt.step()
        finally:
            torch.set_default_dtype(default)
        for p, t in zip(ours, theirs):
            np.testing.assert_allclose(p.data, t.detach().numpy(), rtol=1e-10, atol=1e-12)
    return run
