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


@pytest.fixture(scope="module")
def sample():
    """Data for quick training runs, as ``Trainer(data=...)`` takes it: the bundled sample's first 2,000
    training images and its test images, scaled to [0, 1] (x_train, y_train, x_test, y_test, source)."""
    from tinygrad_lab.data import load_sample, normalize

    ds = load_sample()
    x, xt = normalize(ds.train_images), normalize(ds.test_images)
    return x[:2000], ds.train_labels[:2000], xt, ds.test_labels, "bundled sample"


@pytest.fixture
def make_config():
    """``make_config(**changes)``: a quick TrainConfig (784-32-10 on the bundled sample, 2 epochs of
    batches of 64, seed 3) with ``changes``."""
    from tinygrad_lab.train_config import TrainConfig

    def make(**kw):
        base = dict(dataset="mnist-sample", sizes=[784, 32, 10], epochs=2, batch_size=64, seed=3)
        return TrainConfig(**{**base, **kw})
    return make
