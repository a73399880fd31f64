"""Leaky ReLU, PyTorch's ``nn.LeakyReLU()`` (negative slope α = 0.01):

    σ(z) = max(z, αz);   σ'(z) = 1 for z > 0, else α  (through y: y > 0 exactly when z > 0)
"""
from tinygrad_lab.activations.definition import Definition
from tinygrad_lab.activations.elementwise import step

SLOPE = 0.01


def sigma(z):
    return z * (step(z) * (1.0 - SLOPE) + SLOPE)


def sigma_prime(y):
    return step(y) * (1.0 - SLOPE) + SLOPE


ACTIVATION = Definition("leaky_relu", "LeakyReLU", sigma, sigma_prime, kinks=(0.0,))
