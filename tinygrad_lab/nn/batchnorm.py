"""Batch normalisation (Ioffe & Szegedy 2015), with PyTorch's BatchNorm1d semantics."""
from __future__ import annotations

import numpy as np

from tinygrad_lab import backend, ops
from tinygrad_lab.function import Fused
from tinygrad_lab.mode import effect_made
from tinygrad_lab.nn import batchnorm_definition as definition
from tinygrad_lab.nn.module import Module, Parameter
from tinygrad_lab.tensor import Tensor


class BatchNormTrain(Fused):
    """Training-mode batch norm of x (N, C) as one graph node (a declared acceleration of the
    composition below), the batch statistics computed inside:

        μ = Σₙ xₙ / N,  σ² = Σₙ (xₙ − μ)² / N,  x̂ = (x − μ) / √(σ² + ε),  y = γ ⊙ x̂ + β

    Backward (gy = ∂E/∂y): gβ = Σₙ gyₙ,  gγ = Σₙ gyₙ ⊙ x̂ₙ,
    gx = γ / (N √(σ² + ε)) ⊙ (N gy − gβ − x̂ ⊙ gγ)  — the three paths through μ, σ² and x̂ summed.
    The forward and backward run as fused backend kernels.  Given the ``layer`` it normalises for,
    the forward pass also moves the layer's running statistics (:meth:`BatchNorm1d.track`): every
    effect of a training step happens inside a node, so a captured step's replay
    (:mod:`tinygrad_lab.capture`) reproduces it by running the node's kernels again (:meth:`lower`).
    """

    def __init__(self, eps: float, layer: "BatchNorm1d | None" = None):
        self.eps, self.layer = eps, layer

    def forward(self, x, gamma, beta):
        self.xhat = np.empty_like(x)
        return self.forward_into(x, gamma, beta, self.xhat, np.empty_like(x))

    def forward_into(self, x, gamma, beta, xhat, y):
        """The forward pass into the buffers ``xhat`` and ``y``; returns y."""
        self.mean, self.var = backend.active.batchnorm_forward(x, gamma, beta, self.eps, xhat, y)
        self.inv_std = definition.inv_std(self.var, self.eps)
        if self.layer is not None:
            self.layer.track(self.mean, self.var, len(x))
            effect_made()
        return y

    def composition(self, x, gamma, beta):
        centred = x - x.mean(axis=0)
        xhat = centred / ops.sqrt((centred * centred).mean(axis=0) + self.eps)
        return xhat * gamma + beta

    def fast_backward(self, gy, x, gamma, beta, *, y):
        return self.backward_into(gy, self.xhat, gamma, np.empty_like(gy), np.empty_like(gamma), np.empty_like(beta))

    def backward_into(self, gy, xhat, gamma, gx, ggamma, gbeta):
        """The three gradients into the buffers ``gx``, ``ggamma``, ``gbeta``."""
        backend.active.batchnorm_backward(gy, xhat, gamma, self.inv_std, gx, ggamma, gbeta)
        return gx, ggamma, gbeta

    def lower(self, plan, inputs, out):
        """Replayed as :meth:`forward_into` and :meth:`backward_into` on the plan's buffers; the
        layer's running statistics are state the forward pass changes."""
        x, gamma, beta = (plan.value(t) for t in inputs)
        xhat, y = np.empty_like(x), plan.output(out, np.empty_like(x))
        plan.forward(self.name, self.forward_into, x, gamma, beta, xhat, y)
        if self.layer is not None:
            plan.changes(self.layer.running_mean, self.layer.running_var)
        grads = [plan.grad(t) if needed else np.empty_like(v)
                 for t, v, needed in zip(inputs, (x, gamma, beta), self.needs_grad)]
        plan.backward(f"{self.name} backward", self.backward_into, plan.grad(out), xhat, gamma, *grads)

    def jvp(self, dx, dgamma, dbeta, *, xs, y):
        """dy = γ dx̂ + dγ x̂ + dβ, γ dx̂ being the input gradient's formula applied to dx."""
        xhat = self.xhat
        return (definition.input_grad(dx, xhat, xs[1], self.inv_std, len(dx), dx.sum(axis=0), (dx * xhat).sum(axis=0))
                + definition.affine(xhat, dgamma, dbeta))


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
        x = self.layer_input(x, self.weight.dtype, f"BatchNorm1d({self.num_features})")
        if x.ndim != 2 or x.shape[1] != self.num_features:
            raise ValueError(f"BatchNorm1d({self.num_features}) expects input of shape "
                             f"(N, {self.num_features}), got {x.shape}")
        if self.training:
            n = x.shape[0]
            if n < 2:
                raise ValueError(f"BatchNorm1d in training mode needs more than 1 sample per batch to "
                                 f"estimate a variance, got input of shape {x.shape}")
            return BatchNormTrain(self.eps, self).apply(x, self.weight, self.bias)
        x_hat = (x - self.running_mean) / np.sqrt(self.running_var + self.eps)
        return x_hat * self.weight + self.bias

    def track(self, mean: np.ndarray, var: np.ndarray, n: int) -> None:
        """Move the running statistics towards a batch of ``n`` samples with mean μ and biased
        variance σ² (the unbiased σ² n/(n − 1) enters the running variance)."""
        self.running_mean *= 1 - self.momentum
        self.running_mean += self.momentum * mean
        self.running_var *= 1 - self.momentum
        self.running_var += self.momentum * var * (n / (n - 1))

    def extra_repr(self) -> str:
        return f"{self.num_features}, eps={self.eps}, momentum={self.momentum}"
