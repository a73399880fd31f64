"""Newton's method vs gradient descent on the quadratics of the nine-layer experiment and 001/003.

For f(p) = ½ pᵀHp, gradient descent is stable only for lr < 2/λ_max and then needs about
κ = λ_max/λ_min steps per e-fold along the flat direction.  λ_max comes from power iteration
with Hessian-vector products (``func.hvp``: double backward, H is never formed); Newton's
step p − H⁻¹∇f (``func.newton_step``) lands on the minimum of a quadratic in one step.

    python examples/newton.py [--quick]      # ~2 s
"""
import sys

import numpy as np

from tinygrad_lab import Tensor, grad
from tinygrad_lab.func import hvp, newton_step

QUICK = "--quick" in sys.argv
START, TOL = np.array([-7.0, 2.0]), 1e-6
QUADRATICS = {"x² + 50y²": np.array([1.0, 50.0]), "x²/20 + y²": np.array([0.05, 1.0])}


def largest_eigenvalue(f, p, iterations=20):
    v = np.ones_like(p)
    for _ in range(iterations):                       # v ← Hv / ‖Hv‖ converges to the top eigenvector
        hv = hvp(f, Tensor(p), v)[1].data
        v = hv / np.linalg.norm(hv)
    return float(v @ hvp(f, Tensor(p), v)[1].data)     # Rayleigh quotient vᵀHv


def gradient_descent(f, lr, max_steps):
    p = Tensor(START.copy(), requires_grad=True)
    for step in range(max_steps):
        if f(p).item() < TOL:
            return step
        p = Tensor(p.data - lr * grad(f(p), [p])[0].data, requires_grad=True)
    return None


for name, c in QUADRATICS.items():
    f = lambda p, c=c: (p * p * c).sum()               # noqa: E731  Hessian diag(2c)
    lam = largest_eigenvalue(f, START)
    lr = 1.0 / lam                                     # safely below the 2/λ_max limit
    budget = 500 if QUICK else 5000
    gd_steps = gradient_descent(f, lr, budget)
    p = newton_step(f, Tensor(START))
    print(f"{name}: λ_max = {lam:g} (exact {2 * c.max():g}), κ = {c.max() / c.min():g}; "
          f"GD with lr = 1/λ_max: {gd_steps or f'not done in {budget}'} steps; "
          f"Newton: 1 step to f = {f(p).item():.1e}")
    assert abs(lam - 2 * c.max()) < 1e-8 and f(p).item() < 1e-20
