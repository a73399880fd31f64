"""manual_seed: every draw made without an explicit rng/seed comes from one default generator."""
import numpy as np
import pytest

import tinygrad_lab as tl
from tinygrad_lab import Tensor, nn
from tinygrad_lab.data import batches


def _draws():
    """One of each kind of draw that takes no rng: weights, initializers, masks, factories, shuffling."""
    model = nn.MLP([6, 5, 3], dropout=0.5)
    model.train()
    masks = model(Tensor(np.ones((4, 6)))).data
    linear = nn.Linear(3, 2, init="he").weight.data
    p = nn.Parameter(np.zeros((3, 4)))
    tl.init.xavier_uniform_(p)
    layer = nn.Dropout(0.5)
    order = [y.tolist() for _, y in batches(np.zeros((8, 1)), np.arange(8), batch_size=3)]
    return ([q.data.copy() for q in model.parameters()] + [masks, linear, p.data.copy(), tl.randn(3).data,
            layer(Tensor(np.ones(5))).data, nn.functional.dropout(Tensor(np.ones(5))).data, np.concatenate(order)])


def test_manual_seed_twice_gives_identical_models_masks_and_orders():
    tl.manual_seed(0)
    first = _draws()
    tl.manual_seed(0)
    second = _draws()
    tl.manual_seed(1)
    third = _draws()
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    assert any(not np.array_equal(a, c) for a, c in zip(first, third))


def test_an_explicit_rng_or_seed_is_not_affected_by_manual_seed():
    tl.manual_seed(0)
    a = nn.Linear(3, 2, rng=np.random.default_rng(5)).weight.data
    tl.manual_seed(1)
    b = nn.Linear(3, 2, rng=np.random.default_rng(5)).weight.data
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(nn.MLP([3, 2], seed=4)[0].weight.data, nn.MLP([3, 2], seed=4)[0].weight.data)


@pytest.mark.parametrize("seed", [-1, 1.5, "0", True])
def test_manual_seed_refuses_what_is_not_a_non_negative_integer(seed):
    with pytest.raises(ValueError, match="manual_seed: the seed must be a non-negative integer"):
        tl.manual_seed(seed)
