"""Reading and writing IDX files, the container format of MNIST and Fashion-MNIST.

An IDX file is a 4-byte magic number ``00 00 <type> <ndim>``, then ``ndim``
big-endian uint32 dimension sizes, then the row-major payload. Only the
unsigned-byte type (0x08) is supported, which is all (Fashion-)MNIST uses.
Files may be gzip-compressed; compression is detected from the gzip magic
bytes ``1f 8b``, never from the file name.

The reader validates the header and compares the declared payload size with
the bytes actually present *before* building the array, and reads at most one
byte more than declared, so a forged header declaring terabytes fails fast.
"""

from __future__ import annotations

import gzip as gzip_module
import math
import os
import struct
import zlib
from typing import BinaryIO

import numpy as np

from tinygrad_lab.atomic import atomic_output

GZIP_MAGIC = b"\x1f\x8b"
UBYTE_TYPE = 0x08
_READ_CHUNK = 1 << 20
_MAX_DIM = 2**32 - 1
# What a damaged gzip stream raises: BadGzipFile (an OSError), EOFError on a
# truncated stream, zlib.error on corrupt deflate data.
_GZIP_ERRORS = (OSError, EOFError, zlib.error)

__all__ = ["IDXError", "read_idx", "write_idx", "encode_header", "atomic_output"]


class IDXError(ValueError):
    """A file is not a well-formed uint8 IDX file; the message names the file and the defect."""


def encode_header(shape: tuple[int, ...]) -> bytes:
    """Return the IDX header (magic plus dimensions) for a uint8 array of ``shape``."""
    return bytes([0, 0, UBYTE_TYPE, len(shape)]) + struct.pack(f">{len(shape)}I", *shape)


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read a uint8 IDX file (gzipped or not) into a C-contiguous uint8 array.

    Raises ``IDXError`` naming the file for a bad magic number, an unsupported
    type byte, a truncated header or payload, trailing bytes after the
    payload, or a corrupt gzip stream. ``OSError`` from opening the file
    (e.g. ``FileNotFoundError``) propagates unchanged.
    """
    name = os.fspath(path)
    with open(path, "rb") as raw:
        is_gzip = raw.read(2) == GZIP_MAGIC
        raw.seek(0)
        if not is_gzip:
            return _parse(raw, name)
        try:
            with gzip_module.GzipFile(fileobj=raw, mode="rb") as stream:
                return _parse(stream, name)
        except _GZIP_ERRORS as err:
            raise IDXError(f"{name}: corrupt gzip stream ({err})") from err


def _parse(stream: BinaryIO, name: str) -> np.ndarray:
    """Parse one IDX file from ``stream``, checking every length before allocating."""
    magic = _read_up_to(stream, 4)
    if len(magic) < 4:
        raise IDXError(f"{name}: file holds {len(magic)} bytes, too short for the 4-byte IDX magic number")
    if magic[:2] != b"\x00\x00":
        raise IDXError(f"{name}: bad magic number {magic.hex(' ')}: an IDX file starts with 00 00")
    if magic[2] != UBYTE_TYPE:
        raise IDXError(f"{name}: unsupported data type byte 0x{magic[2]:02x}: only 0x08 (unsigned byte) is supported")
    ndim = magic[3]
    if ndim == 0:
        raise IDXError(f"{name}: declares 0 dimensions; at least 1 is required")
    dims_bytes = _read_up_to(stream, 4 * ndim)
    if len(dims_bytes) < 4 * ndim:
        raise IDXError(
            f"{name}: header truncated: declares {ndim} dimensions ({4 * ndim} bytes) "
            f"but only {len(dims_bytes)} header bytes follow the magic number"
        )
    shape = struct.unpack(f">{ndim}I", dims_bytes)
    declared = math.prod(shape)
    payload = _read_up_to(stream, declared + 1)
    if len(payload) < declared:
        raise IDXError(f"{name}: {_describe(shape)} but holds {len(payload)} bytes of data")
    if len(payload) > declared:
        raise IDXError(f"{name}: trailing bytes after the {declared} bytes of data declared by its shape {shape}")
    return np.frombuffer(payload, dtype=np.uint8).reshape(shape).copy()


def _describe(shape: tuple[int, ...]) -> str:
    """Say what a header declares, e.g. 'declares 10000 items' or 'declares shape (2, 28, 28) = 1568 bytes'."""
    if len(shape) == 1:
        return f"declares {shape[0]} items"
    return f"declares shape {shape} = {math.prod(shape)} bytes"


def _read_up_to(stream: BinaryIO, limit: int) -> bytes:
    """Read at most ``limit`` bytes in bounded chunks; memory grows with the bytes really present."""
    chunks = []
    remaining = limit
    while remaining > 0:
        chunk = stream.read(min(remaining, _READ_CHUNK))
        if not chunk:
            break
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def write_idx(path: str | os.PathLike, array: np.ndarray, gzip: bool = False) -> None:
    """Write a uint8 array of at least one dimension as an IDX file, atomically.

    With ``gzip=True`` the file is gzip-compressed (with a zero timestamp, so
    output is byte-for-byte reproducible). The file appears at ``path`` only
    once completely written.
    """
    array = np.asarray(array)
    if array.dtype != np.uint8:
        raise TypeError(f"write_idx supports only uint8 arrays, got dtype {array.dtype}")
    if not 1 <= array.ndim <= 255:
        raise ValueError(f"an IDX array needs 1 to 255 dimensions, got {array.ndim}")
    if any(size > _MAX_DIM for size in array.shape):
        raise ValueError(f"every IDX dimension must fit in 32 bits, got shape {array.shape}")
    content = encode_header(array.shape) + np.ascontiguousarray(array).tobytes()
    with atomic_output(path) as out:
        if gzip:
            with gzip_module.GzipFile(fileobj=out, mode="wb", mtime=0, filename="") as packed:
                packed.write(content)
        else:
            out.write(content)
