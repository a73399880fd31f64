"""GELU (tanh approximation) equals torch.nn.functional.gelu(approximate="tanh"), value and gradient."""
import numpy as np
import pytest

from tinygrad_lab import nn

torch = pytest.importorskip("torch")


def test_matches_torch(matches_torch):
    matches_torch(nn.GELU(), lambda t: torch.nn.functional.gelu(t, approximate="tanh"), np.linspace(-6, 6, 49))
