"""IDX reading and writing: round trips, every kind of damage, and a fuzz test."""

import gzip
import re
import struct
import tempfile
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinygrad_lab.data import IDXError, read_idx, write_idx

RNG = np.random.default_rng(0)
IMAGES = RNG.integers(0, 256, size=(3, 28, 28), dtype=np.uint8)
LABELS = RNG.integers(0, 10, size=7, dtype=np.uint8)


def idx_bytes(array: np.ndarray) -> bytes:
    """A uint8 IDX file built by hand, independently of write_idx."""
    return bytes([0, 0, 8, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes()


def write_bytes(path: Path, data: bytes, compress: bool = False) -> Path:
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


def names(path: Path):
    """A pytest.raises match pattern requiring the file name in the message."""
    return re.escape(str(path))


@pytest.mark.parametrize("compress", [False, True], ids=["raw", "gzip"])
@pytest.mark.parametrize("array", [IMAGES, LABELS, np.zeros(0, np.uint8)], ids=["images", "labels", "empty"])
def test_round_trip(tmp_path, array, compress):
    path = tmp_path / "data.idx"
    write_idx(path, array, gzip=compress)
    assert (path.read_bytes()[:2] == b"\x1f\x8b") == compress
    loaded = read_idx(path)
    assert loaded.dtype == np.uint8 and loaded.shape == array.shape
    np.testing.assert_array_equal(loaded, array)
    assert loaded.flags.writeable and loaded.flags.c_contiguous


def test_written_file_matches_the_format(tmp_path):
    write_idx(tmp_path / "labels", LABELS)
    assert (tmp_path / "labels").read_bytes() == idx_bytes(LABELS)


def test_gzip_detected_by_content_not_name(tmp_path):
    gz_without_suffix = write_bytes(tmp_path / "images-idx3-ubyte", idx_bytes(IMAGES), compress=True)
    raw_with_gz_suffix = write_bytes(tmp_path / "images-idx3-ubyte.gz", idx_bytes(IMAGES))
    np.testing.assert_array_equal(read_idx(gz_without_suffix), IMAGES)
    np.testing.assert_array_equal(read_idx(raw_with_gz_suffix), IMAGES)


def test_gzip_output_is_reproducible(tmp_path):
    write_idx(tmp_path / "a.gz", IMAGES, gzip=True)
    write_idx(tmp_path / "b.gz", IMAGES, gzip=True)
    assert (tmp_path / "a.gz").read_bytes() == (tmp_path / "b.gz").read_bytes()


def test_write_leaves_only_the_target(tmp_path):
    write_idx(tmp_path / "out.idx", IMAGES)
    write_idx(tmp_path / "out.idx", LABELS)  # overwriting works too
    assert [p.name for p in tmp_path.iterdir()] == ["out.idx"]
    np.testing.assert_array_equal(read_idx(tmp_path / "out.idx"), LABELS)


@pytest.mark.parametrize("bad", [np.zeros(3, np.float32), np.zeros(3, np.int64)])
def test_write_rejects_non_uint8_and_leaves_nothing(tmp_path, bad):
    with pytest.raises(TypeError, match="uint8"):
        write_idx(tmp_path / "out.idx", bad)
    assert list(tmp_path.iterdir()) == []


def test_write_rejects_zero_dimensions(tmp_path):
    with pytest.raises(ValueError, match="dimensions"):
        write_idx(tmp_path / "out.idx", np.uint8(3))


def test_missing_file_raises_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_idx(tmp_path / "absent")


VALID = idx_bytes(LABELS)


@pytest.mark.parametrize("compress", [False, True], ids=["raw", "gzip"])
@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\x01\x02" + VALID[2:], "bad magic number 01 02 08 01"),
        (VALID[:2] + b"\x0d" + VALID[3:], "unsupported data type byte 0x0d"),
        (VALID[:3] + b"\x00" + VALID[4:], "declares 0 dimensions"),
        (b"\x00\x00", "file holds 2 bytes, too short"),
        (VALID[:6], "header truncated: declares 1 dimensions"),
        (VALID[:-1], "declares 7 items but holds 6 bytes of data"),
        (VALID + b"\x00", "trailing bytes after the 7 bytes of data"),
        (VALID[:4] + struct.pack(">I", 8) + VALID[8:], "declares 8 items but holds 7 bytes"),
        (VALID[:4] + struct.pack(">I", 6) + VALID[8:], "trailing bytes after the 6 bytes"),
        (idx_bytes(IMAGES)[:-5], r"declares shape \(3, 28, 28\) = 2352 bytes but holds 2347 bytes"),
    ],
    ids=["magic", "type", "ndim0", "short", "header", "truncated", "trailing",
         "count-high", "count-low", "images-truncated"],
)
def test_damage_is_reported_with_the_file_name(tmp_path, data, message, compress):
    path = write_bytes(tmp_path / "t10k-labels-idx1-ubyte.gz", data, compress)
    with pytest.raises(IDXError, match=f"^{names(path)}: {message}"):
        read_idx(path)


def test_message_from_the_brief(tmp_path):
    labels = np.zeros(10000, np.uint8)
    path = write_bytes(tmp_path / "t10k-labels-idx1-ubyte.gz", idx_bytes(labels)[:-1], compress=True)
    with pytest.raises(IDXError) as caught:
        read_idx(path)
    assert str(caught.value) == f"{path}: declares 10000 items but holds 9999 bytes of data"


def test_idx_error_is_a_value_error():
    assert issubclass(IDXError, ValueError)


@pytest.mark.parametrize(
    "damage",
    [
        lambda gz: gz[: len(gz) // 2],  # stream cut short
        lambda gz: gz[:10] + bytes(b ^ 0xFF for b in gz[10:30]) + gz[30:],  # corrupt deflate data
        lambda gz: gz[:-4] + b"\x00\x00\x00\x01",  # wrong length in the trailer
        lambda gz: gz[:3] + b"\xff" + gz[4:],  # reserved header flags
        lambda gz: gz + b"garbage!",  # junk after the gzip member
    ],
    ids=["cut", "corrupt", "trailer", "flags", "junk"],
)
def test_bad_gzip_is_reported(tmp_path, damage):
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(damage(gzip.compress(idx_bytes(IMAGES))))
    with pytest.raises(IDXError, match=f"^{names(path)}: corrupt gzip stream"):
        read_idx(path)


@pytest.mark.parametrize("compress", [False, True], ids=["raw", "gzip"])
def test_huge_declared_dims_fail_fast_without_allocating(tmp_path, compress):
    header = bytes([0, 0, 8, 3]) + struct.pack(">3I", 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF)
    path = write_bytes(tmp_path / "huge", header + bytes(100), compress)
    tracemalloc.start()
    try:
        with pytest.raises(IDXError, match=f"^{names(path)}: declares shape .* but holds 100 bytes of data"):
            read_idx(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 * 2**20


def parse_or_idx_error(data: bytes):
    """Read ``data`` as an IDX file; return the array or the IDXError (any other exception propagates)."""
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "fuzz"
        path.write_bytes(data)
        try:
            return read_idx(path)
        except IDXError as err:
            assert str(path) in str(err)
            return err


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_fuzz_random_bytes(data):
    result = parse_or_idx_error(data)
    if isinstance(result, np.ndarray):
        assert result.dtype == np.uint8 and result.nbytes == len(data) - 4 - 4 * result.ndim


@settings(max_examples=200, deadline=None)
@given(compress=st.booleans(), array=st.sampled_from([IMAGES, LABELS]), data=st.data())
def test_fuzz_truncations(compress, array, data):
    full = idx_bytes(array)
    full = gzip.compress(full, mtime=0) if compress else full
    keep = data.draw(st.integers(0, len(full)), label="keep")
    result = parse_or_idx_error(full[:keep])
    if keep == len(full):
        np.testing.assert_array_equal(result, array)
    else:
        assert isinstance(result, IDXError)


@settings(max_examples=200, deadline=None)
@given(compress=st.booleans(), data=st.data())
def test_fuzz_byte_mutations(compress, data):
    full = idx_bytes(LABELS)
    full = bytearray(gzip.compress(full, mtime=0) if compress else full)
    position = data.draw(st.integers(0, len(full) - 1), label="position")
    full[position] = data.draw(st.integers(0, 255), label="value")
    result = parse_or_idx_error(bytes(full))
    if isinstance(result, np.ndarray) and not compress and position >= 8:
        assert result.shape == LABELS.shape  # a payload byte changed: same shape, maybe other values
