import numpy as np
import pytest

from tinygrad_lab import backprop, viz
from tinygrad_lab.explain import explain, parse_sizes


@pytest.fixture(scope="module")
def default():
    return explain()


def test_default_is_the_homeworks_2_3_2_sigmoid_net_with_l2_loss(default):
    assert default.sizes == [2, 3, 2] and default.activation == "sigmoid" and default.loss == "l2"
    assert [name for name, _ in default.params] == ["W(1)", "b(1)", "W(2)", "b(2)"]
    y, t = default.forward.a[-1][0], default.t
    assert default.loss_tensor.item() == pytest.approx(0.5 * np.sum((y - t) ** 2), abs=1e-15)


def test_three_gradients_agree_in_float64(default):
    assert default.max_difference < 1e-8
    for r, a in zip(default.recursion, default.autograd):
        np.testing.assert_allclose(r, a, atol=1e-14)


def test_text_has_the_delta_recursion_and_fits_80_columns(default):
    text = default.text()
    for line in ["δ(2) = (a(2) − t) ⊙ σ'(z(2))", "δ(1) = σ'(z(1)) ⊙ W(2)ᵀ δ(2)",
                 "∂E/∂W(2) = δ(2) a(1)ᵀ", "∂E/∂b(1) = δ(1)", "z(1)", "a(2) = y", "E = ½ Σ (y − t)²"]:
        assert line in text
    assert max(len(line) for line in text.splitlines()) <= 80
    stated = float(text.split("max difference = ")[1].split()[0])
    assert stated < 1e-8


def test_same_seed_same_text_other_seed_other_text(default):
    assert explain().text() == default.text()
    assert explain(seed=1).text() != default.text()


@pytest.mark.parametrize("kwargs", [
    {"loss": "cross-entropy"},
    {"sizes": "3-5-4-2", "activation": "tanh"},
    {"sizes": [4, 16, 3], "activation": "relu", "loss": "cross-entropy", "seed": 3},
])
def test_other_nets_and_losses_agree_and_fit(kwargs):
    e = explain(**kwargs)
    assert e.max_difference < 1e-8
    assert max(len(line) for line in e.text().splitlines()) <= 80


def test_cross_entropy_delta_is_softmax_minus_onehot():
    e = explain(loss="cross-entropy")
    z = e.forward.z[-1][0]
    softmax = np.exp(z) / np.exp(z).sum()
    np.testing.assert_allclose(e.gradients.delta[-1][0], softmax - e.t, atol=1e-15)
    assert e.loss_tensor.item() == pytest.approx(-np.log(softmax[e.target]), abs=1e-14)
    text = e.text()
    assert "δ(2) = softmax(z(2)) − onehot(t)" in text and "no σ" in text


def test_backpropagate_with_the_l2_delta_is_backward(default):
    layers, fp, t = default.layers, default.forward, default.t[None]
    output_delta = (fp.a[-1] - t) * layers[-1].sigma.derivative(fp.z[-1], fp.a[-1])
    by_delta = backprop.backpropagate(layers, fp, output_delta)
    for a, b in zip(by_delta.dW + by_delta.db, default.gradients.dW + default.gradients.db):
        np.testing.assert_array_equal(a, b)


def test_graph_is_kept_for_drawing_with_homework_names(default):
    text = viz.to_dot(default.loss_tensor, names=default.names, show_grads=True)
    for name in ["W(1)", "b(2)", "z(1)", "a(2)", "x = a(0)", "E"]:
        assert f'label="{name}\\n' in text


@pytest.mark.parametrize("text, message", [
    ("2-0-2", "at least one unit"), ("2", "like 2-3-2"), ("2-x-1", "like 2-3-2"), ("", "like 2-3-2"),
])
def test_parse_sizes_rejects_bad_sizes(text, message):
    with pytest.raises(ValueError, match=message):
        parse_sizes(text)


def test_parse_sizes():
    assert parse_sizes("2-3-2") == [2, 3, 2]


@pytest.mark.parametrize("kwargs, message", [
    ({"activation": "swish"}, "unknown activation 'swish'"),
    ({"loss": "hinge"}, "unknown loss 'hinge'"),
    ({"sizes": [2, 1], "loss": "cross-entropy"}, "at least 2 output classes"),
    ({"sizes": [2, 0, 2]}, "at least one unit"),
])
def test_explain_rejects_bad_options(kwargs, message):
    with pytest.raises(ValueError, match=message):
        explain(**kwargs)
