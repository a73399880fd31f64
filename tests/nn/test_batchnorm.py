import numpy as np
import pytest

from tinygrad_lab import Tensor, nn


def _x(n=8, c=3, seed=0):
    return np.random.default_rng(seed).normal(2.0, 3.0, size=(n, c))


def test_training_normalises_with_the_biased_batch_variance():
    x = _x()
    y = nn.BatchNorm1d(3)(Tensor(x)).data
    np.testing.assert_allclose(y, (x - x.mean(0)) / np.sqrt(x.var(0) + 1e-5), atol=1e-12)


def test_running_statistics_use_momentum_and_the_unbiased_variance():
    bn = nn.BatchNorm1d(3, momentum=0.1)
    x1, x2 = _x(seed=1), _x(seed=2)
    bn(Tensor(x1))
    bn(Tensor(x2))
    mean = 0.9 * (0.9 * 0 + 0.1 * x1.mean(0)) + 0.1 * x2.mean(0)
    var = 0.9 * (0.9 * 1 + 0.1 * x1.var(0, ddof=1)) + 0.1 * x2.var(0, ddof=1)
    np.testing.assert_allclose(bn.running_mean, mean, atol=1e-12)
    np.testing.assert_allclose(bn.running_var, var, atol=1e-12)


def test_eval_uses_running_statistics_and_does_not_update_them():
    bn = nn.BatchNorm1d(3)
    bn(Tensor(_x()))
    bn.eval()
    mean, var = bn.running_mean.copy(), bn.running_var.copy()
    x = _x(seed=5)
    y = bn(Tensor(x)).data
    np.testing.assert_allclose(y, (x - mean) / np.sqrt(var + 1e-5), atol=1e-12)
    np.testing.assert_array_equal(bn.running_mean, mean)


def test_matches_torch_batchnorm1d():
    torch = pytest.importorskip("torch")
    x = _x(6, 4)
    ours = nn.BatchNorm1d(4)
    ours.weight.data[...] = [1.0, 2.0, 0.5, -1.0]
    ref = torch.nn.BatchNorm1d(4).double()
    with torch.no_grad():
        ref.weight.copy_(torch.tensor(ours.weight.data))
    xt = torch.tensor(x, requires_grad=True)
    for _ in range(3):
        ours_x = Tensor(x, requires_grad=True)
        out = ours(ours_x)
        (out * out).sum().backward()
        ref_out = ref(xt)
        xt.grad = None
        (ref_out * ref_out).sum().backward()
        np.testing.assert_allclose(out.data, ref_out.detach().numpy(), atol=1e-12)
        np.testing.assert_allclose(ours_x.grad.data, xt.grad.numpy(), atol=1e-10)
    np.testing.assert_allclose(ours.running_var, ref.running_var.numpy(), atol=1e-12)
    np.testing.assert_allclose(ours.running_mean, ref.running_mean.numpy(), atol=1e-12)


def test_bad_inputs_are_named():
    bn = nn.BatchNorm1d(3)
    with pytest.raises(ValueError, match=r"BatchNorm1d\(3\) expects input of shape \(N, 3\), got \(4, 2\)"):
        bn(Tensor(np.ones((4, 2))))
    with pytest.raises(ValueError, match="more than 1 sample"):
        bn(Tensor(np.ones((1, 3))))
    with pytest.raises(TypeError, match="float32 input"):
        bn(Tensor(np.ones((4, 3), np.float32)))
    with pytest.raises(ValueError, match="momentum=2"):
        nn.BatchNorm1d(3, momentum=2)


def test_batchnorm_takes_a_numpy_batch_in_its_dtype_and_refuses_a_tensor_of_another():
    """The one dtype rule, as Linear's: plain data is converted, a Tensor is not."""
    layer = nn.BatchNorm1d(3, dtype=np.float32)
    assert layer(np.random.default_rng(0).standard_normal((4, 3))).dtype == np.float32
    with pytest.raises(TypeError, match=r"BatchNorm1d\(3\) holds float32 weights but got a float64 input of shape \(4, 3\); "
                                        r"cast one of them: x.float\(\), or the model with .double\(\)"):
        layer(Tensor(np.ones((4, 3))))
