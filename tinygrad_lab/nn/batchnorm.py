"""Batch normalisation (Ioffe & Szegedy 2015), with PyTorch's BatchNorm1d semantics."""
from __future__ import annotations

import numpy as np

from tinygrad_lab.nn.module import Module, Parameter
from tinygrad_lab.tensor import Tensor


class BatchNorm1d(Module):
    """y = γ ⊙ (x − μ) / √(σ² + ε) + β per feature, for inputs of shape (N, num_features).

    Training: μ and σ² are the batch mean and the biased batch variance (Σ (x − μ)² / N), and the
    running estimates move by ``momentum``: running = (1 − momentum)·running + momentum·batch, the
    variance entering with its unbiased form (Σ (x − μ)² / (N − 1)).  Evaluation: the running
    estimates replace the batch's.  γ starts at 1, β at 0, running mean at 0, running var at 1.
    """

    buffers = ("running_mean", "running_var")

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1, dtype=np.float64):
        if num_features < 1:
            raise ValueError(f"BatchNorm1d needs num_features >= 1, got {num_features}")
        if eps <= 0 or not 0 <= momentum <= 1:
            raise ValueError(f"BatchNorm1d needs eps > 0 and 0 <= momentum <= 1, got eps={eps}, "
                             f"momentum={momentum}")
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.weight = Parameter(np.ones(num_features), dtype=dtype)   # γ
        self.bias = Parameter(np.zeros(num_features), dtype=dtype)    # β
        self.running_mean = np.zeros(num_features, dtype=dtype)
        self.running_var = np.ones(num_features, dtype=dtype)

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim != 2 or x.shape[1] != self.num_features:
            raise ValueError(f"BatchNorm1d({self.num_features}) expects input of shape "
                             f"(N, {self.num_features}), got {x.shape}")
        if x.dtype != self.weight.dtype:
            raise TypeError(f"BatchNorm1d holds {self.weight.dtype} parameters but got a {x.dtype} input")
        if self.training:
            n = x.shape[0]
            if n < 2:
                raise ValueError(f"BatchNorm1d in training mode needs more than 1 sample per batch to "
                                 f"estimate a variance, got input of shape {x.shape}")
            mean = x.mean(axis=0)
            centred = x - mean
            var = (centred * centred).mean(axis=0)
            self.running_mean *= 1 - self.momentum
            self.running_mean += self.momentum * mean.data
            self.running_var *= 1 - self.momentum
            self.running_var += self.momentum * var.data * (n / (n - 1))
            x_hat = centred / (var + self.eps).sqrt()
        else:
            x_hat = (x - self.running_mean) / np.sqrt(self.running_var + self.eps)
        return x_hat * self.weight + self.bias

    def extra_repr(self) -> str:
        return f"{self.num_features}, eps={self.eps}, momentum={self.momentum}"
