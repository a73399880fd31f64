import os
import shutil
import tempfile

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

# One cache (compiled kernels, decoded datasets) per test session, shared with the processes tests
# start, never the user's: kernels compile once per session, and nothing is left in the home folder.
_SESSION_CACHE = None if os.environ.get("TINYGRAD_LAB_CACHE") else tempfile.mkdtemp(prefix="tinygrad_lab-tests-")
if _SESSION_CACHE:
    os.environ["TINYGRAD_LAB_CACHE"] = _SESSION_CACHE


def pytest_unconfigure(config):
    if _SESSION_CACHE:
        shutil.rmtree(_SESSION_CACHE, ignore_errors=True)

# JIT compilation and the first call of numba kernels blow per-example deadlines: no deadline.
settings.register_profile("default", deadline=None, max_examples=30,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("ci", deadline=None, max_examples=30, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ci" if os.environ.get("CI") else os.environ.get("HYPOTHESIS_PROFILE", "default"))


@pytest.fixture
def same_as_torch():
    """``check(y, yt, leaves)``: our output y equals torch's yt, and after one random cotangent u is
    backpropagated through both, every (ours, theirs) leaf pair has equal gradients."""
    torch = pytest.importorskip("torch")

    def check(y, yt, leaves, rtol=1e-12, atol=1e-12, grad_rtol=1e-10, grad_atol=1e-12, seed=1):
        np.testing.assert_allclose(y.data, yt.detach().numpy(), rtol=rtol, atol=atol)
        u = np.random.default_rng(seed).standard_normal(y.shape)
        y.backward(u)
        yt.backward(torch.tensor(u))
        for ours, theirs in leaves:
            np.testing.assert_allclose(ours.grad.data, theirs.grad.numpy(), rtol=grad_rtol, atol=grad_atol)
    return check
