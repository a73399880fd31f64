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
