"""Decoded dataset arrays kept as ``.npy`` files, so that a dataset is decoded once, not at every load.

Reading MNIST's training images from their IDX file means gunzipping 9.9 MB into 47 MB and
hashing the result (about half a second).  :func:`load` does that once: it writes the verified
array to ``<folder>/<file name>-<sha>-<place>.npy``, named by the SHA-256 of the uncompressed IDX
content it holds (the checksum the dataset is verified against) and a hash of the IDX file's path,
with a sidecar ``.json`` recording the array's shape, dtype and CRC-32 and the IDX file's size and
modification time.  Later loads memory-map the ``.npy`` and use it only if the IDX file is still
the one it was decoded from (same size and time: an edited or replaced file is read and verified
again, so a damaged one is reported, not bypassed), its header gives the recorded shape and its
bytes the recorded CRC-32 (a pass at memory speed, several times faster than SHA-256); anything
else (a missing, truncated or damaged file, a sidecar that does not match) is rebuilt from the IDX
file, verified again, never used.  Both files are written atomically.  Where the folder cannot be
written, the array is decoded in memory every time.
"""
from __future__ import annotations

import contextlib
import hashlib
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
    place = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:12]
    target = folder / f"{path.name.removesuffix('.gz')}-{expected_sha256[:32]}-{place}.npy"
    sidecar = target.with_suffix(".json")
    stat = path.stat()
    source = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    array = _mapped(target, sidecar, source)
    if array is not None:
        return array
    array = read_verified(path, expected_sha256)
    with contextlib.suppress(OSError):
        folder.mkdir(parents=True, exist_ok=True)
        with atomic_output(target) as out:
            np.save(out, array, allow_pickle=False)
        record = {"shape": list(array.shape), "dtype": array.dtype.str, "crc32": zlib.crc32(array.data),
                  "source": source}
        with atomic_output(sidecar) as out:
            out.write(json.dumps(record).encode())
    return array


def _mapped(target: Path, sidecar: Path, source: dict) -> np.ndarray | None:
    """The memory-mapped array of ``target`` if its sidecar names ``source`` (the IDX file's size and
    time) and the array matches the sidecar's shape, dtype and CRC-32."""
    try:
        record = json.loads(sidecar.read_bytes())
        array = np.load(target, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError, EOFError):
        return None
    if (not isinstance(record, dict) or record.get("source") != source or record.get("shape") != list(array.shape)
            or record.get("dtype") != array.dtype.str or zlib.crc32(array) != record.get("crc32")):
        return None
    return array.view(np.ndarray)
