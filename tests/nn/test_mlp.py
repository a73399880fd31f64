import numpy as np
import pytest

from tinygrad_lab import Tensor, nn


def test_layout_and_default_inits():
    model = nn.MLP([4, 8, 8, 3], activation="relu", batchnorm=True, seed=0)
    kinds = [type(m).__name__ for m in model]
    assert kinds == ["Linear", "BatchNorm1d", "ReLU", "Linear", "BatchNorm1d", "ReLU", "Linear"]
    sig = nn.MLP([4, 3, 1], activation="sigmoid", output_activation="sigmoid", seed=0)
    assert [type(m).__name__ for m in sig] == ["Linear", "Sigmoid", "Linear", "Sigmoid"]


def test_same_seed_same_weights_and_float32():
    a, b = nn.MLP([5, 4, 2], seed=3, dtype=np.float32), nn.MLP([5, 4, 2], seed=3, dtype=np.float32)
    for p, q in zip(a.parameters(), b.parameters()):
        np.testing.assert_array_equal(p.data, q.data)
        assert p.dtype == np.float32
    assert a(Tensor(np.ones((2, 5), np.float32))).dtype == np.float32


def test_he_init_for_relu_has_the_right_scale():
    model = nn.MLP([1000, 500, 2], activation="relu", seed=0)
    assert abs(model[0].weight.data.std() - np.sqrt(2 / 1000)) < 0.02 * np.sqrt(2 / 1000)


def test_bad_arguments():
    with pytest.raises(ValueError, match="unknown activation 'swish'"):
        nn.MLP([2, 2], activation="swish")
    with pytest.raises(ValueError, match=r"\[2\]"):
        nn.MLP([2])
    with pytest.raises(ValueError, match=r"\[2, 0, 1\]"):
        nn.MLP([2, 0, 1])
