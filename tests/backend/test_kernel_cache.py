"""The on-disk kernel cache: a second process compiles nothing, a changed rule is compiled afresh,
an unwritable cache or package still works, and concurrent writers leave a sound cache."""
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from tinygrad_lab.backend import kernel_cache

ROOT = Path(__file__).resolve().parents[2]

# Runs the kernels of a small training step (a user rule read from rule_module, Adam, ReLU and GELU,
# softmax cross-entropy, batch norm) and prints the results, then the compilations and cache loads.
PROBE = textwrap.dedent("""
    import sys
    import numpy as np
    sys.path.insert(0, sys.argv[1])
    import rule_module
    from tinygrad_lab import activations
    from tinygrad_lab.backend import numba_backend as nb
    from tinygrad_lab.optim.adam import adam_rule

    p, g = np.arange(4.0, dtype=np.float32), np.ones(4, np.float32)
    nb.update(rule_module.rule, p, g, (np.zeros(4, np.float32),), (0.5,))
    m, v = np.zeros(4, np.float32), np.zeros(4, np.float32)
    nb.update(adam_rule, p, g, (m, v), (1e-3, 0.03, 0.9, 0.999, 0.1, 0.001, 1e-8, 0.0, 1.0, False))
    z = np.linspace(-1, 1, 6).reshape(2, 3)
    outputs = []
    for name in ("relu", "leaky_relu"):
        act = activations.get(name)
        outputs.append(nb.bias_act(z.copy(), np.ones(3), act, np.empty_like(z)).sum())
        nb.act_backward_bias(np.ones_like(z), z, z, act, np.empty_like(z), np.empty(3))
    probs = np.empty_like(z)
    nb.softmax_xent(z, np.array([0, 2]), probs)
    nb.xent_grad(probs, np.array([0, 2]), 0.5, np.empty_like(z))
    xhat, y = np.empty_like(z), np.empty_like(z)
    _, var = nb.batchnorm_forward(z, np.ones(3), np.zeros(3), 1e-5, xhat, y)
    nb.batchnorm_backward(z, xhat, np.ones(3), 1 / np.sqrt(var + 1e-5), np.empty_like(z), np.empty(3), np.empty(3))
    outputs.append(y.sum())
    nb.all_finite(g)
    dispatchers = [nb._update_kernel(rule_module.rule, 1), nb._update_kernel(adam_rule, 2),
                   *(k for a in map(activations.get, ("relu", "leaky_relu"))
                     for k in nb._act_kernels(a.name, a.sigma, a.sigma_prime, a.uses)),
                   *nb._xent_kernels(), *nb._batchnorm_kernels(), nb._all_finite_kernel]
    print(p.tolist(), outputs)
    print(sum(sum(d.stats.cache_misses.values()) for d in dispatchers),
          sum(sum(d.stats.cache_hits.values()) for d in dispatchers))
""")

RULE = textwrap.dedent("""
    import numba

    SCALE = {scale}


    @numba.njit
    def shrink(x):
        return x * {factor}


    def rule(p, g, seen, lr):
        return shrink(p) - lr * g * SCALE, seen + 1
""")


def _write_rule(folder: Path, scale=1.0, factor=1.0) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "rule_module.py").write_text(RULE.format(scale=scale, factor=factor))


def _probe(folder: Path, cache: Path, pythonpath=ROOT, **env):
    """(parameters after the user rule and Adam, compilations, cache loads) of one fresh process."""
    environment = {**os.environ, "PYTHONPATH": str(pythonpath), "TINYGRAD_LAB_CACHE": str(cache),
                   "TINYGRAD_LAB_BACKEND": "numba", **env}
    environment.pop("NUMBA_CACHE_DIR", None)
    return subprocess.Popen([sys.executable, "-c", PROBE, str(folder)], env=environment, cwd=folder,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _result(process):
    out, err = process.communicate(timeout=600)
    assert process.returncode == 0, err
    values, counts = out.splitlines()[-2:]
    misses, hits = map(int, counts.split())
    return values, misses, hits


@pytest.fixture
def rule_dir(tmp_path):
    _write_rule(tmp_path / "user")
    return tmp_path / "user"


def test_the_second_process_compiles_nothing(rule_dir, tmp_path):
    values, misses, _ = _result(_probe(rule_dir, tmp_path / "cache"))
    assert misses > 0
    again, misses, hits = _result(_probe(rule_dir, tmp_path / "cache"))
    assert (again, misses) == (values, 0) and hits == 11
    assert sorted(p.name.split("_")[0] for p in (tmp_path / "cache" / "kernels").glob("*.py")) == [
        "act", "act", "batchnorm", "softmax", "update", "update"]


def test_a_changed_rule_constant_or_helper_is_compiled_afresh(rule_dir, tmp_path):
    cache = tmp_path / "cache"
    first, _, _ = _result(_probe(rule_dir, cache))
    _write_rule(rule_dir, scale=2.0)                           # a module constant the rule reads
    second, misses, _ = _result(_probe(rule_dir, cache))
    _write_rule(rule_dir, scale=2.0, factor=3.0)               # the body of a jitted helper the rule calls
    third, misses_helper, _ = _result(_probe(rule_dir, cache))
    p = np.arange(4.0, dtype=np.float32)
    expected = [(p * factor - 0.5 * scale).tolist() for scale, factor in ((1, 1), (2, 1), (2, 3))]
    parsed = [eval(v.split("]")[0] + "]") for v in (first, second, third)]
    # Adam runs after the user rule: compare the user rule's part through Adam's tiny step (≤ 1e-3)
    for got, want in zip(parsed, expected):
        np.testing.assert_allclose(got, want, atol=2e-3)
    assert misses == misses_helper == 1                         # only the user rule's loop again


def test_a_damaged_kernel_file_is_rewritten_not_used(rule_dir, tmp_path):
    cache = tmp_path / "cache"
    values, _, _ = _result(_probe(rule_dir, cache))
    for path in (cache / "kernels").glob("act_relu_*.py"):
        path.write_text(path.read_text().replace("sigma(v)", "sigma(v) * 2"))
    again, _, _ = _result(_probe(rule_dir, cache))
    assert again == values
    assert all("sigma(v) * 2" not in p.read_text() for p in (cache / "kernels").glob("act_relu_*.py"))


def test_an_unwritable_cache_compiles_in_memory(rule_dir, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    values, misses, _ = _result(_probe(rule_dir, blocker / "cache"))       # cannot be created
    reference, _, _ = _result(_probe(rule_dir, tmp_path / "cache"))
    assert values == reference and misses > 0


def test_a_read_only_package_caches_in_the_user_cache(rule_dir, tmp_path):
    """The package's own kernels go to Numba's user-wide cache when its __pycache__ cannot be made
    (here a plain file stands in its way: a read-only folder does not stop root)."""
    site = tmp_path / "site"
    shutil.copytree(ROOT / "tinygrad_lab", site / "tinygrad_lab",
                    ignore=shutil.ignore_patterns("__pycache__"))
    (site / "tinygrad_lab" / "backend" / "__pycache__").write_text("not a folder")
    env = {"HOME": str(tmp_path / "home"), "XDG_CACHE_HOME": str(tmp_path / "home" / ".cache")}
    values, misses, _ = _result(_probe(rule_dir, tmp_path / "cache", pythonpath=site, **env))
    again, misses_again, hits = _result(_probe(rule_dir, tmp_path / "cache", pythonpath=site, **env))
    assert again == values and misses > 0 and misses_again == 0 and hits == 11
    assert (tmp_path / "home" / ".cache" / "numba").is_dir()


def test_two_processes_filling_the_cache_at_once(rule_dir, tmp_path):
    cache = tmp_path / "cache"
    results = [_result(p) for p in [_probe(rule_dir, cache), _probe(rule_dir, cache)]]
    assert results[0][0] == results[1][0]
    values, misses, _ = _result(_probe(rule_dir, cache))
    assert values == results[0][0] and misses == 0
    assert not list((cache / "kernels").glob(".*.part"))


# ----- fingerprints ------------------------------------------------------------------------------
def _make(source: str, name="f", **scope):
    namespace = dict(scope)
    exec(compile(source, "<test>", "exec"), namespace)
    return namespace[name]


def test_fingerprint_follows_code_constants_helpers_and_closures():
    base = kernel_cache.fingerprint(_make("def f(x):\n    return x * K", K=2.0))
    assert base == kernel_cache.fingerprint(_make("def f(x):\n    return x * K", K=2.0))
    assert base != kernel_cache.fingerprint(_make("def f(x):\n    return x * K", K=3.0))
    assert base != kernel_cache.fingerprint(_make("def f(x):\n    return x + K", K=2.0))
    helper_a, helper_b = _make("def h(x):\n    return x", "h"), _make("def h(x):\n    return -x", "h")
    uses = "def f(x):\n    return h(x)"
    assert kernel_cache.fingerprint(_make(uses, h=helper_a)) != kernel_cache.fingerprint(_make(uses, h=helper_b))

    def closure(c):
        return lambda x: x * c
    assert kernel_cache.fingerprint(closure(1.0)) != kernel_cache.fingerprint(closure(2.0))


def test_fingerprint_is_none_for_what_it_cannot_tell():
    assert kernel_cache.fingerprint(_make("def f(x):\n    return x * A", A=np.ones(3))) is None
    assert kernel_cache.fingerprint(object()) is None
    recursive = _make("def f(x):\n    return f(x - 1) if x > 0 else x")
    assert kernel_cache.fingerprint(recursive) is not None
