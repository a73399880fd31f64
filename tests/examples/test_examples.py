"""Every script in examples/ runs in quick mode, stays short, and writes what it promises."""
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))
#: files an example writes into its working folder
WRITES = {"spiral.py": ["spiral.png"], "mnist_mlp.py": ["mnist_mlp.npz"]}


def test_the_promised_examples_exist():
    assert {p.name for p in EXAMPLES} >= {"xor.py", "spiral.py", "mnist_mlp.py", "custom_op.py", "newton.py"}


@pytest.mark.parametrize("script", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_runs_in_quick_mode(script, tmp_path):
    assert len(script.read_text(encoding="utf-8").splitlines()) <= 60, f"{script.name} is over 60 lines"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg"}   # this checkout, not an installed copy
    start = time.perf_counter()
    done = subprocess.run([sys.executable, str(script), "--quick"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"{script.name} failed:\n{done.stdout}\n{done.stderr}"
    print(f"{script.name}: {time.perf_counter() - start:.1f} s")
    for name in WRITES.get(script.name, []):
        assert (tmp_path / name).stat().st_size > 0, f"{script.name} did not write {name}"
