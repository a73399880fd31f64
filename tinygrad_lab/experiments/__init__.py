"""The seeds' experiments, one module each.

Convention (the ``tinygrad-lab experiment NAME`` command builds on it): an experiment module
defines ``NAME`` (the sub-command name), ``HELP`` (one line), ``add_arguments(parser)`` (argparse)
and ``run(args) -> int`` (the exit status). :func:`main` runs one module stand-alone, so
``python -m tinygrad_lab.experiments.quadratic`` works without the CLI.
"""

from __future__ import annotations

import argparse
from types import ModuleType

#: module names under tinygrad_lab.experiments (other issues append theirs)
EXPERIMENT_MODULES = [
    "quadratic", "lr_decay", "init_stats", "hessian", "mnist_optimizers", "mnist_inits", "batchnorm",
]


def main(module: ModuleType, argv: list[str] | None = None) -> int:
    """Parse ``argv`` with the module's arguments and run it."""
    parser = argparse.ArgumentParser(prog=f"tinygrad-lab experiment {module.NAME}",
                                     description=module.HELP)
    module.add_arguments(parser)
    return int(module.run(parser.parse_args(argv)) or 0)


def pyplot():
    """matplotlib.pyplot on the non-interactive Agg backend (files only, no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt
