"""The ``tinygrad-lab`` command line: one sub-command per module that registers one."""
from __future__ import annotations

import argparse
import importlib
import sys

#: modules that define ``add_parser(subparsers)``; each sets ``func`` on its parser
COMMAND_MODULES = [
    "tinygrad_lab.commands.train",
    "tinygrad_lab.commands.evaluate",
    "tinygrad_lab.commands.predict",
    "tinygrad_lab.commands.gradcheck",
    "tinygrad_lab.commands.explain",
    "tinygrad_lab.commands.experiment",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tinygrad-lab",
        description="A from-scratch autograd framework for studying backprop: training, checks and "
                    "the textbook experiments.")
    from tinygrad_lab import __version__
    parser.add_argument("--version", action="version", version=f"tinygrad-lab {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
