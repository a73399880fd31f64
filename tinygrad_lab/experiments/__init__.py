"""The seeds' experiments, each a module with ``NAME``, ``HELP``, ``add_arguments(parser)`` and
``run(args) -> int``; ``tinygrad-lab experiment NAME`` runs one (see
:mod:`tinygrad_lab.commands.experiment`)."""

#: module names under ``tinygrad_lab.experiments``
EXPERIMENT_MODULES = ["init_stats"]
