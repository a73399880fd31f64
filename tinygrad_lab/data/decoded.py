"""Decoded dataset arrays kept as ``.npy`` files, so that a dataset is decoded once, not at every load.

Reading MNIST's training images from their IDX file means gunzipping 9.9 MB into 47 MB and
hashing the result (about half a second).  :func:`load` does that once: it writes the verified
array to ``<folder>/<file name>-<sha>.npy``, named by the SHA-256 of the uncompressed IDX content it
holds (the checksum the dataset is verified against), with the CRC-32 of the array's bytes in a
sidecar ``.crc32`` file.  Later loads memory-map the ``.npy`` and use it only if its header gives
the recorded shape and its bytes the recorded CRC-32 (a pass at memory speed, several times
faster than SHA-256); anything else (a missing, truncated or damaged file, a sidecar that does not
match) is rebuilt from the IDX file, verified again, never used.  Both files are written
atomically.  Where the folder cannot be written, the array is decoded in memory every time.
"""
from __future__ import annotations

import contextlib
import json
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np

from tinygrad_lab.atomic import atomic_output

__all__ = ["load"]


def load(path: Path, expected_sha256: str, folder: Path, read_verified: Callable[[Path, str], np.ndarray]) -> np.ndarray:
    """The array of the IDX file ``path`` whose uncompressed content has SHA-256 ``expected_sha256``:
    memory-mapped from ``folder`` when a sound decoded copy is there, else ``read_verified(path,
    expected_sha256)`` (which raises on a bad file), written to ``folder`` for the next load."""
    target = folder / f"{path.name.removesuffix('.gz')}-{expected_sha256[:32]}.npy"
    sidecar = target.with_suffix(".crc32")
    array = _mapped(target, sidecar)
    if array is not None:
        return array
    array = read_verified(path, expected_sha256)
    with contextlib.suppress(OSError):
        folder.mkdir(parents=True, exist_ok=True)
        with atomic_output(target) as out:
            np.save(out, array, allow_pickle=False)
        record = {"shape": list(array.shape), "dtype": array.dtype.str, "crc32": zlib.crc32(array.data)}
        with atomic_output(sidecar) as out:
            out.write(json.dumps(record).encode())
    return array


def _mapped(target: Path, sidecar: Path) -> np.ndarray | None:
    """The memory-mapped array of ``target`` if it matches its sidecar's shape, dtype and CRC-32."""
    try:
        record = json.loads(sidecar.read_bytes())
        array = np.load(target, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError, EOFError):
        return None
    if (not isinstance(record, dict) or record.get("shape") != list(array.shape)
            or record.get("dtype") != array.dtype.str or zlib.crc32(array) != record.get("crc32")):
        return None
    return array.view(np.ndarray)
