"""The functional ``grad`` and the engine's topological order."""
import numpy as np
import pytest

from tinygrad_lab import Tensor
from tinygrad_lab.autograd import grad, topological_order


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
