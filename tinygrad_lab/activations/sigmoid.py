"""σ(z) = 1 / (1 + e⁻ᶻ), computed as (1 + tanh(z/2)) / 2 (no overflow);  σ'(z) = y(1 − y)."""
from tinygrad_lab.activations.definition import Definition
from tinygrad_lab.activations.elementwise import tanh


def sigma(z):
    return 0.5 * (tanh(0.5 * z) + 1.0)


def sigma_prime(y):
    return y * (1.0 - y)


ACTIVATION = Definition("sigmoid", "Sigmoid", sigma, sigma_prime)
