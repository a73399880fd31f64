"""Holding out a validation set: a stratified, seeded split of the training set.

Model selection (the learning-rate plateau, early stopping, the best checkpoint) must never look at
the test set; it looks at samples held out from the training set instead.  Stratified: each class
keeps its share, so a split of n of N samples takes ≈ n·N_c/N samples of class c.
"""
from __future__ import annotations

import numpy as np

__all__ = ["split_size", "stratified_split"]


def split_size(size, n_samples: int) -> int:
    """The number of samples ``size`` asks for: a count (an integer >= 0) as it is, a fraction in
    (0, 1) of ``n_samples`` rounded to the nearest integer."""
    return int(size) if size == 0 or size >= 1 else int(round(size * n_samples))


def stratified_split(labels: np.ndarray, size, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(train indices, validation indices), both sorted, with ``split_size(size, len(labels))``
    samples held out.

    Class c (N_c of the N samples) gives ⌊n·N_c/N⌋ samples, and the samples still missing go one each
    to the classes with the largest remainders n·N_c/N − ⌊n·N_c/N⌋ (ties: the lower class); which of
    its samples a class gives is drawn from ``rng``.  Every class must give at least one sample and
    keep at least one, else a ``ValueError`` says which class cannot.
    """
    labels = np.asarray(labels)
    n = split_size(size, len(labels))
    if not 1 <= n < len(labels):
        raise ValueError(f"holds out {n} of the {len(labels)} training samples: it must hold out at least one "
                         "and leave some to train on")
    classes, counts = np.unique(labels, return_counts=True)
    quotas = n * counts / len(labels)
    taken = np.floor(quotas).astype(np.int64)
    taken[np.argsort(taken - quotas, kind="stable")[:n - taken.sum()]] += 1
    for c, k, total in zip(classes, taken, counts):
        if k == 0:
            raise ValueError(f"holds out {n} samples for {len(classes)} classes: class {c} ({total} of the "
                             f"{len(labels)} samples) gets no validation sample")
        if k == total:
            raise ValueError(f"holds out every sample of class {c} ({total} of {total}): each class must keep a "
                             "training sample")
    by_class = np.split(np.argsort(labels, kind="stable"), np.cumsum(counts)[:-1])  # each class's indices, ascending
    held = np.concatenate([rng.permutation(members)[:k] for members, k in zip(by_class, taken)])
    mask = np.zeros(len(labels), dtype=bool)
    mask[held] = True
    return np.flatnonzero(~mask), np.flatnonzero(mask)
