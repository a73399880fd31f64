"""Schedulers: the closed forms, state_dict, ReduceLROnPlateau's counters, validation."""

import math

import numpy as np
import pytest

from tinygrad_lab.optim import SGD
from tinygrad_lab.optim.lr_scheduler import (CosineAnnealingLR, ExponentialLR, MultiStepLR,
                                             ReduceLROnPlateau, StepLR)


@pytest.fixture
def opt(make_param):
    return SGD([make_param([1.0])], lr=0.1)


def lrs(opt, sched, epochs):
    out = [sched.get_last_lr()[0]]
    for _ in range(epochs):
        opt.step()  # no grads: nothing moves, but the order is the documented one
        sched.step()
        out.append(sched.get_last_lr()[0])
    return np.array(out)


@pytest.mark.parametrize("make,closed", [
    (lambda o: StepLR(o, 3, gamma=0.1), lambda e: 0.1 * 0.1 ** (e // 3)),
    (lambda o: StepLR(o, 4, gamma=1 / 3), lambda e: 0.1 * (1 / 3) ** (e // 4)),
    (lambda o: MultiStepLR(o, [2, 5, 5], gamma=0.5), lambda e: 0.1 * 0.5 ** ((e >= 2) + 2 * (e >= 5))),
    (lambda o: ExponentialLR(o, 0.94), lambda e: 0.1 * 0.94**e),
    (lambda o: CosineAnnealingLR(o, 10, eta_min=0.01),
     lambda e: 0.01 + 0.09 * (1 + math.cos(math.pi * e / 10)) / 2),
])
def test_closed_forms(opt, make, closed):
    got = lrs(opt, make(opt), 25)
    np.testing.assert_allclose(got, [closed(e) for e in range(26)], rtol=1e-13)
    assert opt.param_groups[0]["lr"] == got[-1]
    assert opt.param_groups[0]["initial_lr"] == 0.1


def test_state_dict_round_trip(make_param):
    o1 = SGD([make_param([1.0])], lr=0.1)
    s1 = StepLR(o1, 2, gamma=0.5)
    lrs(o1, s1, 3)
    saved = s1.state_dict()
    assert "optimizer" not in saved and saved["last_epoch"] == 3
    o2 = SGD([make_param([1.0])], lr=o1.param_groups[0]["lr"])
    s2 = StepLR(o2, 2, gamma=0.5)
    s2.load_state_dict(saved)
    np.testing.assert_array_equal(lrs(o1, s1, 6), lrs(o2, s2, 6))


def test_plateau_counts_patience_and_cooldown(opt):
    sched = ReduceLROnPlateau(opt, patience=2, cooldown=1, factor=0.5)
    history = []
    for metric in [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.5, 0.5]:
        sched.step(metric)
        history.append(sched.get_last_lr()[0])
    # bad epochs 1,2,3 -> reduce at the 4th call; cooldown 1 epoch; then 3 more bad -> reduce
    assert history == [0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05]
    assert sched.best == 0.5


def test_plateau_min_lr_and_eps(opt):
    sched = ReduceLROnPlateau(opt, patience=0, factor=0.1, min_lr=0.005)
    for _ in range(5):
        sched.step(1.0)
    assert sched.get_last_lr() == [0.005]


@pytest.mark.parametrize("make,match", [
    (lambda o: StepLR(o, 0), "step_size"),
    (lambda o: StepLR(o, 2, gamma=-0.1), "gamma"),
    (lambda o: MultiStepLR(o, [3, -1]), "milestone"),
    (lambda o: CosineAnnealingLR(o, 0), "T_max"),
    (lambda o: ReduceLROnPlateau(o, factor=1.0), "factor"),
    (lambda o: ReduceLROnPlateau(o, mode="up"), "mode"),
    (lambda o: ReduceLROnPlateau(o, threshold_mode="x"), "threshold_mode"),
    (lambda o: ReduceLROnPlateau(o, patience=-1), "patience"),
    (lambda o: ReduceLROnPlateau(o, min_lr=[0.0, 0.0]), "min_lrs"),
])
def test_bad_arguments(opt, make, match):
    with pytest.raises(ValueError, match=match):
        make(opt)


def test_needs_an_optimizer():
    with pytest.raises(TypeError, match="not an Optimizer"):
        StepLR(object(), 3)
