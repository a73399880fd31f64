"""vjp, jvp, hvp, jacobian, hessian and newton_step on known functions, Hypothesis and PyTorch."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinygrad_lab import ops
from tinygrad_lab.func import hessian, hvp, jacobian, jvp, newton_step, vjp
from tinygrad_lab.gradcheck import numerical_jacobian
from tinygrad_lab.tensor import Tensor
from tinygrad_lab.testing import arrays

W = np.array([[0.5, -1.0, 0.3], [0.2, 0.4, -0.7]])
B = np.array([0.1, -0.2])


def mlp_like(x):
    """A small smooth scalar function: Σ tanh(W x + b)² + ¼ Σ x⁴."""
    z = ops.matmul(W, x.reshape(3, 1)).reshape(2) + B
    h = ops.tanh(z)
    return (h * h).sum() + (x ** 4).sum() * 0.25


def mlp_vector(x):
    return ops.sigmoid(ops.matmul(W, x.reshape(3, 1)).reshape(2) + B) * x.sum()


vectors3 = arrays((3,))


@given(vectors3, vectors3)
def test_hvp_equals_hessian_times_v(x, v):
    H = hessian(mlp_like, Tensor(x)).data
    _, hv = hvp(mlp_like, Tensor(x), v)
    np.testing.assert_allclose(hv.data, H @ v, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(H, H.T, atol=1e-12)


@settings(max_examples=10)
@given(vectors3)
def test_hessian_is_the_jacobian_of_the_gradient(x):
    def gradient(t):
        return vjp(mlp_like, t)[1]
    numeric = numerical_jacobian(gradient, Tensor(x))
    np.testing.assert_allclose(hessian(mlp_like, Tensor(x)).data, numeric, rtol=1e-5, atol=1e-6)


@given(vectors3)
def test_jacobian_modes_agree_with_central_differences(x):
    numeric = numerical_jacobian(mlp_vector, Tensor(x))
    for mode in ("rev", "fwd"):
        np.testing.assert_allclose(jacobian(mlp_vector, Tensor(x), mode=mode).data, numeric,
                                   rtol=1e-6, atol=1e-8)


def test_known_derivatives_of_a_cubic():
    def f(x):  # ∇f = 3x², H = diag(6x)
        return (x ** 3).sum()

    x = Tensor([1.0, -2.0])
    y, g = vjp(f, x)
    assert y.item() == -7.0
    np.testing.assert_allclose(g.data, [3.0, 12.0])
    np.testing.assert_allclose(jvp(f, x, np.array([1.0, 1.0]))[1].data, 15.0)
    np.testing.assert_allclose(hvp(f, x, np.array([1.0, 1.0]))[1].data, [6.0, -12.0])
    np.testing.assert_allclose(hessian(f, x).data, np.diag([6.0, -12.0]))


def test_tuple_inputs_give_blocks():
    def f(a, b):
        return (a * a * b).sum()

    a, b = Tensor([1.0, 2.0]), Tensor([3.0, 4.0])
    (Haa, Hab), (Hba, Hbb) = hessian(f, (a, b))
    np.testing.assert_allclose(Haa.data, np.diag([6.0, 8.0]))
    np.testing.assert_allclose(Hab.data, np.diag([2.0, 4.0]))
    np.testing.assert_allclose(Hba.data, Hab.data)
    np.testing.assert_allclose(Hbb.data, np.zeros((2, 2)))
    hv_a, hv_b = hvp(f, (a, b), (np.ones(2), np.zeros(2)))[1]
    np.testing.assert_allclose(hv_a.data, [6.0, 8.0])
    np.testing.assert_allclose(hv_b.data, [2.0, 4.0])
    ja, jb = jacobian(lambda a, b: a * b, (a, b), mode="fwd")
    np.testing.assert_allclose(ja.data, np.diag([3.0, 4.0]))
    np.testing.assert_allclose(jb.data, np.diag([1.0, 2.0]))


def test_linear_functions_have_zero_hessian_and_inputs_keep_no_grad():
    x = Tensor(np.arange(3.0), requires_grad=True)
    np.testing.assert_array_equal(hessian(lambda t: (t * 2.0).sum(), x).data, np.zeros((3, 3)))
    np.testing.assert_array_equal(hvp(lambda t: t.sum(), x, np.ones(3))[1].data, np.zeros(3))
    assert x.grad is None


def test_errors_name_the_problem():
    x = Tensor([1.0, 2.0])
    with pytest.raises(ValueError, match="mode must be"):
        jacobian(mlp_vector, x, mode="forward")
    with pytest.raises(ValueError, match="scalar-valued"):
        hvp(lambda t: t * 2.0, x, np.ones(2))
    with pytest.raises(ValueError, match="shape"):
        jvp(lambda t: t, x, np.ones(3))
    with pytest.raises(ValueError, match="singular"):
        newton_step(lambda t: t.sum(), x)
    with pytest.raises(ValueError, match="damping"):
        newton_step(lambda t: t.sum(), x, damping=-1.0)


@st.composite
def spd_quadratics(draw):
    n = draw(st.integers(1, 5))
    m = draw(arrays((n, n)))
    a = m @ m.T + 0.5 * np.eye(n)  # symmetric positive definite, eigenvalues >= 0.5
    return a, draw(arrays((n,))), draw(arrays((n,)))


def _quadratic(a, b):
    n = len(b)
    return lambda x: 0.5 * (x * ops.matmul(a, x.reshape(n, 1)).reshape(n)).sum() - (b * x).sum()


@given(spd_quadratics())
def test_newton_solves_a_quadratic_in_one_step(problem):
    a, b, x0 = problem
    x1 = newton_step(_quadratic(a, b), Tensor(x0))
    np.testing.assert_allclose(x1.data, np.linalg.solve(a, b), rtol=1e-8, atol=1e-8)


@given(spd_quadratics(), st.floats(0.1, 10.0))
def test_damped_newton_solves_the_shifted_system(problem, damping):
    a, b, x0 = problem
    x1 = newton_step(_quadratic(a, b), Tensor(x0), damping=damping)
    step = np.linalg.solve(a + damping * np.eye(len(b)), a @ x0 - b)
    np.testing.assert_allclose(x1.data, x0 - step, rtol=1e-8, atol=1e-8)


# ----- against PyTorch ---------------------------------------------------------------------------
def _torch_mlp_like(torch):
    w, b = torch.tensor(W), torch.tensor(B)

    def f(x):
        h = torch.tanh(w @ x + b)
        return (h * h).sum() + (x ** 4).sum() * 0.25

    def g(x):
        return torch.sigmoid(w @ x + b) * x.sum()

    return f, g


@settings(max_examples=10)
@given(vectors3, vectors3, arrays((2,)))
def test_hvp_jvp_vjp_match_torch(x, v, u):
    torch = pytest.importorskip("torch")
    from torch.autograd import functional as TF

    tf, tg = _torch_mlp_like(torch)
    tx, tv, tu = (torch.tensor(a) for a in (x, v, u))
    np.testing.assert_allclose(hvp(mlp_like, Tensor(x), v)[1].data, TF.hvp(tf, tx, tv)[1].numpy(),
                               rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(jvp(mlp_vector, Tensor(x), v)[1].data, TF.jvp(tg, tx, tv)[1].numpy(),
                               rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(vjp(mlp_vector, Tensor(x), u)[1].data, TF.vjp(tg, tx, tu)[1].numpy(),
                               rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(hessian(mlp_like, Tensor(x)).data, TF.hessian(tf, tx).numpy(),
                               rtol=1e-10, atol=1e-10)


def test_the_torch_func_style_module_is_called_func():
    """PyTorch's names: ``tinygrad_lab.func`` (torch.func); ``nn.functional`` is the layer functions."""
    from pathlib import Path

    import tinygrad_lab

    package = Path(tinygrad_lab.__file__).parent
    assert (package / "func.py").is_file() and not (package / "functional.py").exists()
