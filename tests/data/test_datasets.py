"""Finding, downloading, verifying and loading datasets, all without network access."""

import gzip
import hashlib
import io
import struct
import sys
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from tinygrad_lab.data import (
    ChecksumError,
    DownloadError,
    MissingFilesError,
    flatten,
    load_dataset,
    load_fashion_mnist,
    load_mnist,
    model_inputs,
    normalize,
)
from tinygrad_lab import user_cache
from tinygrad_lab.data import datasets
from tinygrad_lab.data.datasets import FILE_NAMES, cache_dir

DEBIAN_FASHION = Path("/usr/share/datasets/fashion-mnist")


def idx_bytes(array: np.ndarray) -> bytes:
    return bytes([0, 0, 8, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes()


def fake_files(seed: int) -> dict[str, bytes]:
    """Uncompressed contents of a small fake dataset (12 train, 5 test images), by file name."""
    rng = np.random.default_rng(seed)
    arrays = {
        "train_images": rng.integers(0, 256, (12, 28, 28), dtype=np.uint8),
        "train_labels": rng.integers(0, 10, 12, dtype=np.uint8),
        "test_images": rng.integers(0, 256, (5, 28, 28), dtype=np.uint8),
        "test_labels": rng.integers(0, 10, 5, dtype=np.uint8),
    }
    return {FILE_NAMES[field]: idx_bytes(array) for field, array in arrays.items()}


MNIST_FILES = fake_files(seed=1)
FASHION_FILES = fake_files(seed=2)


def put_files(directory: Path, files: dict[str, bytes], compress: bool = True) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        if compress:
            (directory / f"{name}.gz").write_bytes(gzip.compress(content))
        else:
            (directory / name).write_bytes(content)
    return directory


def fail_to_open(url, timeout):
    raise urllib.error.URLError(f"no network in tests ({url})")


@pytest.fixture
def env(tmp_path, monkeypatch):
    """An isolated world: empty cache under tmp_path, no env var, no system dirs, no network,
    and checksums that match the fake files."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv(user_cache.ENV_VAR, raising=False)
    monkeypatch.delenv(datasets.ENV_VAR, raising=False)
    monkeypatch.setattr(datasets, "SYSTEM_DIRS", {"mnist": [], "fashion-mnist": []})
    monkeypatch.setattr(datasets, "_urlopen", fail_to_open)
    monkeypatch.setattr(datasets, "CHECKSUMS", {
        "mnist": {name: hashlib.sha256(data).hexdigest() for name, data in MNIST_FILES.items()},
        "fashion-mnist": {name: hashlib.sha256(data).hexdigest() for name, data in FASHION_FILES.items()},
    })
    return tmp_path


def assert_is_fake_mnist(dataset, source: Path):
    assert dataset.name == "mnist" and dataset.source == str(source)
    assert dataset.train_images.shape == (12, 28, 28) and dataset.train_images.dtype == np.uint8
    assert dataset.test_images.shape == (5, 28, 28)
    assert dataset.train_labels.dtype == np.int64 and dataset.test_labels.dtype == np.int64
    expected = np.frombuffer(MNIST_FILES["train-labels-idx1-ubyte"][8:], np.uint8)
    np.testing.assert_array_equal(dataset.train_labels, expected)


@pytest.mark.parametrize("compress", [True, False], ids=["gzip", "raw"])
def test_loads_from_root(env, compress):
    root = put_files(env / "root", MNIST_FILES, compress)
    assert_is_fake_mnist(load_mnist(root, download=False, fallback=False), root)


def test_the_second_load_maps_the_decoded_arrays(env, monkeypatch):
    root = put_files(env / "root", MNIST_FILES)
    first = load_mnist(root, download=False, fallback=False)
    assert len(list((user_cache.root() / "decoded" / "mnist").glob("*.npy"))) == 4

    def no_decoding(path):
        raise AssertionError(f"{path} decoded again")
    monkeypatch.setattr(datasets, "read_idx", no_decoding)
    second = load_mnist(root, download=False, fallback=False)
    assert_is_fake_mnist(second, root)
    np.testing.assert_array_equal(second.train_images, first.train_images)


def test_mixed_compressed_and_raw_files(env):
    root = env / "root"
    names = list(MNIST_FILES)
    put_files(root, {n: MNIST_FILES[n] for n in names[:2]}, compress=True)
    put_files(root, {n: MNIST_FILES[n] for n in names[2:]}, compress=False)
    assert_is_fake_mnist(load_mnist(root, download=False, fallback=False), root)


def test_search_order(env, monkeypatch):
    root = put_files(env / "root", MNIST_FILES)
    data_dir = env / "data"
    env_subdir = put_files(data_dir / "mnist", MNIST_FILES)
    put_files(data_dir, MNIST_FILES)
    cache = put_files(cache_dir("mnist"), MNIST_FILES)
    monkeypatch.setenv(datasets.ENV_VAR, str(data_dir))

    assert load_mnist(root, download=False).source == str(root)
    assert load_mnist(download=False).source == str(env_subdir)
    with pytest.raises(MissingFilesError, match="empty-root is not a folder"):   # a given root is the only place
        load_mnist(env / "empty-root", download=False)
    for name in MNIST_FILES:
        (env_subdir / f"{name}.gz").unlink()
    assert load_mnist(download=False).source == str(data_dir)
    monkeypatch.delenv(datasets.ENV_VAR)
    assert load_mnist(download=False).source == str(cache)


def test_an_incomplete_given_directory_is_an_error_naming_the_missing_files(env):
    root = put_files(env / "root", dict(list(MNIST_FILES.items())[:2]))
    put_files(cache_dir("mnist"), MNIST_FILES)           # never silently used instead of the given root
    with pytest.raises(MissingFilesError, match=r"root lacks t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte \("):
        load_mnist(root)
    assert load_mnist().source == str(cache_dir("mnist"))


def test_the_sample_says_what_it_stands_in_for(env):
    assert load_mnist(download=False).source.endswith(" in place of full MNIST")


def test_cache_dir_per_platform(monkeypatch, tmp_path):
    monkeypatch.setenv(user_cache.ENV_VAR, str(tmp_path / "mine"))
    assert cache_dir("mnist") == tmp_path / "mine" / "mnist"
    monkeypatch.delenv(user_cache.ENV_VAR)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir("mnist") == tmp_path / "xdg" / "tinygrad_lab" / "mnist"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("USERPROFILE", str(tmp_path / "home"))
    monkeypatch.setenv("LOCALAPPDATA", str(tmp_path / "local"))
    expected = {
        "linux": tmp_path / "home" / ".cache",
        "darwin": tmp_path / "home" / "Library" / "Caches",
        "win32": tmp_path / "local",
    }
    for platform, base in expected.items():
        monkeypatch.setattr(sys, "platform", platform)
        assert cache_dir("fashion-mnist") == base / "tinygrad_lab" / "fashion-mnist"


def test_fashion_mnist_system_dir(env, monkeypatch):
    system = put_files(env / "usr-share", FASHION_FILES)
    monkeypatch.setitem(datasets.SYSTEM_DIRS, "fashion-mnist", [system])
    dataset = load_fashion_mnist(download=False)
    assert dataset.name == "fashion-mnist" and dataset.source == str(system)
    assert load_dataset("fashion-mnist", download=False).source == str(system)


def test_other_datasets_files_are_rejected(env):
    root = put_files(env / "root", FASHION_FILES)
    with pytest.raises(ChecksumError, match=r"root/t(rain|10k)-.*SHA-256 .* different dataset"):
        load_mnist(root, download=False, fallback=False)


def test_file_mirror_after_failing_mirror(env, monkeypatch):
    mirror = put_files(env / "mirror", MNIST_FILES)
    monkeypatch.setattr(datasets, "_urlopen", urllib.request.urlopen)
    monkeypatch.setitem(datasets.MIRRORS, "mnist", [(env / "missing").as_uri() + "/", mirror.as_uri() + "/"])
    cache = cache_dir("mnist")
    assert_is_fake_mnist(load_mnist(fallback=False), cache)
    assert sorted(p.name for p in cache.iterdir()) == sorted(f"{name}.gz" for name in MNIST_FILES)


def test_only_missing_files_are_downloaded(env, monkeypatch):
    cache = put_files(cache_dir("mnist"), dict(list(MNIST_FILES.items())[:2]), compress=False)
    mirror = put_files(env / "mirror", MNIST_FILES)
    fetched = []

    def record_and_open(url, timeout):
        fetched.append(url.rsplit("/", 1)[1])
        return urllib.request.urlopen(url, timeout=timeout)

    monkeypatch.setattr(datasets, "_urlopen", record_and_open)
    monkeypatch.setitem(datasets.MIRRORS, "mnist", [mirror.as_uri() + "/"])
    assert_is_fake_mnist(load_mnist(fallback=False), cache)
    assert fetched == [f"{name}.gz" for name in list(MNIST_FILES)[2:]]


def test_all_mirrors_failing_names_file_and_each_mirror(env, monkeypatch):
    monkeypatch.setitem(datasets.MIRRORS, "mnist", ["https://a.invalid/", "https://b.invalid/"])
    with pytest.raises(DownloadError) as caught:
        load_mnist(fallback=False)
    message = str(caught.value)
    assert "train-images-idx3-ubyte.gz: every mirror failed" in message
    assert "https://a.invalid/train-images-idx3-ubyte.gz: URLError" in message
    assert "https://b.invalid/train-images-idx3-ubyte.gz: URLError" in message
    assert list(cache_dir("mnist").iterdir()) == []


def test_checksum_mismatch_leaves_no_file(env, monkeypatch):
    mirror = put_files(env / "mirror", FASHION_FILES)  # well-formed, but not the expected content
    monkeypatch.setattr(datasets, "_urlopen", urllib.request.urlopen)
    monkeypatch.setitem(datasets.MIRRORS, "mnist", [mirror.as_uri() + "/"])
    with pytest.raises(DownloadError, match="ChecksumError: .*SHA-256"):
        load_mnist(fallback=False)
    assert list(cache_dir("mnist").iterdir()) == []


class BrokenResponse(io.BytesIO):
    """A response that delivers ``good_bytes`` and then fails with ``error``."""

    def __init__(self, content: bytes, good_bytes: int, error: BaseException):
        super().__init__(content[:good_bytes])
        self.headers = {"Content-Length": str(len(content))}
        self.error = error

    def read(self, size=-1):
        chunk = super().read(size)
        if not chunk:
            raise self.error
        return chunk


@pytest.mark.parametrize(
    ("error", "raised", "message"),
    [(ConnectionResetError("connection reset"), DownloadError, "ConnectionResetError: connection reset"),
     (KeyboardInterrupt(), KeyboardInterrupt, None)],
    ids=["network", "ctrl-c"],
)
def test_interrupted_download_leaves_nothing(env, monkeypatch, error, raised, message):
    content = gzip.compress(MNIST_FILES["train-images-idx3-ubyte"])
    monkeypatch.setattr(datasets, "_urlopen", lambda url, timeout: BrokenResponse(content, 1000, error))
    with pytest.raises(raised, match=message):
        load_mnist(fallback=False)
    assert list(cache_dir("mnist").iterdir()) == []


def test_not_found_without_download(env):
    with pytest.raises(FileNotFoundError, match=r"full mnist not found in .*cache/tinygrad_lab/mnist"):
        load_mnist(download=False, fallback=False)


@pytest.mark.parametrize("download", [True, False])
def test_offline_fallback_to_bundled_sample(env, capsys, download):
    """One line, for the command line's user: where MNIST was looked for, why the download failed (its
    own error), what is used instead, and the options that point at the files or skip the download."""
    dataset = load_mnist(download=download)
    assert dataset.name == "mnist-sample"
    assert (len(dataset.train_labels), len(dataset.test_labels)) == (5000, 1000)
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1
    why = ("downloading it failed (URLError: <urlopen error no network in tests (https://ossci-datasets.s3.amazonaws"
           ".com/mnist/train-images-idx3-ubyte.gz)> and 2 other mirrors failed)" if download else
           "--offline forbids downloading it")
    assert lines[0] == (
        f"tinygrad_lab: full MNIST is not in {cache_dir('mnist')} and {why}; using the bundled 5,000/1,000-digit "
        "sample instead. Point --data-dir DIR or $TINYGRAD_LAB_DATA at the folder holding MNIST's IDX files"
        + (", or add --offline to skip the download" if download else ""))


def test_the_download_error_is_named_once_when_every_mirror_says_the_same(env, monkeypatch, capsys):
    def unreachable(url, timeout):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")
    monkeypatch.setattr(datasets, "_urlopen", unreachable)
    load_mnist()
    assert ("downloading it failed (URLError: <urlopen error [Errno -3] Temporary failure in name resolution>, "
            "from all 3 mirrors)") in capsys.readouterr().err


def test_unwritable_cache_still_falls_back(env, capsys):
    (env / "cache").write_text("a file where the cache directory should be")
    assert load_mnist().name == "mnist-sample"
    assert "downloading it failed (cannot create the cache directory " in capsys.readouterr().err


def test_fashion_mnist_has_no_fallback(env):
    with pytest.raises(DownloadError, match="full fashion-mnist not found"):
        load_fashion_mnist()


def test_load_dataset_names(env):
    assert load_dataset("mnist-sample").name == "mnist-sample"
    root = put_files(env / "root", MNIST_FILES)
    assert load_dataset("mnist", root).source == str(root)
    with pytest.raises(ValueError, match="unknown dataset 'cifar'"):
        load_dataset("cifar")


def test_normalize():
    images = np.array([[[0, 255], [51, 102]]] * 3, dtype=np.uint8)
    flat = normalize(images)
    assert flat.shape == (3, 4) and flat.dtype == np.float32
    np.testing.assert_allclose(flat[0], [0.0, 1.0, 0.2, 0.4], rtol=1e-7)
    assert normalize(images, dtype=np.float64).dtype == np.float64
    with pytest.raises(TypeError, match="uint8"):
        normalize(flat)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_model_inputs_scale_a_uint8_batch_as_normalize_scales_the_whole_set(dtype):
    images = np.random.default_rng(0).integers(0, 256, size=(300, 28, 28), dtype=np.uint8)
    rows = flatten(images)
    assert rows.shape == (300, 784) and rows.dtype == np.uint8 and np.shares_memory(rows, images)
    order = np.random.default_rng(1).permutation(300)[:128]
    batch = model_inputs(rows[order], dtype)
    assert batch.dtype == dtype and batch.flags.c_contiguous
    assert batch.tobytes() == normalize(images, dtype)[order].tobytes()      # bit for bit
    floats = normalize(images[:5], dtype)
    assert model_inputs(floats, np.float32) is floats                         # already scaled: as given


@pytest.mark.skipif(not DEBIAN_FASHION.is_dir(), reason=f"{DEBIAN_FASHION} absent (apt install dataset-fashion-mnist)")
def test_debian_fashion_mnist_matches_builtin_checksums(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv(datasets.ENV_VAR, raising=False)
    dataset = load_fashion_mnist(download=False)
    assert dataset.source == str(DEBIAN_FASHION)
    assert dataset.train_images.shape == (60000, 28, 28) and dataset.test_images.shape == (10000, 28, 28)
    assert np.bincount(dataset.test_labels).tolist() == [1000] * 10
