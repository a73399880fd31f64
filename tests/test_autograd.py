"""The functional ``grad`` and the engine: its visiting order, all-or-nothing accumulation, freeing."""
import copy

import numpy as np
import pytest

import tinygrad_lab as tl
from tinygrad_lab import Tensor
from tinygrad_lab.autograd import grad, topological_order
from tinygrad_lab.function import Function


def test_topological_order_puts_inputs_before_outputs():
    x = Tensor([1.0], requires_grad=True)
    a = x * 2
    b = a + x
    order = topological_order([b])
    assert order.index(x) < order.index(a) < order.index(b)


def test_grad_returns_gradients_without_touching_dot_grad():
    x = Tensor([1.0, 2.0], requires_grad=True)
    (gx,) = grad((x * x).sum(), x)
    np.testing.assert_array_equal(gx.data, [2.0, 4.0])
    assert x.grad is None


def test_grad_of_an_intermediate_tensor():
    x = Tensor([3.0], requires_grad=True)
    h = x * x
    (gh,) = grad((h * 5).sum(), h)
    assert gh.data[0] == 5.0


def test_grad_create_graph_gives_second_derivatives():
    x = Tensor([2.0], requires_grad=True)
    (g,) = grad((x ** 3).sum(), x, create_graph=True)   # 3x²
    (gg,) = grad(g.sum(), x)                             # 6x
    assert g.data[0] == 12.0 and gg.data[0] == 12.0


def test_backward_create_graph_accumulates_a_differentiable_grad():
    x = Tensor([1.5], requires_grad=True)
    (x.exp() * x).sum().backward(create_graph=True)
    first = x.grad
    assert first.requires_grad
    (gg,) = grad(first.sum(), x)  # d²/dx² (x eˣ) = (x + 2) eˣ
    np.testing.assert_allclose(gg.data, (1.5 + 2) * np.exp(1.5))


def test_grad_unused_input_is_an_error_unless_allowed():
    x, unused = Tensor([1.0], requires_grad=True), Tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"input 1 \(shape \(1,\)\) was not used"):
        grad((x * 2).sum(), [x, unused])
    assert grad((x * 2).sum(), [x, unused], allow_unused=True)[1] is None


def test_grad_for_an_input_that_does_not_require_grad_says_so_as_torch():
    x, z = Tensor([1.0, 2.0]), Tensor([1.0], requires_grad=True)
    y = (x * z).sum()
    for allow_unused in (False, True):
        with pytest.raises(RuntimeError, match=r"input 0 \(shape \(2,\)\) does not require grad; create it with "
                                               r"requires_grad=True"):
            grad(y, x, allow_unused=allow_unused)
    assert grad(y, z)[0].item() == 3.0  # the refusal ran nothing: the graph is still there


def test_training_steps_keep_no_graph_objects_alive():
    """Thousands of steps: the number of live Tensors and graph nodes does not grow."""
    import gc

    from tinygrad_lab import cross_entropy, nn, optim
    from tinygrad_lab.function import Function

    model = nn.MLP([6, 8, 3], batchnorm=True, seed=0)
    opt = optim.Adam(model.parameters(), lr=1e-2)
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(16, 6)), rng.integers(0, 3, 16)

    def live():
        gc.collect()
        return sum(issubclass(type(o), (Tensor, Function)) for o in gc.get_objects())

    def steps(n):
        for _ in range(n):
            loss = cross_entropy(model(Tensor(x)), y)
            opt.zero_grad()
            loss.backward()
            opt.step()

    steps(50)
    before = live()
    steps(3000)
    assert live() <= before


class _Logged(Function, register=False):
    """y = 2x, whose backward appends its tag to ``log`` (or raises, with ``fail``)."""

    saves_inputs = False

    def __init__(self, tag, log, fail=False):
        self.tag, self.log, self.fail = tag, log, fail

    def forward(self, x):
        return 2 * x

    def backward(self, gy, x, y):
        if self.fail:
            raise ValueError(f"{self.tag} fails")
        self.log.append(self.tag)
        return 2 * gy


def test_tensors_are_created_after_their_inputs():
    x = Tensor([1.0], requires_grad=True)
    y = x * 2
    assert x._seq < y._seq < (y + x)._seq < Tensor.wrap(np.ones(1))._seq


def test_consumers_run_in_reverse_creation_order_as_pytorch():
    """Two consumers of one tensor: the later one's backward runs first (PyTorch's sequence_nr
    order), and the gradients they hand back are summed in that order."""
    log = []
    x = Tensor([1.0], requires_grad=True)
    p, q = _Logged("p", log).apply(x), _Logged("q", log).apply(x)
    (p + q).sum().backward()
    assert log == ["q", "p"]
    np.testing.assert_array_equal(x.grad.data, [4.0])


def test_a_backward_that_fails_midway_changes_no_grad():
    """The leaf ``a`` has its gradient before the failing node runs, but gets it only if all runs."""
    a, b = Tensor([1.0], requires_grad=True), Tensor([2.0], requires_grad=True)
    loss = (a + _Logged("bad", [], fail=True).apply(b)).sum()
    with pytest.raises(ValueError, match="bad fails"):
        loss.backward()
    assert a.grad is None and b.grad is None


def test_a_freed_subgraph_met_midway_changes_no_grad():
    b, c = Tensor([2.0], requires_grad=True), Tensor([3.0], requires_grad=True)
    h = b * 2
    (h + 1).sum().backward()  # frees h's node
    with pytest.raises(RuntimeError, match="second time: the graph of Mul"):
        (c * 5 + h).sum().backward()
    assert c.grad is None and b.grad.data[0] == 2.0


def test_a_leaf_that_stopped_requiring_grad_gets_none_as_pytorch():
    a, b = Tensor([1.0, 2.0], requires_grad=True), Tensor([3.0, 4.0], requires_grad=True)
    loss = (a * b).sum()
    a.requires_grad_(False)
    loss.backward()
    assert a.grad is None
    np.testing.assert_array_equal(b.grad.data, [1.0, 2.0])


def test_a_deep_copied_graph_beside_its_original():
    """copy.deepcopy keeps ``_seq``: the engine must order two tensors of one number without
    comparing them (an elementwise ``<``)."""
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    y_copy = copy.deepcopy(y)
    assert y_copy._seq == y._seq
    (y + y_copy).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [3.0, 3.0])
    assert y.creator.freed and y_copy.creator.freed


def test_create_graph_gradient_of_a_broadcast_is_writable():
    """A full sum's gradient is a read-only broadcast view; the leaf's .grad gets its own array, so
    in-place clipping works (as on PyTorch's grads)."""
    a, b = Tensor([3.0, 0.0], requires_grad=True), Tensor([4.0, 0.0], requires_grad=True)
    (a + b).sum().backward(create_graph=True)
    assert a.grad.data.flags.writeable and b.grad.data.flags.writeable
    tl.optim.clip_grad_norm_([a, b], max_norm=1.0)
    np.testing.assert_allclose(a.grad.data, [0.5, 0.5], rtol=1e-5)
