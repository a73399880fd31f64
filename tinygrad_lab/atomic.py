"""Files that appear whole or not at all: every output of a run goes through :func:`atomic_output`.

The bytes go to a temporary file in the target's own folder (``.NAME.XXXXXX.part``), which is
flushed, fsynced and renamed over the target (``os.replace`` is atomic within one file system); the
folder is then fsynced so the rename itself survives a crash.  If writing fails (a full disk, a
file-size limit, Ctrl-C) the temporary file is removed and the previous file is untouched.  A
process killed outright (SIGKILL, power loss) can leave a temporary file behind:
:func:`remove_stale_temporaries` clears them when the folder is next used.

The file gets the permissions any new file gets, ``0o666`` less the umask (``mkstemp`` alone would
make it ``0o600``).
"""
from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

TEMP_SUFFIX = ".part"

__all__ = ["TEMP_SUFFIX", "atomic_output", "remove_stale_temporaries", "umask"]


def umask() -> int:
    """The process's umask (read from /proc where possible, else set and restored)."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike) -> Iterator[BinaryIO]:
    """Yield a binary file that replaces ``path`` only if the ``with`` block succeeds.

    The yielded file's ``name`` is the temporary path.  On any exception (KeyboardInterrupt
    included) the temporary file is removed and ``path`` is left as it was.
    """
    target = Path(path)
    fd, temp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=TEMP_SUFFIX)
    try:
        os.fchmod(fd, 0o666 & ~umask())
        os.close(fd)
        with open(temp_name, "wb") as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp_name, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp_name)
        raise
    _fsync_folder(target.parent)


def _fsync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` durable (a no-op where folders cannot be opened)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def remove_stale_temporaries(folder: str | os.PathLike) -> list[Path]:
    """Delete the ``.NAME.XXXXXX.part`` files a killed writer left in ``folder``; returns them.

    Call it only while no other process writes into ``folder`` (a run holds the folder's lock)."""
    removed = []
    for path in Path(folder).glob(f".*{TEMP_SUFFIX}"):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
            removed.append(path)
    return removed
