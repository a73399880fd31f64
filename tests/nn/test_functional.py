"""tinygrad_lab.nn.functional against torch.nn.functional: values and gradients."""
import numpy as np
import pytest

import tinygrad_lab.nn.functional as F
from tinygrad_lab import Tensor
from tinygrad_lab.gradcheck import gradcheck, gradgradcheck

torch = pytest.importorskip("torch")
TF = torch.nn.functional
RNG = np.random.default_rng(0)
X, W, B = RNG.standard_normal((4, 3)), RNG.standard_normal((2, 3)), RNG.standard_normal(2)

CASES = [
    ("relu", lambda x: F.relu(x), lambda x: TF.relu(x)),
    ("sigmoid", lambda x: F.sigmoid(x), lambda x: TF.sigmoid(x)),
    ("tanh", lambda x: F.tanh(x), lambda x: TF.tanh(x)),
    ("softmax", lambda x: F.softmax(x, dim=0), lambda x: TF.softmax(x, dim=0)),
    ("log_softmax", lambda x: F.log_softmax(x, dim=1), lambda x: TF.log_softmax(x, dim=1)),
    ("linear", lambda x: F.linear(x, Tensor(W), Tensor(B)),
     lambda x: TF.linear(x, torch.tensor(W), torch.tensor(B))),
    ("linear_no_bias", lambda x: F.linear(x, Tensor(W)), lambda x: TF.linear(x, torch.tensor(W))),
    ("dropout_eval", lambda x: F.dropout(x, 0.5, training=False), lambda x: TF.dropout(x, 0.5, training=False)),
    ("mse_loss", lambda x: F.mse_loss(x, Tensor(np.cos(X))), lambda x: TF.mse_loss(x, torch.tensor(np.cos(X)))),
    ("cross_entropy", lambda x: F.cross_entropy(x, np.array([0, 2, 1, 2]), label_smoothing=0.1),
     lambda x: TF.cross_entropy(x, torch.tensor([0, 2, 1, 2]), label_smoothing=0.1)),
    ("nll_loss", lambda x: F.nll_loss(F.log_softmax(x, dim=1), np.array([0, 2, 1, 2]), reduction="sum"),
     lambda x: TF.nll_loss(TF.log_softmax(x, dim=1), torch.tensor([0, 2, 1, 2]), reduction="sum")),
    ("binary_cross_entropy", lambda x: F.binary_cross_entropy(F.sigmoid(x), Tensor(np.abs(np.sin(X)))),
     lambda x: TF.binary_cross_entropy(TF.sigmoid(x), torch.tensor(np.abs(np.sin(X))))),
    ("binary_cross_entropy_with_logits", lambda x: F.binary_cross_entropy_with_logits(x, Tensor(np.abs(np.sin(X)))),
     lambda x: TF.binary_cross_entropy_with_logits(x, torch.tensor(np.abs(np.sin(X))))),
]


@pytest.mark.parametrize("name, ours, theirs", CASES, ids=[c[0] for c in CASES])
def test_matches_torch(name, ours, theirs, same_as_torch):
    x, xt = Tensor(X.copy(), requires_grad=True), torch.tensor(X, requires_grad=True)
    same_as_torch(ours(x), theirs(xt), [(x, xt)], atol=1e-13, grad_atol=1e-13)


@pytest.mark.parametrize("name, ours, theirs", [c for c in CASES if c[0] != "relu"], ids=[c[0] for c in CASES[1:]])
def test_gradcheck_and_gradgradcheck(name, ours, theirs):
    assert gradcheck(ours, [Tensor(X.copy(), requires_grad=True)])      # gradcheck perturbs its input in place
    assert gradgradcheck(ours, [Tensor(X.copy(), requires_grad=True)])


def test_dropout_trains_by_default_like_torch_and_takes_a_generator():
    x = Tensor(np.ones((50, 40)))
    a = F.dropout(x, 0.5, generator=np.random.default_rng(0)).data
    np.testing.assert_array_equal(a, F.dropout(x, 0.5, generator=np.random.default_rng(0)).data)
    assert 0.4 < (a == 0).mean() < 0.6 and set(np.unique(a)) == {0.0, 2.0}
