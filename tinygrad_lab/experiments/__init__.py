"""The lab's experiments, one module each.

Convention (the ``tinygrad-lab experiment NAME`` command builds on it): an experiment module
defines ``NAME`` (the sub-command name), ``HELP`` (one line), ``add_arguments(parser)`` (argparse)
and ``run(args) -> int`` (the exit status), and writes into ``args.out``. :func:`main` runs one
module, stand-alone too (``python -m tinygrad_lab.experiments.quadratic`` works without the CLI),
under the rule of every command that writes a folder (:mod:`tinygrad_lab.run_folder`): ``--out`` is
locked while the experiment runs, and one that already holds files is refused unless ``--force``.
"""

from __future__ import annotations

import argparse
import ast
from pathlib import Path
from types import ModuleType

#: module names under tinygrad_lab.experiments (other issues append theirs)
EXPERIMENT_MODULES = [
    "quadratic", "lr_decay", "init_stats", "hessian", "mnist_optimizers", "mnist_inits", "batchnorm",
]


def describe(module_name: str) -> tuple[str, str]:
    """(NAME, HELP) of the experiment module ``module_name``, read from its source without importing
    it (so ``tinygrad-lab --help`` imports no experiment)."""
    source = (Path(__file__).parent / f"{module_name}.py").read_text(encoding="utf-8")
    found = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            if node.targets[0].id in ("NAME", "HELP"):
                found[node.targets[0].id] = ast.literal_eval(node.value)
    return found["NAME"], found["HELP"]


def parser(module: ModuleType) -> argparse.ArgumentParser:
    """The argument parser of one experiment module (its own arguments, and ``--force``)."""
    p = argparse.ArgumentParser(prog=f"tinygrad-lab experiment {module.NAME}", description=module.HELP)
    module.add_arguments(p)
    p.add_argument("--force", action="store_true",
                   help="write into an --out that already holds files (files of the same names are replaced)")
    return p


def main(module: ModuleType, argv: list[str] | None = None) -> int:
    """Parse ``argv`` with the module's arguments and run it in its locked ``--out`` folder."""
    from tinygrad_lab.run_folder import RunFolder, RunFolderError

    p = parser(module)
    args = p.parse_args(argv)
    folder = RunFolder(args.out)
    try:
        folder.acquire()
        folder.refuse_if_not_empty(args.force)
        return int(module.run(args) or 0)
    except RunFolderError as e:
        raise SystemExit(f"{p.prog}: --out {e}") from None
    finally:
        folder.release()


def pyplot():
    """matplotlib.pyplot, imported on first use.  The backend is left as the user has it (matplotlib
    picks the non-interactive Agg by itself when there is no display); figures are saved to files
    and closed."""
    import matplotlib.pyplot as plt

    return plt
