"""Class 4: grad, anomaly and forward mode are per thread (one :class:`tinygrad_lab.mode.Modes` each)."""
from __future__ import annotations

import threading

import numpy as np
import pytest

import tinygrad_lab as tl
from tinygrad_lab import Tensor, nn, optim
from tinygrad_lab.forward_ad import dual_level, make_dual
from tinygrad_lab.mode import dual_tangents, is_anomaly_enabled


def _in_thread(fn):
    """Run ``fn`` in a new thread while the caller's thread holds its own mode; return its result."""
    out = {}
    t = threading.Thread(target=lambda: out.setdefault("value", fn()))
    t.start()
    t.join()
    return out["value"]


def test_no_grad_in_one_thread_does_not_stop_another():
    def records():
        x = Tensor([1.0], requires_grad=True)
        return (x * 2).requires_grad
    with tl.no_grad():
        assert _in_thread(records) is True
        assert records() is False


def test_a_new_thread_starts_with_the_default_modes():
    tl.set_grad_enabled(False)
    try:
        assert _in_thread(tl.is_grad_enabled) is True
        assert tl.is_grad_enabled() is False
    finally:
        tl.set_grad_enabled(True)


def test_anomaly_mode_is_per_thread():
    with tl.detect_anomaly():
        assert _in_thread(is_anomaly_enabled) is False and is_anomaly_enabled()


def test_dual_level_is_per_thread():
    with dual_level():
        make_dual(np.ones(1), np.ones(1))
        assert _in_thread(dual_tangents) is None and dual_tangents() is not None


def test_set_grad_enabled_as_a_plain_call_sticks():
    tl.set_grad_enabled(False)
    try:
        assert tl.is_grad_enabled() is False
        assert not (Tensor([1.0], requires_grad=True) * 2).requires_grad
    finally:
        tl.set_grad_enabled(True)
    assert tl.is_grad_enabled()


def test_set_grad_enabled_as_a_context_restores():
    with tl.set_grad_enabled(False):
        assert not tl.is_grad_enabled()
        with tl.set_grad_enabled(True):
            assert tl.is_grad_enabled()
        assert not tl.is_grad_enabled()
    assert tl.is_grad_enabled()


def test_no_grad_as_decorator_and_enable_grad_inside():
    @tl.no_grad()
    def f():
        with tl.enable_grad():
            inner = tl.is_grad_enabled()
        return tl.is_grad_enabled(), inner
    assert f() == (False, True) and tl.is_grad_enabled()


def test_modes_restored_after_an_exception():
    with pytest.raises(ZeroDivisionError):
        with tl.no_grad(), tl.detect_anomaly():
            1 / 0
    assert tl.is_grad_enabled() and not is_anomaly_enabled()


def _train(seed: int) -> list[np.ndarray]:
    model = nn.MLP([12, 16, 4], activation="relu", seed=seed, dtype=np.float32)
    opt = optim.Adam(model.parameters(), lr=1e-2)
    rng = np.random.default_rng(seed)
    x, y = rng.random((32, 12), dtype=np.float32), rng.integers(0, 4, 32)
    for _ in range(25):
        loss = tl.cross_entropy(model(Tensor(x)), y)
        opt.zero_grad()
        loss.backward()
        with tl.no_grad():  # evaluation in the middle of training: must not leak to other threads
            model(Tensor(x))
        opt.step()
    return [p.data.copy() for p in model.parameters()]


def test_four_threads_training_at_once_match_one_at_a_time():
    serial = {s: _train(s) for s in range(4)}
    parallel: dict[int, list[np.ndarray]] = {}
    errors: list[BaseException] = []

    def run(s):
        try:
            parallel[s] = _train(s)
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)
    threads = [threading.Thread(target=run, args=(s,)) for s in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    for s in range(4):
        for a, b in zip(serial[s], parallel[s]):
            np.testing.assert_array_equal(a, b)


def test_a_decorated_no_grad_called_from_two_threads_restores_each_threads_mode():
    entered, a_done = threading.Barrier(2), threading.Event()
    seen = {}

    @tl.no_grad()
    def body(name):
        entered.wait()               # both threads are inside before either leaves
        if name == "b":
            a_done.wait()            # a leaves first

    def run(name, outer_enabled):
        with tl.set_grad_enabled(outer_enabled):
            body(name)
            if name == "a":
                a_done.set()
            seen[name] = tl.is_grad_enabled()

    threads = [threading.Thread(target=run, args=("a", True)), threading.Thread(target=run, args=("b", False))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert seen == {"a": True, "b": False}
