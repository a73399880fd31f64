"""The data of a training run: the dataset a :class:`~tinygrad_lab.train_config.TrainConfig` names,
the validation set held out from its training set, and the check that the model's sizes fit it.

The validation set is stratified by class and seeded (:func:`hold_out`): it chooses (the plateau
schedule, early stopping, ``best.npz``), the test set is only reported.
"""
from __future__ import annotations

import numpy as np

from tinygrad_lab.data import load_dataset, normalize
from tinygrad_lab.data.split import stratified_split
from tinygrad_lab.train_config import DEFAULT_VAL_SPLIT, ConfigError, TrainConfig

#: the validation split draws from numpy.random.default_rng((seed, VALIDATION_STREAM)), a stream of
#: its own (the weights and the shuffling draw from default_rng(seed))
VALIDATION_STREAM = 1


def load_images(cfg: TrainConfig, download: bool = True):
    """(train_images, y_train, test_images, y_test, source): cfg's dataset as loaded, uint8 images.

    A ``data_dir`` is the only place looked in (an error names the files it lacks); without one the
    usual places are searched, then the files downloaded (unless ``download`` is false), and MNIST
    falls back to the bundled sample, which ``source`` then says."""
    return image_arrays(load_dataset(cfg.dataset, root=cfg.data_dir, download=download))


def image_arrays(ds):
    """(train_images, y_train, test_images, y_test, source) of a loaded Dataset, uint8 images as loaded."""
    return ds.train_images, ds.train_labels, ds.test_images, ds.test_labels, ds.source


def load_data(cfg: TrainConfig, download: bool = True):
    """(x_train, y_train, x_test, y_test, source) with images flattened to [0, 1] in cfg.dtype (see
    :func:`load_images`)."""
    train_images, y_train, test_images, y_test, source = load_images(cfg, download)
    dtype = np.dtype(cfg.dtype)
    return normalize(train_images, dtype), y_train, normalize(test_images, dtype), y_test, source


def data_record(ds) -> dict:
    """What a run records of the data it trained on, so that ``evaluate`` and ``predict --index`` read the
    same test set: the dataset loaded (``mnist-sample`` when MNIST fell back to the bundled sample) and,
    for a full dataset, the folder it was read from (its ``source``)."""
    return {"dataset": ds.name, "folder": None if ds.name == "mnist-sample" else ds.source}


def hold_out(cfg: TrainConfig, x: np.ndarray, y: np.ndarray):
    """(x_train, y_train, x_val, y_val): cfg's validation split of the training set (see
    :func:`~tinygrad_lab.data.split.stratified_split`), by default ``DEFAULT_VAL_SPLIT`` samples or a
    tenth of a smaller training set; with ``val_split`` 0 the validation set is empty."""
    size = cfg.val_split if cfg.val_split is not None else min(DEFAULT_VAL_SPLIT, max(len(y) // 10, 1))
    if size == 0:
        return x, y, x[:0], y[:0]
    try:
        train, val = stratified_split(y, size, np.random.default_rng((cfg.seed, VALIDATION_STREAM)))
    except ValueError as e:
        default = "" if cfg.val_split is not None else " (the default split; 0 holds out none)"
        raise ConfigError("val_split", size, f"{e}{default}") from None
    return x[train], y[train], x[val], y[val]


def check_against_data(cfg: TrainConfig, x_train: np.ndarray, y_train: np.ndarray, y_test: np.ndarray) -> None:
    """The model's input and output sizes must match the data's pixels and classes."""
    classes = int(max(y_train.max(initial=0), y_test.max(initial=0))) + 1
    if cfg.sizes[0] != x_train.shape[1]:
        raise ConfigError("sizes", cfg.sizes, f"the input layer has {cfg.sizes[0]} units but the data has "
                          f"{x_train.shape[1]} pixels per image")
    if cfg.sizes[-1] != classes:
        raise ConfigError("sizes", cfg.sizes, f"the output layer has {cfg.sizes[-1]} units but the data has "
                          f"{classes} classes")
    if cfg.batchnorm and len(x_train) < 2:
        raise ConfigError("batchnorm", True, f"BatchNorm needs at least 2 training samples, the data has {len(x_train)}")
