"""``tinygrad-lab train`` as a dependable tool, in real child processes: signals, two concurrent runs,
a full disk, run folders that are never silently shared, explicit data sources."""
import json
import os
import resource
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tinygrad_lab.checkpoint import load_checkpoint, save_checkpoint

ROOT = Path(__file__).resolve().parents[2]
FAST = ["--dataset", "mnist-sample", "--hidden", "16", "--batch-size", "64", "--backend", "numpy", "--seed", "1"]
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
TIMEOUT_S = 240
MNIST = Path("/work/shared/data/mnist")


def train(*args, **kw) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "tinygrad_lab.cli", "train", *args], cwd=kw.pop("cwd", ROOT),
                            env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def finish(process) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=TIMEOUT_S)
    return process.returncode, out, err


def temporaries(folder: Path) -> list[str]:
    return [p.name for p in folder.glob(".*.part")]


def wait_for(path: Path, process) -> None:
    deadline = time.monotonic() + TIMEOUT_S
    while not path.exists():
        assert process.poll() is None, finish(process)
        assert time.monotonic() < deadline
        time.sleep(0.01)


@pytest.mark.parametrize("sig, status", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_stops_at_a_batch_boundary_with_everything_written(tmp_path, sig, status):
    out = tmp_path / "run"
    process = train(*FAST, "--epochs", "30", "--out", str(out))
    wait_for(out / "metrics.json", process)              # epoch 1 is done; the run is inside epoch 2
    process.send_signal(sig)
    code, stdout, stderr = finish(process)
    assert code == status, stderr
    assert "Traceback" not in stderr
    last = stdout.splitlines()[-1]
    assert last.startswith(f"interrupted by {sig.name} at epoch ")
    command = last.split("resume with: ")[1]
    assert command == f"tinygrad-lab train --resume {shlex.quote(str(out / 'checkpoint.npz'))}"
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["status"].startswith(f"interrupted by {sig.name}") and len(metrics["history"]) >= 1
    assert (out / "curves.png").exists() and not (out / "model.npz").exists()
    state = load_checkpoint(out / "checkpoint.npz")
    assert state["epoch"] == len(metrics["history"])
    assert temporaries(out) == []
    if sig == signal.SIGTERM:                             # the printed command resumes it, in its folder
        code, stdout, stderr = finish(train(*shlex.split(command)[2:], "--epochs", str(state["epoch"] + 1),
                                             "--backend", "numpy"))
        assert code == 0, stderr
        assert f"at epoch {state['epoch'] + 1}, batch {state['batch_in_epoch']}" in stdout
        assert json.loads((out / "metrics.json").read_text())["status"] == "finished"


def test_two_concurrent_runs_into_one_folder_the_second_is_refused(tmp_path):
    """The first run is paused (SIGSTOP) once it holds the lock (its pid written in the lock file), so
    that the second surely meets it: a run on the sample can end within the second's start-up."""
    out = tmp_path / "run"
    first = train(*FAST, "--epochs", "2", "--out", str(out))
    wait_for(out / ".tinygrad-lab.lock", first)
    deadline = time.monotonic() + TIMEOUT_S
    while (out / ".tinygrad-lab.lock").read_text().strip() != str(first.pid):
        assert first.poll() is None and time.monotonic() < deadline, finish(first)
        time.sleep(0.01)
    first.send_signal(signal.SIGSTOP)
    try:
        code, _, stderr = finish(train(*FAST, "--epochs", "1", "--out", str(out)))
    finally:
        first.send_signal(signal.SIGCONT)
    assert code == 1
    assert stderr.strip() == (f"tinygrad-lab train: --out {out} is in use by another run (pid {first.pid}, lock "
                              f"file {out / '.tinygrad-lab.lock'}); wait for it, or choose another --out")
    assert finish(first)[0] == 0
    assert [r["epoch"] for r in json.loads((out / "metrics.json").read_text())["history"]] == [1, 2]


def test_a_full_disk_leaves_the_previous_metrics_and_checkpoint_intact(tmp_path):
    out = tmp_path / "run"
    assert finish(train(*FAST, "--epochs", "1", "--out", str(out)))[0] == 0
    before = {name: (out / name).read_bytes() for name in ("metrics.json", "metrics.csv", "checkpoint.npz")}

    def small_files():                                   # writes beyond 20 kB fail with EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000))
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)

    code, _, stderr = finish(train("--resume", str(out / "checkpoint.npz"), "--epochs", "2", "--backend", "numpy",
                                   preexec_fn=small_files))
    assert code == 1
    assert len(stderr.strip().splitlines()) == 1 and "Traceback" not in stderr
    assert "cannot write" in stderr and "File too large" in stderr
    for name, content in before.items():
        assert (out / name).read_bytes() == content, name
    assert temporaries(out) == []


def test_a_folder_holding_a_run_is_refused_and_resume_continues_in_the_checkpoints_folder(tmp_path):
    a = tmp_path / "a"
    assert finish(train(*FAST, "--epochs", "1", "--out", str(a), cwd=tmp_path))[0] == 0
    code, _, stderr = finish(train(*FAST, "--epochs", "1", "--out", str(a)))
    assert code == 1 and "already holds a run" in stderr and "--resume" in stderr and "--force" in stderr
    (a / ".metrics.json.xyz.part").write_bytes(b"left by a killed writer")
    code, stdout, _ = finish(train("--resume", str(a / "checkpoint.npz"), "--epochs", "2", "--backend", "numpy",
                                   cwd=tmp_path))
    assert code == 0
    assert "removed 1 temporary file(s)" in stdout and temporaries(a) == []
    assert not (tmp_path / "runs").exists()              # not the default --out
    assert [r["epoch"] for r in json.loads((a / "metrics.json").read_text())["history"]] == [1, 2]
    code, stdout, _ = finish(train(*FAST, "--epochs", "1", "--out", str(a), "--force"))
    assert code == 0 and "--force: removed the previous run's" in stdout
    assert len(json.loads((a / "metrics.json").read_text())["history"]) == 1


def test_resume_refuses_options_that_change_the_model_or_optimizer(tmp_path):
    assert finish(train(*FAST, "--epochs", "1", "--out", str(tmp_path)))[0] == 0
    code, _, stderr = finish(train("--resume", str(tmp_path / "checkpoint.npz"), "--lr", "0.1", "--hidden", "8",
                                   "--optimizer", "sgd", "--batch-size", "32"))
    assert code == 2
    assert "drop --optimizer, --lr, --batch-size, --hidden (or start a new run" in stderr
    state = load_checkpoint(tmp_path / "checkpoint.npz")
    state["config"]["frobnication"] = 3
    save_checkpoint(tmp_path / "odd.npz", state)
    code, _, stderr = finish(train("--resume", str(tmp_path / "odd.npz")))
    assert code == 1 and "keys this version does not know: ['frobnication']" in stderr


def test_a_missing_or_incomplete_data_dir_is_an_error_naming_the_files(tmp_path):
    code, _, stderr = finish(train("--data-dir", str(tmp_path / "nowhere"), "--out", str(tmp_path / "r")))
    assert (code, stderr.strip()) == (1, f"tinygrad-lab train: --data-dir {tmp_path / 'nowhere'} is not a folder")
    (tmp_path / "half").mkdir()
    for name in ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"):
        (tmp_path / "half" / name).write_bytes(b"")
    code, _, stderr = finish(train("--data-dir", str(tmp_path / "half"), "--out", str(tmp_path / "r")))
    assert code == 1 and "lacks t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte" in stderr


def test_offline_without_data_trains_on_the_sample_and_says_so(tmp_path):
    env = {"XDG_CACHE_HOME": str(tmp_path / "cache"), "TINYGRAD_LAB_DATA": ""}
    process = subprocess.Popen([sys.executable, "-m", "tinygrad_lab.cli", "train", "--offline", "--hidden", "8",
                                "--epochs", "1", "--backend", "numpy", "--out", str(tmp_path / "r")], cwd=ROOT,
                               env={**ENV, **env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    code, stdout, stderr = finish(process)
    assert code == 0, stderr
    data_line = stdout.splitlines()[0]
    assert data_line.startswith("data: bundled mnist_sample.npz") and "in place of full MNIST (4500 train" in data_line
    [why] = stderr.splitlines()                           # said once, on stderr, not again on the data line
    assert "--offline forbids downloading it; using the bundled" in why and "--data-dir DIR or $TINYGRAD_LAB_DATA" in why
    assert str(tmp_path / "cache") not in data_line
    metrics = json.loads((tmp_path / "r" / "metrics.json").read_text())
    assert metrics["data"]["source"].endswith("in place of full MNIST")


def test_metrics_record_the_values_used_and_a_redirected_log_has_plain_lines(tmp_path):
    code, stdout, stderr = finish(train(*FAST, "--epochs", "2", "--threads", "1", "--out", str(tmp_path)))
    assert code == 0 and "\r" not in stdout + stderr
    assert [line.split()[1] for line in stdout.splitlines() if line.startswith("epoch")] == ["1", "2"]
    assert f"wrote {tmp_path / 'checkpoint.npz'}" in stdout.splitlines()
    metrics = json.loads((tmp_path / "metrics.json").read_text())

    def nulls(node, where="metrics"):
        if node is None:
            yield where
        for key, value in (node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list)
                           else ()):
            yield from nulls(value, f"{where}.{key}")

    assert list(nulls(metrics)) == []
    cfg, env = metrics["config"], metrics["environment"]
    assert (cfg["init"], cfg["lr"], cfg["lr_schedule_parameters"]) == ("he", 0.001, {"kind": "cosine", "T_max": 2,
                                                                                    "eta_min": 0.0})
    assert env["backend"] == "numpy" and env["versions"]["numpy"] and env["blas"]["max_threads"] == 1
    assert env["blas"]["policy"] == 1 and env["blas"]["kernel"]
    assert "checkpoint.npz" in metrics["files"] and metrics["status"] == "finished"


@pytest.mark.skipif(not MNIST.is_dir(), reason="full MNIST not available")
def test_evaluate_reads_the_data_dir_when_given(tmp_path):
    assert finish(train(*FAST, "--epochs", "1", "--out", str(tmp_path)))[0] == 0
    result = subprocess.run([sys.executable, "-m", "tinygrad_lab.cli", "evaluate", str(tmp_path / "model.npz"),
                             "--data-dir", str(MNIST)], cwd=ROOT, env=ENV, capture_output=True, text=True,
                            timeout=TIMEOUT_S)
    assert result.returncode == 0, result.stderr
    assert f"data: {MNIST}, 10000 test images" in result.stdout
