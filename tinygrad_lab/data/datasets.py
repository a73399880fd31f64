"""Locating, downloading, verifying and loading MNIST and Fashion-MNIST, and the bundled MNIST sample.

Each dataset is four IDX files (gzipped or not). An explicit ``root`` is the only place looked in:
a missing folder, or one lacking some of the files, is an error naming them. Without one, they are
looked up in order:

1. the directory named by ``$TINYGRAD_LAB_DATA``, as ``<dir>/<dataset>/`` and then ``<dir>/``;
2. the user cache, ``<cache>/tinygrad_lab/<dataset>/`` (see :func:`cache_dir`);
3. for Fashion-MNIST only, ``/usr/share/datasets/fashion-mnist`` (Debian's
   ``dataset-fashion-mnist`` package).

The first directory holding all four files is used. Otherwise, if allowed,
the missing files are downloaded into the cache from a list of mirrors. Every
file, found or downloaded, is checked against the SHA-256 of its uncompressed
content, so a corrupted file or a directory holding the other dataset is
reported instead of silently used.  The verified arrays are kept decoded in
``<cache>/decoded/<dataset>/`` (:mod:`.decoded`), so later loads memory-map them
instead of decoding the files again.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import os
import sys
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import BinaryIO

import numpy as np

from tinygrad_lab import user_cache

from . import decoded
from .idx import IDXError, atomic_output, encode_header, read_idx

__all__ = [
    "Dataset",
    "DownloadError",
    "ChecksumError",
    "MissingFilesError",
    "load_mnist",
    "load_fashion_mnist",
    "load_dataset",
    "load_sample",
    "normalize",
    "flatten",
    "model_inputs",
    "cache_dir",
    "search_dirs",
]

ENV_VAR = "TINYGRAD_LAB_DATA"
DOWNLOAD_TIMEOUT_S = 30
_DOWNLOAD_CHUNK = 1 << 16
SAMPLE_FILE = "mnist_sample.npz"  # the bundled sample, built by tinygrad_lab.data.sample
NUM_CLASSES = 10
IMAGE_SHAPE = (28, 28)

# The four files of a dataset, by the Dataset field they fill.
FILE_NAMES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}

# SHA-256 of the *uncompressed* files. MNIST: computed with `zcat FILE | sha256sum` from the original files.
# Fashion-MNIST: computed with `zcat FILE | sha256sum` from Debian's dataset-fashion-mnist
# 0.0~git20200523.55506a9-1 (/usr/share/datasets/fashion-mnist/*.gz).
CHECKSUMS = {
    "mnist": {
        "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
        "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
        "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
        "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    },
    "fashion-mnist": {
        "train-images-idx3-ubyte": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
        "train-labels-idx1-ubyte": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
        "t10k-images-idx3-ubyte": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
        "t10k-labels-idx1-ubyte": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
    },
}

# Base URLs tried in order; each serves "<file name>.gz".
MIRRORS = {
    "mnist": [
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
        "http://yann.lecun.com/exdb/mnist/",
    ],
    "fashion-mnist": [
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
        "https://github.com/zalandoresearch/fashion-mnist/raw/master/data/fashion/",
    ],
}

# Extra read-only places searched after the cache.
SYSTEM_DIRS = {"mnist": [], "fashion-mnist": [Path("/usr/share/datasets/fashion-mnist")]}


def _urlopen(url: str, timeout: float):
    """The URL opener (tests replace it with a fake).  The network modules load only here: most
    runs never download, and importing them costs a tenth of a second."""
    import urllib.request

    return urllib.request.urlopen(url, timeout=timeout)


# What one failing mirror may raise: network and HTTP errors (URLError and timeouts
# are OSErrors), unknown URL schemes (ValueError), and bad content (IDXError, ChecksumError).
def _mirror_errors() -> tuple[type[Exception], ...]:
    import http.client

    return OSError, http.client.HTTPException, ValueError


class DownloadError(RuntimeError):
    """Every mirror failed to deliver a file; the message names the file and each mirror's failure,
    ``failures`` holds each failure without its URL (``"URLError: ..."``)."""

    def __init__(self, message: str, failures: list[str] | tuple[str, ...] = ()):
        super().__init__(message)
        self.failures = list(failures)

    def reason(self) -> str:
        """Why the download failed, in one line: the first failure, and how the others compare."""
        if not self.failures:
            return str(self)
        first, count = self.failures[0].replace("\n", " "), len(self.failures)
        if count == 1:
            return first
        if len(set(self.failures)) == 1:
            return f"{first}, from all {count} mirrors"
        return f"{first} and {count - 1} other mirror{'s' if count > 2 else ''} failed"


class MissingFilesError(FileNotFoundError):
    """An explicitly given data folder does not exist or lacks some of the four files (``missing``)."""

    def __init__(self, message: str, missing: list[str]):
        super().__init__(message)
        self.missing = missing


class ChecksumError(ValueError):
    """A file's uncompressed content does not have the expected SHA-256."""


@dataclass(frozen=True)
class Dataset:
    """An image-classification dataset: uint8 images (N, 28, 28) and int64 labels (N,)."""

    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray
    name: str
    source: str

    def __repr__(self) -> str:
        return (
            f"Dataset(name={self.name!r}, train={len(self.train_labels)}, "
            f"test={len(self.test_labels)}, source={self.source!r})"
        )


def flatten(images: np.ndarray) -> np.ndarray:
    """Images (N, ...) as rows (N, pixels per image), their dtype kept (a view when it can be)."""
    images = np.asarray(images)
    return images.reshape(len(images), math.prod(images.shape[1:]))      # also for no images


def normalize(images: np.ndarray, dtype=np.float32) -> np.ndarray:
    """Scale uint8 images to ``dtype`` values x/255 in [0, 1], flattened to (N, pixels per image).

    Element by element, so scaling a mini-batch gives the same values as scaling the whole set and
    taking the batch (see :func:`model_inputs`)."""
    images = np.asarray(images)
    if images.dtype != np.uint8:
        raise TypeError(f"normalize expects uint8 images, got dtype {images.dtype} (already normalized?)")
    return (flatten(images) / np.asarray(255, dtype=dtype)).astype(dtype, copy=False)


def model_inputs(batch: np.ndarray, dtype=np.float32) -> np.ndarray:
    """What a model reads of a batch of a data set kept as loaded: uint8 images scaled by
    :func:`normalize` (a fresh C-contiguous ``dtype`` array), any other array as given (a float set
    already scaled; ``Tensor(batch, dtype=...)`` converts it).  Scaling each batch when it is used
    keeps the data set at one byte per pixel instead of four (or eight)."""
    return normalize(batch, dtype) if batch.dtype == np.uint8 else batch


def cache_dir(dataset: str) -> Path:
    """The per-user cache directory for ``dataset``: ``<cache>/<dataset>``, where ``<cache>`` is
    :func:`tinygrad_lab.user_cache.root` (``$TINYGRAD_LAB_CACHE``, else ``$XDG_CACHE_HOME/tinygrad_lab``,
    else the platform's user cache folder followed by ``tinygrad_lab``)."""
    return user_cache.root() / dataset


def search_dirs(dataset: str, root: str | os.PathLike | None = None) -> list[Path]:
    """The directories searched for ``dataset``, in order (see the module docstring)."""
    dirs = [Path(root)] if root is not None else []
    if os.environ.get(ENV_VAR):
        env_dir = Path(os.environ[ENV_VAR])
        dirs += [env_dir / dataset, env_dir]
    dirs.append(cache_dir(dataset))
    dirs += SYSTEM_DIRS[dataset]
    return dirs


def load_mnist(root: str | os.PathLike | None = None, download: bool = True, fallback: bool = True) -> Dataset:
    """Load MNIST (60,000 train / 10,000 test digits).

    If no ``root`` is given and the files are neither found (see :func:`search_dirs`) nor
    downloadable (``download=False``, the command line's ``--offline``, or every mirror failed) and
    ``fallback`` is true, print one line to stderr (where it looked, the download's own error, the
    options that point at the files) and return the bundled 5,000/1,000-digit sample instead
    (:func:`load_sample`), whose ``source`` then ends "in place of full MNIST". With
    ``fallback=False``, or a ``root`` (an explicit source is never replaced), the
    ``FileNotFoundError`` or ``DownloadError`` is raised.
    """
    try:
        return _load_full("mnist", root, download)
    except (FileNotFoundError, DownloadError) as error:
        if not fallback or root is not None:
            raise
        why = (f"downloading it failed ({error.reason()})" if isinstance(error, DownloadError)
               else "--offline forbids downloading it")
    sample = load_sample()
    places = ", ".join(str(d) for d in search_dirs("mnist", root))
    print(
        f"tinygrad_lab: full MNIST is not in {places} and {why}; using the bundled "
        f"{len(sample.train_labels):,}/{len(sample.test_labels):,}-digit sample instead. Point --data-dir DIR or "
        f"${ENV_VAR} at the folder holding MNIST's IDX files" + (", or add --offline to skip the download"
                                                                 if download else ""),
        file=sys.stderr,
    )
    return dataclasses.replace(sample, source=f"{sample.source} in place of full MNIST")


def load_sample() -> Dataset:
    """Load the bundled 5,000/1,000-digit MNIST sample (uint8 images, int64 labels)."""
    resource = resources.files(__package__).joinpath(SAMPLE_FILE)
    with resource.open("rb") as handle, np.load(handle) as npz:
        return Dataset(
            train_images=npz["train_images"],
            train_labels=npz["train_labels"].astype(np.int64),
            test_images=npz["test_images"],
            test_labels=npz["test_labels"].astype(np.int64),
            name="mnist-sample",
            source=f"bundled {SAMPLE_FILE} (MNIST train/test indices in train_indices/test_indices)",
        )


def load_fashion_mnist(root: str | os.PathLike | None = None, download: bool = True) -> Dataset:
    """Load Fashion-MNIST (60,000 train / 10,000 test clothing images); there is no bundled fallback."""
    return _load_full("fashion-mnist", root, download)


def load_dataset(name: str, root: str | os.PathLike | None = None, download: bool = True) -> Dataset:
    """Load ``"mnist"``, ``"fashion-mnist"`` or ``"mnist-sample"`` (the last ignores ``root`` and ``download``)."""
    if name == "mnist":
        return load_mnist(root, download)
    if name == "fashion-mnist":
        return load_fashion_mnist(root, download)
    if name == "mnist-sample":
        return load_sample()
    raise ValueError(f"unknown dataset {name!r}; expected 'mnist', 'fashion-mnist' or 'mnist-sample'")


def _load_full(dataset: str, root: str | os.PathLike | None, download: bool) -> Dataset:
    """Find (or download) the four files of ``dataset``, verify and load them."""
    directory = _given_dir(root) if root is not None else _find_complete_dir(dataset, None)
    if directory is None:
        places = ", ".join(str(d) for d in search_dirs(dataset, root))
        if not download:
            raise FileNotFoundError(f"full {dataset} not found in {places} (download disabled)")
        directory = cache_dir(dataset)
        try:
            _download_missing(dataset, directory)
        except DownloadError as err:
            raise DownloadError(f"full {dataset} not found in {places} and download failed: {err}",
                                err.failures) from err
    decoded_dir = user_cache.root() / "decoded" / dataset
    arrays = {field: decoded.load(find_file(directory, name), CHECKSUMS[dataset][name], decoded_dir, read_verified)
              for field, name in FILE_NAMES.items()}
    _check_consistent(arrays, directory)
    return Dataset(
        train_images=arrays["train_images"],
        train_labels=arrays["train_labels"].astype(np.int64),
        test_images=arrays["test_images"],
        test_labels=arrays["test_labels"].astype(np.int64),
        name=dataset,
        source=str(directory),
    )


def find_file(directory: Path, name: str) -> Path | None:
    """The uncompressed or gzipped copy of ``name`` in ``directory`` (uncompressed preferred), or None."""
    for candidate in (directory / name, directory / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    return None


def _given_dir(root: str | os.PathLike) -> Path:
    """``root`` if it holds the four files; otherwise a MissingFilesError naming what it lacks."""
    directory = Path(root)
    if not directory.is_dir():
        raise MissingFilesError(f"{directory} is not a folder", list(FILE_NAMES.values()))
    missing = [name for name in FILE_NAMES.values() if find_file(directory, name) is None]
    if missing:
        raise MissingFilesError(f"{directory} lacks {', '.join(missing)} (each may be gzipped, as NAME.gz)",
                                missing)
    return directory


def _find_complete_dir(dataset: str, root: str | os.PathLike | None) -> Path | None:
    """The first search directory holding all four files, or None."""
    for directory in search_dirs(dataset, root):
        if all(find_file(directory, name) for name in FILE_NAMES.values()):
            return directory
    return None


def _idx_sha256(array: np.ndarray) -> str:
    """SHA-256 of the uncompressed IDX file that ``array`` was read from."""
    digest = hashlib.sha256(encode_header(array.shape))
    digest.update(np.ascontiguousarray(array).data)
    return digest.hexdigest()


def read_verified(path: Path, expected_sha256: str) -> np.ndarray:
    """Read an IDX file and check the SHA-256 of its uncompressed content."""
    array = read_idx(path)
    actual = _idx_sha256(array)
    if actual != expected_sha256:
        raise ChecksumError(
            f"{path}: SHA-256 of the uncompressed content is {actual}, expected {expected_sha256} "
            "(corrupted, or a different dataset's file?)"
        )
    return array


def _check_consistent(arrays: dict[str, np.ndarray], directory: Path) -> None:
    """Check image shapes, image/label counts and label range of verified files."""
    for split in ("train", "test"):
        images, labels = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        if images.ndim != 3 or images.shape[1:] != IMAGE_SHAPE or labels.ndim != 1:
            raise IDXError(f"{directory}: {split} images have shape {images.shape}, labels {labels.shape}")
        if len(images) != len(labels):
            raise IDXError(f"{directory}: {len(images)} {split} images but {len(labels)} {split} labels")
        if labels.size and labels.max() >= NUM_CLASSES:
            raise IDXError(f"{directory}: {split} label {labels.max()} is outside 0..{NUM_CLASSES - 1}")


def _download_missing(dataset: str, directory: Path) -> None:
    """Download into ``directory`` each of the four files it does not hold yet."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        message = f"cannot create the cache directory {directory}: {err}"
        raise DownloadError(message, [message]) from err
    for name in FILE_NAMES.values():
        if find_file(directory, name) is None:
            download_file(name, directory, MIRRORS[dataset], CHECKSUMS[dataset][name])


def download_file(name: str, directory: Path, mirrors: list[str], expected_sha256: str) -> Path:
    """Fetch ``<name>.gz`` from the first mirror that delivers it intact; return its path.

    Each attempt streams into a temporary file in ``directory`` that is moved
    to ``directory/<name>.gz`` only after the uncompressed content matched
    ``expected_sha256``; a failed or interrupted attempt leaves nothing behind.
    Raises ``DownloadError`` listing every mirror's failure.
    """
    target = directory / f"{name}.gz"
    failures, reasons = [], []
    for base_url in mirrors:
        url = base_url + target.name
        try:
            with atomic_output(target) as out:
                _fetch(url, out, target.name)
                out.flush()
                read_verified(Path(out.name), expected_sha256)
            return target
        except _mirror_errors() as err:
            reasons.append(f"{type(err).__name__}: {err}")
            failures.append(f"{url}: {reasons[-1]}")
    raise DownloadError(f"{target.name}: every mirror failed: " + "; ".join(failures), reasons)


def _fetch(url: str, out: BinaryIO, label: str) -> None:
    """Stream ``url`` into the open binary file ``out`` with a progress bar."""
    with _urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as response:
        length = getattr(response, "headers", {}).get("Content-Length")
        from tqdm import tqdm

        with tqdm(total=int(length) if length else None, unit="B", unit_scale=True, desc=label,
                  disable=None, leave=False) as progress:
            while chunk := response.read(_DOWNLOAD_CHUNK):
                out.write(chunk)
                progress.update(len(chunk))
