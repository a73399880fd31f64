"""The ``tinygrad-lab`` executable (``cli.console``): the command's output, message and status, then
an exit that skips the interpreter's teardown."""
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _console(args: list[str], prelude: str = "") -> subprocess.CompletedProcess:
    """The executable's function run in a fresh process, its stdout and stderr pipes block-buffered
    (as a user's are: PYTHONUNBUFFERED unset)."""
    code = f"import sys\n{prelude}\nfrom tinygrad_lab import cli\nsys.argv[1:] = {args!r}\ncli.console()\n"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env)


def test_the_output_is_flushed_and_the_teardown_skipped():
    """stdout is a pipe (block-buffered): everything printed reaches it, and the handlers of the
    interpreter's teardown do not run (os._exit)."""
    done = _console(["--version"], prelude="import atexit; atexit.register(print, 'teardown ran')")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().startswith("tinygrad-lab ") and "teardown ran" not in done.stdout


def test_a_command_that_prints_a_lot_loses_none_of_it(tmp_path):
    out = tmp_path / "run"
    done = _console(["train", "--dataset", "mnist-sample", "--sizes", "784-8-10", "--epochs", "1", "--offline",
                     "--backend", "numpy", "--no-progress", "--out", str(out)])
    assert done.returncode == 0, done.stderr
    assert done.stdout.rstrip().splitlines()[-2].startswith("final test accuracy")
    assert (out / "model.npz").exists() and (out / "metrics.json").exists()


def test_a_runtime_error_is_one_line_on_stderr_with_status_1(tmp_path):
    done = _console(["evaluate", str(tmp_path / "missing.npz")])
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("tinygrad-lab evaluate: ")
    assert "missing.npz" in done.stderr


def test_a_usage_error_has_status_2():
    done = _console(["train", "--epochs", "0"])
    assert done.returncode == 2 and done.stderr.startswith("tinygrad-lab train: --epochs 0")
