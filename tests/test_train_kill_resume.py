"""A real interruption: ``tinygrad-lab train`` SIGKILLed mid-epoch, resumed from its last checkpoint,
ends bit for bit where an uninterrupted run with the same seed ends (validation split, dropout masks and
all).  And a checkpoint write that
fails half-way leaves the previous checkpoint intact and no temporary file behind."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tinygrad_lab import checkpoint
from tinygrad_lab.checkpoint import CheckpointError, load_checkpoint, save_checkpoint

ROOT = Path(__file__).resolve().parents[1]
RUN = ["--dataset", "mnist-sample", "--hidden", "16", "--epochs", "2", "--batch-size", "64", "--dropout", "0.2",
       "--checkpoint-every", "7", "--seed", "5", "--no-progress", "--backend", "numpy"]
STEPS = 2 * 71                     # 4,500 training images (500 of the 5,000 held out) / 64 per batch, 2 epochs
KILL_AT_STEP = 14                  # the second in-epoch checkpoint of epoch 1
TIMEOUT_S = 180
# This checkout's package (not whichever one is installed), one BLAS thread (light, and identical in all runs).
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
       "MKL_NUM_THREADS": "1"}


def _train(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "tinygrad_lab.cli", "train", *args], cwd=ROOT, env=ENV,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _finish(process: subprocess.Popen) -> str:
    try:
        out, _ = process.communicate(timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        out, _ = process.communicate()
        pytest.fail(f"training did not finish in {TIMEOUT_S} s:\n{out}")
    assert process.returncode == 0, out
    return out


def _checkpoint_when_changed(path: Path, seen: tuple | None):
    """(identity, state) of ``path`` once it is a new file (atomic replace: new inode/mtime), else None."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    identity = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
    if identity == seen:
        return None
    try:
        return identity, load_checkpoint(path)
    except (CheckpointError, FileNotFoundError):   # replacement is atomic: should not happen
        return None


def _kill_mid_epoch(out: Path) -> dict:
    """Start a run into ``out``, SIGKILL it as soon as a mid-epoch checkpoint at step >= KILL_AT_STEP
    exists; returns the checkpoint left on disk."""
    process = _train(*RUN, "--out", str(out))
    path, seen, deadline = out / "checkpoint.npz", None, time.monotonic() + TIMEOUT_S
    try:
        while process.poll() is None:
            assert time.monotonic() < deadline, f"no checkpoint at step >= {KILL_AT_STEP} in {TIMEOUT_S} s"
            changed = _checkpoint_when_changed(path, seen)
            if changed is not None:
                seen, state = changed
                if state["step"] >= KILL_AT_STEP and state["batch_in_epoch"] > 0:
                    process.send_signal(signal.SIGKILL)
                    break
            time.sleep(0.002)
        process.wait(timeout=TIMEOUT_S)
    finally:
        if process.poll() is None:
            process.kill()
        process.stdout.close()
    assert process.returncode == -signal.SIGKILL, f"the run ended by itself (rc {process.returncode}) before the kill"
    assert not (out / "model.npz").exists(), "the killed run got to its final reports"
    return load_checkpoint(path)


def test_a_killed_run_resumed_from_its_checkpoint_ends_bit_identical(tmp_path):
    uninterrupted = _train(*RUN, "--out", str(tmp_path / "b"))     # runs alongside the one to be killed
    left = _kill_mid_epoch(tmp_path / "a")
    assert 0 < left["batch_in_epoch"] and KILL_AT_STEP <= left["step"] < STEPS, \
        f"killed at step {left['step']}, batch {left['batch_in_epoch']}: not mid-epoch"
    resumed = _finish(_train("--resume", str(tmp_path / "a" / "checkpoint.npz"), "--out", str(tmp_path / "a"),
                             "--backend", "numpy", "--no-progress"))
    assert f"at epoch {left['epoch'] + 1}, batch {left['batch_in_epoch']}" in resumed
    _finish(uninterrupted)

    a, b = (load_checkpoint(tmp_path / run / "model.npz") for run in ("a", "b"))
    assert a["config"] == b["config"] and list(a["model"]) == list(b["model"])
    for name, value in b["model"].items():
        np.testing.assert_array_equal(a["model"][name], value, err_msg=name)
    final_a, final_b = (load_checkpoint(tmp_path / run / "checkpoint.npz") for run in ("a", "b"))
    assert final_a["step"] == final_b["step"] == STEPS
    assert list(final_a["optimizer"]["state"]) == list(final_b["optimizer"]["state"]) == [0, 1, 2, 3]
    for index, slots in final_b["optimizer"]["state"].items():
        for slot, value in slots.items():
            np.testing.assert_array_equal(final_a["optimizer"]["state"][index][slot], value, err_msg=slot)
    history_a, history_b = (json.loads((tmp_path / run / "metrics.json").read_text())["history"] for run in "ab")
    assert [row["epoch"] for row in history_a] == [1, 2]
    for key in ("train_loss", "val_loss", "val_accuracy", "test_loss", "test_accuracy", "lr"):
        assert [row[key] for row in history_a] == [row[key] for row in history_b], key


@pytest.mark.parametrize("error", [OSError("No space left on device"), KeyboardInterrupt()])
def test_a_write_failing_half_way_keeps_the_previous_checkpoint_and_no_temp_file(tmp_path, monkeypatch, error):
    path = save_checkpoint(tmp_path / "checkpoint.npz", {"step": 7, "w": np.arange(3.0)})
    before = path.read_bytes()
    real_savez = np.savez

    def savez_dying_half_way(file, *args, **kwds):
        real_savez(file, *args, **kwds)            # a complete archive's bytes ...
        file.truncate(file.tell() // 2)            # ... of which only half reach the disk
        raise error

    monkeypatch.setattr(checkpoint.np, "savez", savez_dying_half_way)
    with pytest.raises(type(error)):
        save_checkpoint(path, {"step": 14, "w": np.arange(1000.0)})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint.npz"]
    assert path.read_bytes() == before
    state = load_checkpoint(path)
    assert state["step"] == 7
    np.testing.assert_array_equal(state["w"], np.arange(3.0))
