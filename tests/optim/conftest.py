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


@pytest.fixture(params=["numpy", "numba"])
def backend(request):
    with use_backend(request.param) as module:
        yield module
