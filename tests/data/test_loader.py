"""Mini-batching: coverage, determinism, per-epoch reshuffling, checkpoint resume, validation."""

import copy

import numpy as np
import pytest

from tinygrad_lab.data import DataLoader, batches

N = 23
X = np.arange(N * 2).reshape(N, 2) * 10
Y = np.arange(N)


def epoch_order(batch_iter) -> list[int]:
    """The sample order of one epoch, checking that x and y stay paired."""
    order = []
    for xb, yb in batch_iter:
        np.testing.assert_array_equal(xb, X[yb])
        order.extend(yb.tolist())
    return order


@pytest.mark.parametrize("batch_size", [1, 4, 5, N, N + 7])
def test_every_sample_exactly_once(batch_size):
    order = epoch_order(batches(X, Y, batch_size, np.random.default_rng(0)))
    assert sorted(order) == list(range(N))
    sizes = [len(yb) for _, yb in batches(X, Y, batch_size, np.random.default_rng(0))]
    assert all(size == batch_size for size in sizes[:-1]) and 0 < sizes[-1] <= batch_size


def test_drop_last():
    sizes = [len(yb) for _, yb in batches(X, Y, 5, np.random.default_rng(0), drop_last=True)]
    assert sizes == [5, 5, 5, 5]
    assert len(DataLoader(X, Y, 5, drop_last=True)) == 4 and len(DataLoader(X, Y, 5)) == 5


def test_without_shuffle_order_is_sequential():
    assert epoch_order(batches(X, Y, 4, shuffle=False)) == list(range(N))
    assert epoch_order(DataLoader(X, Y, 4, shuffle=False)) == list(range(N))


def test_same_seed_same_order_and_different_seed_differs():
    first = [epoch_order(batches(X, Y, 4, np.random.default_rng(seed))) for seed in (1, 1, 2)]
    assert first[0] == first[1] != first[2]


def test_loader_reshuffles_each_epoch_deterministically():
    loader, twin = DataLoader(X, Y, 4, seed=3), DataLoader(X, Y, 4, seed=3)
    epochs = [epoch_order(loader) for _ in range(3)]
    assert epochs == [epoch_order(twin) for _ in range(3)]
    assert all(sorted(order) == list(range(N)) for order in epochs)
    assert epochs[0] != epochs[1] != epochs[2]
    assert loader.epoch == 3
    assert epoch_order(DataLoader(X, Y, 4, seed=4)) != epochs[0]


def test_loader_accepts_a_generator():
    assert epoch_order(DataLoader(X, Y, 4, rng=np.random.default_rng(9))) == epoch_order(
        batches(X, Y, 4, np.random.default_rng(9)))


def test_state_dict_resumes_the_same_future_epochs():
    loader = DataLoader(X, Y, 4, seed=5)
    epoch_order(loader)
    checkpoint = copy.deepcopy(loader.state_dict())
    expected = [epoch_order(loader) for _ in range(2)]

    resumed = DataLoader(X, Y, 4, seed=999)
    resumed.load_state_dict(checkpoint)
    assert resumed.epoch == 1
    assert [epoch_order(resumed) for _ in range(2)] == expected


@pytest.mark.parametrize("batch_size", [0, -3, 2.5, True, "8"])
def test_rejects_bad_batch_size(batch_size):
    with pytest.raises(ValueError, match=f"batch_size must be an integer >= 1, got {batch_size!r}"):
        batches(X, Y, batch_size)
    with pytest.raises(ValueError, match="batch_size"):
        DataLoader(X, Y, batch_size)


def test_rejects_length_mismatch():
    with pytest.raises(ValueError, match=r"len\(x\)=23 and len\(y\)=22"):
        batches(X, Y[:-1], 4)
    with pytest.raises(ValueError, match=r"len\(x\)=22 and len\(y\)=23"):
        DataLoader(X[:-1], Y, 4)
