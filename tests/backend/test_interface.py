"""The backend interface: both implementations satisfy it, and one parity suite generated from it
(every kernel of :class:`Backend`; every activation; every optimizer's rule) runs Numba against
the NumPy reference in both dtypes."""
import inspect
import os
import subprocess
import sys

import numpy as np
import pytest

from tinygrad_lab import Tensor, activations, cross_entropy_definition, optim
from tinygrad_lab.backend import get_backend, numba_backend, numpy_backend, set_backend, use_backend
from tinygrad_lab.backend.interface import KERNELS, Backend
from tinygrad_lab.nn import batchnorm_definition

MODULES = [numpy_backend, numba_backend]
DTYPES = [np.float64, np.float32]


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.NAME)
def test_backend_satisfies_the_interface(module):
    assert isinstance(module, Backend)
    for name in KERNELS:
        declared = list(inspect.signature(getattr(Backend, name)).parameters)[1:]   # without self
        assert list(inspect.signature(getattr(module, name)).parameters) == declared, name


def test_the_interface_lists_the_kernels():
    assert set(KERNELS) == {"update", "update_unchecked", "all_finite", "bias_act", "act_backward_bias", "softmax_xent", "xent_grad",
                            "batchnorm_forward", "batchnorm_backward"}


def _rows(rng, dtype, shape=(7, 13), strided=False):
    if strided:
        return (rng.standard_normal((shape[1], 2 * shape[0])) * 3).astype(dtype)[:, ::2].T
    return (rng.standard_normal(shape) * 3).astype(dtype)


# ----- one case generator per kernel of the interface --------------------------------------------
def _optimizers():
    """Every Optimizer subclass, with its defaults and with weight decay and its flags on."""
    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)
    for cls in sorted(set(subclasses(optim.Optimizer)), key=lambda c: c.__name__):
        params = inspect.signature(cls).parameters
        flags = {k: v for k, v in (("momentum", 0.9), ("centered", True), ("nesterov", True)) if k in params}
        yield cls, {"lr": 0.01}
        yield cls, {"lr": 0.01, "weight_decay": 0.01, **flags}


def case_update(cls, kw, dtype):
    def run(module):
        rng = np.random.default_rng(0)
        p = Tensor(rng.standard_normal(1001).astype(dtype), requires_grad=True)
        with use_backend(module.NAME):
            opt = cls([p], **kw)
            for _ in range(4):
                p.grad = Tensor(rng.standard_normal(1001).astype(dtype))
                opt.step()
        return [p.data]
    return run


def case_update_unchecked(dtype):
    """Adam's rule through the unchecked entry, directly (the optimizers' path is the case above)."""
    def run(module):
        from tinygrad_lab.optim.adam import adam_rule
        rng = np.random.default_rng(0)
        p, g = rng.standard_normal(1001).astype(dtype), rng.standard_normal(1001).astype(dtype)
        m, v = np.zeros_like(p), np.zeros_like(p)
        module.update_unchecked(adam_rule, p, g, (m, v), (1e-3, 0.03, 0.9, 0.999, 0.1, 0.001, 1e-8, 0.01, 1.0, False))
        return [p, m, v]
    return run


def _finiteness_probes(dtype):
    """(array, finite?) pairs: NaN and ±inf first, last or alone; the largest, smallest and subnormal
    finite values; empty."""
    info = np.finfo(dtype)
    probes = [(np.arange(1001, dtype=dtype), True), (np.array([info.max, -info.max, info.tiny, info.smallest_subnormal,
                                                              -0.0], dtype), True), (np.empty(0, dtype), True)]
    for bad in (np.nan, np.inf, -np.inf):
        for at in (0, 500, 1000):
            a = np.ones(1001, dtype)
            a[at] = bad
            probes.append((a, False))
        probes.append((np.array([bad], dtype), False))
    return probes


def case_all_finite(dtype):
    def run(module):
        return [np.array([module.all_finite(a) for a, _ in _finiteness_probes(dtype)], dtype)]
    return run


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.NAME)
def test_all_finite_finds_every_nan_and_inf(module, dtype):
    for a, finite in _finiteness_probes(dtype):
        assert module.all_finite(a) is finite, a


def case_bias_act(act, dtype, with_bias, in_place):
    def run(module):
        rng = np.random.default_rng(1)
        z = _rows(rng, dtype)
        b = rng.standard_normal(13).astype(dtype) if with_bias else None
        y = z if in_place else np.empty_like(z)
        assert module.bias_act(z, b, act, y) is y
        return [z, y]
    return run


def case_act_backward_bias(act, dtype, with_bias, in_place):
    def run(module):
        rng = np.random.default_rng(2)
        z = _rows(rng, dtype)
        y = np.asarray(act.sigma(z), dtype)
        gy = _rows(rng, dtype, strided=not in_place)
        gz, gb = gy if in_place else np.empty_like(z), np.empty(13, dtype) if with_bias else None
        assert module.act_backward_bias(gy, z, y, act, gz, gb) is gz
        return [gz] + ([gb] if with_bias else [])
    return run


def case_softmax_xent(dtype):
    def run(module):
        rng = np.random.default_rng(3)
        logits = _rows(rng, dtype, strided=True) * 10    # large logits: log-sum-exp must stay finite
        targets = rng.integers(0, 13, 7)
        probs = np.empty((7, 13), dtype)
        return [np.asarray(module.softmax_xent(logits, targets, probs), dtype), probs]
    return run


def case_xent_grad(dtype):
    def run(module):
        rng = np.random.default_rng(4)
        probs = rng.uniform(0, 1, (7, 13)).astype(dtype)
        targets = rng.integers(0, 13, 7)
        return [module.xent_grad(probs, targets, 1 / 7, np.empty_like(probs))]
    return run


def _bn_inputs(dtype):
    rng = np.random.default_rng(5)
    x = _rows(rng, dtype, strided=True) + np.arange(7)[:, None].astype(dtype)
    gamma, beta = (rng.standard_normal(13).astype(dtype) for _ in range(2))
    return x, gamma, beta


def case_batchnorm_forward(dtype):
    def run(module):
        x, gamma, beta = _bn_inputs(dtype)
        xhat, y = np.empty_like(x), np.empty_like(x)
        mean, var = module.batchnorm_forward(x, gamma, beta, 1e-5, xhat, y)
        return [mean, var, xhat, y]
    return run


def case_batchnorm_backward(dtype):
    def run(module):
        x, gamma, beta = _bn_inputs(dtype)
        xhat, y = np.empty_like(x), np.empty_like(x)
        _, var = numpy_backend.batchnorm_forward(x, gamma, beta, 1e-5, xhat, y)
        gy = _rows(np.random.default_rng(6), dtype)
        gx, gg, gb = np.empty_like(x), np.empty_like(gamma), np.empty_like(beta)
        module.batchnorm_backward(gy, xhat, gamma, (1 / np.sqrt(var + 1e-5)).astype(dtype), gx, gg, gb)
        return [gx, gg, gb]
    return run


def _generate():
    """kernel -> [(case id, run(backend module) -> arrays, bit-identical in float64?)].

    Optimizer rules (arithmetic and √ only) must agree bit for bit in float64, and so must an
    activation's σ or σ' that calls tanh, exp or log1p (Numba evaluates it as NumPy does, with its
    SIMD ufuncs, instead of libm's scalar functions, 1 ulp apart); the other activations' loops and
    the hand-written reductions (softmax cross-entropy, batch norm, which sum in another order) are
    held to 1e-12."""
    cases = {name: [] for name in KERNELS}
    for dtype in DTYPES:
        d = np.dtype(dtype).name
        for cls, kw in _optimizers():
            cases["update"].append((f"{cls.__name__}-{'-'.join(sorted(kw))}-{d}", case_update(cls, kw, dtype), True))
        for act in activations.REGISTRY.values():
            for bias in (True, False):
                for in_place in (False, True):  # y is z / gz is gy: each backend's aliased path
                    cid = f"{act.name}-bias{bias}{'-in-place' * in_place}-{d}"
                    cases["bias_act"].append((cid, case_bias_act(act, dtype, bias, in_place),
                                              numba_backend._calls_libm(act.sigma)))
                    cases["act_backward_bias"].append((cid, case_act_backward_bias(act, dtype, bias, in_place),
                                                       numba_backend._calls_libm(act.sigma_prime)))
        cases["softmax_xent"].append((d, case_softmax_xent(dtype), False))
        cases["update_unchecked"].append((d, case_update_unchecked(dtype), True))
        cases["xent_grad"].append((d, case_xent_grad(dtype), True))
        cases["all_finite"].append((d, case_all_finite(dtype), True))
        cases["batchnorm_forward"].append((d, case_batchnorm_forward(dtype), False))
        cases["batchnorm_backward"].append((d, case_batchnorm_backward(dtype), False))
    return cases


CASES = _generate()
PARITY = [pytest.param(run, exact, id=f"{kernel}-{cid}") for kernel, runs in CASES.items()
          for cid, run, exact in runs]


def test_every_kernel_of_the_interface_has_parity_cases():
    assert all(CASES[name] for name in KERNELS)


@pytest.mark.parametrize("run, exact", PARITY)
def test_numba_matches_the_numpy_reference(run, exact):
    ref, jit = run(numpy_backend), run(numba_backend)
    for r, j in zip(ref, jit):
        assert r.dtype == j.dtype and r.shape == j.shape
        if r.dtype == np.float64 and exact:
            np.testing.assert_array_equal(j, r)
        elif r.dtype == np.float64:
            np.testing.assert_allclose(j, r, rtol=1e-12, atol=1e-12)
        else:
            np.testing.assert_allclose(j, r, rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.NAME)
def test_update_checks_its_arrays(module):
    from tinygrad_lab.optim.adam import adam_rule
    rng = np.random.default_rng(0)
    p, g, m, v = (rng.standard_normal(6) for _ in range(4))
    hyper = (1e-3, 1.0, 0.9, 0.999, 0.1, 0.001, 1e-8, 0.0, 1.0, False)
    with pytest.raises(ValueError, match="1-D C-contiguous"):
        module.update(adam_rule, p.reshape(2, 3), g, (m, v), hyper)
    with pytest.raises(ValueError, match="1-D C-contiguous"):
        module.update(adam_rule, np.zeros(12)[::2], g, (m, v), hyper)
    with pytest.raises(ValueError, match="argument 2 has shape"):
        module.update(adam_rule, p, g, (m[:5], v), hyper)
    with pytest.raises(ValueError, match="dtype"):
        module.update(adam_rule, p, g.astype(np.float32), (m, v), hyper)


def test_training_reaches_the_same_accuracy_on_both_backends(tmp_path):
    """--backend numba trains to the numpy backend's accuracy on the bundled sample (float64:
    the numbers agree to rounding)."""
    from tinygrad_lab.data import load_sample, normalize
    from tinygrad_lab.train import Trainer
    from tinygrad_lab.train_config import TrainConfig

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


# ----- the reductions run the shared definitions -------------------------------------------------
DEFINITIONS = {cross_entropy_definition: ("softmax_xent", "xent_grad"),
               batchnorm_definition: ("batchnorm_forward", "batchnorm_backward")}


def _doubled(formula):
    """A function of ``formula``'s arguments returning twice its value (defined in its module's
    name, so the Numba backend compiles the call to it as it compiles the shared formulas)."""
    params = ", ".join(inspect.signature(formula).parameters)
    scope = {"__name__": formula.__module__, "formula": formula}
    exec(f"def doubled({params}):\n    return formula({params}) * 2.0\n", scope)
    return scope["doubled"]


def _clear_reduction_kernels():
    numba_backend._xent_kernels.cache_clear()
    numba_backend._batchnorm_kernels.cache_clear()


@pytest.mark.parametrize("definition, name", [(d, name) for d in DEFINITIONS for name in d.__all__],
                         ids=lambda v: getattr(v, "__name__", v).rpartition(".")[2])
def test_both_backends_compute_the_shared_formula(definition, name, monkeypatch, tmp_path):
    """Doubling one formula of a definition changes what both backends compute, alike: neither
    keeps a copy of its own, and the Numba kernel built from the changed formula is a new one
    (another file of the kernel cache), never the one compiled before."""
    monkeypatch.setenv("TINYGRAD_LAB_CACHE", str(tmp_path))
    runs = [run for kernel in DEFINITIONS[definition] for cid, run, _ in CASES[kernel] if cid == "float64"]
    family = "softmax_xent" if definition is cross_entropy_definition else "batchnorm"
    try:
        _clear_reduction_kernels()
        before = [a.copy() for run in runs for a in run(numba_backend)]
        monkeypatch.setattr(definition, name, _doubled(getattr(definition, name)))
        _clear_reduction_kernels()
        ref = [a for run in runs for a in run(numpy_backend)]
        jit = [a for run in runs for a in run(numba_backend)]
    finally:
        monkeypatch.undo()
        _clear_reduction_kernels()
    assert len(list((tmp_path / "kernels").glob(f"{family}_*.py"))) == 2
    assert any(not np.allclose(r, b) for r, b in zip(ref, before)), "the formula changed no result"
    for r, j in zip(ref, jit):
        np.testing.assert_allclose(j, r, rtol=1e-12, atol=1e-12)


def test_active_is_chosen_at_first_use_and_follows_the_choice():
    """``backend.active`` (what the kernels' callers read) imports Numba only when first read, and
    use_backend before any choice leaves the default to be chosen afterwards."""
    code = ("import sys; import tinygrad_lab; from tinygrad_lab import backend\n"
            "assert 'numba' not in sys.modules\n"
            "with backend.use_backend('numpy') as b: assert backend.active is b\n"
            "assert 'active' not in vars(backend)\n"
            "print(backend.active.NAME, backend.get_backend() is backend.active, 'numba' in sys.modules)")
    env = {k: v for k, v in os.environ.items() if k != "TINYGRAD_LAB_BACKEND"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["numba", "True", "True"]
    from tinygrad_lab import backend
    with use_backend("numpy"):
        assert backend.active is numpy_backend
    assert backend.active is get_backend()
