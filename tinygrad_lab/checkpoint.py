"""Checkpoints: a tree of dicts, lists, numbers, strings and numpy arrays in one ``.npz`` file.

No pickle: the tree's structure is stored as JSON (arrays replaced by references), the arrays as
``.npy`` members of the zip, so loading a checkpoint never runs code from it.  Writes are atomic
(:func:`~tinygrad_lab.atomic.atomic_output`: temporary file in the same folder, fsync, rename): a
crash mid-write leaves the previous checkpoint in place.  A truncated or corrupted file (zip CRC,
missing members, bad structure, a member whose ``.npy`` header declares more or less data than the
member holds) is rejected with a :class:`CheckpointError` naming the file, before any array is
allocated.
"""
from __future__ import annotations

import json
import math
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from tinygrad_lab.atomic import atomic_output

FORMAT = "tinygrad_lab.checkpoint/1"
_TREE = "__tree__"


class CheckpointError(ValueError):
    """A checkpoint file that cannot be read back: truncated, corrupted, or not a checkpoint."""


def _member_name(path: str, arrays: dict[str, np.ndarray]) -> str:
    """The array's name in the zip: its dotted path in the tree (``model.0.weight``), so that
    ``numpy.load`` shows readable keys; a numbered ``a<k>`` where that name is taken or unusable."""
    if path and path != _TREE and path not in arrays and "/" not in path:
        return path
    return f"a{len(arrays)}"


def _encode(value, arrays: dict[str, np.ndarray], path: str = ""):
    def child(key) -> str:
        return f"{path}.{key}" if path else str(key)

    if isinstance(value, np.ndarray):
        key = _member_name(path, arrays)
        arrays[key] = value
        return {"__array__": key}
    if isinstance(value, dict):
        return {"__dict__": [[_encode(k, arrays), _encode(v, arrays, child(k))] for k, v in value.items()]}
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(v, arrays, child(i)) for i, v in enumerate(value)]}
    if isinstance(value, list):
        return [_encode(v, arrays, child(i)) for i, v in enumerate(value)]
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"cannot store a {type(value).__name__} in a checkpoint")


def _decode(node, arrays: dict[str, np.ndarray]):
    if isinstance(node, list):
        return [_decode(v, arrays) for v in node]
    if isinstance(node, dict):
        if set(node) == {"__array__"}:
            return arrays[node["__array__"]]
        if set(node) == {"__tuple__"}:
            return tuple(_decode(v, arrays) for v in node["__tuple__"])
        if set(node) == {"__dict__"}:
            return {_decode(k, arrays): _decode(v, arrays) for k, v in node["__dict__"]}
        raise CheckpointError(f"unknown node {sorted(node)}")
    return node


def save_checkpoint(path, tree: dict[str, Any]) -> Path:
    """Write ``tree`` to ``path`` atomically; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays: dict[str, np.ndarray] = {}
    skeleton = json.dumps({"format": FORMAT, "tree": _encode(tree, arrays)})
    with atomic_output(path) as f:
        np.savez(f, **{_TREE: np.array(skeleton)}, **arrays)
    return path


def _check_member_size(path: Path, archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> None:
    """The member's ``.npy`` header must declare exactly the bytes the member holds: header length +
    prod(shape) · itemsize = the member's uncompressed size in the zip.  Read from the header alone,
    so a header declaring 10¹⁵ elements is refused before numpy tries to allocate them."""
    read_header = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}
    with archive.open(info) as member:
        version = np.lib.format.read_magic(member)
        if version not in read_header:
            raise CheckpointError(f"{path}: member {info.filename} is corrupted: .npy format version {version}")
        shape, _, dtype = read_header[version](member)
        data_bytes = info.file_size - member.tell()
    declared = math.prod(shape) * dtype.itemsize
    if declared != data_bytes:
        raise CheckpointError(f"{path}: member {info.filename} is corrupted: its header declares shape {shape} of "
                              f"{dtype} ({declared:,} bytes) but the member holds {data_bytes:,} bytes of data")


def load_checkpoint(path) -> dict[str, Any]:
    """Read a tree written by :func:`save_checkpoint`, verifying every member's CRC."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    try:
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
            if bad is not None:
                raise CheckpointError(f"{path}: member {bad} is corrupted (CRC mismatch)")
            for info in archive.infolist():
                _check_member_size(path, archive, info)
        with np.load(path, allow_pickle=False) as npz:
            if _TREE not in npz.files:
                raise CheckpointError(f"{path}: not a tinygrad_lab checkpoint (no {_TREE} member)")
            header = json.loads(str(npz[_TREE]))
            if not isinstance(header, dict) or header.get("format") != FORMAT:
                raise CheckpointError(f"{path}: unknown checkpoint format {header.get('format')!r}"
                                      if isinstance(header, dict) else f"{path}: malformed header")
            arrays = {name: npz[name] for name in npz.files if name != _TREE}
            return _decode(header["tree"], arrays)
    except CheckpointError:
        raise
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, KeyError, TypeError, json.JSONDecodeError,
            zipfile.LargeZipFile) as e:
        raise CheckpointError(f"{path}: truncated or corrupted checkpoint ({type(e).__name__}: {e})") from None
