"""The backend interface: every kernel a backend provides, with its signature and contract.

A backend is a module of plain functions over NumPy arrays that satisfies :class:`Backend`
(``tests/backend/test_interface.py`` checks both implementations against it, and runs one parity
suite generated from it).  Kernels compute formulas that are written once elsewhere: an
activation's σ and σ' (:mod:`tinygrad_lab.activations`), an optimizer's update rule (its module
in :mod:`tinygrad_lab.optim`), the per-element formulas of softmax cross-entropy
(:mod:`tinygrad_lab.cross_entropy_definition`) and of batch norm
(:mod:`tinygrad_lab.nn.batchnorm_definition`) inside their reductions.  The NumPy backend
evaluates them on whole arrays (the reference); the Numba backend compiles them into loops (the
fast path).  Conventions:

* arrays named ``out``-like (``y``, ``gz``, ``gb``, ``probs``, ...) are written in place;
* row batches are (N, M); bias-like vectors are (M,); ``b``/``gb`` may be None (no bias);
* optimizer arrays are 1-D, C-contiguous, of the parameter's float dtype.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, runtime_checkable

import numpy as np

from tinygrad_lab.activations import Definition


@runtime_checkable
class Backend(Protocol):
    NAME: str

    def update(self, rule: Callable, param: np.ndarray, grad: np.ndarray, state: tuple[np.ndarray, ...],
               hyper: tuple) -> None:
        """In place, elementwise: (param, *state) ← rule(param, grad, *state, *hyper).

        ``rule`` is an optimizer's update rule for one coordinate; float hyperparameters are cast
        to the parameter's dtype first (bools stay flags).  Raises ValueError unless ``param`` is
        a writeable 1-D C-contiguous float32/float64 array and ``grad`` and every state array 1-D,
        C-contiguous, of its size and dtype."""

    def update_unchecked(self, rule: Callable, param: np.ndarray, grad: np.ndarray,
                         state: tuple[np.ndarray, ...], hyper: tuple) -> None:
        """:meth:`update` for a caller that made the arrays and so knows them to be as
        :meth:`update` checks (the optimizers): a wrong array is then undefined behaviour."""

    def all_finite(self, a: np.ndarray) -> bool:
        """Whether no element of the 1-D array ``a`` is NaN or ±inf (the optimizers' check of every
        gradient before any update)."""

    def bias_act(self, z: np.ndarray, b: np.ndarray | None, act: Definition, y: np.ndarray) -> np.ndarray:
        """In place: z ← z + b, then y ← σ(z) (y may be z itself); returns y."""

    def act_backward_bias(self, gy: np.ndarray, z: np.ndarray, y: np.ndarray, act: Definition,
                          gz: np.ndarray, gb: np.ndarray | None) -> np.ndarray:
        """gz ← gy ⊙ σ'(z) (σ' through z or y = σ(z), as the activation is written) and
        gb ← Σ_rows gz (gz may be gy itself); returns gz."""

    def softmax_xent(self, logits: np.ndarray, targets: np.ndarray, probs: np.ndarray) -> float:
        """probs ← softmax(logits) per row; returns Σₙ −log probs[n, tₙ] (through log-sum-exp)."""

    def xent_grad(self, probs: np.ndarray, targets: np.ndarray, scale: float, out: np.ndarray) -> np.ndarray:
        """out ← (probs − onehot(targets)) · scale; returns out."""

    def batchnorm_forward(self, x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float,
                          xhat: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Over the rows of x (N, C): xhat ← (x − μ)/√(σ² + ε), y ← γ xhat + β; returns (μ, σ²),
        σ² the biased variance."""

    def batchnorm_backward(self, gy: np.ndarray, xhat: np.ndarray, gamma: np.ndarray, inv_std: np.ndarray,
                           gx: np.ndarray, ggamma: np.ndarray, gbeta: np.ndarray) -> np.ndarray:
        """gβ ← Σ gy, gγ ← Σ gy ⊙ xhat, gx ← γ/(N√(σ² + ε)) · (N gy − gβ − xhat ⊙ gγ); returns gx."""


#: the kernel names of the interface, in declaration order
KERNELS = tuple(name for name in Backend.__dict__ if not name.startswith("_") and callable(Backend.__dict__[name]))
