"""The seeds' experiments, one module each: ``tinygrad-lab experiment <NAME>`` runs one.

Each module defines ``NAME``, ``HELP``, ``add_arguments(parser)`` and ``run(args) -> int``.
"""

#: module names under tinygrad_lab.experiments
EXPERIMENT_MODULES = ["hessian"]
