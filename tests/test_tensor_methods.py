"""PyTorch's everyday Tensor methods: values and gradients against torch, keyword aliases, errors."""
import numpy as np
import pytest

import tinygrad_lab as tl
from tinygrad_lab import Tensor

torch = pytest.importorskip("torch")

X = np.random.default_rng(0).standard_normal((3, 4))


def _pair(x=X):
    return Tensor(x.copy(), requires_grad=True), torch.tensor(x.copy(), requires_grad=True)


@pytest.mark.parametrize("name, ours, theirs", [
    ("logsumexp", lambda t: t.logsumexp(dim=1), lambda t: t.logsumexp(dim=1)),
    ("logsumexp_keepdim", lambda t: t.logsumexp(dim=0, keepdim=True), lambda t: t.logsumexp(0, keepdim=True)),
    ("std_unbiased", lambda t: t.std(dim=1, correction=1), lambda t: t.std(dim=1)),
    ("std_biased", lambda t: t.std(ddof=0), lambda t: t.std(correction=0)),
    ("std_default_unbiased", lambda t: t.std(), lambda t: t.std()),
    ("var_default_unbiased", lambda t: t.var(dim=0), lambda t: t.var(dim=0)),
    ("minimum", lambda t: t.minimum(t.T.sum(axis=1, keepdims=True).T * 0.1),
     lambda t: t.minimum(t.T.sum(1, keepdim=True).T * 0.1)),
    ("sum_dim", lambda t: t.sum(dim=(0, 1)), lambda t: t.sum(dim=(0, 1))),
    ("mean_keepdim", lambda t: t.mean(dim=1, keepdim=True), lambda t: t.mean(dim=1, keepdim=True)),
    ("softmax_dim", lambda t: t.softmax(dim=0), lambda t: t.softmax(dim=0)),
    ("log_softmax_dim", lambda t: t.log_softmax(dim=1), lambda t: t.log_softmax(dim=1)),
    ("unsqueeze", lambda t: t.unsqueeze(1) * Tensor(np.arange(2.0)).reshape(2, 1),
     lambda t: t.unsqueeze(1) * torch.arange(2.0, dtype=torch.float64).reshape(2, 1)),
    ("squeeze", lambda t: t.reshape(1, 3, 1, 4).squeeze(2), lambda t: t.reshape(1, 3, 1, 4).squeeze(2)),
    ("squeeze_all", lambda t: t.reshape(1, 3, 1, 4).squeeze(), lambda t: t.reshape(1, 3, 1, 4).squeeze()),
    ("squeeze_not_one", lambda t: t.squeeze(0), lambda t: t.squeeze(0)),
    ("flatten", lambda t: t.reshape(3, 2, 2).flatten(1), lambda t: t.reshape(3, 2, 2).flatten(1)),
    ("view", lambda t: t.view(2, -1), lambda t: t.view(2, -1)),
    ("clone", lambda t: t.clone() * 3, lambda t: t.clone() * 3),
    ("float_double", lambda t: t.float().double() * 2, lambda t: t.float().double() * 2),
    ("t", lambda t: t.t() * Tensor(np.arange(3.0)), lambda t: t.t() * torch.arange(3.0, dtype=torch.float64)),
    ("t_1d", lambda t: t[0].t() * 2, lambda t: t[0].t() * 2),
])
def test_matches_torch_values_and_gradients(name, ours, theirs, same_as_torch):
    x, xt = _pair()
    same_as_torch(ours(x), theirs(xt), [(x, xt)], grad_rtol=1e-12)


def test_max_with_dim_returns_values_and_indices_like_torch():
    x, xt = _pair()
    values, indices = x.max(dim=1)
    ref = xt.max(dim=1)
    np.testing.assert_array_equal(values.data, ref.values.detach().numpy())
    np.testing.assert_array_equal(indices, ref.indices.numpy())
    assert x.min(dim=0, keepdim=True).indices.shape == (1, 4)
    assert isinstance(x.max(axis=1), Tensor)                # numpy's keyword: the values only


def test_argmax_and_argmin_are_integer_arrays():
    x = Tensor(X)
    np.testing.assert_array_equal(x.argmax(dim=1), torch.tensor(X).argmax(dim=1).numpy())
    np.testing.assert_array_equal(x.argmin(axis=0), X.argmin(axis=0))
    assert x.argmax().dtype == np.int64 and x.argmax() == X.argmax()


def test_cast_keeps_each_gradient_in_its_own_dtype():
    x = Tensor(X.astype(np.float32), requires_grad=True)
    y = x.double()
    assert y.dtype == np.float64 and x.float() is x and x.to("float32") is x
    (y * y).sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_allclose(x.grad.data, 2 * X.astype(np.float32), rtol=1e-6)


def test_cast_twice_differentiates_twice():
    x = Tensor(np.array([0.5, -1.0]), requires_grad=True)
    (g,) = tl.grad((x.float().double() ** 3).sum(), [x], create_graph=True)
    g.sum().backward()
    np.testing.assert_allclose(x.grad.data, 6 * x.data, rtol=1e-6)


def test_t_refuses_more_than_two_dimensions_as_torch():
    with pytest.raises(ValueError, match=r"t\(\) expects a tensor with <= 2 dimensions, got shape \(1, 3, 4\)"):
        Tensor(X).reshape(1, 3, 4).t()


def test_to_refuses_non_float_dtypes():
    with pytest.raises(TypeError, match="float32 or float64, got dtype int64"):
        Tensor(X).to(np.int64)


def test_clone_is_new_memory():
    x = Tensor(X)
    c = x.clone()
    c.data[0, 0] = 99.0
    assert x.data[0, 0] == X[0, 0]


def test_numpy_shares_memory_like_torch():
    x = Tensor(np.zeros(3))
    x.numpy()[0] = 5.0
    assert x.data[0] == 5.0
    assert not np.shares_memory(x.numpy().copy(), x.data)


def test_requires_grad_in_place():
    x = Tensor(X)
    assert x.requires_grad_() is x and x.requires_grad
    (x * 2).sum().backward()
    np.testing.assert_array_equal(x.grad.data, np.full(X.shape, 2.0))
    y = x * 2
    with pytest.raises(RuntimeError, match=r"non-leaf tensor of shape \(3, 4\)"):
        y.requires_grad_(False)


def test_logsumexp_does_not_overflow():
    x = Tensor(np.array([[1000.0, 1000.0], [-1000.0, -np.inf]]))
    np.testing.assert_allclose(x.logsumexp(dim=1).data, [1000 + np.log(2), -1000.0])


def test_both_spellings_of_one_keyword_are_refused():
    with pytest.raises(TypeError, match="both dim= and axis="):
        Tensor(X).sum(dim=0, axis=1)


@pytest.mark.parametrize("call, message", [
    (lambda x: x.unsqueeze(3), r"unsqueeze: dim 3 is out of range for a tensor of shape \(3, 4\)"),
    (lambda x: x.squeeze(2), r"squeeze: axis 2 is out of range"),
    (lambda x: x.flatten(1, 0), r"flatten: start_dim 1 comes after end_dim 0"),
    (lambda x: x.view(5, -1), r"reshape: cannot reshape a tensor of shape \(3, 4\)"),
])
def test_shape_errors_name_the_shape(call, message):
    with pytest.raises(ValueError, match=message):
        call(Tensor(X))


def test_factories():
    assert tl.zeros(2, 3).shape == (2, 3) and tl.zeros((2, 3)).data.sum() == 0
    assert tl.ones(4, dtype=np.float32).dtype == np.float32 and tl.ones(4).data.sum() == 4
    x = tl.randn(3, 2, generator=np.random.default_rng(5), requires_grad=True)
    np.testing.assert_array_equal(x.data, np.random.default_rng(5).standard_normal((3, 2)))
    assert x.requires_grad and x.is_leaf
    assert tl.zeros_like(x).shape == (3, 2) and not tl.zeros_like(x).requires_grad
    np.testing.assert_array_equal(tl.ones_like(Tensor(np.zeros(2, np.float32))).data, np.ones(2, np.float32))
    assert tl.ones_like(Tensor(np.zeros(2, np.float32))).dtype == np.float32


def test_randn_refuses_a_non_generator():
    with pytest.raises(TypeError, match="generator must be a numpy.random.Generator"):
        tl.randn(2, generator=0)


VAR_EDGE_CASES = [([1.0], None, 1), ([1.0, 2.0], None, 2), ([1.0, 2.0, 4.0], None, 5), ([1.0, 1.0], None, 2),
                  ([[1.0, 2.0, 4.0], [3.0, 3.0, 3.0]], 1, 3), ([[1.0, 2.0, 4.0], [3.0, 3.0, 3.0]], 1, 5),
                  ([1.0, 2.0, 4.0], 0, 5), (3.0, None, 1), ([1.0, 2.0, 4.0], None, 1.5), ([[1.0, 2.0], [3.0, 5.0]], (0, 1), 4)]


@pytest.mark.filterwarnings("ignore:.*degrees of freedom:UserWarning")   # torch's, on n − correction ≤ 0
@pytest.mark.parametrize("name", ["var", "std"])
@pytest.mark.parametrize("values, dim, correction", VAR_EDGE_CASES)
def test_var_and_std_match_torch_where_the_correction_reaches_n(name, values, dim, correction):
    """inf where n − correction ≤ 0 and the values differ, NaN where they are all equal; gradients
    as torch's, inf and NaN included."""
    x, xt = Tensor(values, requires_grad=True), torch.tensor(values, dtype=torch.float64, requires_grad=True)
    kw = {} if dim is None else {"dim": dim}
    y = getattr(x, name)(correction=correction, **kw)
    yt = getattr(xt, name)(correction=correction, **kw)
    np.testing.assert_array_equal(y.data, yt.detach().numpy())
    u = np.arange(1.0, y.size + 1).reshape(y.shape)
    y.backward(u)
    yt.backward(torch.tensor(u))
    np.testing.assert_allclose(x.grad.data, xt.grad.numpy(), rtol=1e-12)


def test_var_ddof_and_correction_are_one_argument():
    x = Tensor(X)
    np.testing.assert_array_equal(x.var(ddof=0).data, x.var(correction=0).data)
    with pytest.raises(TypeError, match="got both correction= and ddof="):
        x.var(ddof=0, correction=0)
    with pytest.raises(TypeError, match="var: the correction \\(ddof\\) must be a finite number, got 'a'"):
        x.var(correction="a")
