"""The data of a training run: the validation set held out from the training set, stratified and seeded."""
import numpy as np
import pytest

from tinygrad_lab.train_config import ConfigError
from tinygrad_lab.train_data import hold_out


@pytest.mark.parametrize("n_train, expected", [(60_000, 5000), (50_000, 5000), (5000, 500), (2000, 200)])
def test_the_default_split_is_5000_or_a_tenth_of_a_smaller_training_set(make_config, n_train, expected):
    y = np.arange(n_train) % 10
    x = np.arange(n_train, dtype=np.float32)[:, None]
    x_train, y_train, x_val, y_val = hold_out(make_config(), x, y)
    assert len(x_val) == expected and len(x_train) == n_train - expected
    assert np.bincount(y_val).tolist() == [expected // 10] * 10                  # stratified
    assert sorted(np.concatenate([x_train, x_val])[:, 0].tolist()) == x[:, 0].tolist()   # a partition
    assert np.array_equal(y_val, x_val[:, 0].astype(int) % 10)                   # labels follow their images


def test_split_values_count_fraction_and_none(make_config, sample):
    x, y = sample[0], sample[1]
    assert len(hold_out(make_config(val_split=300), x, y)[2]) == 300
    assert len(hold_out(make_config(val_split=0.25), x, y)[2]) == 500
    assert len(hold_out(make_config(val_split=0), x, y)[2]) == 0
    assert make_config(val_split=300.0).val_split == 300 and isinstance(make_config(val_split=300.0).val_split, int)
    with pytest.raises(ConfigError, match=r"val_split: holds out 2000 of the 2000 training samples"):
        hold_out(make_config(val_split=2000), x, y)
    with pytest.raises(ConfigError, match=r"holds out 1 samples for 2 classes.*\(the default split; 0 holds "
                                          r"out none\)"):
        hold_out(make_config(), x[:8], np.arange(8) % 2)


def test_the_split_depends_on_the_seed_and_not_on_the_model_or_batches(make_config, sample):
    x, y = sample[0], sample[1]
    val = hold_out(make_config(seed=3), x, y)[3]
    np.testing.assert_array_equal(hold_out(make_config(seed=3, sizes=[784, 8, 10], batch_size=7), x, y)[3], val)
    assert not np.array_equal(hold_out(make_config(seed=4), x, y)[2], hold_out(make_config(seed=3), x, y)[2])
