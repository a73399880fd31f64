"""``tinygrad-lab experiment NAME``: one sub-command per module in ``EXPERIMENT_MODULES``.

The parser is built without importing any experiment (each module's ``NAME`` and ``HELP`` are read
from its source); the chosen module is imported when it runs, and parses its own arguments.
"""
from __future__ import annotations

import argparse
import importlib

from tinygrad_lab.experiments import EXPERIMENT_MODULES, describe, main


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("experiment", help="run one of the lab's experiments")
    experiments = p.add_subparsers(dest="experiment", metavar="EXPERIMENT", required=True)
    for module_name in EXPERIMENT_MODULES:
        name, help_text = describe(module_name)
        sub = experiments.add_parser(name, help=help_text, description=help_text, add_help=False,
                                     prefix_chars="+")  # every option, --help too, goes to the experiment
        sub.add_argument("argv", nargs=argparse.REMAINDER, help="the experiment's options (see --help)")
        sub.set_defaults(func=lambda args, m=module_name: _run(m, args.argv))


def _run(module_name: str, argv: list[str]) -> int:
    return main(importlib.import_module(f"tinygrad_lab.experiments.{module_name}"), argv)
