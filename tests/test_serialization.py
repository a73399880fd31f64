"""tinygrad_lab.save / load: nested state, no pickle, atomic, readable member names, clear errors."""
import zipfile

import numpy as np
import pytest

import tinygrad_lab as tl
from tinygrad_lab import Tensor, nn, optim
from tinygrad_lab.checkpoint import CheckpointError


def test_round_trip_of_a_nested_state(tmp_path):
    model = nn.MLP([3, 4, 2], batchnorm=True, seed=0)
    opt = optim.Adam(model.parameters())
    state = {"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": 3, "lr": 1e-3,
             "note": "hi", "flags": [True, None], "pair": (1, np.float32(2.5)), "t": Tensor([1.0, 2.0])}
    path = tl.save(state, tmp_path / "state.npz")
    back = tl.load(path)
    assert back["epoch"] == 3 and back["note"] == "hi" and back["flags"] == [True, None]
    assert back["pair"] == (1, 2.5) and isinstance(back["pair"], tuple)
    np.testing.assert_array_equal(back["t"], [1.0, 2.0])
    for k, v in state["model"].items():
        np.testing.assert_array_equal(back["model"][k], v)
        assert back["model"][k].dtype == v.dtype
    model2 = nn.MLP([3, 4, 2], batchnorm=True, seed=1)
    model2.load_state_dict(back["model"])
    x = Tensor(np.ones((2, 3)))
    np.testing.assert_array_equal(model2.eval()(x).data, model.eval()(x).data)


def test_members_are_named_by_their_path_and_hold_no_pickle(tmp_path):
    path = tl.save({"model": nn.Linear(2, 3).state_dict(), "step": 1}, tmp_path / "m.npz")
    with np.load(path, allow_pickle=False) as npz:
        assert {"model.weight", "model.bias"} <= set(npz.files)
        assert npz["model.weight"].shape == (3, 2)


@pytest.mark.parametrize("value, where", [
    ({"a": {"b": {1, 2}}}, r"set at obj\['a'\]\['b'\]"),
    ({"f": lambda: 0}, r"function at obj\['f'\]"),
    ({"x": np.array([object()])}, r"object array at obj\['x'\]"),
    ({(1, 2): 3}, r"the key \(1, 2\) in obj is a tuple"),
])
def test_unsupported_values_are_named(tmp_path, value, where):
    with pytest.raises(TypeError, match=where):
        tl.save(value, tmp_path / "bad.npz")
    assert list(tmp_path.iterdir()) == []                       # nothing half-written


def test_missing_and_corrupt_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.npz does not exist"):
        tl.load(tmp_path / "nope.npz")
    path = tl.save({"w": np.arange(1000.0)}, tmp_path / "w.npz")
    data = path.read_bytes()
    (tmp_path / "cut.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="cut.npz: truncated or corrupted"):
        tl.load(tmp_path / "cut.npz")
    (tmp_path / "plain.npz").write_bytes(b"not a zip")
    with pytest.raises(CheckpointError, match="plain.npz"):
        tl.load(tmp_path / "plain.npz")


def test_a_failed_write_keeps_the_previous_file(tmp_path, monkeypatch):
    path = tl.save({"v": np.zeros(3)}, tmp_path / "s.npz")

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", boom)
    with pytest.raises(OSError, match="disk full"):
        tl.save({"v": np.ones(3)}, path)
    np.testing.assert_array_equal(tl.load(path)["v"], np.zeros(3))
    assert [p.name for p in tmp_path.iterdir()] == ["s.npz"]     # no temporary file left behind
    assert zipfile.is_zipfile(path)
