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
    assert repr(_model()) == (
        "Sequential(\n"
        "  (0): Linear(in_features=3, out_features=4, bias=True)\n"
        "  (1): BatchNorm1d(4, eps=1e-05, momentum=0.1)\n"
        "  (2): ReLU()\n"
        "  (3): Linear(in_features=4, out_features=2, bias=True)\n"
        ")")


def test_repr_is_pytorchs():
    torch = pytest.importorskip("torch")
    ours = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Sequential(nn.Linear(4, 2, bias=False), nn.Sigmoid()))
    theirs = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(),
                                 torch.nn.Sequential(torch.nn.Linear(4, 2, bias=False), torch.nn.Sigmoid()))
    assert repr(ours) == repr(theirs)


def test_summary_prints_output_shapes_and_parameter_counts(capsys):
    model = nn.MLP([5, 4, 3], batchnorm=True, dropout=0.5, seed=0).train()
    nn.summary(model, (1, 5))
    lines = capsys.readouterr().out.splitlines()
    rows = [line.split() for line in lines[2:7]]
    assert [r[1] for r in rows] == ["Linear", "BatchNorm1d", "ReLU", "Dropout", "Linear"]
    assert [r[2] + r[3] for r in rows] == ["(1,4)", "(1,4)", "(1,4)", "(1,4)", "(1,3)"]
    assert [int(r[4]) for r in rows] == [5 * 4 + 4, 2 * 4, 0, 0, 4 * 3 + 3]
    assert f"Total params: {model.num_parameters()}" in lines and model.num_parameters() == 24 + 8 + 15
    assert model.training and "forward" not in vars(model[0])   # all restored


def test_state_dict_keys_are_named_like_pytorchs():
    torch = pytest.importorskip("torch")
    ours = nn.MLP([3, 4, 2], batchnorm=True)
    theirs = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4), torch.nn.ReLU(),
                                 torch.nn.Linear(4, 2))
    expected = [k for k in theirs.state_dict() if not k.endswith("num_batches_tracked")]
    assert sorted(ours.state_dict()) == sorted(expected)


# ----- edits of the module tree are stamped (a captured step's guard reads the stamp) -------------
def _stamp():
    from tinygrad_lab.mode import edits
    return edits().modules


@pytest.mark.parametrize("edit", [
    lambda m: m.layers.append(nn.Tanh()), lambda m: m.layers.extend([nn.Tanh()]),
    lambda m: m.layers.insert(0, nn.Tanh()), lambda m: m.layers.pop(), lambda m: m.layers.remove(m.layers[2]),
    lambda m: m.layers.clear(), lambda m: m.layers.reverse(), lambda m: m.layers.sort(key=id),
    lambda m: m.layers.__setitem__(2, nn.Tanh()), lambda m: m.layers.__delitem__(slice(0, 1)),
    lambda m: m.layers.__iadd__([nn.Tanh()]), lambda m: m.layers.__imul__(1),
    lambda m: setattr(m[1], "eps", 1e-3), lambda m: setattr(m[0], "bias", nn.Parameter(np.zeros(4))),
    lambda m: delattr(m[0], "bias"), lambda m: setattr(m, "layers", [nn.ReLU()]),
], ids=["append", "extend", "insert", "pop", "remove", "clear", "reverse", "sort", "setitem", "delitem", "iadd",
        "imul", "setting", "parameter", "delattr", "new list"])
def test_every_edit_of_the_tree_moves_the_stamp(edit):
    model = _model()
    before = _stamp()
    edit(model)
    assert _stamp() != before
    assert isinstance(model.layers, nn.module.LayerList)


def test_writes_in_place_and_settings_written_again_leave_the_stamp():
    model = _model()
    before = _stamp()
    model.train()                 # already training
    model[1].running_mean *= 0.5  # rebinds the same array
    model[0].weight.data[...] = 1.0
    assert _stamp() == before


def test_a_mode_switch_and_a_cast_move_the_stamp():
    model = _model()
    for change in (lambda: model.eval(), lambda: model.train(), lambda: model.float(), lambda: model.double()):
        before = _stamp()
        change()
        assert _stamp() != before
    before = _stamp()
    model.double()                # already float64: nothing cast
    assert _stamp() == before


def _bn_model():
    model = nn.MLP([4, 5, 3], batchnorm=True, seed=0)
    model(Tensor(np.random.default_rng(0).standard_normal((6, 4))))  # move the running statistics
    return model


@pytest.mark.parametrize("cast, dtype", [(lambda m: m.to(np.float32), np.float32), (lambda m: m.float(), np.float32),
                                         (lambda m: m.to("float32").double(), np.float64)])
def test_to_casts_parameters_and_buffers_in_place_and_returns_the_module(cast, dtype):
    model = _bn_model()
    params, before = list(model.parameters()), model.state_dict()
    assert cast(model) is model
    assert [id(p) for p in model.parameters()] == [id(p) for p in params]     # the same Tensors, as PyTorch
    assert all(p.dtype == dtype for p in params) and model.dtype == np.dtype(dtype).name
    for name, value in model.state_dict().items():
        assert value.dtype == dtype, name
        np.testing.assert_allclose(value, before[name], rtol=1e-6)
    assert model(np.ones((2, 4))).dtype == dtype          # a numpy batch takes the model's dtype
    assert nn.from_spec(nn.spec(model))[0].weight.dtype == dtype


def test_to_bumps_versions_so_an_old_graph_refuses_to_backpropagate():
    layer = nn.Linear(3, 2)
    loss = layer(Tensor(np.ones((1, 3)))).sum()
    layer.to(np.float32)
    with pytest.raises(RuntimeError, match="modified"):
        loss.backward()


def test_an_optimizer_built_before_to_keeps_stepping_the_cast_parameters():
    from tinygrad_lab import cross_entropy, optim
    model = _bn_model()
    opt = optim.Adam(model.parameters(), lr=0.1)
    x, y = np.random.default_rng(1).standard_normal((6, 4)), np.array([0, 1, 2, 0, 1, 2])
    for cast in (lambda: None, model.float):
        cast()
        before = [p.data.copy() for p in model.parameters()]
        opt.zero_grad()
        cross_entropy(model(x), y).backward()
        opt.step()
        assert all(p.dtype == before[0].dtype and not np.array_equal(p.data, b) for p, b in zip(model.parameters(), before))
    assert all(s["exp_avg"].dtype == np.float32 for s in opt.state.values())


def test_to_refuses_a_dtype_parameters_cannot_hold():
    with pytest.raises(TypeError, match=r"Linear.to: parameters hold float32 or float64, got dtype int64"):
        nn.Linear(2, 2).to(np.int64)
    with pytest.raises(TypeError, match=r"Linear.to: 'cuda' is not a dtype"):
        nn.Linear(2, 2).to("cuda")
