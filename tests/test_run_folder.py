"""The run folder's lock: one run at a time, a killed run's lock taken over."""
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tinygrad_lab.run_folder import LOCK_NAME, FolderInUse, RunFolder, RunFolderError

ROOT = Path(__file__).resolve().parents[1]
HOLD = "from tinygrad_lab.run_folder import RunFolder; import sys, time; RunFolder(sys.argv[1]).acquire(); " \
       "print('locked', flush=True); time.sleep(60)"


def _holder(folder):
    child = subprocess.Popen([sys.executable, "-c", HOLD, str(folder)], stdout=subprocess.PIPE, text=True,
                             env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert child.stdout.readline().strip() == "locked"
    return child


def test_a_second_process_is_refused_while_the_first_holds_the_folder(tmp_path):
    child = _holder(tmp_path / "run")
    try:
        with pytest.raises(FolderInUse, match=rf"in use by another run \(pid {child.pid}, lock file "):
            RunFolder(tmp_path / "run").acquire()
    finally:
        child.kill()
        child.wait()
        child.stdout.close()


def test_the_lock_of_a_killed_run_is_taken_over(tmp_path):
    child = _holder(tmp_path / "run")
    child.send_signal(signal.SIGKILL)
    child.wait()
    child.stdout.close()
    assert (tmp_path / "run" / LOCK_NAME).exists()           # left behind by the killed run
    with RunFolder(tmp_path / "run") as folder:
        assert folder.took_over_from == str(child.pid)
        assert (tmp_path / "run" / LOCK_NAME).read_text().strip() == str(os.getpid())
    assert not (tmp_path / "run" / LOCK_NAME).exists()        # released


def test_a_file_is_not_a_folder(tmp_path):
    (tmp_path / "x").write_text("")
    with pytest.raises(RunFolderError, match="x is a file, not a folder"):
        RunFolder(tmp_path / "x").acquire()


def test_a_folder_holding_files_is_refused_unless_forced(tmp_path):
    from tinygrad_lab.run_folder import FolderNotEmpty
    folder = RunFolder(tmp_path / "out")
    folder.refuse_if_not_empty(force=False)                  # a folder that does not exist yet
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / ".hidden").write_text("")
    folder.refuse_if_not_empty(force=False)                  # hidden files (the lock among them) do not count
    (tmp_path / "out" / "notes.txt").write_text("mine")
    with pytest.raises(FolderNotEmpty, match=r"out already holds files \(notes\.txt\); choose another --out, or "
                                             r"write into it with --force$"):
        folder.refuse_if_not_empty(force=False)
    (tmp_path / "out" / "metrics.json").write_text("{}")
    with pytest.raises(FolderNotEmpty, match=r"holds a run \(metrics\.json, notes\.txt\); continue it with --resume "
                                             r"X, or replace it with --force$"):
        folder.refuse_if_not_empty(force=False, resume="--resume X")
    folder.refuse_if_not_empty(force=True)
