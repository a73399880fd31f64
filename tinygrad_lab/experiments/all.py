"""Regenerate the figures of ``docs/``: every experiment the docs embed, one subfolder each, named as
the experiment is on the command line and in its default ``runs/NAME`` folder.

    python -m tinygrad_lab.experiments.all --out docs/figures            # full runs (~20 s)
    python -m tinygrad_lab.experiments.all --out /tmp/figs --quick       # short runs (fewer files)

The experiments are the optimizer lab on the quadratics (``quadratic/``), the learning-rate
schedules (``lr-decay/``), the initialization lab (``init-stats/``) and the curvature experiment
(``hessian/``).  The MNIST experiments (a data set and minutes of training) run only with
``--mnist``; they are never imported otherwise, so this script needs no data and no network.
"""
from __future__ import annotations

import argparse
import importlib
import time
from pathlib import Path

from tinygrad_lab.experiments import main

#: (module, arguments of the full run, extra arguments of the quick run) for the docs' figures, each
#: written into ``--out``/NAME
DOCS_EXPERIMENTS = [
    ("quadratic", [], ["--function", "elongated", "--steps", "200"]),
    ("lr_decay", [], ["--epochs", "8", "--epoch-steps", "4"]),
    ("init_stats", [], ["--samples", "200", "--width", "50"]),
    ("hessian", [], ["--steps", "50"]),
]
#: the MNIST experiments (branch ``mnistexp``), each with its own ``--quick``
MNIST_EXPERIMENTS = [(name, [], ["--quick"]) for name in ("mnist_optimizers", "mnist_inits", "batchnorm")]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, default=Path("docs/figures"),
                        help="folder that receives one subfolder per experiment (default docs/figures)")
    parser.add_argument("--quick", action="store_true", help="short runs (a few seconds), for tests")
    parser.add_argument("--mnist", action="store_true",
                        help="also run the MNIST experiments (needs the data set; minutes)")


def run(args: argparse.Namespace) -> int:
    experiments = DOCS_EXPERIMENTS + (MNIST_EXPERIMENTS if args.mnist else [])
    for name, full, quick in experiments:
        module = importlib.import_module(f"tinygrad_lab.experiments.{name}")
        out = args.out / module.NAME
        argv = [*full, *(quick if args.quick else []), "--out", str(out), "--force"]
        start = time.perf_counter()
        status = main(module, argv)
        print(f"== {module.NAME}: exit {status} in {time.perf_counter() - start:.1f} s -> {out}\n")
        if status:
            return status
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m tinygrad_lab.experiments.all", description=__doc__.split("\n")[0])
    add_arguments(parser)
    raise SystemExit(run(parser.parse_args()))
