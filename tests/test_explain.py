import re

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


# ----- on the student's own numbers -------------------------------------------------------------------
def own_weights(sizes=(2, 4, 3), seed=5):
    rng = np.random.default_rng(seed)
    return {name: rng.normal(size=shape) for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:]))
            for name, shape in ((f"W{i}", (n_out, n_in)), (f"b{i}", (n_out,)))}


@pytest.mark.parametrize("as_file", [True, False])
def test_own_weights_x_and_t_are_used_exactly(tmp_path, as_file):
    weights = own_weights()
    source = tmp_path / "mine.npz"
    np.savez(source, **weights)
    e = explain(weights=str(source) if as_file else weights, x=[0.1, -0.2], t="1,0,0.5", activation="tanh")
    assert e.sizes == [2, 4, 3]
    for l, layer in enumerate(e.layers):
        np.testing.assert_array_equal(layer.W, weights[f"W{l}"])
        np.testing.assert_array_equal(layer.b, weights[f"b{l}"])
    np.testing.assert_array_equal(e.x, [0.1, -0.2])
    np.testing.assert_array_equal(e.t, [1, 0, 0.5])
    assert e.max_difference < 1e-8
    assert e.weights_from == (str(source) if as_file else "the given arrays")
    assert f"weights from {e.weights_from}".replace(" ", "") in "".join(e.text().split())


def test_column_vectors_are_accepted_as_the_homework_writes_them():
    weights = own_weights((2, 3, 2))
    columns = {k: v.reshape(-1, 1) if k.startswith("b") else v for k, v in weights.items()}
    e = explain(weights=columns, x=np.array([[0.5], [-1.0]]), t=np.array([[0.0], [1.0]]))
    np.testing.assert_array_equal(e.layers[0].b, weights["b0"])
    np.testing.assert_array_equal(e.x, [0.5, -1.0])


def test_cross_entropy_takes_a_one_hot_target():
    e = explain(weights=own_weights(), x="0.1,0.2", t="0,0,1", loss="cross-entropy")
    assert e.target == 2


@pytest.mark.parametrize("arrays, kwargs, message", [
    ({"W0": np.ones((3, 2)), "W1": np.ones((2, 3)), "b1": np.ones(2)}, {},
     "expected the arrays W0, b0, W1, b1, … as numpy.savez(file, W0=…, b0=…, …) writes them; got W0, W1, b1 (no b0)"),
    ({**own_weights((2, 3, 2)), "x": np.ones(2)}, {}, "(unexpected x)"),
    ({}, {}, "got none (no W0)"),
    ({"W0": np.ones(3), "b0": np.ones(3)}, {}, "W0 has shape (3,), expected (n1, n0), a matrix"),
    ({"W0": np.ones((3, 2)), "b0": np.ones(3), "W1": np.ones((2, 4)), "b1": np.ones(2)}, {},
     "W1 has shape (2, 4), expected (n2, 3): W0 of shape (3, 2) has 3 outputs"),
    ({"W0": np.ones((3, 2)), "b0": np.ones(2)}, {}, "b0 has shape (2,), expected (3,) (or (3, 1)) for W0 of shape (3, 2)"),
    ({"W0": np.full((3, 2), np.nan), "b0": np.ones(3)}, {}, "W0 has NaN or infinite entries"),
    ({"W0": np.array([["a", "b"]]), "b0": np.ones(1)}, {}, "W0 is not an array of numbers (dtype <U1)"),
    (own_weights((2, 3, 2)), {"x": [1, 2, 3]}, "x has shape (3,), expected (2,) (n0, the columns of W0)"),
    (own_weights((2, 3, 2)), {"t": "1"}, "t has shape (1,), expected (2,) (n2, the rows of W1)"),
    (own_weights((2, 3, 2)), {"t": "1,x"}, "expected numbers joined by ',', like 0.5,-1; got '1,x'"),
    (own_weights((2, 3, 2)), {"sizes": "2-4-2"}, "sizes 2-4-2 differ from the weights' 2-3-2"),
    (own_weights((2, 3, 2)), {"t": [0.5, 0.5], "loss": "cross-entropy"}, "t must be one-hot for the cross-entropy"),
])
def test_bad_weights_and_samples_are_one_line_errors_naming_the_array(arrays, kwargs, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        explain(weights=arrays, **kwargs)


def test_an_unreadable_file_is_named(tmp_path):
    (tmp_path / "text.npz").write_text("not a zip")
    for name in ["missing.npz", "text.npz"]:
        with pytest.raises(ValueError, match=rf"{name}: cannot read it as an .npz of arrays"):
            explain(weights=tmp_path / name)
