"""Loss functions: the homework's squared error and the softmax cross-entropy."""
from __future__ import annotations

import numpy as np

from tinygrad_lab import ops
from tinygrad_lab.backend import get_backend
from tinygrad_lab.ops import Fused
from tinygrad_lab.tensor import Tensor

MSE_REDUCTIONS = ("half_sum", "mean", "sum")


def mse_loss(y, t, reduction: str = "half_sum"):
    """Squared error between the output y and the target t (same shape, no broadcasting).

    * ``"half_sum"`` (default): E = ½ Σ (y − t)² over the batch and the outputs: the homework's
      E(y, t) = ½ Σₖ (yₖ − tₖ)², summed over samples, so that ∂E/∂y = y − t (the homework).
    * ``"mean"``: Σ (y − t)² / (number of elements), PyTorch's ``MSELoss()``.
    * ``"sum"``: Σ (y − t)², PyTorch's ``MSELoss(reduction="sum")``.
    """
    if reduction not in MSE_REDUCTIONS:
        raise ValueError(f"mse_loss: reduction must be one of {MSE_REDUCTIONS}, got {reduction!r}")
    if np.shape(y) != np.shape(t):
        raise ValueError(f"mse_loss: output shape {np.shape(y)} and target shape {np.shape(t)} differ "
                         "(no broadcasting: an (N, 1) output against an (N,) target is a classic bug)")
    diff = y - t
    squares = ops.sum(diff * diff)
    if reduction == "half_sum":
        return squares * 0.5
    if reduction == "mean":
        return squares * (1.0 / max(diff.size, 1))
    return squares


class CrossEntropy(Fused):
    """E = −(1/N) Σₙ log softmax(xₙ)[tₙ] (``mean``) or the sum over n (``sum``), via log-sum-exp:
    one node, a declared acceleration of its composition from ``log_softmax``, indexing and a sum.

    gx = (softmax(x) − onehot(t)) · gy / N: the one line every classifier's backward starts from.
    """

    def __init__(self, targets: np.ndarray, reduction: str):
        self.targets, self.reduction = targets, reduction

    def forward(self, x):
        self.probs = np.empty_like(x)
        loss = get_backend().softmax_xent(x, self.targets, self.probs)   # one fused pass
        return np.asarray(self._scale(loss, len(x)), dtype=x.dtype)

    def _onehot(self, shape, dtype) -> np.ndarray:
        onehot = np.zeros(shape, dtype=dtype)
        onehot[np.arange(shape[0]), self.targets] = 1
        return onehot

    def _scale(self, g, n: int):
        return g / n if self.reduction == "mean" else g

    def composition(self, x):
        picked = ops.log_softmax(x, axis=1)[np.arange(x.shape[0]), self.targets]
        return self._scale(-picked.sum(), x.shape[0])

    def fast_backward(self, gy, x, y):
        scale = self._scale(float(gy), x.shape[0])
        return get_backend().xent_grad(self.probs, self.targets, scale, np.empty_like(self.probs))

    def jvp(self, dx, *, xs, y):
        """dE = Σ (softmax(x) − onehot(t)) ⊙ dx (÷ N for the mean)."""
        x = xs[0]
        return self._scale(((self.probs - self._onehot(x.shape, x.dtype)) * dx).sum(), x.shape[0])


def cross_entropy(logits, targets, reduction: str = "mean"):
    """Softmax cross-entropy of ``logits`` (N, C) against integer class ``targets`` (N,) in [0, C)."""
    if reduction not in ("mean", "sum"):
        raise ValueError(f"cross_entropy: reduction must be 'mean' or 'sum', got {reduction!r}")
    shape = np.shape(logits)
    if len(shape) != 2:
        raise ValueError(f"cross_entropy: logits must have shape (N, C), got {shape}")
    t = np.asarray(targets.data if isinstance(targets, Tensor) else targets)
    if t.dtype.kind not in "iu":
        if t.dtype.kind != "f" or not np.all(t == np.round(t)):
            raise TypeError(f"cross_entropy: targets must be integer class indices, got dtype {t.dtype}")
        t = t.astype(np.int64)
    if t.shape != (shape[0],):
        raise ValueError(f"cross_entropy: targets must have shape ({shape[0]},) for logits of shape "
                         f"{shape}, got {t.shape}")
    if t.size and (t.min() < 0 or t.max() >= shape[1]):
        bad = t[(t < 0) | (t >= shape[1])][0]
        raise ValueError(f"cross_entropy: target {bad} is outside [0, {shape[1]}) for {shape[1]} classes")
    return CrossEntropy(np.ascontiguousarray(t, dtype=np.int64), reduction).apply(logits)
