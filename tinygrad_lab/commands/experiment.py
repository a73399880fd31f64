"""``tinygrad-lab experiment NAME``: one sub-command per module in ``EXPERIMENT_MODULES``."""
from __future__ import annotations

import importlib

from tinygrad_lab.experiments import EXPERIMENT_MODULES


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("experiment", help="run one of the seeds' experiments")
    experiments = p.add_subparsers(dest="experiment", metavar="EXPERIMENT", required=True)
    for name in EXPERIMENT_MODULES:
        module = importlib.import_module(f"tinygrad_lab.experiments.{name}")
        sub = experiments.add_parser(module.NAME, help=module.HELP, description=module.HELP)
        module.add_arguments(sub)
        sub.set_defaults(func=module.run)
