"""Flat optimizers (``flat=True`` / ``make_flat()``): the parameters, gradients and state re-homed
into one buffer per group, updated by one kernel call per group, bit for bit as the per-parameter
optimizer."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinygrad_lab import Tensor, nn
from tinygrad_lab.optim import REGISTRY, SGD, Adam
from tinygrad_lab.optim.flat import ALIGN_BYTES, FlatGroup

#: every optimizer of the package, with its defaults and with its flags and weight decay on
CONFIGS = [
    (REGISTRY["sgd"], {"lr": 0.1}),
    (REGISTRY["sgd"], {"lr": 0.05, "momentum": 0.9, "dampening": 0.1, "weight_decay": 1e-2}),
    (REGISTRY["sgd"], {"lr": 0.05, "momentum": 0.9, "nesterov": True}),
    (REGISTRY["adagrad"], {"lr": 0.1, "lr_decay": 0.01, "initial_accumulator_value": 0.1, "weight_decay": 1e-2}),
    (REGISTRY["rmsprop"], {"lr": 0.01}),
    (REGISTRY["rmsprop"], {"lr": 0.01, "momentum": 0.5, "centered": True, "weight_decay": 1e-2}),
    (REGISTRY["adadelta"], {"lr": 1.0, "weight_decay": 1e-2}),
    (REGISTRY["adam"], {"lr": 0.01, "weight_decay": 1e-2}),
    (REGISTRY["adamw"], {"lr": 0.01}),
    (REGISTRY["nadam"], {"lr": 0.01}),
    (REGISTRY["nadam"], {"lr": 0.01, "weight_decay": 1e-2, "decoupled_weight_decay": True}),
]
IDS = [f"{c.__name__}-{'-'.join(kw) }" for c, kw in CONFIGS]
SHAPES = [(3, 5), (5,), (1,), (), (2, 3, 4), (17,)]


def test_every_optimizer_is_covered():
    assert {cls for cls, _ in CONFIGS} == set(REGISTRY.values())


def make_params(shapes, dtype, seed=0):
    rng = np.random.default_rng(seed)
    return [Tensor(rng.standard_normal(s).astype(dtype), requires_grad=True) for s in shapes]


def set_grads(params, k, skip=()):
    rng = np.random.default_rng(1000 + k)
    for i, p in enumerate(params):
        g = rng.standard_normal(p.shape).astype(p.dtype)
        p.grad = None if i in skip else Tensor(g)


def assert_same(a_params, a_opt, b_params, b_opt):
    for p, q in zip(a_params, b_params):
        assert p.data.dtype == q.data.dtype
        np.testing.assert_array_equal(p.data, q.data)
    sa, sb = a_opt.state_dict(), b_opt.state_dict()
    assert sa["param_groups"] == sb["param_groups"]
    assert sa["state"].keys() == sb["state"].keys()
    for i in sa["state"]:
        assert sa["state"][i].keys() == sb["state"][i].keys()
        for key, v in sa["state"][i].items():
            w = sb["state"][i][key]
            if isinstance(v, np.ndarray):
                assert v.dtype == w.dtype
                np.testing.assert_array_equal(v, w.reshape(v.shape))
            else:
                assert v == w, key


def twins(cls, kw, dtype, shapes=SHAPES):
    a, b = make_params(shapes, dtype), make_params(shapes, dtype)
    return a, cls(a, **kw), b, cls(b, **kw, flat=True)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("cls,kw", CONFIGS, ids=IDS)
def test_flat_is_bit_identical_to_per_parameter(cls, kw, dtype, backend):
    """Flat group updates, a step with a gradient missing (per parameter on the views), the scalars
    then differing (per parameter from then on), a new lr and a state_dict round trip."""
    a, opt_a, b, opt_b = twins(cls, kw, dtype)
    for k in range(3):
        set_grads(a, k), set_grads(b, k)
        opt_a.step(), opt_b.step()
        assert_same(a, opt_a, b, opt_b)
    for k in range(3, 5):
        set_grads(a, k, skip=(1,) if k == 3 else ()), set_grads(b, k, skip=(1,) if k == 3 else ())
        opt_a.step(), opt_b.step()
        assert_same(a, opt_a, b, opt_b)
    for group in opt_a.param_groups + opt_b.param_groups:
        group["lr"] *= 0.5
    opt_a.load_state_dict(opt_a.state_dict()), opt_b.load_state_dict(opt_b.state_dict())
    for k in range(5, 7):
        set_grads(a, k), set_grads(b, k)
        opt_a.step(), opt_b.step()
        assert_same(a, opt_a, b, opt_b)


@settings(deadline=None, max_examples=25)
@given(shapes=st.lists(st.lists(st.integers(1, 9), max_size=3).map(tuple), min_size=1, max_size=6),
       which=st.integers(0, len(CONFIGS) - 1), steps=st.integers(1, 4),
       dtype=st.sampled_from([np.float32, np.float64]))
def test_flat_is_bit_identical_for_any_shapes(shapes, which, steps, dtype):
    cls, kw = CONFIGS[which]
    a, opt_a, b, opt_b = twins(cls, kw, dtype, shapes)
    home = opt_b.make_flat()[0]
    for k in range(steps):
        set_grads(a, k), set_grads(b, k)
        opt_a.step(), opt_b.step()
    assert_same(a, opt_a, b, opt_b)
    gaps = np.ones(home.data.size, bool)
    for s in home.slices:
        gaps[s] = False
    assert not home.data[gaps].any() and not home.grad[gaps].any()  # the alignment gaps stay zeros


def test_parameters_gradients_and_state_are_views_of_the_flat_buffers():
    params = make_params(SHAPES, np.float32)
    opt = Adam(params, lr=0.01, flat=True)
    set_grads(params, 0)
    opt.step()
    (home,) = opt.make_flat()
    assert isinstance(home, FlatGroup) and home.data.dtype == np.float32
    for p, s, view in zip(params, home.slices, home.views):
        assert p.data is view and p.data.base is home.data
        assert s.start * 4 % ALIGN_BYTES == 0
        np.testing.assert_array_equal(home.grad[s], p.grad.data.reshape(-1))  # gathered
        for key in ("exp_avg", "exp_avg_sq"):
            assert opt.state[id(p)][key].base is home.state[key]
        assert opt.state[id(p)]["step"] == 1


def test_make_flat_on_a_trained_optimizer_keeps_values_and_continues_bit_for_bit(backend):
    cls, kw = REGISTRY["rmsprop"], {"lr": 0.01, "momentum": 0.5, "centered": True}
    a, b = make_params(SHAPES, np.float64), make_params(SHAPES, np.float64)
    opt_a, opt_b = cls(a, **kw), cls(b, **kw)
    for k in range(2):
        set_grads(a, k), set_grads(b, k)
        opt_a.step(), opt_b.step()
    homes = opt_b.make_flat()
    assert opt_b.flat and opt_b.make_flat() == homes   # re-homed once: a second call keeps the buffers
    assert all(p.data.base is homes[0].data for p in b)
    assert_same(a, opt_a, b, opt_b)
    for k in range(2, 4):
        set_grads(a, k), set_grads(b, k)
        opt_a.step(), opt_b.step()
        assert_same(a, opt_a, b, opt_b)


def test_a_gradient_that_is_the_flat_view_is_used_in_place():
    a, opt_a, b, opt_b = twins(Adam, {"lr": 0.01}, np.float64)
    (home,) = opt_b.make_flat()
    for k in range(3):
        set_grads(a, k), set_grads(b, k)
        for p, view in zip(b, home.grad_views):   # as a captured step's backward writes them
            view[...] = p.grad.data
            p.grad = Tensor.wrap(view)
        opt_a.step(), opt_b.step()
        assert_same(a, opt_a, b, opt_b)


def test_rebound_data_and_module_to_rebuild_the_buffers():
    """``p.data = …`` and ``Module.to`` move a parameter out of the flat buffer: the next step
    re-homes the group (the state follows, cast) instead of updating a stale copy."""
    eager, flat = nn.MLP([4, 6, 3], seed=0), nn.MLP([4, 6, 3], seed=0)
    opt_a, opt_b = Adam(eager.parameters(), lr=0.01), Adam(flat.parameters(), lr=0.01, flat=True)
    pa, pb = list(eager.parameters()), list(flat.parameters())

    def step(k):
        set_grads(pa, k), set_grads(pb, k)
        opt_a.step(), opt_b.step()
        assert_same(pa, opt_a, pb, opt_b)

    step(0)
    old = opt_b.make_flat()[0]
    pa[0].data = pa[0].data * 0.5
    pb[0].data = pb[0].data * 0.5
    step(1)
    home = opt_b.make_flat()[0]
    assert home is not old and pb[0].data.base is home.data
    eager.to(np.float32), flat.to(np.float32)
    step(2)
    step(3)
    home = opt_b.make_flat()[0]
    assert home.data.dtype == np.float32 and opt_b.state[id(pb[0])]["exp_avg"].base is home.state["exp_avg"]


def test_load_state_dict_is_copied_into_the_flat_state():
    """An earlier state loaded: the step reads it, not the flat state it replaced."""
    a, opt_a, b, opt_b = twins(SGD, {"lr": 0.1, "momentum": 0.9}, np.float64)
    for k in range(2):
        set_grads(a, k), set_grads(b, k)
        opt_a.step(), opt_b.step()
        if k == 0:
            saved = opt_a.state_dict()
    opt_a.load_state_dict(saved), opt_b.load_state_dict(saved)
    (home,) = opt_b.make_flat()
    set_grads(a, 2), set_grads(b, 2)
    opt_a.step(), opt_b.step()
    assert_same(a, opt_a, b, opt_b)
    assert all(opt_b.state[id(p)]["momentum_buffer"].base is home.state["momentum_buffer"] for p in b)


@pytest.mark.parametrize("edit", ["step count", "moment array"])
def test_a_state_entry_set_anew_by_hand_is_read_by_the_next_flat_step(edit):
    """``opt.state[id(p)][key] = …`` between two steps (a new object, not a write into the view):
    the flat step reads it, as the per-parameter step does, never the flat copy it replaced."""
    a, opt_a, b, opt_b = twins(Adam, {"lr": 0.01}, np.float64)
    for k in range(3):
        set_grads(a, k), set_grads(b, k)
        opt_a.step(), opt_b.step()
        if k == 1:
            for params, opt in ((a, opt_a), (b, opt_b)):
                state = opt.state[id(params[0])]
                if edit == "step count":
                    state["step"] = 0  # reset: the bias correction starts again (now differs between params)
                else:
                    state["exp_avg"] = np.full(params[0].data.size, 0.5)
    assert_same(a, opt_a, b, opt_b)


def test_a_non_finite_gradient_in_a_flat_group_names_the_parameter_and_changes_nothing():
    params = make_params(SHAPES, np.float64)
    opt = Adam(params, lr=0.01, flat=True)
    set_grads(params, 0)
    opt.step()
    before = [p.data.copy() for p in params]
    set_grads(params, 1)
    params[4].grad.data[1, 2, 3] = np.nan
    with pytest.raises(FloatingPointError, match=r"param_groups\[0\] parameter 4 of shape \(2, 3, 4\)"):
        opt.step()
    for p, old in zip(params, before):
        np.testing.assert_array_equal(p.data, old)
    assert all(opt.state[id(p)]["step"] == 1 for p in params)


def test_a_group_that_mixes_dtypes_is_updated_per_parameter():
    a = make_params([(3,)], np.float32) + make_params([(2,)], np.float64)
    b = make_params([(3,)], np.float32) + make_params([(2,)], np.float64)
    opt_a, opt_b = Adam(a, lr=0.1), Adam(b, lr=0.1, flat=True)
    assert opt_b.make_flat() == [None]
    for k in range(2):
        set_grads(a, k), set_grads(b, k)
        opt_a.step(), opt_b.step()
    assert_same(a, opt_a, b, opt_b)


def test_a_parameter_group_added_later_is_re_homed():
    a, opt_a, b, opt_b = twins(Adam, {"lr": 0.01}, np.float64, SHAPES[:2])
    extra_a, extra_b = make_params([(4,)], np.float64, seed=3), make_params([(4,)], np.float64, seed=3)
    opt_a.add_param_group({"params": extra_a, "lr": 0.1})
    opt_b.add_param_group({"params": extra_b, "lr": 0.1})
    assert extra_b[0].data.base is opt_b.make_flat()[1].data
    for k in range(2):
        set_grads(a + extra_a, k), set_grads(b + extra_b, k)
        opt_a.step(), opt_b.step()
    assert_same(a + extra_a, opt_a, b + extra_b, opt_b)


@pytest.mark.parametrize("cls,kw", CONFIGS, ids=IDS)
def test_a_flat_step_is_one_update_per_group_and_falls_back_per_parameter(cls, kw, monkeypatch):
    params = make_params(SHAPES, np.float32)
    opt = cls(params, **kw, flat=True)
    calls = []
    update = opt._update
    monkeypatch.setattr(opt, "_update", lambda backend, param, *rest: calls.append(param.size) or
                        update(backend, param, *rest))
    for k in range(2):
        set_grads(params, k)
        opt.step()
    assert calls == [opt.make_flat()[0].data.size] * 2
    calls.clear()
    set_grads(params, 2, skip=(0,))                # a gradient missing: per parameter, on the views
    opt.step()
    assert calls == [p.size for p in params[1:]]


def test_a_captured_step_runs_the_same_step_over_the_same_buffers():
    """capture re-homes the optimizer (make_flat) and its update is the optimizer's own step: an
    earlier state loaded between replays is read by the next replay, with no new recording."""
    from tinygrad_lab import capture, cross_entropy

    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((8, 5)), rng.integers(0, 3, 8)
    twins_ = []
    for _ in range(2):
        model = nn.MLP([5, 7, 3], seed=0)
        opt = Adam(model.parameters(), lr=0.01)

        def step(x, y, model=model, opt=opt):
            opt.zero_grad()
            loss = cross_entropy(model(Tensor(x)), y)
            loss.backward()
            opt.step()
            return loss.item()
        twins_.append((model, opt, step))
    (ma, oa, eager), (mb, ob, step) = twins_
    step = capture(step)
    for _ in range(2):
        assert eager(x, y) == step(x, y)
    plan = step.plan
    assert plan is not None and plan.groups == ob.make_flat()
    assert all(p.grad.data.base is plan.groups[0].grad for p in mb.parameters())
    saved = oa.state_dict()
    for _ in range(2):
        assert eager(x, y) == step(x, y)
    oa.load_state_dict(saved), ob.load_state_dict(saved)
    for _ in range(2):
        assert eager(x, y) == step(x, y)
        assert step.plan is plan
        assert_same(list(ma.parameters()), oa, list(mb.parameters()), ob)
