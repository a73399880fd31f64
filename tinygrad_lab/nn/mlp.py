"""MLP: the multilayer perceptron of the homework, built from Linear, BatchNorm1d and activations."""
from __future__ import annotations

import numpy as np

from tinygrad_lab import random
from tinygrad_lab.nn.activation import get_activation
from tinygrad_lab.nn.batchnorm import BatchNorm1d
from tinygrad_lab.nn.dropout import Dropout, check_p
from tinygrad_lab.nn.linear import Linear
from tinygrad_lab.nn.module import Sequential

HE_INIT = ("relu", "leaky_relu", "gelu")


def default_init(activation: str) -> str:
    """He for the ReLU-like activations, LeCun N(0, 1/n_in) for the others (see docs/initialization.md)."""
    return "he" if activation in HE_INIT else "lecun"


class MLP(Sequential):
    """``MLP([784, 512, 256, 10], activation="relu")``: Linear → [BatchNorm1d] → σ → [Dropout] per
    hidden layer, then a Linear output layer followed by ``output_activation`` (none by default: logits).
    ``dropout`` > 0 adds a :class:`~tinygrad_lab.nn.Dropout` after each hidden activation, its masks
    drawn from a Generator spawned from ``rng`` (the weights are the same with or without dropout).

    ``init`` defaults to He for ReLU-like activations and LeCun otherwise (see
    docs/initialization.md); all weights are drawn from one Generator, ``rng`` or
    ``numpy.random.default_rng(seed)``, or the default generator if both are None
    (:func:`tinygrad_lab.manual_seed`).

    ``fuse=False`` (the default) builds the homework's picture: every layer's z(l) and a(l) are
    separate tensors of the graph.  ``fuse=True`` builds each Linear with its activation inside
    (``Linear(..., activation=σ)``, one node per layer: same numbers, faster); a BatchNorm1d between
    them keeps the activation a layer of its own.
    """

    def __init__(self, sizes, activation: str = "relu", batchnorm: bool = False, init=None,
                 output_activation: str | None = None, seed: int | None = None,
                 rng: np.random.Generator | None = None, dtype=np.float64, fuse: bool = False,
                 dropout: float = 0.0):
        sizes = [int(s) for s in sizes]
        if len(sizes) < 2 or min(sizes) < 1:
            raise ValueError(f"MLP needs at least an input and an output size, all >= 1, got {sizes}")
        rng = random.generator(rng, seed)
        dropout = check_p(dropout)
        # the masks' own stream; the default generator (manual_seed) is used as it is
        dropout_rng = rng if rng is random.default_generator() else rng.spawn(1)[0]
        get_activation(activation)  # fails early, naming the known activations
        if output_activation is not None:
            get_activation(output_activation)
        init = init if init is not None else default_init(activation)
        layers = []
        for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            hidden = i < len(sizes) - 2
            after = activation if hidden else output_activation
            inside = fuse and after is not None and not (hidden and batchnorm)
            layers.append(Linear(n_in, n_out, init=init, rng=rng, dtype=dtype,
                                 activation=after if inside else "identity"))
            if hidden and batchnorm:
                layers.append(BatchNorm1d(n_out, dtype=dtype))
            if after is not None and not inside:
                layers.append(get_activation(after))
            if hidden and dropout:
                layers.append(Dropout(dropout, rng=dropout_rng))
        super().__init__(*layers)
        self.sizes, self.activation = sizes, activation
        self.batchnorm, self.dropout, self.output_activation = bool(batchnorm), dropout, output_activation
        self.fuse = bool(fuse)

    @property
    def dtype(self) -> str:
        """The parameters' dtype, by name (it follows :meth:`~tinygrad_lab.nn.Module.to`)."""
        return self.layers[0].weight.dtype.name
