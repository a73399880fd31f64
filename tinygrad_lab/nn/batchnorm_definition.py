"""Training-mode batch norm (Ioffe & Szegedy 2015), each formula written once, per element.

Over a batch x of N rows and C columns, per column (μ, σ², s are per-column values)::

    μ = Σₙ xₙ / N,   σ² = Σₙ (xₙ − μ)² / N,   s = 1 / √(σ² + ε)
    x̂ = (x − μ) · s,   y = γ x̂ + β

and its backward, gy = ∂E/∂y given::

    gβ = Σₙ gyₙ,   gγ = Σₙ gyₙ x̂ₙ,   gx = γ s / N · (N gy − gβ − x̂ gγ)

(the three paths from x to E, through μ, σ² and x̂, summed).  The sums over the batch are the
backends' loops; the functions below are what runs inside them, on numbers (compiled into the
Numba backend's kernels) or on whole arrays, broadcast over the rows (the NumPy backend, and the
fused node's tangent).  They use arithmetic and NumPy's √ only.
"""
from __future__ import annotations

from numpy import sqrt

__all__ = ["affine", "input_grad", "inv_std", "normalise", "squared_deviation"]


def squared_deviation(x, mean):
    """(x − μ)²: the terms of the biased variance σ² = Σₙ (xₙ − μ)² / N."""
    d = x - mean
    return d * d


def inv_std(var, eps):
    """s = 1 / √(σ² + ε)."""
    return 1.0 / sqrt(var + eps)


def normalise(x, mean, inv_std):
    """x̂ = (x − μ) · s."""
    return (x - mean) * inv_std


def affine(xhat, gamma, beta):
    """y = γ x̂ + β."""
    return xhat * gamma + beta


def input_grad(gy, xhat, gamma, inv_std, n, sum_gy, sum_gy_xhat):
    """gx = γ s / N · (N gy − Σₙ gy − x̂ Σₙ gy x̂), with the column sums Σₙ gy (= gβ) and
    Σₙ gy x̂ (= gγ) given.  The Jacobian of x ↦ x̂ is symmetric, so the same formula with a
    tangent dx for gy gives the tangent γ dx̂."""
    return gamma * inv_std / n * (n * gy - sum_gy - xhat * sum_gy_xhat)
