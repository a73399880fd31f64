"""100 steps of every optimizer and scheduler against torch.optim, float64, to 1e-10 (skipped
without torch)."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from tinygrad_lab.optim import SGD, Adagrad, Adam, AdamW, RMSprop, lr_scheduler  # noqa: E402

SHAPES = [(4, 3), (5,), ()]
OPTIMIZERS = [
    ("SGD", SGD, {"lr": 0.1}),
    ("SGD", SGD, {"lr": 0.05, "momentum": 0.9}),
    ("SGD", SGD, {"lr": 0.05, "momentum": 0.9, "dampening": 0.3, "weight_decay": 1e-2}),
    ("SGD", SGD, {"lr": 0.05, "momentum": 0.8, "nesterov": True, "weight_decay": 1e-3}),
    ("Adagrad", Adagrad, {}),
    ("Adagrad", Adagrad, {"lr": 0.1, "lr_decay": 1e-2, "weight_decay": 1e-2,
                          "initial_accumulator_value": 0.1, "eps": 1e-6}),
    ("RMSprop", RMSprop, {}),
    ("RMSprop", RMSprop, {"lr": 1e-3, "alpha": 0.9, "momentum": 0.9, "weight_decay": 1e-2}),
    ("RMSprop", RMSprop, {"lr": 1e-3, "centered": True, "momentum": 0.5, "eps": 1e-6}),
    ("Adam", Adam, {}),
    ("Adam", Adam, {"lr": 1e-2, "betas": (0.8, 0.99), "eps": 1e-6, "weight_decay": 1e-2}),
    ("AdamW", AdamW, {}),
    ("AdamW", AdamW, {"lr": 1e-2, "betas": (0.5, 0.9), "weight_decay": 0.1}),
]


def _ids(cases):
    return [f"{name}-{i}" for i, (name, *_) in enumerate(cases)]


@pytest.mark.parametrize("name,cls,kw", OPTIMIZERS, ids=_ids(OPTIMIZERS))
def test_optimizer_matches_torch(name, cls, kw, make_param, backend):
    rng = np.random.default_rng(7)
    init = [rng.standard_normal(s) for s in SHAPES]
    ours = [make_param(a) for a in init]
    theirs = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in init]
    opt = cls(ours, **kw)
    topt = getattr(torch.optim, name)(theirs, **kw)
    for step in range(100):
        for p, t in zip(ours, theirs):
            if step % 7 == 3 and p is ours[2]:  # sometimes a parameter has no gradient
                p.grad, t.grad = None, None
                continue
            g = rng.standard_normal(p.data.shape)
            p.set_grad(g)
            t.grad = torch.tensor(g, dtype=torch.float64)
        opt.step()
        topt.step()
    for p, t in zip(ours, theirs):
        np.testing.assert_allclose(p.data, t.detach().numpy(), rtol=1e-10, atol=1e-12)


SCHEDULERS = [
    ("StepLR", {"step_size": 7, "gamma": 0.5}),
    ("StepLR", {"step_size": 10, "gamma": 1 / 3}),
    ("MultiStepLR", {"milestones": [5, 20, 20, 60], "gamma": 0.3}),
    ("ExponentialLR", {"gamma": 0.94}),
    ("CosineAnnealingLR", {"T_max": 30, "eta_min": 1e-3}),
]


def _pair(make_param, lrs=(0.1, 0.02)):
    p, q = make_param([1.0]), make_param([2.0])
    t, u = (torch.tensor([v], dtype=torch.float64, requires_grad=True) for v in (1.0, 2.0))
    opt = SGD([{"params": [p]}, {"params": [q], "lr": lrs[1]}], lr=lrs[0], momentum=0.9)
    topt = torch.optim.SGD([{"params": [t]}, {"params": [u], "lr": lrs[1]}], lr=lrs[0],
                           momentum=0.9)
    return (p, q), opt, (t, u), topt


def _step_both(rng, ours, opt, theirs, topt):
    for p, t in zip(ours, theirs):
        g = rng.standard_normal(1)
        p.set_grad(g)
        t.grad = torch.tensor(g, dtype=torch.float64)
    opt.step()
    topt.step()


@pytest.mark.parametrize("name,kw", SCHEDULERS, ids=_ids(SCHEDULERS))
def test_scheduler_matches_torch(name, kw, make_param):
    rng = np.random.default_rng(1)
    ours, opt, theirs, topt = _pair(make_param)
    sched = getattr(lr_scheduler, name)(opt, **kw)
    tsched = getattr(torch.optim.lr_scheduler, name)(topt, **kw)
    for _ in range(100):
        _step_both(rng, ours, opt, theirs, topt)
        sched.step()
        tsched.step()
        np.testing.assert_allclose(sched.get_last_lr(), tsched.get_last_lr(), rtol=1e-10)
    for p, t in zip(ours, theirs):
        np.testing.assert_allclose(p.data, t.detach().numpy(), rtol=1e-10)


@pytest.mark.parametrize("kw", [{}, {"patience": 2, "factor": 0.5, "cooldown": 3, "min_lr": 1e-4},
                                {"mode": "max", "threshold_mode": "abs", "threshold": 0.1,
                                 "patience": 1, "min_lr": [0.0, 0.015]}])
def test_reduce_on_plateau_matches_torch(kw, make_param):
    rng = np.random.default_rng(2)
    ours, opt, theirs, topt = _pair(make_param)
    sched = lr_scheduler.ReduceLROnPlateau(opt, **kw)
    tsched = torch.optim.lr_scheduler.ReduceLROnPlateau(topt, **kw)
    metric = 1.0
    for k in range(100):
        _step_both(rng, ours, opt, theirs, topt)
        metric = metric * (0.97 if k < 20 else 1.0) + 0.05 * rng.standard_normal()
        sched.step(metric)
        tsched.step(metric)
        assert sched.get_last_lr() == pytest.approx(tsched.get_last_lr(), rel=1e-12)
    assert sched.get_last_lr()[0] < 0.1  # it did reduce
