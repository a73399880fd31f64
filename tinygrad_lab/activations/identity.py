"""σ(z) = z;  σ'(z) = 1 (a linear output layer)."""
from tinygrad_lab.activations.definition import Definition


def sigma(z):
    return z


def sigma_prime(y):
    return y * 0 + 1


ACTIVATION = Definition("identity", "Identity", sigma, sigma_prime)
