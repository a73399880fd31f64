"""σ(z) = max(z, 0);  σ'(z) = 1 for z > 0, else 0, i.e. H(y) (the kink at 0 gets 0, as in PyTorch)."""
from tinygrad_lab.activations.definition import Definition
from tinygrad_lab.activations.elementwise import maximum, step


def sigma(z):
    return maximum(z, 0.0)


def sigma_prime(y):
    return step(y)


ACTIVATION = Definition("relu", "ReLU", sigma, sigma_prime, kinks=(0.0,))
