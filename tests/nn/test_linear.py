import re

import numpy as np
import pytest

from tinygrad_lab import Tensor, nn


def test_linear_is_x_w_transpose_plus_b():
    layer = nn.Linear(3, 2, rng=np.random.default_rng(0))
    x = np.random.default_rng(1).normal(size=(4, 3))
    np.testing.assert_allclose(layer(Tensor(x)).data, x @ layer.weight.data.T + layer.bias.data)
    assert layer.weight.shape == (2, 3) and layer.bias.shape == (2,)
    assert not np.any(layer.bias.data)


def test_linear_is_one_graph_node():
    out = nn.Linear(3, 2)(Tensor(np.ones((1, 3))))
    assert out.creator.name == "Affine"


def test_no_gradient_for_an_input_that_does_not_need_one():
    layer = nn.Linear(3, 2)
    x = Tensor(np.ones((2, 3)))
    layer(x).sum().backward()
    assert x.grad is None and layer.weight.grad is not None


def test_without_bias():
    layer = nn.Linear(3, 2, bias=False)
    assert layer.bias is None and len(list(layer.parameters())) == 1
    layer(Tensor(np.ones((1, 3)))).sum().backward()


@pytest.mark.parametrize("shape", [(4, 5), (3,), (2, 3, 3)])
def test_wrong_input_shape_is_named(shape):
    with pytest.raises(ValueError, match=re.escape(f"expects input of shape (N, 3), got {shape}")):
        nn.Linear(3, 2)(Tensor(np.ones(shape)))


def test_wrong_dtype_is_named():
    with pytest.raises(TypeError, match="float64 weights but got a float32 input of shape"):
        nn.Linear(3, 2)(Tensor(np.ones((1, 3), np.float32)))


def test_float32_layer_stays_float32():
    layer = nn.Linear(3, 2, dtype=np.float32)
    out = layer(Tensor(np.ones((2, 3), np.float32)))
    out.sum().backward()
    assert out.dtype == layer.weight.grad.dtype == np.float32


def test_bad_sizes_and_init():
    with pytest.raises(ValueError, match="in_features=0"):
        nn.Linear(0, 2)
    with pytest.raises(ValueError, match="unknown init 'glorott'"):
        nn.Linear(2, 2, init="glorott")
