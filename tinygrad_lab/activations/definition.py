"""What an activation is: σ(z) and its derivative, each one elementwise formula."""
from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Definition:
    """An elementwise activation a = σ(z), written once.

    ``sigma(z)`` is σ; ``sigma_prime`` is σ' written through what the forward pass saved: a
    function of its output y = σ(z) (``def sigma_prime(y)``, cheapest for sigmoid and tanh) or of
    its input (``def sigma_prime(z)``). Both use only arithmetic and the primitives of
    :mod:`~tinygrad_lab.activations.elementwise`, so the same formula runs on numbers, numpy arrays,
    Tensors (differentiable again) and, compiled, inside the Numba kernels.  ``title`` names the
    nn layer and the graph node (``ReLU``); ``name`` is its key in the registry (``relu``).
    """

    name: str
    title: str
    sigma: Callable
    sigma_prime: Callable
    #: the z where σ has a kink (σ' jumps): the gradient checks keep their inputs away from them
    kinks: tuple[float, ...] = ()
    #: "y" or "z": the argument sigma_prime takes (read from its signature)
    uses: str = field(init=False)

    def __post_init__(self):
        params = list(inspect.signature(self.sigma_prime).parameters)
        if params not in (["y"], ["z"]):
            raise TypeError(f"{self.name}: sigma_prime must take one argument named y (the output "
                            f"σ(z)) or z (the input), got {params}")
        object.__setattr__(self, "uses", params[0])

    def derivative(self, z, y):
        """σ'(z), from z or from y = σ(z), whichever ``sigma_prime`` is written through."""
        return self.sigma_prime(z if self.uses == "z" else y)

    def __repr__(self) -> str:
        return f"<activation {self.name}>"
