"""The PyTorch-named factories: tensor, arange, and the dtype names float32/float64."""
import numpy as np
import pytest

import tinygrad_lab as tl
from tinygrad_lab import Tensor

torch = pytest.importorskip("torch")


def test_tensor_copies_its_data_and_takes_dtype_and_requires_grad():
    data = np.array([1.0, 2.0], dtype=np.float32)
    t = tl.tensor(data, dtype=tl.float64, requires_grad=True)
    data[0] = 5.0
    assert t.dtype == np.float64 and t.requires_grad and t.is_leaf
    np.testing.assert_array_equal(t.data, [1.0, 2.0])
    assert tl.tensor([1, 2]).dtype == tl.float64 == torch.tensor([1.0]).double().numpy().dtype
    assert tl.tensor(data).dtype == np.float32


def test_tensor_of_a_graph_tensor_copies_its_values_without_the_graph():
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = tl.tensor(x * 2)
    assert y.is_leaf and not y.requires_grad
    np.testing.assert_array_equal(y.data, [2.0, 4.0])


@pytest.mark.parametrize("args", [(5,), (2, 7), (0, 1, 0.1), (5, 0, -1.5), (3, 3)])
def test_arange_matches_torch(args):
    np.testing.assert_allclose(tl.arange(*args).data, torch.arange(*args, dtype=torch.float64).numpy())
    assert tl.arange(*args, dtype=tl.float32).dtype == np.float32


def test_arange_refuses_a_zero_step_and_non_numbers():
    with pytest.raises(ValueError, match="step must be nonzero"):
        tl.arange(0, 3, 0)
    with pytest.raises(ValueError, match="end must be a finite number"):
        tl.arange(0, float("inf"))


def test_cat_is_concatenate_with_pytorchs_dim_keyword():
    a, b = Tensor(np.ones((2, 3)), requires_grad=True), Tensor(np.zeros((2, 1)), requires_grad=True)
    y = tl.cat([a, b], dim=1)
    assert y.shape == (2, 4) and y.creator.name == tl.concatenate([a, b], axis=1).creator.name
    (y * y).sum().backward()
    np.testing.assert_array_equal(a.grad.data, 2 * np.ones((2, 3)))


def test_a_list_of_0d_tensors_builds_a_tensor_of_their_values_as_torch_tensor():
    got = Tensor([Tensor(1.0), Tensor(2.0)])
    np.testing.assert_array_equal(got.data, torch.tensor([torch.tensor(1.0), torch.tensor(2.0)]).numpy())
    assert tl.tensor([[Tensor(1.0, dtype=np.float32)], [Tensor(2.0, dtype=np.float32)]]).shape == (2, 1)


def test_a_ragged_list_holding_a_bigger_tensor_points_to_stack():
    with pytest.raises(ValueError, match=r"tensor of shape \(2,\) beside values of other shapes; join tensors with stack"):
        Tensor([Tensor([1.0, 2.0]), Tensor(3.0)])
    with pytest.raises(ValueError, match="nested sequences of unequal lengths"):
        Tensor([[1.0, 2.0], [3.0]])
