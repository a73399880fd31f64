"""Softplus, PyTorch's ``nn.Softplus()`` (β = 1):

    σ(z) = ln(1 + eᶻ) = ln(1 + e^−|z|) + max(z, 0)   (the second form never overflows)
    σ'(z) = 1 / (1 + e⁻ᶻ) = 1 − e^−y                 (through y = σ(z): e^y = 1 + eᶻ)

PyTorch returns z itself above its threshold z > 20, where the two differ by less than 2.1e−9.
"""
from tinygrad_lab.activations.definition import Definition
from tinygrad_lab.activations.elementwise import abs, exp, log1p, maximum


def sigma(z):
    return log1p(exp(-abs(z))) + maximum(z, 0.0)


def sigma_prime(y):
    return 1.0 - exp(-y)


ACTIVATION = Definition("softplus", "Softplus", sigma, sigma_prime)
