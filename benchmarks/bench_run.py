"""The whole run, not just the step: the default ``tinygrad-lab train`` on full MNIST against the same
recipe as a plain PyTorch script (benchmarks/mnist_torch.py), whole-process wall times.

    env -u OPENBLAS_CORETYPE python benchmarks/bench_run.py --data-dir DIR          # 2 rounds
    env -u OPENBLAS_CORETYPE python benchmarks/bench_run.py --data-dir DIR --rounds 3 --json out.json

DIR holds MNIST's four IDX files (default: ``$TINYGRAD_LAB_DATA``).  The processes run without
PYTHONDONTWRITEBYTECODE and PYTHONUNBUFFERED, which some machines set and a user's does not.  First
one warm-up ``train`` (the state after one earlier run on the machine: kernels compiled, data
decoded, the bytecode cache written, as ``pip install`` writes it), then ``--rounds``
rounds, each running both contenders as fresh processes, in alternating order, so that the
machine's slow and fast stretches hit both alike.  Then ``tinygrad-lab predict model.npz digit.png``
(a test digit saved as PNG), best of 3.

Printed: both wall times per round and the best; tinygrad_lab's time split as its metrics.json
records it (data, first step: compiling or loading the kernels, steps, evaluation, checkpoints,
reports; "start" is the rest: interpreter, imports, argument checks); wall / Σ step times; both
accuracies; the machine's load average; the BLAS (threadpoolctl: library, kernel, threads) and
PyTorch's threads.  Results go to benchmarks/results_run.json unless --json says otherwise.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
PARTS = ("data", "first_step", "steps", "evaluation", "checkpoints", "reports")


#: set on some machines here, never on a user's: no bytecode cache written (every process would compile
#: the package's sources again: +0.13 s of imports) and unbuffered output
NOT_A_USERS = ("PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED")


def run(command: list[str]) -> tuple[float, str]:
    """(wall seconds, stdout) of one fresh process, in a user's environment (without ``NOT_A_USERS``);
    exits with its stderr if it fails."""
    env = {k: v for k, v in os.environ.items() if k not in NOT_A_USERS}
    started = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{done.stderr}")
    return wall, done.stdout


def tinygrad_lab_run(data_dir: Path, out: Path) -> dict:
    wall, _ = run([sys.executable, "-m", "tinygrad_lab.cli", "train", "--data-dir", str(data_dir), "--out", str(out),
                   "--force", "--no-progress"])
    metrics = json.loads((out / "metrics.json").read_text())
    seconds = metrics["seconds"]
    return {"wall": wall, "seconds": {**seconds, "start": wall - sum(seconds.values())},
            "test_accuracy": metrics["history"][-1]["test_accuracy"],
            "val_accuracy": metrics["history"][-1]["val_accuracy"], "blas": metrics["environment"]["blas"]}


def torch_run(data_dir: Path) -> dict:
    wall, stdout = run([sys.executable, str(HERE / "mnist_torch.py"), str(data_dir)])
    return {"wall": wall, **json.loads(stdout.splitlines()[-1])}


def predict_wall(model: Path, data_dir: Path, folder: Path) -> float:
    from PIL import Image

    from tinygrad_lab.data import load_mnist

    digit = folder / "digit.png"
    Image.fromarray(load_mnist(data_dir, download=False).test_images[0]).save(digit)
    return min(run([sys.executable, "-m", "tinygrad_lab.cli", "predict", str(model), str(digit)])[0]
               for _ in range(3))


def blas() -> list[dict]:
    import numpy  # noqa: F401  (loads the BLAS threadpoolctl reports)
    from threadpoolctl import threadpool_info

    return [{"library": i.get("internal_api"), "version": i.get("version"), "kernel": i.get("architecture"),
             "threads": i.get("num_threads")} for i in threadpool_info()]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", type=Path, default=os.environ.get("TINYGRAD_LAB_DATA"),
                   help="folder of MNIST's IDX files (default: $TINYGRAD_LAB_DATA)")
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--json", type=Path, default=HERE / "results_run.json")
    args = p.parse_args()
    if args.data_dir is None:
        p.error("--data-dir DIR (or $TINYGRAD_LAB_DATA): the folder of MNIST's four IDX files")
    if "OPENBLAS_CORETYPE" in os.environ:
        print("note: OPENBLAS_CORETYPE is set; run with env -u OPENBLAS_CORETYPE for the machine's own kernel")
    loads = [os.getloadavg()[0]]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run"
        warmup = tinygrad_lab_run(args.data_dir, out)
        ours, theirs = [], []
        for r in range(args.rounds):
            for contender in (("ours", "torch") if r % 2 == 0 else ("torch", "ours")):
                if contender == "ours":
                    ours.append(tinygrad_lab_run(args.data_dir, out))
                else:
                    theirs.append(torch_run(args.data_dir))
                loads.append(os.getloadavg()[0])
        predict = predict_wall(out / "model.npz", args.data_dir, Path(tmp))

    best, best_torch = min(ours, key=lambda r: r["wall"]), min(theirs, key=lambda r: r["wall"])
    step_sum = best["seconds"]["first_step"] + best["seconds"]["steps"]
    results = {
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
                    "load_average_1min": loads, "blas": blas()},
        "warmup": warmup, "tinygrad_lab": ours, "torch": theirs, "predict_wall_best_of_3": predict,
        "summary": {"wall_best": best["wall"], "torch_wall_best": best_torch["wall"],
                    "torch_over_ours": best_torch["wall"] / best["wall"], "wall_over_step_sum": best["wall"] / step_sum,
                    "first_step": best["seconds"]["first_step"], "predict_wall": predict},
    }
    print(f"load average (1 min) over the runs: {', '.join(f'{x:.1f}' for x in loads)} on {os.cpu_count()} CPUs")
    for lib in results["machine"]["blas"]:
        print(f"BLAS: {lib['library']} {lib['version']}, kernel {lib['kernel']}, {lib['threads']} threads")
    print(f"torch {best_torch['torch']}, {best_torch['threads']} threads")
    print(f"\n{'round':>5}  {'tinygrad_lab s':>14}  {'torch s':>8}  {'torch/ours':>10}")
    for i, (a, b) in enumerate(zip(ours, theirs), 1):
        print(f"{i:>5}  {a['wall']:>14.2f}  {b['wall']:>8.2f}  {b['wall'] / a['wall']:>10.2f}")
    print(f"{'best':>5}  {best['wall']:>14.2f}  {best_torch['wall']:>8.2f}  {best_torch['wall'] / best['wall']:>10.2f}")
    print("\ntinygrad_lab's best run, seconds: " + ", ".join(f"{k} {best['seconds'][k]:.2f}"
                                                            for k in ("start", *PARTS)))
    print(f"wall / sum of step times: {best['wall'] / step_sum:.2f}   (first step {best['seconds']['first_step']:.3f} s)")
    print(f"test accuracy: tinygrad_lab {100 * best['test_accuracy']:.2f}%, torch "
          f"{100 * best_torch['test_accuracy']:.2f}%")
    print(f"predict model.npz digit.png: {predict:.2f} s wall (best of 3)")
    args.json.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
