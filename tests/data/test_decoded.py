"""Decoded arrays: written once, memory-mapped after, and rebuilt (never used) when damaged."""
import hashlib
import json

import numpy as np
import pytest

from tinygrad_lab.data import decoded
from tinygrad_lab.data.idx import encode_header, write_idx

IMAGES = np.random.default_rng(0).integers(0, 256, (50, 28, 28), dtype=np.uint8)
SHA = hashlib.sha256(encode_header(IMAGES.shape) + IMAGES.tobytes()).hexdigest()


@pytest.fixture
def source(tmp_path):
    path = tmp_path / "train-images-idx3-ubyte.gz"
    write_idx(path, IMAGES, gzip=True)
    return path


class Reader:
    """read_verified's stand-in: the real array, counting the decodes."""

    def __init__(self):
        self.calls = 0

    def __call__(self, path, expected):
        assert expected == SHA
        self.calls += 1
        return IMAGES.copy()


def _files(folder):
    return sorted(p.name for p in folder.iterdir())


def test_decoded_once_then_memory_mapped(source, tmp_path):
    read, folder = Reader(), tmp_path / "decoded"
    first = decoded.load(source, SHA, folder, read)
    second = decoded.load(source, SHA, folder, read)
    assert read.calls == 1
    np.testing.assert_array_equal(second, IMAGES)
    assert isinstance(second.base, np.memmap) and not second.flags.writeable
    stem, = {p.stem for p in folder.iterdir()}
    assert stem.startswith(f"train-images-idx3-ubyte-{SHA[:32]}-")
    assert _files(folder) == [f"{stem}.json", f"{stem}.npy"]
    np.testing.assert_array_equal(first, IMAGES)


@pytest.mark.parametrize("damage", ["flip a byte", "truncate", "garbage header", "sidecar missing",
                                    "sidecar garbage", "sidecar other shape"])
def test_a_damaged_decoded_file_is_rebuilt_not_used(source, tmp_path, damage):
    read, folder = Reader(), tmp_path / "decoded"
    decoded.load(source, SHA, folder, read)
    npy, = folder.glob("*.npy")
    sidecar = npy.with_suffix(".json")
    data = bytearray(npy.read_bytes())
    if damage == "flip a byte":
        data[-100] ^= 1
        npy.write_bytes(bytes(data))
    elif damage == "truncate":
        npy.write_bytes(bytes(data[:-10]))
    elif damage == "garbage header":
        npy.write_bytes(b"not an npy file" + bytes(data[15:]))
    elif damage == "sidecar missing":
        sidecar.unlink()
    elif damage == "sidecar garbage":
        sidecar.write_text("{")
    else:
        record = json.loads(sidecar.read_text())
        sidecar.write_text(json.dumps({**record, "shape": [50, 784]}))
    np.testing.assert_array_equal(decoded.load(source, SHA, folder, read), IMAGES)
    assert read.calls == 2
    np.testing.assert_array_equal(decoded.load(source, SHA, folder, read), IMAGES)   # repaired
    assert read.calls == 2


def test_a_changed_source_file_is_read_and_verified_again(source, tmp_path):
    read, folder = Reader(), tmp_path / "decoded"
    decoded.load(source, SHA, folder, read)
    write_idx(source, IMAGES, gzip=False)                  # the same content, another file
    np.testing.assert_array_equal(decoded.load(source, SHA, folder, read), IMAGES)
    assert read.calls == 2
    source.write_bytes(b"junk")                             # damaged: reported, not bypassed

    def verify(path, expected):
        raise ValueError(f"{path}: checksum mismatch")
    with pytest.raises(ValueError, match="checksum mismatch"):
        decoded.load(source, SHA, folder, verify)


def test_each_place_has_its_own_copy(source, tmp_path):
    other = tmp_path / "elsewhere" / source.name
    other.parent.mkdir()
    other.write_bytes(source.read_bytes())
    read, folder = Reader(), tmp_path / "decoded"
    for path in (source, other, source, other):
        decoded.load(path, SHA, folder, read)
    assert read.calls == 2 and len(list(folder.glob("*.npy"))) == 2


def test_another_checksum_is_another_file(source, tmp_path):
    folder = tmp_path / "decoded"
    decoded.load(source, SHA, folder, Reader())
    other = "0" * 64
    decoded.load(source, other, folder, lambda path, expected: IMAGES[:3].copy())
    assert len(list(folder.glob("*.npy"))) == 2


def test_an_unwritable_folder_decodes_every_time(source, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    read = Reader()
    for _ in range(2):
        np.testing.assert_array_equal(decoded.load(source, SHA, blocker / "decoded", read), IMAGES)
    assert read.calls == 2


def test_a_bad_source_file_still_raises(source, tmp_path):
    def failing(path, expected):
        raise ValueError(f"{path}: bad")
    with pytest.raises(ValueError, match="bad"):
        decoded.load(source, SHA, tmp_path / "decoded", failing)
    assert not (tmp_path / "decoded").exists()
