"""Loss modules named and behaving like PyTorch's: ``loss_fn = nn.CrossEntropyLoss();
loss = loss_fn(logits, targets)``.  Each holds its options and calls the function of
:mod:`tinygrad_lab.losses`."""
from __future__ import annotations

from tinygrad_lab import losses
from tinygrad_lab.nn.module import Module


class _Loss(Module):
    """A loss module: ``reduction`` is "mean" (default), "sum" or "none"."""

    function = staticmethod(losses.mse_loss)

    def __init__(self, reduction: str = "mean"):
        losses.check_reduction(type(self).__name__, reduction)
        self.reduction = reduction

    def forward(self, input, target):
        return self.function(input, target, reduction=self.reduction)

    def extra_repr(self) -> str:
        return "" if self.reduction == "mean" else f"reduction={self.reduction!r}"


class MSELoss(_Loss):
    """(y − t)² averaged (PyTorch's default), summed or per element."""

    function = staticmethod(losses.mse_loss)


class NLLLoss(_Loss):
    """−log_probs[n, tₙ] for log-probabilities (N, C) and class targets (N,)."""

    function = staticmethod(losses.nll_loss)


class BCELoss(_Loss):
    """−(t log p + (1 − t) log(1 − p)) for probabilities p."""

    function = staticmethod(losses.binary_cross_entropy)


class BCEWithLogitsLoss(_Loss):
    """The binary cross-entropy of σ(x) computed stably from the logits x."""

    function = staticmethod(losses.binary_cross_entropy_with_logits)


class CrossEntropyLoss(_Loss):
    """Softmax cross-entropy of logits (N, C) against class targets (N,), with ``label_smoothing``."""

    def __init__(self, reduction: str = "mean", label_smoothing: float = 0.0):
        super().__init__(reduction)
        if not 0.0 <= label_smoothing <= 1.0:
            raise ValueError(f"CrossEntropyLoss: label_smoothing must be in [0, 1], got {label_smoothing}")
        self.label_smoothing = label_smoothing

    def forward(self, input, target):
        return losses.cross_entropy(input, target, self.reduction, self.label_smoothing)

    def extra_repr(self) -> str:
        parts = [super().extra_repr(), f"label_smoothing={self.label_smoothing}" if self.label_smoothing else ""]
        return ", ".join(p for p in parts if p)
