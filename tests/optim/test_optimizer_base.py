"""The shared Optimizer machinery, exercised through every optimizer."""

import numpy as np
import pytest

from tinygrad_lab.optim import SGD, Adagrad, Adam, AdamW, RMSprop

CONFIGS = [
    (SGD, {"lr": 0.1}),
    (SGD, {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 1e-2}),
    (Adagrad, {"lr": 0.1, "lr_decay": 0.01}),
    (RMSprop, {"lr": 0.01, "momentum": 0.5, "centered": True}),
    (Adam, {"lr": 0.01, "weight_decay": 1e-2}),
    (AdamW, {"lr": 0.01}),
]
IDS = [f"{c.__name__}-{i}" for i, (c, _) in enumerate(CONFIGS)]


def grads_for(k, shapes):
    rng = np.random.default_rng(k)
    return [rng.standard_normal(s) for s in shapes]


def run(opt, params, steps, first=0):
    for k in range(first, first + steps):
        for p, g in zip(params, grads_for(k, [p.data.shape for p in params])):
            p.set_grad(g)
        opt.step()


@pytest.mark.parametrize("cls,kw", CONFIGS, ids=IDS)
def test_state_dict_round_trip_continues_bit_for_bit(cls, kw, make_param, backend):
    a = [make_param(np.linspace(-1, 1, 6).reshape(2, 3)), make_param([0.5, -0.25])]
    opt = cls(a, **kw)
    run(opt, a, 3)
    saved = opt.state_dict()
    b = [make_param(p.data) for p in a]
    run(opt, a, 4, first=3)  # the original continues; saved must be a deep copy
    opt_b = cls(b, lr=123.0)  # hyperparameters come back from the state dict too
    opt_b.load_state_dict(saved)
    assert opt_b.param_groups[0]["lr"] == kw["lr"]
    run(opt_b, b, 4, first=3)
    for pa, pb in zip(a, b):
        np.testing.assert_array_equal(pa.data, pb.data)


def test_load_state_dict_mismatches(make_param):
    p, q = make_param([1.0, 2.0]), make_param([3.0])
    opt = Adam([p, q])
    p.set_grad([1.0, 1.0])
    q.set_grad([1.0])
    opt.step()
    sd = opt.state_dict()
    with pytest.raises(ValueError, match="2 parameters, optimizer has 1"):
        Adam([p]).load_state_dict(sd)
    with pytest.raises(ValueError, match="1 parameter groups, optimizer has 2"):
        Adam([{"params": [p]}, {"params": [q]}]).load_state_dict(sd)
    with pytest.raises(ValueError, match=r"'exp_avg' of parameter 0 has shape \(2,\).*\(3,\)"):
        Adam([make_param([1.0, 2.0, 3.0]), make_param([0.0])]).load_state_dict(sd)


def test_state_dict_layout(make_param):
    p = make_param([[1.0, 2.0]])
    opt = SGD([p], lr=0.1, momentum=0.9)
    p.set_grad([[1.0, 1.0]])
    opt.step()
    sd = opt.state_dict()
    assert sd["param_groups"][0]["params"] == [0]
    np.testing.assert_array_equal(sd["state"][0]["momentum_buffer"], [1.0, 1.0])
    sd["state"][0]["momentum_buffer"][0] = 99.0
    assert opt.state[id(p)]["momentum_buffer"][0] == 1.0  # a deep copy


def test_params_without_grad_are_skipped(make_param, backend):
    p, q = make_param([1.0]), make_param([2.0])
    opt = Adam([p, q], lr=0.1)
    p.set_grad([1.0])
    opt.step()
    assert q.data[0] == 2.0 and id(q) not in opt.state
    np.testing.assert_allclose(p.data, [0.9], rtol=1e-7)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_gradient_raises_and_changes_nothing(make_param, bad):
    p, q = make_param([1.0, 2.0]), make_param(np.zeros((2, 2)))
    opt = SGD([{"params": [p]}, {"params": [q], "lr": 0.5}], lr=0.1, momentum=0.9)
    p.set_grad([1.0, 1.0])
    q.set_grad([[0.0, bad], [0.0, 0.0]])
    with pytest.raises(FloatingPointError, match=r"param_groups\[1\] parameter 0 of shape \(2, 2\)"):
        opt.step()
    np.testing.assert_array_equal(p.data, [1.0, 2.0])  # checked before any update
    assert opt.state == {}


def test_lr_change_between_steps_and_groups(make_param, backend):
    p, q = make_param([1.0]), make_param([1.0])
    opt = SGD([{"params": [p]}, {"params": [q], "lr": 0.5}], lr=0.1)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.5]
    for x in (p, q):
        x.set_grad([1.0])
    opt.step()
    opt.param_groups[0]["lr"] = 0.2
    opt.step()
    np.testing.assert_allclose([p.data[0], q.data[0]], [1 - 0.1 - 0.2, 1 - 0.5 - 0.5])


def test_updates_in_place_through_views(make_param, backend):
    """A later issue backs all parameters by one flat buffer: p.data must never be rebound."""
    flat = np.arange(6.0)
    p, q = make_param([0.0]), make_param([0.0])
    p.data, q.data = flat[:4].reshape(2, 2), flat[4:]
    before = (p.data, q.data)
    opt = Adam([p, q], lr=0.5)
    p.set_grad(np.ones((2, 2)))
    q.set_grad(np.ones(2))
    opt.step()
    assert p.data is before[0] and q.data is before[1]
    np.testing.assert_allclose(flat, np.arange(6.0) - 0.5, rtol=1e-7)


def test_non_contiguous_parameter(make_param, backend):
    base = np.arange(12.0).reshape(3, 4)
    p = make_param([0.0])
    p.data = base[:, ::2]  # a strided view
    opt = SGD([p], lr=1.0)
    p.set_grad(np.ones((3, 2)))
    opt.step()
    np.testing.assert_array_equal(base[:, ::2], np.arange(12.0).reshape(3, 4)[:, ::2] - 1)
    np.testing.assert_array_equal(base[:, 1::2], np.arange(12.0).reshape(3, 4)[:, 1::2])


def test_float32_parameters_stay_float32(make_param, backend):
    p = make_param([1.0, 2.0], dtype=np.float32)
    opt = Adam([p], lr=0.1)
    p.grad = type("G", (), {"data": np.array([1.0, 1.0])})()  # a float64 grad is cast
    opt.step()
    assert p.data.dtype == np.float32
    assert opt.state[id(p)]["exp_avg"].dtype == np.float32
    np.testing.assert_allclose(p.data, [0.9, 1.9], rtol=1e-6)


def test_zero_grad(make_param):
    p = make_param([1.0])
    opt = SGD([p], lr=0.1)
    p.set_grad([3.0])
    opt.zero_grad(set_to_none=False)
    assert p.grad.data[0] == 0.0
    opt.zero_grad()
    assert p.grad is None


def test_closure_is_called_and_its_value_returned(make_param):
    p = make_param([1.0])
    opt = SGD([p], lr=0.1)

    def closure():
        p.set_grad([2.0])
        return 42.0

    assert opt.step(closure) == 42.0
    np.testing.assert_allclose(p.data, [0.8])


def test_grad_shape_mismatch(make_param):
    p = make_param([1.0, 2.0])
    p.set_grad([1.0])
    with pytest.raises(ValueError, match=r"grad shape \(1,\) != parameter shape \(2,\)"):
        SGD([p], lr=0.1).step()


@pytest.mark.parametrize("cls", [SGD, Adagrad, RMSprop, Adam, AdamW])
def test_bad_parameter_lists(cls, make_param):
    kw = {"lr": 0.1}
    with pytest.raises(ValueError, match="empty parameter list"):
        cls([], **kw)
    with pytest.raises(ValueError, match="empty parameter list"):
        cls(iter(()), **kw)
    with pytest.raises(TypeError, match=r"parameter 1 of group 0 is a ndarray, not a Tensor"):
        cls([make_param([1.0]), np.zeros(3)], **kw)
    with pytest.raises(TypeError, match="parameter 0 of group 0 is a float"):
        cls([1.5], **kw)
    with pytest.raises(TypeError, match="single FakeParam"):
        cls(make_param([1.0]), **kw)
    with pytest.raises(ValueError, match="more than once"):
        p = make_param([1.0])
        cls([p, p], **kw)
    with pytest.raises(ValueError, match="invalid lr: -0.1"):
        cls([make_param([1.0])], lr=-0.1)
    with pytest.raises(ValueError, match="invalid lr: -1"):
        cls([{"params": [make_param([1.0])], "lr": -1}], lr=0.1)
    with pytest.raises(TypeError, match="lr must be a real number"):
        cls([make_param([1.0])], lr="fast")


def test_integer_parameters_rejected(make_param):
    p = make_param([1.0])
    p.data = np.array([1, 2])
    with pytest.raises(TypeError, match="int64"):
        SGD([p], lr=0.1)


def test_a_new_optimizer_or_parameter_group_moves_the_groups_stamp(make_param):
    """A captured step re-records when these stamps move (tests/test_capture.py)."""
    from tinygrad_lab.mode import edits

    before = edits().groups
    opt = SGD([make_param([1.0, 2.0])], lr=0.1)
    assert edits().groups != before
    before = edits().groups
    opt.add_param_group({"params": [make_param([3.0])]})
    assert edits().groups != before


# ----- a step never writes a NaN or inf that its inputs did not hold ---------------------------------
from tinygrad_lab.optim import Adadelta, NAdam  # noqa: E402

EPS_OPTIMIZERS = [Adam, AdamW, NAdam, RMSprop, Adagrad, Adadelta]


@pytest.mark.parametrize("cls", EPS_OPTIMIZERS, ids=lambda c: c.__name__)
def test_eps_zero_is_refused_where_a_zero_gradient_would_write_nan(cls, make_param):
    """Adam(eps=0) with a zero gradient wrote 0/0 = NaN into the weights without an error."""
    with pytest.raises(ValueError, match=r"invalid eps: 0 is 0, and a zero gradient with zero running averages "
                                         r"would then write 0/0 = NaN into the weights"):
        cls([make_param([1.0, 2.0])], eps=0)
    with pytest.raises(ValueError, match=r"invalid eps: 1e-50 is 0 in float32"):
        cls([make_param([1.0, 2.0], dtype=np.float32)], eps=1e-50)
    p = make_param([1.0, 2.0])
    opt = cls([p])
    opt.param_groups[0]["eps"] = 0.0                   # changed between steps: refused before any write
    p.set_grad([0.0, 0.0])
    with pytest.raises(ValueError, match=r"param_groups\[0\]: invalid eps: 0.0 is 0.*no parameter was updated"):
        opt.step()
    np.testing.assert_array_equal(p.data, [1.0, 2.0])


def test_eps_zero_is_refused_in_a_captured_step_too():
    from tinygrad_lab import Tensor, capture, cross_entropy, nn

    model = nn.Linear(3, 2, rng=np.random.default_rng(0))
    opt = Adam(model.parameters())

    def step(x, y):
        opt.zero_grad()
        loss = cross_entropy(model(Tensor(x)), y)
        loss.backward()
        opt.step()
        return loss.item()
    step = capture(step)
    x, y = np.ones((4, 3)), np.array([0, 1, 0, 1])
    step(x, y), step(x, y)                                     # recorded, then replayed
    before = [p.data.copy() for p in model.parameters()]
    opt.param_groups[0]["eps"] = 0
    with pytest.raises(ValueError, match="invalid eps: 0 is 0"):
        step(x, y)
    assert all(np.array_equal(p.data, b) for p, b in zip(model.parameters(), before))


def test_centered_rmsprop_stays_finite_under_a_constant_gradient(backend, make_param):
    """v − ḡ² → 0 after many equal gradients and rounds below 0 in float32: √ of it was NaN at step
    1108 (PyTorch's rule as written); it is clamped at 0."""
    g = np.random.default_rng(0).standard_normal(1000).astype(np.float32)
    p = make_param(np.zeros(1000), dtype=np.float32)
    opt = RMSprop([p], lr=1e-3, centered=True)
    for _ in range(1500):
        p.set_grad(g)
        opt.step()
    assert np.isfinite(p.data).all()


def test_hyperparameters_are_checked_again_whenever_they_change(make_param):
    """A group is checked once per setting: a value changed in place in a list, an int become a
    bool, and eps that is 0 in the parameters' new dtype are each refused at the next step."""
    p = make_param([1.0, 2.0])
    opt = Adam([p], betas=[0.9, 0.999])
    p.set_grad([0.5, 0.5])
    opt.step(), opt.step()
    opt.param_groups[0]["betas"][0] = 1.5
    with pytest.raises(ValueError, match=r"param_groups\[0\]: invalid beta1: 1.5"):
        opt.step()
    opt.param_groups[0]["betas"][0] = 0.9
    opt.step()
    sgd = SGD([p], lr=0.1, momentum=1)
    sgd.step(), sgd.step()
    sgd.param_groups[0]["momentum"] = True                     # == 1, but not a number
    with pytest.raises(TypeError, match="momentum must be a real number, got True"):
        sgd.step()


def test_eps_that_is_zero_in_a_new_dtype_is_refused_after_module_to():
    from tinygrad_lab import nn
    from tinygrad_lab.tensor import Tensor

    model = nn.Linear(3, 2, rng=np.random.default_rng(0))
    opt = Adam(model.parameters(), eps=1e-50)
    for _ in range(2):
        for q in model.parameters():
            q.grad = Tensor(np.ones(q.shape))
        opt.step()
    model.to(np.float32)
    with pytest.raises(ValueError, match=r"param_groups\[0\]: invalid eps: 1e-50 is 0 in float32"):
        opt.step()


def test_a_read_only_parameter_is_refused_before_any_write(make_param):
    p, q = make_param([1.0, 2.0]), make_param([3.0])
    q.data.flags.writeable = False
    opt = SGD([p, q], lr=0.1)
    p.set_grad([1.0, 1.0]), q.set_grad([1.0])
    with pytest.raises(ValueError, match=r"param_groups\[0\] parameter 1 of shape \(1,\) is read-only"):
        opt.step()
    np.testing.assert_array_equal(p.data, [1.0, 2.0])
