"""The sub-commands of ``tinygrad-lab``, one module each (see :mod:`tinygrad_lab.cli`)."""
