"""Forward mode: every op has a jvp rule, and it is the directional derivative of the op."""
import numpy as np
import pytest
from hypothesis import given, settings

from tinygrad_lab import losses, ops  # noqa: F401  (losses registers CrossEntropy)
from tinygrad_lab.forward_ad import dual_level, make_dual, tangent_of
from tinygrad_lab.function import REGISTRY, Function
from tinygrad_lab.func import jacobian, jvp, vjp
from tinygrad_lab.op_catalogue import CASES, run_case
from tinygrad_lab.tensor import Tensor, no_grad
from tinygrad_lab.testing import op_inputs

H = 1e-6


def _directions(tensors, seed):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(t.shape) for t in tensors]


def _directional_derivative(fn, tensors, vs):
    """(f(x + hv) − f(x − hv)) / 2h."""
    with no_grad():
        plus = fn(*(Tensor(t.data + H * v) for t, v in zip(tensors, vs))).data
        minus = fn(*(Tensor(t.data - H * v) for t, v in zip(tensors, vs))).data
    return (plus - minus) / (2 * H)


def test_every_registered_function_has_a_jvp_rule():
    missing = sorted(name for name, cls in REGISTRY.items() if cls.jvp is Function.jvp)
    assert not missing, f"Functions without a forward-mode rule: {missing}"


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_jvp_is_the_directional_derivative(case):
    @given(op_inputs(case))
    def check(inputs):
        fn, tensors = run_case(case, *inputs)
        vs = _directions(tensors, 0)
        y, dy = jvp(fn, tuple(tensors), tuple(vs))
        np.testing.assert_allclose(y.data, fn(*tensors).data, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(dy.data, _directional_derivative(fn, tensors, vs), rtol=1e-3, atol=1e-5)

    check()


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_jvp_and_vjp_are_adjoint(case):
    """⟨u, J v⟩ = ⟨uᵀJ, v⟩ for random u, v: forward and reverse mode compute the same J."""
    @given(op_inputs(case))
    def check(inputs):
        fn, tensors = run_case(case, *inputs)
        vs = _directions(tensors, 1)
        y, jv = jvp(fn, tuple(tensors), tuple(vs))
        u = np.random.default_rng(2).standard_normal(y.shape)
        _, uj = vjp(fn, tuple(tensors), u)
        lhs = float(np.sum(u * jv.data))
        rhs = sum(float(np.sum(g.data * v)) for g, v in zip(uj, vs))
        assert lhs == pytest.approx(rhs, rel=1e-9, abs=1e-9)

    check()


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_jacobian_forward_equals_reverse(case):
    @settings(max_examples=5)
    @given(op_inputs(case))
    def check(inputs):
        fn, tensors = run_case(case, *inputs)
        rev = jacobian(fn, tuple(tensors), mode="rev")
        fwd = jacobian(fn, tuple(tensors), mode="fwd")
        for r, f in zip(rev, fwd):
            np.testing.assert_allclose(f.data, r.data, rtol=1e-10, atol=1e-12)

    check()


def test_dual_tensors_work_under_no_grad_and_outside_the_graph():
    x = Tensor(np.array([0.5, -1.0]), requires_grad=True)
    with no_grad(), dual_level():
        d = make_dual(x, np.array([1.0, 0.0]))
        y = (d * d).sum()
        assert tangent_of(y) == pytest.approx(1.0)  # d/dt (x₀ + t)² = 2x₀ = 1
        assert not y.requires_grad
    assert x.grad is None


def test_a_tensor_that_does_not_depend_on_a_dual_has_zero_tangent():
    with dual_level():
        make_dual(Tensor([1.0]), np.array([1.0]))
        y = Tensor([2.0, 3.0]).exp()
        np.testing.assert_array_equal(tangent_of(y), np.zeros(2))


def test_levels_nest_and_close():
    with dual_level():
        outer = make_dual(Tensor([2.0]), np.array([1.0]))
        with dual_level():
            inner = outer * 3.0  # outer is not dual in this level
            np.testing.assert_array_equal(tangent_of(inner), [0.0])
        np.testing.assert_array_equal(tangent_of(outer * 3.0), [3.0])
    with pytest.raises(RuntimeError, match="dual_level"):
        make_dual(Tensor([1.0]), np.array([1.0]))


def test_make_dual_checks_the_tangent_shape():
    with dual_level(), pytest.raises(ValueError, match="tangent of shape"):
        make_dual(Tensor(np.zeros(3)), np.zeros(2))


def test_plain_arrays_skip_forward_mode():
    with dual_level():
        assert isinstance(ops.exp(np.zeros(2)), np.ndarray)
