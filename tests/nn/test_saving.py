"""Rebuilding nn models from a file: spec + state dict."""
import numpy as np
import pytest

import tinygrad_lab as tl
from tinygrad_lab import Tensor, nn

MODELS = [
    lambda: nn.MLP([4, 5, 3], activation="tanh", batchnorm=True, dropout=0.1, output_activation="sigmoid",
                   dtype=np.float32, seed=0, fuse=False),
    lambda: nn.Sequential(nn.Linear(4, 6, bias=False), nn.ReLU(), nn.Sequential(nn.Linear(6, 3), nn.Identity()),
                          nn.Dropout(0.5), nn.Flatten(0)),
    lambda: nn.Linear(4, 2),
]


@pytest.mark.parametrize("build", MODELS)
def test_save_model_then_load_model_rebuilds_it(tmp_path, build):
    model = build()
    if any(isinstance(m, nn.BatchNorm1d) for m in model.modules()):   # move the running statistics
        model(Tensor(np.random.default_rng(0).standard_normal((8, 4)), dtype=np.float32))
    nn.save_model(model, tmp_path / "model.npz")
    loaded = nn.load_model(tmp_path / "model.npz")
    assert repr(loaded) == repr(model) and type(loaded) is type(model) and not loaded.training
    for (k, a), (k2, b) in zip(model.state_dict().items(), loaded.state_dict().items()):
        assert k == k2 and a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    x = Tensor(np.random.default_rng(1).standard_normal((3, 4)), dtype=model.state_dict()[k].dtype)
    np.testing.assert_array_equal(loaded(x).data, model.eval()(x).data)


def test_spec_is_plain_data():
    spec = nn.spec(nn.MLP([2, 3, 1]))
    assert spec == {"type": "MLP", "config": {"sizes": [2, 3, 1], "activation": "relu", "batchnorm": False,
                                              "dropout": 0.0, "output_activation": None, "dtype": "float64",
                                              "fuse": False}}


def test_custom_modules_have_no_spec_and_say_what_to_do(tmp_path):
    class Net(nn.Module):
        def __init__(self):
            self.fc = nn.Linear(2, 2)

    with pytest.raises(TypeError, match="Net is not one of tinygrad_lab.nn's layers.*load_state_dict"):
        nn.save_model(Net(), tmp_path / "net.npz")


def test_load_model_refuses_other_files(tmp_path):
    tl.save({"w": np.zeros(2)}, tmp_path / "w.npz")
    with pytest.raises(ValueError, match="w.npz holds no model saved by nn.save_model"):
        nn.load_model(tmp_path / "w.npz")
    with pytest.raises(ValueError, match="from_spec: not a model spec"):
        nn.from_spec({"type": "Conv2d", "config": {}})
