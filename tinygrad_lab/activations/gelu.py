"""GELU with the tanh approximation, PyTorch's ``nn.GELU(approximate="tanh")``:

    σ(z) = ½ z (1 + tanh u),   u = √(2/π) (z + 0.044715 z³)
    σ'(z) = ½ (1 + tanh u) + ½ z (1 − tanh² u) √(2/π) (1 + 3 · 0.044715 z²)   (through z)
"""
import math

from tinygrad_lab.activations.definition import Definition
from tinygrad_lab.activations.elementwise import tanh

K = math.sqrt(2.0 / math.pi)
C = 0.044715


def sigma(z):
    return 0.5 * z * (1.0 + tanh(K * (z + C * z * z * z)))


def sigma_prime(z):
    t = tanh(K * (z + C * z * z * z))
    return 0.5 * (1.0 + t) + 0.5 * z * (1.0 - t * t) * K * (1.0 + 3.0 * C * z * z)


ACTIVATION = Definition("gelu", "GELU", sigma, sigma_prime)
