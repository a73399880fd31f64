"""The validation split: stratified by class, seeded, disjoint, and refused when the data cannot give it."""
import numpy as np
import pytest

from tinygrad_lab.data.split import split_size, stratified_split


def _labels(counts):
    return np.repeat(np.arange(len(counts)), counts)[np.random.default_rng(7).permutation(sum(counts))]


def test_each_class_gives_its_share_and_the_parts_cover_the_set_once():
    labels = _labels([600, 300, 100])                  # 60%, 30%, 10%
    train, val = stratified_split(labels, 100, np.random.default_rng(0))
    assert np.bincount(labels[val]).tolist() == [60, 30, 10]
    assert np.array_equal(np.sort(np.concatenate([train, val])), np.arange(1000))
    assert np.all(np.diff(train) > 0) and np.all(np.diff(val) > 0)


def test_largest_remainders_get_the_samples_left_over():
    labels = _labels([5, 3, 2])                         # quotas for 4 of 10: 2.0, 1.2, 0.8
    _, val = stratified_split(labels, 4, np.random.default_rng(0))
    assert np.bincount(labels[val], minlength=3).tolist() == [2, 1, 1]


def test_the_seed_decides_which_samples():
    labels = _labels([500] * 10)
    first = stratified_split(labels, 500, np.random.default_rng(3))[1]
    assert np.array_equal(first, stratified_split(labels, 500, np.random.default_rng(3))[1])
    assert not np.array_equal(first, stratified_split(labels, 500, np.random.default_rng(4))[1])


@pytest.mark.parametrize("size, n", [(0.1, 500), (0.25, 1250), (5000.0, 5000), (7, 7), (0, 0)])
def test_split_size_reads_counts_and_fractions(size, n):
    assert split_size(size, 5000) == n


@pytest.mark.parametrize("counts, size, message", [
    ([5, 5], 10, r"holds out 10 of the 10 training samples: it must hold out at least one and leave some"),
    ([5, 5], 0.01, r"holds out 0 of the 10 training samples"),
    ([50, 50, 1], 3, r"class 2 \(1 of the 101 samples\) gets no validation sample"),
    ([1, 1, 8], 5, r"holds out every sample of class 0 \(1 of 1\): each class must keep a training sample"),
])
def test_splits_the_data_cannot_give_are_refused(counts, size, message):
    with pytest.raises(ValueError, match=message):
        stratified_split(_labels(counts), size, np.random.default_rng(0))
