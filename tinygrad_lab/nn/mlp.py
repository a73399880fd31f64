"""MLP: the multilayer perceptron of the homework, built from Linear, BatchNorm1d and activations."""
from __future__ import annotations

import numpy as np

from tinygrad_lab.nn.activation import get_activation
from tinygrad_lab.nn.batchnorm import BatchNorm1d
from tinygrad_lab.nn.dropout import Dropout, check_p
from tinygrad_lab.nn.linear import Linear
from tinygrad_lab.nn.module import Sequential

DEFAULT_INIT = {"relu": "he", "sigmoid": "xavier", "tanh": "xavier", "identity": "xavier"}


class MLP(Sequential):
    """``MLP([784, 512, 256, 10], activation="relu")``: Linear → [BatchNorm1d] → σ → [Dropout] per
    hidden layer, then a Linear output layer followed by ``output_activation`` (none by default: logits).
    ``dropout`` > 0 adds a :class:`~tinygrad_lab.nn.Dropout` after each hidden activation, its masks
    drawn from a Generator spawned from ``rng`` (the weights are the same with or without dropout).

    ``init`` defaults to He for ReLU and Xavier for sigmoid/tanh (the seeds' advice); all weights are
    drawn from one Generator, ``rng`` or ``numpy.random.default_rng(seed)``.  ``fuse`` as in
    :class:`~tinygrad_lab.nn.Sequential`.
    """

    def __init__(self, sizes, activation: str = "relu", batchnorm: bool = False, init=None,
                 output_activation: str | None = None, seed: int | None = None,
                 rng: np.random.Generator | None = None, dtype=np.float64, fuse: bool = True,
                 dropout: float = 0.0):
        sizes = [int(s) for s in sizes]
        if len(sizes) < 2 or min(sizes) < 1:
            raise ValueError(f"MLP needs at least an input and an output size, all >= 1, got {sizes}")
        rng = rng if rng is not None else np.random.default_rng(seed)
        dropout = check_p(dropout)
        dropout_rng = rng.spawn(1)[0]
        get_activation(activation)  # fails early, naming the known activations
        init = init if init is not None else DEFAULT_INIT[activation]
        layers = []
        for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            layers.append(Linear(n_in, n_out, init=init, rng=rng, dtype=dtype))
            if i < len(sizes) - 2:
                if batchnorm:
                    layers.append(BatchNorm1d(n_out, dtype=dtype))
                layers.append(get_activation(activation))
                if dropout:
                    layers.append(Dropout(dropout, rng=dropout_rng))
        if output_activation is not None:
            layers.append(get_activation(output_activation))
        super().__init__(*layers, fuse=fuse)
        self.sizes, self.activation = sizes, activation
        self.batchnorm, self.dropout, self.output_activation = bool(batchnorm), dropout, output_activation
        self.dtype = np.dtype(dtype).name
