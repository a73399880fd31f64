"""σ(z) = tanh z;  σ'(z) = 1 − y²."""
from tinygrad_lab.activations.definition import Definition
from tinygrad_lab.activations.elementwise import tanh


def sigma(z):
    return tanh(z)


def sigma_prime(y):
    return 1.0 - y * y


ACTIVATION = Definition("tanh", "Tanh", sigma, sigma_prime)
