"""The fused optimizer kernels: Numba == NumPy reference, backend selection, argument checks."""

import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinygrad_lab.backend import get_backend, numba_backend, numpy_backend, set_backend, use_backend

unit = st.floats(0.0, 0.99)
small = st.floats(0.0, 0.5)
lr = st.floats(1e-4, 1.0)


def arrays(seed, n, dtype, count):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(n).astype(dtype) for _ in range(count)]


def positive(a):
    return np.abs(a) + 0.1


def run_both(name, make_args, steps=3):
    """Apply kernel ``name`` ``steps`` times on identical copies; return both results."""
    results = []
    for module in (numpy_backend, numba_backend):
        arrays_, scalars = make_args()
        for k in range(steps):
            getattr(module, name)(*arrays_, *scalars(k))
        results.append(arrays_)
    return results


def assert_same(results, dtype):
    ref, jit = results
    for a, b in zip(ref, jit):
        if dtype == np.float64:
            np.testing.assert_allclose(b, a, rtol=1e-15, atol=1e-300)
        else:  # float32: same operations, rounding may differ where LLVM contracts or reorders
            np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-5)


dtypes = st.sampled_from([np.float64, np.float32])
sizes = st.integers(0, 300)
seeds = st.integers(0, 2**32 - 1)


@settings(max_examples=40)
@given(seeds, sizes, dtypes, lr, unit, small, st.booleans(), small, st.booleans())
def test_sgd(seed, n, dtype, lr_, mom, damp, nesterov, wd, use_momentum):
    mom = mom if use_momentum else 0.0
    nesterov = nesterov and mom > 0
    damp = 0.0 if nesterov else damp

    def make():
        p, g, b = arrays(seed, n, dtype, 3)
        return [p, g, b], lambda k: (lr_, mom, damp, nesterov, wd, k == 0)

    assert_same(run_both("sgd_update", make), dtype)


@settings(max_examples=40)
@given(seeds, sizes, dtypes, lr, st.floats(1e-10, 1e-3), small)
def test_adagrad(seed, n, dtype, lr_, eps, wd):
    def make():
        p, g, s = arrays(seed, n, dtype, 3)
        return [p, g, positive(s)], lambda k: (lr_ / (1 + k * 0.01), eps, wd)

    assert_same(run_both("adagrad_update", make), dtype)


@settings(max_examples=40)
@given(seeds, sizes, dtypes, lr, st.floats(0.5, 0.99), st.floats(1e-8, 1e-3), small, unit,
       st.booleans())
def test_rmsprop(seed, n, dtype, lr_, alpha, eps, wd, mom, centered):
    def make():
        p, g, v, ga, b = arrays(seed, n, dtype, 5)
        v = positive(v) + ga * ga  # keep v - ga^2 > 0 for the centered variant
        return [p, g, v, ga, b], lambda k: (lr_, alpha, eps, wd, mom, centered)

    assert_same(run_both("rmsprop_update", make), dtype)


@settings(max_examples=40)
@given(seeds, sizes, dtypes, lr, unit, unit, st.floats(1e-8, 1e-3), small, st.booleans())
def test_adam(seed, n, dtype, lr_, b1, b2, eps, wd, decoupled):
    def make():
        p, g, m, v = arrays(seed, n, dtype, 4)
        return [p, g, m, positive(v)], lambda k: (lr_, b1, b2, eps, wd, k + 1, decoupled)

    assert_same(run_both("adam_update", make), dtype)


def test_float64_is_bit_identical_on_a_large_buffer():
    n = 100_003
    for name, extra, scalars in [
        ("adam_update", 2, (1e-3, 0.9, 0.999, 1e-8, 1e-2, 5, True)),
        ("sgd_update", 1, (0.01, 0.9, 0.0, True, 1e-4, False)),
    ]:
        def make():
            arrs = arrays(0, n, np.float64, 2 + extra)
            arrs[-1] = positive(arrs[-1])
            return arrs, lambda k: scalars

        ref, jit = run_both(name, make)
        for a, b in zip(ref, jit):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("module", [numpy_backend, numba_backend])
def test_argument_contract(module):
    p, g, m, v = arrays(0, 6, np.float64, 4)
    with pytest.raises(ValueError, match="1-D C-contiguous"):
        module.adam_update(p.reshape(2, 3), g, m, v, 1e-3, 0.9, 0.999, 1e-8, 0, 1, False)
    with pytest.raises(ValueError, match="1-D C-contiguous"):
        module.adam_update(np.zeros(12)[::2], g, m, v, 1e-3, 0.9, 0.999, 1e-8, 0, 1, False)
    with pytest.raises(ValueError, match="argument 2 has shape"):
        module.adam_update(p, g, m[:5], v, 1e-3, 0.9, 0.999, 1e-8, 0, 1, False)
    with pytest.raises(ValueError, match="dtype"):
        module.adagrad_update(p, g.astype(np.float32), v, 0.1, 1e-10, 0)
    with pytest.raises(ValueError, match="step must be >= 1"):
        module.adam_update(p, g, m, v, 1e-3, 0.9, 0.999, 1e-8, 0, 0, False)


def test_set_backend_and_context():
    previous = get_backend()
    with use_backend("numpy") as b:
        assert b is numpy_backend and get_backend() is numpy_backend
    assert get_backend() is previous
    try:
        assert set_backend("numba") is numba_backend
        with pytest.raises(ValueError, match="unknown backend 'cuda'"):
            set_backend("cuda")
    finally:
        set_backend(previous.NAME)


@pytest.mark.parametrize("name", ["numpy", "numba"])
def test_environment_variable(name):
    code = "from tinygrad_lab.backend import get_backend; print(get_backend().NAME)"
    env = {**os.environ, "TINYGRAD_LAB_BACKEND": name}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == name


def test_numba_is_the_default():
    code = "from tinygrad_lab.backend import get_backend; print(get_backend().NAME)"
    env = {k: v for k, v in os.environ.items() if k != "TINYGRAD_LAB_BACKEND"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "numba"
