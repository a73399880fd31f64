"""tinygrad_lab.capture: a replayed step equals the eager step bit for bit, and every guard falls back."""
import warnings

import numpy as np
import pytest

import tinygrad_lab as tg
from tinygrad_lab import Tensor, activations, cross_entropy, nn, optim
from tinygrad_lab.capture import CaptureFallback, capture
from tinygrad_lab import autograd

OPTIMIZERS = [(name, {}) for name in optim.REGISTRY] + [
    ("sgd", {"momentum": 0.9}), ("sgd", {"momentum": 0.9, "nesterov": True}),
    ("sgd", {"momentum": 0.9, "dampening": 0.1, "weight_decay": 1e-3}), ("adam", {"weight_decay": 1e-2})]
FEATURES = {"plain": {}, "batchnorm": {"bn": True}, "dropout": {"dropout": 0.3}, "clip": {"clip": 0.5},
            "all": {"bn": True, "dropout": 0.3, "clip": 0.5}}

rng = np.random.default_rng(1)
X, Y = rng.normal(size=(100, 20)), rng.integers(0, 3, 100)


class Setup:
    """A model, its optimizer and a step function, built the same way every time."""

    def __init__(self, dtype, opt="adam", kw=None, bn=False, dropout=0.0, clip=None, returns="item", fuse=True):
        self.dtype = dtype
        self.model = nn.MLP([20, 16, 12, 3], activation="relu", seed=0, fuse=fuse, dtype=dtype,
                            batchnorm=bn, dropout=dropout)
        lr = 0.5 if opt == "adadelta" else 1e-2
        self.opt = optim.REGISTRY[opt](self.model.parameters(), lr=lr, **(kw or {}))
        self.clip, self.returns = clip, returns

    def step(self, x, y):
        self.opt.zero_grad()
        loss = cross_entropy(self.model(Tensor(x)), y)
        loss.backward()
        if self.clip:
            optim.clip_grad_norm_(self.model.parameters(), self.clip)
        self.opt.step()
        return loss.item() if self.returns == "item" else loss


def batches(dtype, n=8):
    """Full batches of 32, a partial last batch of 4, then full batches again."""
    for i in range(n):
        start = 32 * (i % 4)
        yield X[start:start + 32].astype(dtype), Y[start:start + 32]


def assert_same(a: Setup, b: Setup):
    for (name, pa), pb in zip(a.model.named_parameters(), b.model.parameters()):
        assert pa.data.tobytes() == pb.data.tobytes(), name
        assert (pa.grad is None) == (pb.grad is None), name
        assert pa.grad is None or pa.grad.data.tobytes() == pb.grad.data.tobytes(), name
    for (name, ba), (_, bb) in zip(a.model.named_buffers(), b.model.named_buffers()):
        assert ba.tobytes() == bb.tobytes(), name
    sa, sb = a.opt.state_dict(), b.opt.state_dict()
    assert sa["param_groups"] == sb["param_groups"]
    for i, state in sa["state"].items():
        for key, value in state.items():
            other = sb["state"][i][key]
            assert (value.tobytes() == other.tobytes()) if isinstance(value, np.ndarray) else value == other, key
    assert [type(m) for m in a.model.modules()] == [type(m) for m in b.model.modules()]
    for ma, mb in zip(a.model.modules(), b.model.modules()):
        if isinstance(ma, nn.Dropout):
            assert ma.rng.bit_generator.state == mb.rng.bit_generator.state


def run_both(dtype, opt="adam", kw=None, n=8, **features):
    eager, captured = Setup(dtype, opt, kw, **features), Setup(dtype, opt, kw, **features)
    step = capture(captured.step)
    for x, y in batches(dtype, n):
        assert eager.step(x, y) == step(x, y)
        assert step.reason is None, step.reason
        assert_same(eager, captured)
    return eager, captured, step


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("opt,kw", OPTIMIZERS, ids=[f"{n}-{'-'.join(kw)}" for n, kw in OPTIMIZERS])
@pytest.mark.parametrize("features", ["plain", "all"])
def test_replay_is_bit_identical_for_every_optimizer(dtype, opt, kw, features):
    run_both(dtype, opt, kw, **FEATURES[features])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("features", ["batchnorm", "dropout", "clip"])
def test_replay_is_bit_identical_with_each_feature(dtype, features):
    run_both(dtype, **FEATURES[features])


def test_later_calls_replay_without_graph_nodes_or_tensors(monkeypatch):
    _, _, step = run_both(np.float32, n=2, bn=True, dropout=0.2)
    assert step.plan is not None

    def refuse(*args):
        raise AssertionError("a Tensor was made or the engine ran during a replay")

    monkeypatch.setattr(Tensor, "wrap", classmethod(refuse))  # every op's output is wrapped
    monkeypatch.setattr(Tensor, "__init__", refuse)
    monkeypatch.setattr(autograd, "_run", refuse)
    x, y = next(batches(np.float32))
    assert np.isfinite(step(x, y))


def test_eval_train_switches_keep_the_replay_identical():
    eager, captured = Setup(np.float32, dropout=0.3), Setup(np.float32, dropout=0.3)
    step = capture(captured.step)
    previous, shape = None, None
    for i, (x, y) in enumerate(batches(np.float32, 10)):
        switched = False
        if i % 3 == 2:  # evaluate in between, as Trainer does each epoch
            for s in (eager, captured):
                s.model.eval()
                with tg.no_grad():
                    s.model(Tensor(x))
                s.model.train()
            switched = True
        mode = i in (4, 5)  # two steps in eval mode (dropout off)
        switched |= mode != (i - 1 in (4, 5))
        for s in (eager, captured):
            s.model.train(not mode)
        assert eager.step(x, y) == step(x, y)
        assert step.reason is None
        assert_same(eager, captured)
        if i and not switched and x.shape == shape:
            assert step.plan is previous, f"call {i} recorded again though nothing changed"
        else:  # a mode switch is an edit of the modules: the step records again
            assert step.plan is not previous, f"call {i} replayed a plan recorded before a mode switch"
        previous, shape = step.plan, x.shape


def _reads(step, array) -> bool:
    """Whether the replay's kernels read ``array`` itself as an argument of the step."""
    return any(k.args[j] is array for readers in step.plan.readers.values() for k, positions in readers
               for j in positions)


def test_an_argument_is_read_in_place_and_a_strided_one_is_copied():
    eager, captured = Setup(np.float64), Setup(np.float64)
    step = capture(captured.step)
    seen = set()
    for i, (x, y) in enumerate(batches(np.float64, 8)):
        x = x if i % 2 else np.asfortranarray(x)    # F-ordered: copied into the plan's buffer
        assert eager.step(x, y) == step(x, y)
        assert_same(eager, captured)
        if x.shape in seen:                         # a replay (the first call of a shape records)
            assert _reads(step, x) == x.flags.c_contiguous
        seen.add(x.shape)


def test_an_argument_overlapping_what_the_step_writes_is_copied():
    """x is a view of the flat gradient buffer where the later layers' gradients go: the backward
    writes them before it reads x for the first layer's weight gradient, so read in place, the
    replay would differ from the eager step (which copies x first)."""
    eager, captured = Setup(np.float64), Setup(np.float64)
    step = capture(captured.step)
    for _ in range(2):                              # records the (16, 20) signature, then replays it
        eager.step(X[:16], Y[:16]), step(X[:16], Y[:16])
    flat_grad = step.plan.groups[0].grad              # the last 320 values: every layer's but the first
    for _ in range(3):
        x = flat_grad[-320:].reshape(16, 20)
        assert eager.step(x.copy(), Y[:16]) == step(x, Y[:16])
        assert step.reason is None
        assert_same(eager, captured)
    assert not _reads(step, x)


def test_the_plan_prints_every_kernel_with_its_buffers():
    _, _, step = run_both(np.float32, n=2, clip=0.5)
    text = str(step.plan)
    assert "argument 0 -> read      32x20 float32" in text and "argument 1 -> converted 32 int64" in text
    assert "Affine+relu                  32x20 float32, 16x20 float32, 16 float32, 32x16 float32" in text
    assert text.count("Affine+relu backward") == 2 and text.count("Affine backward") == 1
    assert text.count("CrossEntropy") == 2
    # the first layer's backward has no buffer for the input's gradient (the input needs none)
    assert ("Affine+relu backward         32x16 float32, 32x20 float32, 16x20 float32, 32x16 float32, "
            "32x16 float32, 16x20 float32, 16 float32\n") in text
    assert "clip_grad_norm_" in text and "Adam.step, flat" in text


def test_parameters_and_state_become_views_of_flat_buffers_and_state_dict_round_trips():
    eager, captured, step = run_both(np.float32, n=3)
    group = step.plan.groups[0]
    assert all(p.data.base is group.data for p in captured.model.parameters())
    assert all(p.grad.data.base is group.grad for p in captured.model.parameters())
    saved = captured.opt.state_dict()
    captured.opt.load_state_dict(saved)  # new state arrays: the next step copies them into the flat state
    eager.opt.load_state_dict(eager.opt.state_dict())
    for x, y in batches(np.float32, 3):
        assert eager.step(x, y) == step(x, y)
        assert_same(eager, captured)
    assert captured.opt.state[id(next(captured.model.parameters()))]["exp_avg"].base is step.plan.groups[0].state["exp_avg"]


def test_a_step_returning_the_loss_tensor_gets_a_tensor():
    eager, captured = Setup(np.float64, returns="tensor"), Setup(np.float64, returns="tensor")
    step = capture(captured.step)
    for x, y in batches(np.float64, 3):
        assert eager.step(x, y).item() == step(x, y).item()
    assert step.reason is None and step.plan is not None


def test_a_backend_switch_records_a_plan_for_that_backend():
    eager, captured = Setup(np.float64), Setup(np.float64)
    step = capture(captured.step)
    before = tg.get_backend().NAME
    try:
        for i, (x, y) in enumerate(batches(np.float64, 6)):
            tg.set_backend("numpy" if i >= 3 else before)
            assert eager.step(x, y) == step(x, y)
            assert_same(eager, captured)
    finally:
        tg.set_backend(before)
    assert {key[1] for key in step.plans} == {"numpy", before}


def test_a_non_finite_loss_runs_the_step_eagerly_with_the_forward_effects_undone():
    class Diverged(Exception):
        pass

    def checked(setup):
        def step(x, y):
            loss = cross_entropy(setup.model(Tensor(x)), y)
            if not np.isfinite(loss.item()):
                raise Diverged
            setup.opt.zero_grad()
            loss.backward()
            setup.opt.step()
            return loss.item()
        return step

    eager, captured = Setup(np.float32, bn=True, dropout=0.3), Setup(np.float32, bn=True, dropout=0.3)
    eager_step, step = checked(eager), capture(checked(captured))
    for i, (x, y) in enumerate(batches(np.float32, 6)):
        if i == 3:
            x = np.full_like(x, np.nan)
            for s in (eager_step, step):
                with pytest.raises(Diverged):
                    s(x, y)
        else:
            assert eager_step(x, y) == step(x, y)
        for (_, a), (_, b) in zip(eager.model.named_buffers(), captured.model.named_buffers()):
            assert a.tobytes() == b.tobytes()
    assert_same(eager, captured)


# ----- guards: a change between two calls re-records (or falls back), never replays the old plan --
def _first(s: Setup, kind) -> int:
    return next(i for i, m in enumerate(s.model.layers) if isinstance(m, kind))


def _append_linear(s: Setup):
    layer = nn.Linear(3, 3, rng=np.random.default_rng(7), dtype=s.dtype)
    s.model.layers.append(layer)
    s.opt.add_param_group({"params": list(layer.parameters()), "lr": 0.05})


def _swap_bias(s: Setup, tell_optimizer: bool):
    new = nn.Parameter(s.model[0].bias.data + 0.25)
    s.model[0].bias = new
    if tell_optimizer:
        s.opt.param_groups[0]["params"][1] = new


def _freeze(flag: bool):
    def change(s: Setup):
        s.model[0].bias.requires_grad = flag
    return change


def _set(kind, name, value):
    def change(s: Setup):
        setattr(s.model.layers[_first(s, kind)], name, value)
    return change


def _replace(kind, make):
    def change(s: Setup):
        s.model.layers[_first(s, kind)] = make()
    return change


def _leaky(s: Setup):
    """The first activation becomes leaky: an activation layer's, else a layer's built in."""
    layers = [m for m in s.model.layers if isinstance(m, nn.Activation)]
    if layers:
        layers[0].definition = activations.get("leaky_relu")
    else:
        s.model[0].activation = activations.get("leaky_relu")


NO_GRADIENT = "parameter 1 of group 0 (shape (16,)) gets no gradient"
NOT_UPDATED = "requires grad but the optimizer does not update it"
#: name -> (the model's features, {call index: the change made before it}, the fallback said after the
#: last change, or None when the step replays a new recording)
CHANGES = {
    "append an activation": ({}, {2: lambda s: s.model.layers.append(nn.Tanh())}, None),
    "append a layer and its parameter group": ({}, {2: _append_linear}, None),
    "insert a layer": ({}, {2: lambda s: s.model.layers.insert(1, nn.Sigmoid())}, None),
    "delete a layer": ({"dropout": 0.3}, {2: lambda s: s.model.layers.__delitem__(_first(s, nn.Dropout))}, None),
    "replace a layer by another type": ({"dropout": 0.3}, {2: _replace((nn.Activation, nn.Dropout), nn.Tanh)}, None),
    "replace a layer by one of its type, other settings": (
        {"dropout": 0.3}, {2: _replace(nn.Dropout, lambda: nn.Dropout(0.6, seed=5))}, None),
    "replace the layer list, then append to it": (
        {}, {2: lambda s: setattr(s.model, "layers", list(s.model.layers) + [nn.Tanh()]),
             4: lambda s: s.model.layers.append(nn.Sigmoid())}, None),
    "change a layer's activation": ({}, {2: _set(nn.Linear, "activation", activations.get("tanh"))}, None),
    "change an activation's definition": ({}, {2: _leaky}, None),
    "change dropout p": ({"dropout": 0.3}, {2: _set(nn.Dropout, "p", 0.6)}, None),
    "change batchnorm momentum": ({"bn": True}, {2: _set(nn.BatchNorm1d, "momentum", 0.5)}, None),
    "change batchnorm eps": ({"bn": True}, {2: _set(nn.BatchNorm1d, "eps", 0.1)}, None),
    "freeze a parameter": ({}, {2: _freeze(False)}, NO_GRADIENT),
    # with plain SGD: Adam's step count would differ between the parameters (the plan keeps one per group)
    "unfreeze a parameter": ({"opt": "sgd"}, {0: _freeze(False), 2: _freeze(True)}, None),
    "swap a parameter in the model only": ({}, {2: lambda s: _swap_bias(s, False)}, NOT_UPDATED),
    "swap a parameter in the model and its group": ({"opt": "sgd"}, {2: lambda s: _swap_bias(s, True)}, None),
    "rebind a parameter's data": ({}, {2: lambda s: setattr(s.model[0].weight, "data", s.model[0].weight.data * 0.5)},
                                  None),
    "cast the model through float32 (Module.to)": ({"bn": True}, {2: lambda s: s.model.float().double()}, None),
    "remove a parameter from its group": ({}, {2: lambda s: s.opt.param_groups[0]["params"].pop()}, NOT_UPDATED),
    "a new optimizer": ({}, {2: lambda s: setattr(s, "opt", optim.SGD(s.model.parameters(), lr=0.05))}, None),
    "change the learning rate": ({}, {2: lambda s: s.opt.param_groups[0].__setitem__("lr", 0.01)}, None),
    "load the model's state dict": (
        {"bn": True}, {2: lambda s: s.model.load_state_dict({k: v * 0.5 for k, v in s.model.state_dict().items()})},
        None),
    "load the optimizer's state dict": ({}, {2: lambda s: s.opt.load_state_dict(s.opt.state_dict())}, None),
    "evaluate in between": ({"dropout": 0.3}, {2: lambda s: s.model.eval(), 3: lambda s: s.model.train()}, None),
    "train in eval mode": ({"dropout": 0.3}, {2: lambda s: s.model.eval()}, None),
    "a module built elsewhere": ({}, {2: lambda s: nn.Linear(2, 2)}, None),
}


@pytest.mark.parametrize("fuse", [False, True], ids=["unfused", "fused"])
@pytest.mark.parametrize("change", CHANGES)
def test_a_change_between_calls_is_never_replayed_on_the_old_plan(change, fuse):
    """Twins, one eager and one captured, changed alike between two calls: the same losses, parameters,
    gradients, state and buffers after every call; the captured twin replays its new recording, or
    says why it runs eagerly."""
    features, changes, reason = CHANGES[change]
    eager, captured = Setup(np.float64, fuse=fuse, **features), Setup(np.float64, fuse=fuse, **features)
    step = capture(captured.step)
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        for i, (x, y) in enumerate(batches(np.float64, 7)):
            for s in (eager, captured):
                if i in changes:
                    changes[i](s)
            assert eager.step(x, y) == step(x, y), f"call {i}"
            assert_same(eager, captured)
    messages = [str(w.message) for w in said if w.category is CaptureFallback]
    if reason is None:
        assert step.reason is None and step.plan is not None, step.reason
    else:
        assert step.reason is not None and reason in step.reason and any(reason in m for m in messages)


def test_a_replay_edits_nothing_and_a_setting_written_with_its_value_keeps_the_plan():
    from tinygrad_lab.mode import edits

    eager, captured = Setup(np.float64, bn=True, dropout=0.3), Setup(np.float64, bn=True, dropout=0.3)
    step = capture(captured.step)
    x, y = next(batches(np.float64))
    for _ in range(2):
        assert eager.step(x, y) == step(x, y)
    plan, stamp = step.plan, edits().modules
    assert eager.step(x, y) == step(x, y)
    assert edits().modules == stamp  # BatchNorm's running statistics move in place: no edit
    for s in (eager, captured):
        s.model.layers[_first(s, nn.Dropout)].p = s.model.layers[_first(s, nn.Dropout)].p  # the same object
        s.model.train()                                                                     # already training
    assert edits().modules == stamp
    assert eager.step(x, y) == step(x, y)
    assert step.plan is plan
    nn.Linear(2, 2)  # any module edited, even one built elsewhere: the step records again (cheap, and safe)
    assert edits().modules != stamp
    assert eager.step(x, y) == step(x, y)
    assert step.plan is not plan and step.reason is None
    assert_same(eager, captured)


# ----- fallbacks: each guard runs the step eagerly, with its reason said once -------------------
def fallback(make_step, reason, calls=3, dtype=np.float32, **features):
    """Run ``make_step(setup)`` eagerly and captured; both give the same numbers, the capture says
    ``reason`` once and keeps it in ``step.reason``."""
    eager, captured = Setup(dtype, **features), Setup(dtype, **features)
    plain, step = make_step(eager), capture(make_step(captured))
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        for x, y in batches(dtype, calls):
            assert plain(x, y) == step(x, y)
    assert step.reason is not None and reason in step.reason
    assert step.plan is None
    messages = [str(w.message) for w in said if w.category is CaptureFallback]
    assert len(messages) == 1 and reason in messages[0]
    for pa, pb in zip(eager.model.parameters(), captured.model.parameters()):
        assert pa.data.tobytes() == pb.data.tobytes()


def test_fallback_no_grad_mode():
    def make(s):
        def step(x, y):
            with tg.enable_grad():
                return s.step(x, y)
        return step

    with tg.no_grad():
        fallback(make, "grad mode is off")


def test_fallback_anomaly_mode():
    with tg.detect_anomaly():
        fallback(lambda s: s.step, "anomaly detection is on")


def test_fallback_keyword_arguments():
    eager, captured = Setup(np.float32), Setup(np.float32)
    step = capture(captured.step)
    x, y = next(batches(np.float32))
    with pytest.warns(CaptureFallback, match="keyword arguments"):
        assert step(x, y=y) == eager.step(x, y)


def test_fallback_op_without_replay_kernels():
    def make(s):
        def step(x, y):
            s.opt.zero_grad()
            loss = (s.model(Tensor(x)) ** 2).mean()
            loss.backward()
            s.opt.step()
            return loss.item()
        return step

    fallback(make, "the op PowScalar has no replay kernels")


def test_fallback_missing_zero_grad():
    def make(s):
        def step(x, y):
            loss = cross_entropy(s.model(Tensor(x)), y)
            loss.backward()
            s.opt.step()
            return loss.item()
        return step

    fallback(make, "accumulates into an existing .grad")


def test_fallback_no_optimizer_step():
    def make(s):
        def step(x, y):
            s.opt.zero_grad()
            loss = cross_entropy(s.model(Tensor(x)), y)
            loss.backward()
            return loss.item()
        return step

    fallback(make, "the step calls backward")


def test_fallback_two_backward_calls():
    def make(s):
        def step(x, y):
            s.opt.zero_grad()
            cross_entropy(s.model(Tensor(x)), y).backward()
            loss = cross_entropy(s.model(Tensor(x)), y)
            loss.backward()
            s.opt.step()
            return loss.item()
        return step

    fallback(make, "the step calls backward, backward")


def test_fallback_input_that_is_not_an_argument():
    def make(s):
        def step(x, y):
            s.opt.zero_grad()
            loss = cross_entropy(s.model(Tensor(x * 0.5)), y)
            loss.backward()
            s.opt.step()
            return loss.item()
        return step

    fallback(make, "is neither an argument of the step")


def test_fallback_targets_that_are_not_an_argument():
    def make(s):
        def step(x, y):
            s.opt.zero_grad()
            loss = cross_entropy(s.model(Tensor(x)), (y + 1) % 3)
            loss.backward()
            s.opt.step()
            return loss.item()
        return step

    fallback(make, "the targets of shape (32,) is neither an argument")


def test_fallback_clip_grad_value():
    def make(s):
        def step(x, y):
            s.opt.zero_grad()
            loss = cross_entropy(s.model(Tensor(x)), y)
            loss.backward()
            optim.clip_grad_value_(s.model.parameters(), 0.01)
            s.opt.step()
            return loss.item()
        return step

    fallback(make, "clip_grad_value_")


def test_fallback_frozen_parameter_gets_no_gradient():
    def make(s):
        s.model[0].bias.requires_grad = False
        return s.step

    fallback(make, "parameter 1 of group 0 (shape (16,)) gets no gradient")


def test_fallback_parameter_the_optimizer_does_not_update():
    def make(s):
        s.opt = optim.SGD(list(s.model.parameters())[2:], lr=0.1)
        return s.step

    fallback(make, "requires grad but the optimizer does not update it")


def test_fallback_in_place_write_inside_the_step():
    def make(s):
        def step(x, y):
            value = s.step(x, y)
            s.model[0].bias.copy_(s.model[0].bias.data * 0.5)
            return value
        return step

    fallback(make, "writes into a tensor in place")


@pytest.mark.parametrize("features", [{"bn": True}, {"dropout": 0.3}], ids=["batchnorm", "dropout"])
def test_fallback_a_node_changing_state_outside_the_loss_graph(features):
    def make(s):
        def step(x, y):
            s.model(Tensor(x))  # moves BatchNorm's running statistics, draws a dropout mask: not in the loss
            return s.step(x, y)
        return step

    fallback(make, "changed state", **features)


@pytest.mark.parametrize("edit", [lambda m: m.train(), lambda m: m.to(np.float32)], ids=["train()", "to()"])
def test_fallback_a_module_edited_inside_the_step(edit):
    def make(s):
        def step(x, y):
            s.model.eval()
            edit(s.model)
            s.model.double()
            return s.step(x, y)
        return step

    fallback(make, "the step edits a module", dtype=np.float64)


def test_module_zero_grad_in_the_step_replays():
    def step_of(s):
        def step(x, y):
            s.model.zero_grad()
            loss = cross_entropy(s.model(Tensor(x)), y)
            loss.backward()
            s.opt.step()
            return loss.item()
        return step

    eager, captured = Setup(np.float32), Setup(np.float32)
    plain, step = step_of(eager), capture(step_of(captured))
    for x, y in batches(np.float32, 3):
        assert plain(x, y) == step(x, y)
        assert_same(eager, captured)
    assert step.plan is not None and step.reason is None


def test_fallback_step_returning_something_else():
    def make(s):
        def step(x, y):
            return s.step(x, y) * 2
        return step

    fallback(make, "not its loss")


def test_fallback_batchnorm_in_eval_mode():
    def make(s):
        s.model.eval()
        return s.step

    fallback(make, "has no replay kernels", bn=True)


def test_trainer_with_and_without_capture_is_bit_identical(tmp_path):
    from tinygrad_lab.train import Trainer
    from tinygrad_lab.train_config import TrainConfig
    from tinygrad_lab.train_data import load_data

    cfg = TrainConfig(dataset="mnist-sample", sizes=[784, 32, 10], epochs=2, batch_size=96, batchnorm=True,
                      dropout=0.2, clip_norm=1.0, val_split=0)
    data = load_data(cfg)
    runs = [Trainer(cfg, tmp_path / str(flag), data=data, progress=False, log=lambda *a: None, capture_steps=flag)
            for flag in (False, True)]
    histories = [t.fit() for t in runs]
    assert [h["train_loss"] for h in histories[0]] == [h["train_loss"] for h in histories[1]]
    for pa, pb in zip(runs[0].model.parameters(), runs[1].model.parameters()):
        assert pa.data.tobytes() == pb.data.tobytes()
    assert len(runs[1].run_step.plans) == 2  # full batches and the last, partial one
    assert runs[1].run_step.plan is not None


def test_casting_the_model_with_to_is_seen_by_the_guard_and_re_records():
    """Module.to rebinds every parameter's data: the plan's flat views are no longer the
    parameters', so the same signature records again, in the new dtype, and matches the eager step."""
    eager, captured = Setup(np.float64, bn=True), Setup(np.float64, bn=True)

    def numpy_step(setup):                       # the layer converts the numpy batch to its dtype
        def step(x, y):
            setup.opt.zero_grad()
            loss = cross_entropy(setup.model(x), y)
            loss.backward()
            setup.opt.step()
            return loss.item()
        return step
    run_eager, run_captured = numpy_step(eager), capture(numpy_step(captured))
    for i, (x, y) in enumerate(batches(np.float64, 6)):
        if i == 3:
            eager.model.float()
            captured.model.float()
        assert run_eager(x, y) == run_captured(x, y)
        assert_same(eager, captured)
    assert all(p.dtype == np.float32 for p in captured.model.parameters())
    assert "float32" in str(run_captured.plan)
