"""The ``tinygrad-lab`` command line: one sub-command per module that registers one.

Every error ends the command with one line on stderr, ``tinygrad-lab COMMAND: what is wrong``,
naming the option and its value: exit status 2 for a usage error (an option's value cannot be
used), 1 for a runtime error (a file, the data, the disk, memory).  ``--debug`` shows the
traceback instead.  A closed output pipe (``… | head -1``) ends the command quietly, with the
status 141 of a process killed by SIGPIPE.
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys

#: modules that define ``add_parser(subparsers)``; each sets ``func`` on its parser
COMMAND_MODULES = [
    "tinygrad_lab.commands.train",
    "tinygrad_lab.commands.evaluate",
    "tinygrad_lab.commands.predict",
    "tinygrad_lab.commands.gradcheck",
    "tinygrad_lab.commands.explain",
    "tinygrad_lab.commands.check_backprop",
    "tinygrad_lab.commands.experiment",
]
BROKEN_PIPE_STATUS = 141   # 128 + SIGPIPE, as the shell reports a process killed by a closed pipe


class CommandError(Exception):
    """A command's one-line error; ``status`` 2 for a usage error, 1 for a runtime one."""

    def __init__(self, message: str, status: int = 1):
        super().__init__(message)
        self.status = status


class UsageError(CommandError):
    """An option's value cannot be used (exit status 2)."""

    def __init__(self, message: str):
        super().__init__(message, status=2)


class OneLineParser(argparse.ArgumentParser):
    """argparse with its errors on one line (no usage dump), exit status 2."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="tinygrad-lab",
        description="A from-scratch autograd framework for studying backprop: training, checks and "
                    "the textbook experiments.")
    from tinygrad_lab import __version__
    parser.add_argument("--version", action="version", version=f"tinygrad-lab {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).add_parser(subparsers)
    for command in subparsers.choices.values():
        command.add_argument("--debug", action="store_true", help="show the traceback of an error")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    prog = f"tinygrad-lab {args.command}"
    try:
        status = int(args.func(args) or 0)
        sys.stdout.flush()                      # a closed pipe shows here, not at interpreter exit
        return status
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return BROKEN_PIPE_STATUS
    except CommandError as e:
        if getattr(args, "debug", False):
            raise
        if e.status == 1:
            raise SystemExit(f"{prog}: {e}") from None
        print(f"{prog}: {e}", file=sys.stderr)
        raise SystemExit(e.status) from None
    except KeyboardInterrupt:
        if getattr(args, "debug", False):
            raise
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    except Exception as e:                     # a bug, or an error no check foresaw: still one line
        if getattr(args, "debug", False):
            raise
        raise SystemExit(f"{prog}: {type(e).__name__}: {e} (run with --debug for the traceback)") from None


def console() -> None:
    """The ``tinygrad-lab`` executable: :func:`main`, then the process ends without tearing the
    interpreter down.  By then the command has closed every file it wrote and released its run
    folder; what teardown would add is freeing numba's compiled code and matplotlib's objects one
    by one (0.2–0.4 s after a training run), which ``os._exit`` skips, as mypy's command line does.
    An error's message (``SystemExit("…")``) goes to stderr with status 1, as the interpreter
    prints it; a ``--debug`` traceback takes the interpreter's own way out."""
    try:
        status = main()
    except SystemExit as e:
        if isinstance(e.code, str):
            print(e.code, file=sys.stderr)
        status = 1 if isinstance(e.code, str) else int(e.code or 0)
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        status = BROKEN_PIPE_STATUS
    sys.stderr.flush()
    os._exit(status)


if __name__ == "__main__":   # python -m tinygrad_lab.cli: run the imported module, whose error classes the commands raise
    from tinygrad_lab import cli
    cli.console()
