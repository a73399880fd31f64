"""The layer kernels: Numba == NumPy reference on odd shapes, both dtypes, non-contiguous inputs."""
import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from tinygrad_lab.backend import numba_backend, numpy_backend

ACTS = ["identity", "relu", "sigmoid", "tanh"]
shapes = st.tuples(st.integers(1, 9), st.integers(1, 13))
dtypes = st.sampled_from([np.float64, np.float32])


def _close(a, b, dtype):
    if dtype == np.float64:
        np.testing.assert_allclose(a, b, rtol=1e-14, atol=1e-15)
    else:
        np.testing.assert_allclose(a, b, rtol=2e-6, atol=2e-6)


def _data(seed, shape, dtype, strided):
    """A (rows, cols) array, as a strided view of a larger one when ``strided``."""
    rng = np.random.default_rng(seed)
    if strided:
        return (rng.standard_normal((shape[1], 2 * shape[0])) * 3).astype(dtype)[:, ::2].T
    return (rng.standard_normal(shape) * 3).astype(dtype)


@given(shapes, dtypes, st.sampled_from(ACTS), st.booleans(), st.booleans(), st.integers(0, 99))
def test_bias_act_forward(shape, dtype, act, with_bias, strided, seed):
    z = _data(seed, shape, dtype, strided)
    b = np.random.default_rng(seed + 1).standard_normal(shape[1]).astype(dtype) if with_bias else None
    ref, jit = z.copy(), z.copy()
    numpy_backend.bias_act_(ref, b, act)
    numba_backend.bias_act_(jit, b, act)
    _close(jit, ref, dtype)


@given(shapes, dtypes, st.sampled_from(ACTS), st.booleans(), st.booleans(), st.integers(0, 99))
def test_act_backward_bias(shape, dtype, act, with_bias, strided, seed):
    gy = _data(seed, shape, dtype, strided)
    y = numpy_backend.bias_act_(_data(seed + 2, shape, dtype, False), None, act)
    outs = []
    for module in (numpy_backend, numba_backend):
        gz = np.empty(shape, dtype)
        gb = np.empty(shape[1], dtype) if with_bias else None
        module.act_backward_bias(gy, y, act, gz, gb)
        outs.append((gz, gb))
    _close(outs[1][0], outs[0][0], dtype)
    if with_bias:
        _close(outs[1][1], outs[0][1], dtype)


@given(shapes, dtypes, st.booleans(), st.integers(0, 99))
def test_softmax_cross_entropy(shape, dtype, strided, seed):
    logits = _data(seed, shape, dtype, strided) * 10  # large logits: log-sum-exp must stay finite
    targets = np.random.default_rng(seed).integers(0, shape[1], shape[0])
    results = []
    for module in (numpy_backend, numba_backend):
        probs = np.empty(shape, dtype)
        loss = module.softmax_xent(logits, targets, probs)
        grad = module.xent_grad(probs, targets, 1.0 / shape[0], np.empty(shape, dtype))
        results.append((loss, probs, grad))
    (l0, p0, g0), (l1, p1, g1) = results
    assert np.isfinite(l1)
    np.testing.assert_allclose(l1, l0, rtol=1e-12 if dtype == np.float64 else 1e-5, atol=1e-12 if dtype == np.float64 else 1e-5)
    _close(p1, p0, dtype)
    _close(g1, g0, dtype)
    np.testing.assert_allclose(p1.sum(axis=1), 1, rtol=1e-5)


def test_training_reaches_the_same_accuracy_on_both_backends(tmp_path):
    """--backend numba trains to the numpy backend's accuracy on the bundled sample (float64:
    the numbers agree to rounding)."""
    from tinygrad_lab.backend import use_backend
    from tinygrad_lab.data import load_sample, normalize
    from tinygrad_lab.train import TrainConfig, Trainer

    ds = load_sample()
    data = (normalize(ds.train_images[:1500], np.float64), ds.train_labels[:1500],
            normalize(ds.test_images, np.float64), ds.test_labels, "sample")
    results = {}
    for name in ("numpy", "numba"):
        with use_backend(name):
            cfg = TrainConfig(dataset="mnist-sample", sizes=[784, 32, 10], epochs=2, batch_size=50,
                              dtype="float64", seed=1)
            trainer = Trainer(cfg, tmp_path / name, data=data, progress=False, log=lambda *_: None)
            results[name] = trainer.fit()[-1]
    assert results["numba"]["test_accuracy"] == results["numpy"]["test_accuracy"] > 0.7  # chance: 0.1
    assert abs(results["numba"]["test_loss"] - results["numpy"]["test_loss"]) < 1e-9


@given(st.tuples(st.integers(2, 9), st.integers(1, 13)), dtypes, st.booleans(), st.integers(0, 99))
def test_batchnorm_forward_and_backward(shape, dtype, strided, seed):
    x = _data(seed, shape, dtype, strided) + np.arange(shape[0])[:, None].astype(dtype)  # variance > 0
    rng = np.random.default_rng(seed)
    gamma, beta = (rng.standard_normal(shape[1]).astype(dtype) for _ in range(2))
    gy = _data(seed + 3, shape, dtype, not strided)
    outs = []
    for module in (numpy_backend, numba_backend):
        xhat, y = np.empty(shape, dtype), np.empty(shape, dtype)
        mean, var = module.batchnorm_forward(x, gamma, beta, 1e-5, xhat, y)
        gx, gg, gb = np.empty(shape, dtype), np.empty(shape[1], dtype), np.empty(shape[1], dtype)
        module.batchnorm_backward(gy, xhat, gamma, (1 / np.sqrt(var + 1e-5)).astype(dtype), gx, gg, gb)
        outs.append((mean, var, xhat, y, gx, gg, gb))
    for ref, jit in zip(*outs):
        if dtype == np.float64:
            np.testing.assert_allclose(jit, ref, rtol=1e-12, atol=1e-12)
        else:
            np.testing.assert_allclose(jit, ref, rtol=1e-4, atol=1e-4)
