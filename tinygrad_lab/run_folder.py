"""The output folder of a command (``train``, ``experiment NAME``): never silently shared, never
silently overwritten.

One rule for every command that writes a folder: a folder that already holds files (visible ones:
not the lock, not hidden files) is refused, naming them and ``--force``, which writes into it anyway
(files of the same names are replaced; ``train --force`` first removes the previous run's RUN_FILES,
so that two runs never mix); ``train --resume`` continues the run a folder holds.

A run holds the folder's lock file (``.tinygrad-lab.lock``, holding its pid) for its whole
lifetime: an exclusive ``flock`` on it, which the kernel releases when the process ends however it
ends.  A second run into the same folder finds the lock held and is refused, naming the pid; a lock
file left by a killed run is not held by anyone and is simply taken over.  While it holds the lock,
a run may remove the temporary files a killed writer left (see :mod:`tinygrad_lab.atomic`).
"""
from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

from tinygrad_lab.atomic import remove_stale_temporaries

LOCK_NAME = ".tinygrad-lab.lock"
#: the files a training run writes (and evaluate's figure of its model); a folder holding any of them holds a run
RUN_FILES = ("checkpoint.npz", "model.npz", "best.npz", "metrics.json", "metrics.csv", "curves.png", "confusion.png")


class RunFolderError(RuntimeError):
    """The folder cannot be used for this run: in use, a file, or not writable."""


class FolderInUse(RunFolderError):
    """Another live process holds the folder's lock."""


class FolderNotEmpty(RunFolderError):
    """The folder already holds files and ``--force`` was not given."""


class RunFolder:
    """``with RunFolder(path) as folder:`` creates and locks ``path`` for one run."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.lock_path = self.path / LOCK_NAME
        self._fd: int | None = None
        self.took_over_from: str | None = None   # the pid text of a stale lock taken over
        self.removed_temporaries: list[Path] = []

    def existing_run_files(self) -> list[str]:
        """The names of RUN_FILES already in the folder."""
        return [name for name in RUN_FILES if (self.path / name).exists()]

    def existing_files(self) -> list[str]:
        """The names of the visible entries already in the folder (hidden ones, the lock among them, do not count)."""
        if not self.path.is_dir():
            return []
        return sorted(p.name for p in self.path.iterdir() if not p.name.startswith("."))

    def refuse_if_not_empty(self, force: bool, resume: str | None = None) -> None:
        """The one rule: a folder holding files is refused (:class:`FolderNotEmpty`, naming them and
        ``--force``, and ``resume``: how to continue the run it holds, if any) unless ``force``."""
        existing = self.existing_files()
        if existing and not force:
            what = "a run" if set(existing) & set(RUN_FILES) else "files"
            shown = ", ".join(existing[:6]) + (f", … ({len(existing)} in all)" if len(existing) > 6 else "")
            force = "replace it with --force" if what == "a run" else "write into it with --force"
            hint = f"continue it with {resume}" if resume else "choose another --out"
            raise FolderNotEmpty(f"{self.path} already holds {what} ({shown}); {hint}, or {force}")

    def acquire(self) -> "RunFolder":
        """Create the folder, take its lock, and clear stale temporary files."""
        if self.path.exists() and not self.path.is_dir():
            raise RunFolderError(f"{self.path} is a file, not a folder")
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            while self._fd is None:
                fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o666)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    owner = os.read(fd, 64).decode(errors="replace").strip() or "unknown"
                    os.close(fd)
                    raise FolderInUse(f"{self.path} is in use by another run (pid {owner}, lock file "
                                      f"{self.lock_path})") from None
                if not _same_file(fd, self.lock_path):  # its holder removed it between our open and lock
                    os.close(fd)
                    continue
                self._fd = fd
            previous = os.read(self._fd, 64).decode(errors="replace").strip()
            self.took_over_from = previous or None
            os.ftruncate(self._fd, 0)
            os.pwrite(self._fd, f"{os.getpid()}\n".encode(), 0)
        except OSError as e:
            self.release()
            raise RunFolderError(f"cannot write to {self.path} ({e.strerror or e})") from None
        self.removed_temporaries = remove_stale_temporaries(self.path)
        return self

    def release(self) -> None:
        """Remove the lock file and drop the lock (idempotent)."""
        if self._fd is not None:
            with contextlib.suppress(FileNotFoundError):
                self.lock_path.unlink()
            os.close(self._fd)
            self._fd = None

    def remove_run_files(self) -> list[str]:
        """Delete the RUN_FILES of a previous run (``--force``); returns their names."""
        names = self.existing_run_files()
        for name in names:
            (self.path / name).unlink()
        return names

    def __enter__(self) -> "RunFolder":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


def _same_file(fd: int, path: Path) -> bool:
    try:
        here, there = os.fstat(fd), path.stat()
    except FileNotFoundError:
        return False
    return (here.st_dev, here.st_ino) == (there.st_dev, there.st_ino)
