"""Loss modules: the same numbers as the functions and as torch.nn's modules."""
import numpy as np
import pytest

from tinygrad_lab import Tensor, nn

RNG = np.random.default_rng(0)
LOGITS, CLASSES = RNG.standard_normal((5, 3)), RNG.integers(0, 3, 5)
Y, T = RNG.standard_normal((5, 3)), RNG.uniform(0, 1, (5, 3))


@pytest.mark.parametrize("name, kwargs, x, t", [
    ("CrossEntropyLoss", {"label_smoothing": 0.2}, LOGITS, CLASSES),
    ("CrossEntropyLoss", {"reduction": "none"}, LOGITS, CLASSES),
    ("NLLLoss", {"reduction": "sum"}, -np.abs(LOGITS), CLASSES),
    ("MSELoss", {}, Y, T),
    ("BCELoss", {"reduction": "none"}, T[::-1].copy(), T),
    ("BCEWithLogitsLoss", {}, Y, T),
])
def test_modules_match_torch(name, kwargs, x, t):
    torch = pytest.importorskip("torch")
    ours = getattr(nn, name)(**kwargs)
    theirs = getattr(torch.nn, name)(**kwargs)
    xs = Tensor(x, requires_grad=True)
    y = ours(xs, t if t.dtype.kind == "i" else Tensor(t))
    xt = torch.tensor(x, requires_grad=True)
    yt = theirs(xt, torch.tensor(t))
    np.testing.assert_allclose(y.data, yt.detach().numpy(), rtol=1e-12, atol=1e-12)
    y.sum().backward()
    yt.sum().backward()
    np.testing.assert_allclose(xs.grad.data, xt.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_repr_and_validation():
    assert repr(nn.MSELoss()) == "MSELoss()"
    assert repr(nn.CrossEntropyLoss(reduction="sum", label_smoothing=0.1)) == \
        "CrossEntropyLoss(reduction='sum', label_smoothing=0.1)"
    with pytest.raises(ValueError, match="MSELoss: reduction must be one of"):
        nn.MSELoss(reduction="batchmean")
    with pytest.raises(ValueError, match="label_smoothing must be in"):
        nn.CrossEntropyLoss(label_smoothing=-0.1)
    assert list(nn.CrossEntropyLoss().parameters()) == []
