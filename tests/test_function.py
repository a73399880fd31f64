"""Function's contracts that every node shares; here, the fused nodes' (function.Fused): each is a
declared acceleration of its composition, so its forward and its fast backward must give the
composition's numbers, and its backward under create_graph is the composition's own."""
import numpy as np
import pytest

from tinygrad_lab import Tensor, activations, autograd
from tinygrad_lab.function import Fused
from tinygrad_lab.losses import CrossEntropy
from tinygrad_lab.nn.batchnorm import BatchNormTrain
from tinygrad_lab.nn.linear import Affine

RNG = np.random.default_rng(0)
A, W, B = RNG.normal(size=(6, 4)), RNG.normal(size=(3, 4)), RNG.normal(size=3)
X, GAMMA, BETA = RNG.normal(size=(6, 3)), RNG.uniform(0.5, 1.5, 3), RNG.normal(size=3)
TARGETS = RNG.integers(0, 3, 6)

CASES = {
    **{f"Affine+{name}": (lambda name=name: Affine(activations.get(name)), (A, W, B))
       for name in ("identity", "relu", "sigmoid", "tanh", "gelu", "softplus")},
    "Affine, no bias": (lambda: Affine(activations.get("tanh")), (A, W)),
    "CrossEntropy mean": (lambda: CrossEntropy(TARGETS, "mean"), (X,)),
    "CrossEntropy sum": (lambda: CrossEntropy(TARGETS, "sum"), (X,)),
    "BatchNormTrain": (lambda: BatchNormTrain(1e-5), (X, GAMMA, BETA)),
}


@pytest.mark.parametrize("case", CASES)
def test_a_fused_node_computes_its_composition(case):
    make, arrays = CASES[case]
    node = make()
    assert isinstance(node, Fused)
    fused_in = [Tensor(a, requires_grad=True) for a in arrays]
    plain_in = [Tensor(a, requires_grad=True) for a in arrays]
    fused_out, plain_out = node.apply(*fused_in), make().composition(*plain_in)
    np.testing.assert_allclose(fused_out.data, plain_out.data, rtol=1e-12, atol=1e-12)
    gy = RNG.normal(size=fused_out.shape)
    fused_out.backward(Tensor(gy), retain_graph=True)        # the fast kernels
    plain_out.backward(Tensor(gy))
    for f, p in zip(fused_in, plain_in):
        np.testing.assert_allclose(f.grad.data, p.grad.data, rtol=1e-10, atol=1e-12)
    # under create_graph the backward is the composition's vector–Jacobian product: a graph
    again = [Tensor(a, requires_grad=True) for a in arrays]
    grads = autograd.grad(make().apply(*again), again, Tensor(gy), create_graph=True)
    assert any(g.requires_grad for g in grads)
    for g, p in zip(grads, plain_in):
        np.testing.assert_allclose(g.data, p.grad.data, rtol=1e-10, atol=1e-12)
