"""Loss functions: PyTorch's, named and behaving like ``torch.nn.functional``'s (``mse_loss``,
``cross_entropy``, ``nll_loss``, ``binary_cross_entropy``, ``binary_cross_entropy_with_logits``,
each with ``reduction`` "mean" (default), "sum" or "none"), and the homework's squared error under
a name of its own, :func:`half_sum_squared_error`."""
from __future__ import annotations

import functools

import numpy as np

from tinygrad_lab import backend, cross_entropy_definition, ops
from tinygrad_lab.function import Function, Fused, data
from tinygrad_lab.tensor import Tensor

REDUCTIONS = ("mean", "sum", "none")


def check_reduction(name: str, reduction: str) -> None:
    if reduction not in REDUCTIONS:
        raise ValueError(f"{name}: reduction must be one of {REDUCTIONS}, got {reduction!r}")


def _reduce(losses, reduction: str):
    """The per-element ``losses`` averaged ("mean"), summed ("sum") or kept ("none")."""
    if reduction == "mean":
        return ops.mean(losses)
    return ops.sum(losses) if reduction == "sum" else losses


def _same_shape(name: str, y, t) -> None:
    if np.shape(y) != np.shape(t):
        raise ValueError(f"{name}: output shape {np.shape(y)} and target shape {np.shape(t)} differ "
                         "(no broadcasting: an (N, 1) output against an (N,) target is a classic bug)")


def half_sum_squared_error(y, t):
    """The homework's E(y, t) = ½ Σ (y − t)², summed over the outputs and the batch, so that
    ∂E/∂y = y − t.  PyTorch's ``mse_loss`` is the mean of (y − t)² instead."""
    _same_shape("half_sum_squared_error", y, t)
    diff = y - t
    return ops.sum(diff * diff) * 0.5


def mse_loss(y, t, reduction: str = "mean"):
    """(y − t)² elementwise, averaged over all elements (``"mean"``, PyTorch's default), summed
    (``"sum"``) or kept (``"none"``).  y and t must have the same shape (no broadcasting)."""
    check_reduction("mse_loss", reduction)
    _same_shape("mse_loss", y, t)
    diff = y - t
    return _reduce(diff * diff, reduction)


class CrossEntropy(Fused):
    """E = −(1/N) Σₙ log softmax(xₙ)[tₙ] (``mean``) or the sum over n (``sum``), via log-sum-exp:
    one node, a declared acceleration of its composition from ``log_softmax``, indexing and a sum.

    gx = (softmax(x) − onehot(t)) · gy / N: the one line every classifier's backward starts from.
    """

    def __init__(self, targets: np.ndarray, reduction: str, given=None):
        #: the class indices (int64, checked), converted from what the caller ``given``
        self.targets, self.reduction, self.given = targets, reduction, given

    def forward(self, x):
        self.probs = np.empty_like(x)
        return self.forward_into(x, self.targets, self.probs, np.empty((), x.dtype))

    def forward_into(self, x, targets, probs, loss):
        """The loss into the 0-d buffer ``loss`` and softmax(x) into ``probs`` (one fused pass)."""
        loss[...] = self.scale(backend.active.softmax_xent(x, targets, probs), len(x))
        return loss

    def _onehot(self, shape, dtype) -> np.ndarray:
        onehot = np.zeros(shape, dtype=dtype)
        onehot[np.arange(shape[0]), self.targets] = 1
        return onehot

    def scale(self, g, n: int):
        """g / N for the mean (NaN for an empty batch, as PyTorch), g for the sum."""
        if self.reduction != "mean":
            return g
        return g / n if n else g * np.nan

    def composition(self, x):
        picked = ops.log_softmax(x, axis=1)[np.arange(x.shape[0]), self.targets]
        return self.scale(-picked.sum(), x.shape[0])

    def fast_backward(self, gy, x, y):
        return self.backward_into(gy, self.targets, self.probs, np.empty_like(self.probs))

    def backward_into(self, gy, targets, probs, gx):
        """gx ← (softmax(x) − onehot(t)) · gy / N into the buffer ``gx``."""
        return backend.active.xent_grad(probs, targets, self.scale(float(gy), len(probs)), gx)

    def lower(self, plan, inputs, out):
        """Replayed as :meth:`forward_into` and :meth:`backward_into` on the plan's buffers; the
        targets are an argument of the step, checked and converted again on every replay."""
        x = plan.value(inputs[0])
        targets = plan.argument(self.given, self.targets, functools.partial(class_targets, "cross_entropy", x.shape),
                                "the targets")
        probs, loss = np.empty_like(x), plan.output(out, np.empty((), x.dtype))
        plan.forward(self.name, self.forward_into, x, targets, probs, loss)
        if self.needs_grad[0]:
            plan.backward(f"{self.name} backward", self.backward_into, plan.grad(out), targets, probs,
                          plan.grad(inputs[0]))

    def jvp(self, dx, *, xs, y):
        """dE = Σ (softmax(x) − onehot(t)) ⊙ dx (÷ N for the mean)."""
        x = xs[0]
        return self.scale((cross_entropy_definition.logit_grad(self.probs, self._onehot(x.shape, x.dtype), 1.0)
                           * dx).sum(), x.shape[0])


def class_targets(name: str, shape, targets) -> np.ndarray:
    """``targets`` as int64 class indices, one per row of an (N, C) input, each in [0, C)."""
    if len(shape) != 2:
        raise ValueError(f"{name}: logits must have shape (N, C), got {shape}")
    t = np.asarray(data(targets))
    if t.dtype.kind not in "iu":
        if t.dtype.kind != "f" or not np.all(t == np.round(t)):
            raise TypeError(f"{name}: targets must be integer class indices, got dtype {t.dtype}")
        t = t.astype(np.int64)
    if t.shape != (shape[0],):
        raise ValueError(f"{name}: targets must have shape ({shape[0]},) for logits of shape "
                         f"{shape}, got {t.shape}")
    if t.size and (t.min() < 0 or t.max() >= shape[1]):
        bad = t[(t < 0) | (t >= shape[1])][0]
        raise ValueError(f"{name}: target {bad} is outside [0, {shape[1]}) for {shape[1]} classes")
    # a copy: the backward pass must not see later changes to the caller's targets
    return np.array(t, dtype=np.int64, order="C")


def nll_loss(log_probs, targets, reduction: str = "mean"):
    """The negative log-likelihood −log_probs[n, tₙ] of each sample's target class (log_probs
    (N, C), e.g. from ``log_softmax``), reduced over the batch."""
    check_reduction("nll_loss", reduction)
    t = class_targets("nll_loss", np.shape(log_probs), targets)
    return _reduce(-ops.getitem(log_probs, (np.arange(len(t)), t)), reduction)


def cross_entropy(logits, targets, reduction: str = "mean", label_smoothing: float = 0.0):
    """Softmax cross-entropy of ``logits`` (N, C) against integer class ``targets`` (N,) in [0, C):

        lossₙ = (1 − ε) · (−log softmax(xₙ)[tₙ]) + ε · (−Σ_c log softmax(xₙ)[c] / C),  ε = label_smoothing

    (PyTorch's definition), reduced over the batch.  Without smoothing, "mean" and "sum" run as
    one fused node (:class:`CrossEntropy`); the other cases are built from ``log_softmax``.
    """
    check_reduction("cross_entropy", reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must be in [0, 1], got {label_smoothing}")
    t = class_targets("cross_entropy", np.shape(logits), targets)
    if reduction != "none" and label_smoothing == 0.0:
        return CrossEntropy(t, reduction, targets).apply(logits)
    log_probs = ops.log_softmax(logits, axis=1)
    losses = nll_loss(log_probs, t, reduction="none")
    if label_smoothing:
        losses = losses * (1.0 - label_smoothing) - ops.mean(log_probs, axis=1) * label_smoothing
    return _reduce(losses, reduction)


class BinaryCrossEntropy(Function):
    """E = −(t log p + (1 − t) log(1 − p)) elementwise for probabilities p against targets t in
    [0, 1], each log clamped at −100 as in PyTorch (p = 0 or 1 gives a finite loss);
    gp = gy ⊙ (p − t) / max(p (1 − p), 1e-12)."""

    EPS = 1e-12

    def __init__(self, targets: np.ndarray):
        self.targets = targets

    def forward(self, p):
        with np.errstate(divide="ignore"):
            log_p, log_q = np.maximum(np.log(p), -100), np.maximum(np.log1p(-p), -100)
        return -(self.targets * log_p + (1 - self.targets) * log_q)

    def backward(self, gy, p, y):
        return gy * (p - self.targets) / ops.maximum(p * (1 - p), np.array(self.EPS, dtype=p.dtype))

    def jvp(self, dp, *, xs, y):
        p = xs[0]
        return (p - self.targets) / np.maximum(p * (1 - p), self.EPS) * dp


def _targets_like(name: str, y, t) -> np.ndarray:
    _same_shape(name, y, t)
    if isinstance(t, Tensor) and t.requires_grad:
        raise ValueError(f"{name}: gradients with respect to the target are not supported; pass "
                         "target.detach()")
    return np.array(data(t), dtype=np.result_type(data(y)), copy=True)


def binary_cross_entropy(p, t, reduction: str = "mean"):
    """−(t log p + (1 − t) log(1 − p)) for probabilities p in [0, 1] (e.g. a sigmoid's output) and
    targets t of the same shape, reduced.  Prefer :func:`binary_cross_entropy_with_logits` on the
    logits: it is stable where the sigmoid saturates."""
    check_reduction("binary_cross_entropy", reduction)
    t = _targets_like("binary_cross_entropy", p, t)
    values = data(p)
    if values.size and (values.min() < 0 or values.max() > 1):
        raise ValueError("binary_cross_entropy: the input must be probabilities in [0, 1], got values "
                         f"in [{values.min():.4g}, {values.max():.4g}] (pass logits to "
                         "binary_cross_entropy_with_logits)")
    return _reduce(BinaryCrossEntropy(t).apply(p), reduction)


def binary_cross_entropy_with_logits(x, t, reduction: str = "mean"):
    """binary_cross_entropy(σ(x), t) computed from the logits x without forming σ(x):

        −(t log σ(x) + (1 − t) log(1 − σ(x))) = softplus(x) − t x,   softplus(x) = log(1 + eˣ)

    with softplus as the logsumexp of (0, x): stable for any x; the gradient is σ(x) − t."""
    check_reduction("binary_cross_entropy_with_logits", reduction)
    _same_shape("binary_cross_entropy_with_logits", x, t)
    softplus = ops.logsumexp(ops.stack([np.zeros(np.shape(x)), x]), axis=0)
    return _reduce(softplus - t * x, reduction)
