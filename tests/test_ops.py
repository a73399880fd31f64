"""The op catalogue's nodes on arrays a user can hand them (the gradients themselves are checked for
every op in tests/test_op_catalogue.py)."""
import numpy as np
import pytest

from tinygrad_lab import Tensor, activations, ops
from tinygrad_lab.backend import use_backend

SHAPES = [(), (0,), (5,), (3, 4), (2, 3, 4)]


def _half_square(z):
    return 0.5 * z * z


def _identity_of_z(z):
    return z


#: σ' through z with no libm call: the Numba backend's own loop reads the input itself
HALF_SQUARE = activations.Definition("half_square", "HalfSquare", _half_square, _identity_of_z)


def _layouts(rng, shape, dtype):
    """The same values as a fresh array, a read-only one and a transposed (non C-ordered) view."""
    a = rng.standard_normal(shape).astype(dtype)
    read_only = a.copy()
    read_only.flags.writeable = False
    transposed = np.ascontiguousarray(a.T).T if a.ndim > 1 else a.copy()
    return {"fresh": a, "read-only": read_only, "transposed": transposed}


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("name", ["relu", "gelu", "tanh", HALF_SQUARE], ids=str)
@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_an_activation_runs_on_any_shape_and_layout_and_leaves_its_input_alone(backend, name, shape):
    """Activate hands the backend's row kernels a row view of each array (or a copy): every shape,
    a read-only or non-C-ordered input, the input unchanged, the values those of the definition."""
    act = name if isinstance(name, activations.Definition) else activations.get(name)
    for layout, a in _layouts(np.random.default_rng(0), shape, np.float32).items():
        before = a.copy()
        x = Tensor.wrap(a)
        x.requires_grad = True
        with use_backend(backend):
            y = ops.activation(x, name)
            gy = np.linspace(-1, 1, a.size, dtype=np.float32).reshape(shape)
            y.backward(gy)
        np.testing.assert_array_equal(a, before, err_msg=layout)
        np.testing.assert_allclose(y.data, act.sigma(before), rtol=1e-6, atol=1e-6, err_msg=layout)
        np.testing.assert_allclose(x.grad.data, gy * act.derivative(before, act.sigma(before)), rtol=1e-5,
                                   atol=1e-6, err_msg=layout)
        assert y.shape == x.grad.shape == shape and y.dtype == x.grad.dtype == np.float32


def test_a_broadcast_gradient_reaches_the_activation():
    """A sum's backward hands the activation a read-only broadcast gradient (stride 0)."""
    x = Tensor(np.array([[-1.0, 2.0], [3.0, -4.0]]), requires_grad=True)
    ops.relu(x).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [[0.0, 1.0], [1.0, 0.0]])
