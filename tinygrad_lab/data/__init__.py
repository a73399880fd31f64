"""Datasets for tinygrad_lab: IDX files, (Fashion-)MNIST loading, the bundled sample, mini-batching."""

from .datasets import (
    ChecksumError,
    Dataset,
    DownloadError,
    MissingFilesError,
    flatten,
    load_dataset,
    load_fashion_mnist,
    load_mnist,
    load_sample,
    model_inputs,
    normalize,
)
from .idx import IDXError, read_idx, write_idx
from .loader import DataLoader, batches

__all__ = [
    "ChecksumError",
    "DataLoader",
    "Dataset",
    "DownloadError",
    "IDXError",
    "MissingFilesError",
    "batches",
    "flatten",
    "load_dataset",
    "load_fashion_mnist",
    "load_mnist",
    "load_sample",
    "model_inputs",
    "normalize",
    "read_idx",
    "write_idx",
]

