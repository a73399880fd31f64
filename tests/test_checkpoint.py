import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinygrad_lab.checkpoint import CheckpointError, load_checkpoint, save_checkpoint

TREE = {"model": {"0.weight": np.arange(6.0, dtype=np.float32).reshape(2, 3)},
        "state": {0: {"step": 3, "m": np.ones(4)}}, "betas": (0.9, 0.999), "name": "adam",
        "history": [{"loss": 0.25, "nan": float("inf")}], "none": None, "flag": True,
        "rng": {"state": {"state": 2**100 + 7, "inc": 5}}}


def _equal(a, b):
    if isinstance(a, np.ndarray):
        assert isinstance(b, np.ndarray) and a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    elif isinstance(a, dict):
        assert list(a) == list(b)
        for k in a:
            _equal(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert type(a) is type(b) and len(a) == len(b)
        for x, y in zip(a, b):
            _equal(x, y)
    else:
        assert a == b and type(a) is type(b)


def test_round_trip_keeps_types_keys_and_bits(tmp_path):
    path = save_checkpoint(tmp_path / "c.npz", TREE)
    _equal(TREE, load_checkpoint(path))


def test_unsupported_values_are_refused(tmp_path):
    with pytest.raises(TypeError, match="cannot store a set"):
        save_checkpoint(tmp_path / "c.npz", {"s": {1, 2}})
    assert not list(tmp_path.iterdir())


def test_a_failed_write_keeps_the_previous_checkpoint(tmp_path):
    path = save_checkpoint(tmp_path / "c.npz", {"v": np.ones(2)})
    with pytest.raises(TypeError):
        save_checkpoint(path, {"v": object()})
    np.testing.assert_array_equal(load_checkpoint(path)["v"], np.ones(2))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.npz"]


def test_truncated_file_is_rejected_naming_it(tmp_path):
    path = save_checkpoint(tmp_path / "c.npz", TREE)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="c.npz: truncated or corrupted"):
        load_checkpoint(path)


def test_flipped_byte_is_caught_by_the_crc(tmp_path):
    path = save_checkpoint(tmp_path / "c.npz", {"w": np.zeros(1000)})
    data = bytearray(path.read_bytes())
    data[400] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="c.npz"):
        load_checkpoint(path)


def test_not_a_checkpoint(tmp_path):
    np.savez(tmp_path / "other.npz", x=np.ones(2))
    with pytest.raises(CheckpointError, match="not a tinygrad_lab checkpoint"):
        load_checkpoint(tmp_path / "other.npz")
    with pytest.raises(FileNotFoundError, match="missing.npz does not exist"):
        load_checkpoint(tmp_path / "missing.npz")


@settings(max_examples=200)
@given(st.data())
def test_fuzzed_files_load_or_raise_checkpoint_error(tmp_path_factory, data):
    """Random truncations and byte flips never raise anything but CheckpointError."""
    path = tmp_path_factory.mktemp("fuzz") / "c.npz"
    save_checkpoint(path, TREE)
    raw = bytearray(path.read_bytes())
    cut = data.draw(st.integers(0, len(raw)))
    flips = data.draw(st.lists(st.tuples(st.integers(0, len(raw) - 1), st.integers(1, 255)), max_size=4))
    for i, x in flips:
        raw[i] ^= x
    path.write_bytes(bytes(raw[:cut]))
    try:
        load_checkpoint(path)
    except CheckpointError:
        pass


def _rewrite_member(path, member: str, data: bytes) -> None:
    """Replace one member of the zip with ``data``, stored with a valid CRC."""
    import zipfile
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    members[member] = data
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)


@pytest.mark.parametrize("shape, dtype", [((10**15,), "<f4"), ((10**6, 10**6, 1000), "<f8"), ((5,), "<f8")])
def test_a_header_declaring_more_than_the_member_holds_is_refused_before_allocating(tmp_path, shape, dtype):
    """CRCs valid, but the .npy header declares 10^15 elements (3.55 PiB): refused naming the file and
    the member, without trying to allocate (which raised MemoryError)."""
    import tracemalloc
    path = save_checkpoint(tmp_path / "c.npz", {"w": np.zeros(4, dtype=np.float32)})
    header = np.lib.format.header_data_from_array_1_0(np.zeros(4, dtype=np.float32))
    header.update(shape=shape, descr=dtype)
    stream = __import__("io").BytesIO()
    np.lib.format.write_array_header_1_0(stream, header)
    _rewrite_member(path, "w.npy", stream.getvalue() + np.zeros(4, dtype=np.float32).tobytes())
    tracemalloc.start()
    try:
        with pytest.raises(CheckpointError) as caught:
            load_checkpoint(path)
        assert tracemalloc.get_traced_memory()[1] < 10**8
    finally:
        tracemalloc.stop()
    message = str(caught.value)
    assert message.startswith(f"{path}: member w.npy is corrupted: its header declares shape {shape}"), message
    assert "the member holds 16 bytes of data" in message
