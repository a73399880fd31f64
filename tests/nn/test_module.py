import numpy as np
import pytest

from tinygrad_lab import Tensor, nn


def _model():
    return nn.Sequential(nn.Linear(3, 4, rng=np.random.default_rng(0)), nn.BatchNorm1d(4), nn.ReLU(),
                         nn.Linear(4, 2, rng=np.random.default_rng(1)))


def test_named_parameters_and_buffers_in_order():
    model = _model()
    assert [n for n, _ in model.named_parameters()] == ["0.weight", "0.bias", "1.weight", "1.bias",
                                                         "3.weight", "3.bias"]
    assert [n for n, _ in model.named_buffers()] == ["1.running_mean", "1.running_var"]
    assert all(isinstance(p, nn.Parameter) and p.requires_grad for p in model.parameters())


def test_nested_modules_and_lists_are_walked():
    class Net(nn.Module):
        def __init__(self):
            self.blocks = [nn.Linear(2, 2), nn.Linear(2, 1)]
            self.head = nn.Sequential(nn.Sigmoid())

    assert [n for n, _ in Net().named_parameters()] == ["blocks.0.weight", "blocks.0.bias",
                                                         "blocks.1.weight", "blocks.1.bias"]


def test_state_dict_round_trip_copies():
    a, b = _model(), nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2))
    a(Tensor(np.random.default_rng(0).normal(size=(5, 3))))  # moves the running statistics
    state = a.state_dict()
    b.load_state_dict(state)
    for (name, x), (_, y) in zip(a.state_dict().items(), b.state_dict().items()):
        np.testing.assert_array_equal(x, y, err_msg=name)
    state["0.weight"][...] = 99  # a copy: the model is untouched
    assert not np.any(a[0].weight.data == 99)


def test_load_state_dict_names_missing_and_unexpected_keys():
    model = _model()
    state = model.state_dict()
    del state["3.bias"]
    state["extra"] = np.zeros(1)
    with pytest.raises(KeyError, match=r"missing keys \['3.bias'\], unexpected keys \['extra'\]"):
        model.load_state_dict(state)


def test_load_state_dict_names_a_wrong_shape_and_writes_nothing():
    model = _model()
    before = model.state_dict()
    state = model.state_dict()
    state["0.bias"] = np.ones(4)
    state["3.weight"] = np.zeros((3, 4))
    with pytest.raises(ValueError, match=r"'3.weight' has shape \(3, 4\) in the state dict but \(2, 4\)"):
        model.load_state_dict(state)
    np.testing.assert_array_equal(model[0].bias.data, before["0.bias"])


def test_train_eval_and_zero_grad():
    model = _model()
    assert model.eval() is model and not model[1].training
    model.train()
    assert model[1].training
    out = model(Tensor(np.ones((3, 3)) * np.arange(3)[:, None]))
    out.sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())


def test_sequential_rejects_non_modules():
    with pytest.raises(TypeError, match="item 1 is a int"):
        nn.Sequential(nn.ReLU(), 3)


def test_repr_lists_layers():
    assert "(0): Linear(3, 4, bias=True)" in repr(_model())
