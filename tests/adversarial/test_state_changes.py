"""Class 5: state changes are all or nothing, and no non-finite setting reaches the weights."""
from __future__ import annotations

import math

import numpy as np
import pytest

import tinygrad_lab as tl
from tinygrad_lab import Tensor, nn, optim
from tinygrad_lab.optim import lr_scheduler

BAD = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf, "negative": -1.0, "string": "0.1", "none": None}

HYPER = [("SGD", "lr"), ("SGD", "momentum"), ("SGD", "dampening"), ("SGD", "weight_decay"),
         ("Adam", "lr"), ("Adam", "eps"), ("Adam", "weight_decay"), ("AdamW", "lr"), ("AdamW", "weight_decay"),
         ("RMSprop", "lr"), ("RMSprop", "alpha"), ("RMSprop", "eps"), ("RMSprop", "momentum"),
         ("Adagrad", "lr"), ("Adagrad", "lr_decay"), ("Adagrad", "eps"), ("Adagrad", "initial_accumulator_value")]


def _param():
    p = nn.Parameter(np.array([1.0, 2.0]))
    p.grad = Tensor([0.5, 0.5])
    return p


def _make(name, **kw):
    kw.setdefault("lr", 0.1)
    return getattr(optim, name)([_param()], **kw)


@pytest.mark.parametrize("bad", sorted(BAD))
@pytest.mark.parametrize("opt, hyper", HYPER, ids=[f"{o}.{h}" for o, h in HYPER])
def test_constructor_refuses(opt, hyper, bad):
    with pytest.raises((TypeError, ValueError)):
        _make(opt, **{hyper: BAD[bad]})


@pytest.mark.parametrize("betas", [(5, -1), (math.nan, 0.9), (0.9, math.inf), (0.9,), "ab"])
def test_adam_refuses_betas(betas):
    with pytest.raises((TypeError, ValueError)):
        _make("Adam", betas=betas)


@pytest.mark.parametrize("opt, hyper", HYPER, ids=[f"{o}.{h}" for o, h in HYPER])
def test_a_nan_set_in_param_groups_is_refused_at_step_and_nothing_changes(opt, hyper):
    o = _make(opt)
    o.param_groups[0][hyper] = math.nan
    p = o.param_groups[0]["params"][0]
    with pytest.raises(ValueError, match="no parameter was updated"):
        o.step()
    np.testing.assert_array_equal(p.data, [1, 2])
    assert o.state == {}


def test_a_failing_second_parameter_leaves_the_first_unchanged():
    p, q = _param(), nn.Parameter(np.ones(3))
    q.grad = Tensor(np.array([1.0, np.nan, 1.0]))
    o = optim.Adam([p, q], lr=0.1)
    with pytest.raises(FloatingPointError):
        o.step()
    np.testing.assert_array_equal(p.data, [1, 2])


def test_a_second_group_with_bad_lr_leaves_the_first_unchanged():
    p, q = _param(), _param()
    o = optim.SGD([{"params": [p]}, {"params": [q]}], lr=0.1)
    o.param_groups[1]["lr"] = math.inf
    with pytest.raises(ValueError):
        o.step()
    np.testing.assert_array_equal(p.data, [1, 2])


def test_optimizer_load_state_dict_of_another_type_is_refused():
    sgd = _make("SGD", momentum=0.9)
    sgd.step()
    adam = _make("Adam")
    with pytest.raises(TypeError, match="from SGD, this optimizer is Adam"):
        adam.load_state_dict(sgd.state_dict())


def test_optimizer_state_dict_without_type_is_checked_by_its_hyperparameters():
    sgd = _make("SGD", momentum=0.9)
    state = sgd.state_dict()
    del state["optimizer"]
    with pytest.raises(TypeError, match="another optimizer"):
        _make("Adam").load_state_dict(state)


def _adam_state(mutate):
    o = _make("Adam")
    o.step()
    state = o.state_dict()
    mutate(state)
    return state


STATE_MUTATIONS = {
    "betas out of range": lambda s: s["param_groups"][0].update(betas=(5, -1)),
    "lr nan": lambda s: s["param_groups"][0].update(lr=math.nan),
    "lr inf": lambda s: s["param_groups"][0].update(lr=math.inf),
    "eps negative": lambda s: s["param_groups"][0].update(eps=-1e-8),
    "exp_avg nan": lambda s: s["state"][0]["exp_avg"].__setitem__(0, math.nan),
    "exp_avg wrong size": lambda s: s["state"][0].update(exp_avg=np.zeros(3)),
    "exp_avg strings": lambda s: s["state"][0].update(exp_avg=np.array(["a", "b"])),
    "step negative": lambda s: s["state"][0].update(step=-1),
    "step float": lambda s: s["state"][0].update(step=1.5),
    "state key missing": lambda s: s["state"][0].pop("exp_avg_sq"),
    "unknown parameter": lambda s: s["state"].update({5: {}}),
    "unexpected top key": lambda s: s.update(extra=1),
    "missing hyperparameter": lambda s: s["param_groups"][0].pop("eps"),
}


@pytest.mark.parametrize("name", sorted(STATE_MUTATIONS))
def test_optimizer_load_state_dict_is_all_or_nothing(name):
    o = _make("Adam", lr=0.01)
    o.step()
    before_state = {k: v.copy() if isinstance(v, np.ndarray) else v for k, v in next(iter(o.state.values())).items()}
    before_groups = dict(o.param_groups[0])
    with pytest.raises((KeyError, TypeError, ValueError)):
        o.load_state_dict(_adam_state(STATE_MUTATIONS[name]))
    assert o.param_groups[0] == before_groups
    for k, v in next(iter(o.state.values())).items():
        np.testing.assert_array_equal(v, before_state[k])


def test_module_load_state_dict_refuses_before_writing():
    model = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 1))
    good = model.state_dict()
    for key, bad in [("1.bias", np.zeros(3)), ("1.bias", np.array([np.nan])), ("1.bias", np.array(["x"])),
                     ("1.bias", np.array([np.inf]))]:
        state = {k: v + 1 for k, v in good.items()}
        state[key] = bad
        with pytest.raises((ValueError, TypeError), match="1.bias"):
            model.load_state_dict(state)
        for k, v in model.state_dict().items():
            np.testing.assert_array_equal(v, good[k])


def test_module_load_state_dict_refuses_a_non_dict():
    with pytest.raises(TypeError, match="expected a dict"):
        nn.Linear(2, 2).load_state_dict([1, 2])


def test_shared_parameter_is_listed_once_and_trains():
    layer = nn.Linear(2, 2)
    model = nn.Sequential(layer, nn.ReLU(), layer)
    params = list(model.parameters())
    assert len(params) == 2 and len({id(p) for p in params}) == 2
    opt = optim.SGD(model.parameters(), lr=0.1)
    model(Tensor(np.ones((1, 2)))).sum().backward()
    opt.step()
    assert list(model.state_dict()) == ["0.weight", "0.bias"]


SCHEDULERS = {
    "StepLR": lambda o, v: lr_scheduler.StepLR(o, step_size=1, gamma=v),
    "MultiStepLR": lambda o, v: lr_scheduler.MultiStepLR(o, milestones=[1], gamma=v),
    "ExponentialLR": lambda o, v: lr_scheduler.ExponentialLR(o, gamma=v),
    "CosineAnnealingLR": lambda o, v: lr_scheduler.CosineAnnealingLR(o, T_max=2, eta_min=v),
    "ReduceLROnPlateau.factor": lambda o, v: lr_scheduler.ReduceLROnPlateau(o, factor=v),
    "ReduceLROnPlateau.min_lr": lambda o, v: lr_scheduler.ReduceLROnPlateau(o, min_lr=v),
    "ReduceLROnPlateau.eps": lambda o, v: lr_scheduler.ReduceLROnPlateau(o, eps=v),
}


@pytest.mark.parametrize("value", [math.nan, math.inf, -1.0])
@pytest.mark.parametrize("name", sorted(SCHEDULERS))
def test_scheduler_constructor_refuses(name, value):
    o = _make("SGD")
    with pytest.raises((TypeError, ValueError)):
        SCHEDULERS[name](o, value)
    assert "initial_lr" not in o.param_groups[0]


SCHED_MUTATIONS = {
    "gamma inf": lambda s: s.update(gamma=math.inf), "gamma nan": lambda s: s.update(gamma=math.nan),
    "step_size 0": lambda s: s.update(step_size=0), "last_epoch -1": lambda s: s.update(last_epoch=-1),
    "base_lrs nan": lambda s: s.update(base_lrs=[math.nan]), "base_lrs length": lambda s: s.update(base_lrs=[0.1, 0.1]),
    "missing key": lambda s: s.pop("gamma"), "unexpected key": lambda s: s.update(foo=1),
}


@pytest.mark.parametrize("name", sorted(SCHED_MUTATIONS))
def test_scheduler_load_state_dict_is_all_or_nothing(name):
    sched = lr_scheduler.StepLR(_make("SGD"), step_size=2, gamma=0.5)
    sched.step()
    before = sched.state_dict()
    state = sched.state_dict()
    SCHED_MUTATIONS[name](state)
    with pytest.raises((KeyError, TypeError, ValueError)):
        sched.load_state_dict(state)
    assert sched.state_dict() == before


def test_plateau_load_state_dict_keeps_an_infinite_best_but_refuses_nan():
    sched = lr_scheduler.ReduceLROnPlateau(_make("SGD"))
    state = sched.state_dict()
    sched.load_state_dict(state)
    state["best"] = math.nan
    with pytest.raises(ValueError, match="best"):
        sched.load_state_dict(state)


@pytest.mark.parametrize("bad", [math.nan, -1.0, "1"])
def test_initializers_refuse_non_finite_settings(bad):
    w = nn.Parameter(np.ones((2, 2)))
    with pytest.raises((TypeError, ValueError)):
        tl.init.normal_(w, std=bad)
    np.testing.assert_array_equal(w.data, 1.0)
