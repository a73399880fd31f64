"""Softplus equals torch.nn.functional.softplus, value and gradient (to 3e-9 above torch's threshold 20,
where it returns z itself)."""
import numpy as np
import pytest

from tinygrad_lab import Tensor, nn

torch = pytest.importorskip("torch")


def test_matches_torch(matches_torch):
    matches_torch(nn.Softplus(), torch.nn.functional.softplus, np.linspace(-30, 30, 61) + 0.25,
                  rtol=1e-12, atol=3e-9, grad_atol=1e-7)        # 2y·σ' at z = 20.25: 2·20·2e-9


def test_large_inputs_do_not_overflow():
    y = nn.Softplus()(Tensor(np.array([-800.0, 800.0])))
    np.testing.assert_allclose(y.data, [0.0, 800.0])
