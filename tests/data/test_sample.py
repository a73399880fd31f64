"""The bundled MNIST sample: shape, balance, size, and provenance against the real files."""

from pathlib import Path

import numpy as np
import pytest

from tinygrad_lab.data import load_sample, read_idx
from tinygrad_lab.data import sample as sample_module

REPO = Path(__file__).resolve().parents[2]
SHARED_CANDIDATES = [Path("/work/shared/data/mnist"), REPO.parent / "shared" / "data" / "mnist"]
SHARED_MNIST = next((p for p in SHARED_CANDIDATES if p.is_dir()), None)
needs_real_mnist = pytest.mark.skipif(
    SHARED_MNIST is None, reason=f"real MNIST files not found in {', '.join(map(str, SHARED_CANDIDATES))}"
)
NPZ = Path(sample_module.__file__).with_name(sample_module.SAMPLE_FILE)


def bundled_arrays() -> dict[str, np.ndarray]:
    with np.load(NPZ) as npz:
        return {key: npz[key] for key in npz.files}


def test_sample_shapes_and_types():
    sample = load_sample()
    assert sample.name == "mnist-sample"
    assert sample.train_images.shape == (5000, 28, 28) and sample.train_images.dtype == np.uint8
    assert sample.test_images.shape == (1000, 28, 28) and sample.test_images.dtype == np.uint8
    assert sample.train_labels.dtype == np.int64 and sample.test_labels.dtype == np.int64


def test_sample_is_stratified():
    sample = load_sample()
    assert np.bincount(sample.train_labels).tolist() == [500] * 10
    assert np.bincount(sample.test_labels).tolist() == [100] * 10


def test_sample_records_distinct_source_indices():
    arrays = bundled_arrays()
    for split, size in (("train", 60000), ("test", 10000)):
        indices = arrays[f"{split}_indices"]
        assert len(np.unique(indices)) == len(indices) == len(arrays[f"{split}_labels"])
        assert indices.min() >= 0 and indices.max() < size


def test_sample_file_is_small():
    assert NPZ.stat().st_size <= 2 * 2**20


def test_save_npz_is_reproducible_and_loadable(tmp_path):
    arrays = {"a": np.arange(10, dtype=np.uint8), "seed": np.array(3)}
    sample_module.save_npz(tmp_path / "one.npz", arrays)
    sample_module.save_npz(tmp_path / "two.npz", arrays)
    assert (tmp_path / "one.npz").read_bytes() == (tmp_path / "two.npz").read_bytes()
    with np.load(tmp_path / "one.npz") as npz:
        np.testing.assert_array_equal(npz["a"], arrays["a"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["one.npz", "two.npz"]


def test_sample_indices_are_stratified_and_seeded():
    labels = np.repeat(np.arange(3), 20)
    first = sample_module.sample_indices(labels, 4, np.random.default_rng(7))
    again = sample_module.sample_indices(labels, 4, np.random.default_rng(7))
    np.testing.assert_array_equal(first, again)
    assert np.bincount(labels[first]).tolist() == [4, 4, 4] and len(set(first)) == 12


@needs_real_mnist
def test_sample_equals_real_mnist_at_stored_indices():
    arrays = bundled_arrays()
    for split, prefix in (("train", "train"), ("test", "t10k")):
        images = read_idx(SHARED_MNIST / f"{prefix}-images-idx3-ubyte.gz")
        labels = read_idx(SHARED_MNIST / f"{prefix}-labels-idx1-ubyte.gz")
        indices = arrays[f"{split}_indices"]
        np.testing.assert_array_equal(arrays[f"{split}_images"], images[indices])
        np.testing.assert_array_equal(arrays[f"{split}_labels"], labels[indices])


@needs_real_mnist
def test_rebuild_reproduces_the_bundled_sample(tmp_path, capsys):
    out = tmp_path / "rebuilt.npz"
    sample_module.main(["--build", str(SHARED_MNIST), "--out", str(out)])
    assert f"wrote {out}" in capsys.readouterr().out
    with np.load(out) as rebuilt:
        bundled = bundled_arrays()
        assert sorted(rebuilt.files) == sorted(bundled)
        for key in bundled:
            np.testing.assert_array_equal(rebuilt[key], bundled[key])
