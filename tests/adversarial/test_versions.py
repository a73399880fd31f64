"""Class 3: every in-place write bumps the version, so a graph never silently uses new values.

``copy_`` is the one way to write values into a tensor (``mark_modified`` declares a write made
through ``.data``, as the optimizers' kernels do); initializers, optimizers, Newton's step and
``load_state_dict`` use them, and ``detach()`` and views share the version counter (PyTorch).
"""
from __future__ import annotations

import numpy as np
import pytest

import tinygrad_lab as tl
from tinygrad_lab import Tensor, init, nn, ops
from tinygrad_lab.optim.newton import newton_step_

STALE = "modified in place after the forward pass"

INITIALIZERS = {
    "normal_": lambda w: init.normal_(w, 0.1, rng=np.random.default_rng(0)),
    "uniform_": lambda w: init.uniform_(w, -1, 1, rng=np.random.default_rng(0)),
    "constant_": lambda w: init.constant_(w, 0.5), "zeros_": init.zeros_,
    "xavier_normal_": lambda w: init.xavier_normal_(w, rng=np.random.default_rng(0)),
    "xavier_uniform_": lambda w: init.xavier_uniform_(w, rng=np.random.default_rng(0)),
    "he_normal_": lambda w: init.he_normal_(w, rng=np.random.default_rng(0)),
    "he_uniform_": lambda w: init.he_uniform_(w, rng=np.random.default_rng(0)),
}


@pytest.mark.parametrize("name", sorted(INITIALIZERS))
def test_initializer_after_forward_is_caught(name):
    w = nn.Parameter(np.ones((2, 2)))
    y = (w * w).sum()
    INITIALIZERS[name](w)
    with pytest.raises(RuntimeError, match=STALE):
        y.backward()


def test_newton_step_after_forward_is_caught():
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    newton_step_(lambda t: (t * t).sum(), x)
    with pytest.raises(RuntimeError, match=STALE):
        y.backward()


def test_module_load_state_dict_after_forward_is_caught():
    layer = nn.Linear(2, 2)
    y = (layer(Tensor(np.ones((1, 2)))) ** 2).sum()
    layer.load_state_dict({k: v + 1 for k, v in layer.state_dict().items()})
    with pytest.raises(RuntimeError, match=STALE):
        y.backward()


@pytest.mark.parametrize("flat", [False, True], ids=["per-parameter", "flat"])
@pytest.mark.parametrize("opt", ["SGD", "Adam", "RMSprop", "Adagrad"])
def test_optimizer_step_after_forward_is_caught(opt, flat):
    w = nn.Parameter(np.ones(2))
    optimizer = getattr(tl.optim, opt)([w], lr=0.1, flat=flat)
    (w * w).sum().backward()
    y = (w * w).sum()
    optimizer.step()
    with pytest.raises(RuntimeError, match=STALE):
        y.backward()


def test_detach_shares_data_and_version():
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    d = x.detach()
    assert np.shares_memory(d.data, x.data) and not d.requires_grad
    d.copy_([5.0, 5.0])
    assert x.version == d.version == 1 and x.data[0] == 5.0
    with pytest.raises(RuntimeError, match=STALE):
        y.backward()


def test_a_write_through_a_view_is_seen_by_the_base():
    x = Tensor(np.ones((2, 2)), requires_grad=True)
    v = x.detach().reshape(4)
    y = (x * x).sum()
    v.copy_(np.zeros(4))
    with pytest.raises(RuntimeError, match=STALE):
        y.backward()


def test_a_write_into_an_output_that_backward_reads_is_caught():
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = x.exp()
    with tl.no_grad():
        y.copy_([0.0, 0.0])
    with pytest.raises(RuntimeError, match="its output of shape"):
        y.sum().backward()


def test_copy_into_a_graph_tensor_is_refused_while_recording():
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    with pytest.raises(RuntimeError, match="in-place writes are not differentiable"):
        y.copy_([0.0, 0.0])


def test_copy_broadcasts_casts_and_bumps():
    x = Tensor(np.zeros((2, 3), dtype=np.float32))
    x.copy_(np.arange(3))
    assert x.dtype == np.float32 and x.version == 1
    np.testing.assert_array_equal(x.data, [[0, 1, 2]] * 2)


@pytest.mark.parametrize("value, error", [(np.zeros(4), ValueError), ("a", TypeError), (None, TypeError),
                                          (np.array([1j, 2j]), TypeError)])
def test_copy_refuses_bad_values_and_changes_nothing(value, error):
    x = Tensor([1.0, 2.0])
    with pytest.raises(error):
        x.copy_(value)
    assert x.version == 0 and list(x.data) == [1.0, 2.0]


def test_copy_into_a_broadcast_view_is_refused():
    x = Tensor([1.0, 2.0])
    v = ops.broadcast_to(x, (3, 2))
    with pytest.raises(RuntimeError, match="read-only view"):
        v.copy_(np.zeros((3, 2)))


def test_data_assignment_bumps_version():
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    x.data = [3.0, 4.0]
    with pytest.raises(RuntimeError, match=STALE):
        y.backward()


def test_zero_grad_without_none_bumps_and_detaches_a_graph_grad():
    x = Tensor([1.0, 2.0], requires_grad=True)
    (x * x).sum().backward(create_graph=True)
    g = x.grad
    opt = tl.optim.SGD([x], lr=0.1)
    opt.zero_grad(set_to_none=False)
    assert x.grad.creator is None and list(x.grad.data) == [0.0, 0.0] and g.version == 1
