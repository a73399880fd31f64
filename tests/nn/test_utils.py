"""torch.nn's namespaces: nn.init is the initializer module, nn.utils holds the gradient clipping."""
import numpy as np

import tinygrad_lab
from tinygrad_lab import Tensor, nn, optim


def test_nn_init_is_the_init_module():
    assert nn.init is tinygrad_lab.init
    p = nn.Parameter(np.zeros((20, 30)))
    nn.init.kaiming_normal_(p, rng=np.random.default_rng(0))
    assert p.data.std() > 0


def test_nn_utils_clip_grad_norm_is_the_optimizers_one():
    assert nn.utils.clip_grad_norm_ is optim.clip_grad_norm_
    assert nn.utils.clip_grad_value_ is optim.clip_grad_value_
    p = nn.Parameter(np.zeros(2))
    p.grad = Tensor([3.0, 4.0])
    assert nn.utils.clip_grad_norm_([p], 1.0) == 5.0
    np.testing.assert_allclose(p.grad.data, [0.6, 0.8], rtol=1e-6)
