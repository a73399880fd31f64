"""The homework's δ recursion equals the autograd graph to 1e-12 (float64)."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tinygrad_lab import Tensor, half_sum_squared_error, nn
from tinygrad_lab.autograd import grad
from tinygrad_lab.backprop import homework_gradients, input_jacobian, layers_of

nets = st.tuples(
    st.lists(st.integers(1, 5), min_size=2, max_size=5),      # layer sizes
    st.sampled_from(["sigmoid", "tanh", "relu"]),             # hidden σ
    st.sampled_from(["sigmoid", "tanh", None]),               # output σ (None: linear output)
    st.integers(1, 6),                                        # batch size
    st.integers(0, 2**16),                                    # seed
)


def _model_and_data(sizes, activation, output, batch, seed):
    model = nn.MLP(sizes, activation=activation, output_activation=output, seed=seed)
    rng = np.random.default_rng(seed + 1)
    return model, rng.normal(size=(batch, sizes[0])), rng.normal(size=(batch, sizes[-1]))


@given(nets)
def test_homework_gradients_equal_the_graph(net):
    model, x, t = _model_and_data(*net)
    hw = homework_gradients(model, x, t)
    half_sum_squared_error(model(Tensor(x)), Tensor(t)).backward()
    linears = [m for m in model if isinstance(m, nn.Linear)]
    for layer, dW, db in zip(linears, hw.dW, hw.db):
        np.testing.assert_allclose(dW, layer.weight.grad.data, rtol=0, atol=1e-12)
        np.testing.assert_allclose(db, layer.bias.grad.data, rtol=0, atol=1e-12)


@given(nets)
def test_deltas_are_the_gradients_of_the_pre_activations(net):
    """δ(l) = ∂E/∂z(l): read z(l) off the graph and differentiate with respect to it."""
    model, x, t = _model_and_data(*net)
    hw = homework_gradients(model, x, t)
    zs, a = [], Tensor(x)
    for module in model:
        a = module(a)
        if isinstance(module, nn.Linear):
            zs.append(a)
    grads = grad(half_sum_squared_error(a, Tensor(t)), zs)
    for delta, g in zip(hw.delta, grads):
        np.testing.assert_allclose(delta, g.data, rtol=0, atol=1e-12)


@given(nets)
def test_input_jacobian_chain_product_equals_the_graph(net):
    model, x, _ = _model_and_data(*net)
    jac = input_jacobian(layers_of(model), x)
    xt = Tensor(x, requires_grad=True)
    y = model(xt)
    for k in range(y.shape[1]):
        picker = np.zeros(y.shape)
        picker[:, k] = 1
        (gx,) = grad(y, xt, grad_outputs=picker, retain_graph=True)
        np.testing.assert_allclose(jac[:, k, :], gx.data, rtol=0, atol=1e-12)


def test_layers_of_rejects_what_the_homework_does_not_cover():
    with pytest.raises(ValueError, match="BatchNorm1d"):
        layers_of(nn.MLP([2, 3, 1], batchnorm=True, seed=0))
    with pytest.raises(ValueError, match="bias"):
        layers_of(nn.Sequential(nn.Linear(2, 1, bias=False)))


def test_target_shape_mismatch_is_named():
    model = nn.MLP([2, 3, 2], activation="sigmoid", seed=0)
    with pytest.raises(ValueError, match=r"target shape \(4, 3\) differs from the output shape \(4, 2\)"):
        homework_gradients(model, np.zeros((4, 2)), np.zeros((4, 3)))


@pytest.mark.parametrize("form", ["1-D", "column"])
def test_one_sample_as_a_vector_or_a_column_gives_the_batch_of_one(form):
    model = nn.MLP([2, 3, 2], activation="sigmoid", seed=0)
    x, t = np.array([0.3, -0.7]), np.array([1.0, 0.0])
    batch = homework_gradients(model, x[None, :], t[None, :])
    shape = (-1,) if form == "1-D" else (-1, 1)
    sample = homework_gradients(model, x.reshape(shape), t.reshape(shape))
    for mine, rows in zip(sample.dW + sample.db, batch.dW + batch.db):
        np.testing.assert_array_equal(mine, rows)
    for mine, rows in zip(sample.delta, batch.delta):
        assert mine.shape == rows.reshape(shape).shape
        np.testing.assert_array_equal(mine, rows.reshape(shape))


def test_an_input_of_no_known_form_is_named():
    model = nn.MLP([2, 3, 2], activation="sigmoid", seed=0)
    with pytest.raises(ValueError, match=r"x has shape \(3,\); the model takes 2 inputs"):
        homework_gradients(model, np.zeros(3), np.zeros(2))
    with pytest.raises(ValueError, match=r"target shape \(2, 1\) differs from the output shape \(2,\)"):
        homework_gradients(model, np.zeros(2), np.zeros((2, 1)))
