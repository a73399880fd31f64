"""Write a new op, softplus(x) = log(1 + eˣ), and prove its derivatives three ways.

A Function subclass is one graph node: ``forward`` on numpy arrays, ``backward`` (gx = gy ⊙ σ(x),
written with ops so that the engine can also differentiate it again) and, for forward mode,
``jvp`` (ẏ = σ(x) ⊙ ẋ).  Then: gradcheck (backward vs central differences), gradgradcheck
(double backward), a Hypothesis property test over random shapes and values, and forward mode
against reverse mode.

    python examples/custom_op.py [--quick]     # ~3 s
"""
import sys

import numpy as np
from hypothesis import given, settings

from tinygrad_lab import Tensor, ops
from tinygrad_lab.function import Function
from tinygrad_lab.func import jvp, vjp
from tinygrad_lab.gradcheck import gradcheck, gradgradcheck
from tinygrad_lab.testing import arrays, shapes

QUICK = "--quick" in sys.argv


class Softplus(Function):
    """y = log(1 + eˣ) (computed as logaddexp(0, x): no overflow);  ∂y/∂x = σ(x)."""

    def forward(self, x):
        return np.logaddexp(0.0, x)

    def backward(self, gy, x, y):
        return gy * ops.sigmoid(x)        # arrays in, array out; Tensors in (create_graph), a graph

    def jvp(self, dx, *, xs, y):
        return ops.sigmoid(xs[0]) * dx


def softplus(x):
    return Softplus().apply(x)


x = Tensor(np.random.default_rng(0).uniform(-3, 3, (3, 4)), requires_grad=True)
assert gradcheck(softplus, [x])           # first derivatives: backward vs (f(x+h) − f(x−h)) / 2h
assert gradgradcheck(softplus, [x])       # second derivatives: σ'(x) = σ(x)(1 − σ(x)) through the graph
print("gradcheck and gradgradcheck pass")


@settings(max_examples=10 if QUICK else 50, deadline=None)
@given(arrays(shapes(max_dims=3)))
def test_softplus_matches_its_numerical_gradient(a):
    assert gradcheck(softplus, [Tensor(a, requires_grad=True)])   # smooth: no need for away_from


test_softplus_matches_its_numerical_gradient()
print("Hypothesis: gradcheck holds on random shapes and values")

v = np.ones(x.shape)                      # forward mode (one dual pass) = reverse mode (one backward)
assert np.allclose(jvp(softplus, x, v)[1].data, vjp(lambda t: softplus(t).sum(), x)[1].data)
print("forward mode (jvp) agrees with reverse mode (vjp)")
