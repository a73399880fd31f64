import subprocess
import sys

import numpy as np
import pytest

from tinygrad_lab import threads


@pytest.fixture(autouse=True)
def restore_policy():
    before = threads.get_policy()
    yield
    threads.set_threads(before)


@pytest.mark.parametrize("bad", [0, -1, 1.5, "two", "", True, None])
def test_bad_thread_counts_are_refused_with_the_value(bad):
    with pytest.raises(ValueError, match=r"'auto' or a positive integer, got"):
        threads.set_threads(bad)


def test_auto_is_serial_below_the_crossover_and_uses_every_thread_above():
    threads.set_threads("auto")
    small = int((threads.SERIAL_BELOW_FLOPS / 2) ** (1 / 3))
    assert threads.threads_for(small, small, small - 1) == 1
    assert threads.threads_for(1024, 1024, 1024) == threads.max_threads()


def test_a_fixed_count_applies_to_every_size():
    threads.set_threads(np.int64(1))
    assert threads.threads_for(4096, 4096, 4096) == 1
    threads.set_threads("3")
    assert threads.threads_for(2, 2, 2) == 3


@pytest.mark.parametrize("shape", [(128, 784, 512), (512, 128, 784), (7, 300, 5)])
def test_a_thread_count_repeats_its_bits_and_every_count_is_correct(shape):
    m, k, n = shape
    rng = np.random.default_rng(0)
    a, b = rng.random((m, k), dtype=np.float32), rng.random((k, n), dtype=np.float32)
    exact = a.astype(np.float64) @ b
    for policy in [*range(1, threads.max_threads() + 1), "auto"]:
        threads.set_threads(policy)
        first = threads.matmul(a, b)
        np.testing.assert_array_equal(threads.matmul(a, b, out=np.empty((m, n), np.float32)), first)
        np.testing.assert_allclose(first, exact, rtol=1e-5)


def test_the_environment_variable_sets_the_policy_and_a_bad_one_names_itself():
    code = "from tinygrad_lab import threads; print(threads.get_policy())"
    run = lambda value: subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                       env={**__import__("os").environ, threads.ENV_VAR: value})
    assert run("1").stdout.strip() == "1"
    assert run(" AUTO ").stdout.strip() == "auto"
    bad = run("lots")
    assert bad.returncode != 0 and "got 'lots'" in bad.stderr


def test_describe_names_the_library_and_kernel():
    info = threads.describe()
    assert set(info) == {"library", "kernel", "max_threads", "policy", "serial_below_flops"}
    assert info["max_threads"] >= 1


def test_a_busy_machine_gets_a_hint_and_an_idle_one_none(monkeypatch):
    threads.set_threads("auto")
    cores = threads.os.cpu_count()
    monkeypatch.setattr(threads.os, "getloadavg", lambda: (cores + 0.1, 0.0, 0.0))
    note = threads.busy_note()
    if threads.max_threads() > 1:
        assert f"load {cores + 0.1:.1f} on {cores} cores" in note and "--threads 1" in note
    monkeypatch.setattr(threads.os, "getloadavg", lambda: (0.0, 0.0, 0.0))
    assert threads.busy_note() is None
    monkeypatch.setattr(threads.os, "getloadavg", lambda: (cores + 0.1, 0.0, 0.0))
    threads.set_threads(1)
    assert threads.busy_note() is None   # already serial: nothing to suggest


def test_the_first_product_after_a_policy_change_sets_the_count_then_matmul_is_numpys():
    a = np.ones((3, 4), np.float32)
    for policy, count in [(1, 1), ("auto", threads.max_threads()), (threads.max_threads(), threads.max_threads())]:
        threads.set_threads(policy)
        assert threads.matmul is not np.matmul  # the next product applies the new policy
        np.testing.assert_array_equal(threads.matmul(a, a.T), a @ a.T)
        assert threads.matmul is np.matmul
        if threads._controller():
            assert threads._controller().num_threads == count
