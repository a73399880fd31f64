"""The Flatten layer."""
from __future__ import annotations

from tinygrad_lab import ops
from tinygrad_lab.nn.module import Module


class Flatten(Module):
    """``Flatten(start_dim=1, end_dim=-1)``: merges the axes start_dim … end_dim into one, as
    ``torch.nn.Flatten`` (by default every axis but the batch's: (N, 28, 28) → (N, 784))."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1):
        self.start_dim, self.end_dim = int(start_dim), int(end_dim)

    def forward(self, x):
        return ops.flatten(x, self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"
