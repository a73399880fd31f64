"""The batch-norm formulas, composed with the column sums as the backends compose them, are
PyTorch's training-mode batch norm and its gradients."""
import numpy as np
import pytest

from tinygrad_lab.nn import batchnorm_definition as bn


def test_the_formulas_are_torchs_batch_norm_forward_and_backward():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((9, 5)) * 3 + np.arange(5)
    gamma, beta, gy = rng.standard_normal(5), rng.standard_normal(5), rng.standard_normal((9, 5))
    eps, n = 1e-3, len(x)

    mean = x.sum(axis=0) / n
    var = bn.squared_deviation(x, mean).sum(axis=0) / n
    s = bn.inv_std(var, eps)
    xhat = bn.normalise(x, mean, s)
    y = bn.affine(xhat, gamma, beta)
    gbeta, ggamma = gy.sum(axis=0), (gy * xhat).sum(axis=0)
    gx = bn.input_grad(gy, xhat, gamma, s, n, gbeta, ggamma)

    xt, gt, bt = (torch.tensor(a, requires_grad=True) for a in (x, gamma, beta))
    yt = torch.nn.functional.batch_norm(xt, None, None, gt, bt, training=True, eps=eps)
    yt.backward(torch.tensor(gy))
    np.testing.assert_allclose(y, yt.detach().numpy(), rtol=1e-12, atol=1e-12)
    for ours, theirs in ((gx, xt), (ggamma, gt), (gbeta, bt)):
        np.testing.assert_allclose(ours, theirs.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_the_formulas_give_the_same_numbers_on_scalars_as_on_arrays():
    """What the Numba kernels compute per element is what the NumPy backend computes per array."""
    rng = np.random.default_rng(1)
    gy, xhat, gamma, s, sum_gy, sum_gy_xhat = rng.standard_normal(6)
    arrays = bn.input_grad(np.array([gy]), np.array([xhat]), gamma, s, 7, sum_gy, sum_gy_xhat)
    assert arrays[0] == bn.input_grad(gy, xhat, gamma, s, 7, sum_gy, sum_gy_xhat)
    assert bn.normalise(np.array([gy]), xhat, s)[0] == bn.normalise(gy, xhat, s)
