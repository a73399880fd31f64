"""Leaky ReLU equals torch.nn.functional.leaky_relu (value and gradient)."""
import numpy as np
import pytest

from tinygrad_lab import nn

torch = pytest.importorskip("torch")


def test_matches_torch(matches_torch):
    matches_torch(nn.LeakyReLU(), torch.nn.functional.leaky_relu, np.array([-3.0, -0.5, -1e-3, 1e-3, 0.7, 4.0]))
