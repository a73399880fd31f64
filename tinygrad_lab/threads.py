"""BLAS threads: how many threads OpenBLAS may use for each matrix product, chosen by its size.

numpy hands every ``a @ b`` to OpenBLAS, which by default splits each product over all cores.  That
pays for large products, but a small one spends longer waking and joining threads than computing,
and on a loaded machine a thread that waits for a busy core stalls the whole product (a
128×784×512 product measured 3.7 ms with one thread and 52–72 ms with two on a busy 2-core
machine).  So the thread count is chosen per product:

    threads(m, k, n) = 1            if 2·m·k·n < SERIAL_BELOW_FLOPS
                       max_threads  otherwise

for a product of an m×k by a k×n matrix.  ``benchmarks/bench_threads.py`` measures each GEMM of
the benchmark MLPs at every thread count; :data:`SERIAL_BELOW_FLOPS` is the crossover it found.
A thread count always gives the same bits, but two counts may round differently (the split changes
the blocking of the sum over k; 14 % of a 128×784×512 float32 product differ in the last bits), so
the policy belongs to a run's record: ``train`` writes it into metrics.json and the checkpoint.

The size rule cannot see other load: on a machine whose cores are busy, a thread that waits for a
core stalls every product it shares (one busy process on a 2-core machine took the 784-(100×8)-10
MLP's step from 131k samples/s with one thread to 76k with two).  Choosing by measured speed instead
would make the bits of a run depend on the machine's load, so the policy stays a function of size;
:func:`busy_note` tells a run when one thread is likely faster (``train`` prints it).

Choose the policy with :func:`set_threads` (``"auto"``, or a fixed count), or with the environment
variable ``TINYGRAD_LAB_THREADS`` (read at first use).  ``OPENBLAS_NUM_THREADS`` still caps what
OpenBLAS starts with.  The count is set by the first product after the policy changes (one call
into OpenBLAS, about half a microsecond, skipped when the count is already right); from then on
:data:`matmul` is numpy's own ``np.matmul``, so a product costs no Python line of its own.
"""
from __future__ import annotations

import os

import numpy as np

ENV_VAR = "TINYGRAD_LAB_THREADS"

#: products below this many floating-point operations (2·m·k·n) run on one thread: OpenBLAS's own
#: limit (m·k·n ≤ 65536·4).  bench_threads.py finds no gain from a second thread up to about 1 MFLOP
#: and a mixed one up to 2.6 MFLOP (128×100×100 gains 1.27x, 100×128×100 loses), while switching the
#: count costs a few µs a product: a higher limit made the 784-(100×8)-10 step 6 % slower.
SERIAL_BELOW_FLOPS = 2 * 65536 * 4

_policy: int | str | None = None  # "auto" or a fixed count; None until first use
_blas = None  # threadpoolctl's controller of numpy's OpenBLAS, or False when there is none
_cap = 1  # the threads OpenBLAS started with
_current = 0  # the count last set, so that a product of the same class sets nothing


def _controller():
    global _blas, _cap
    if _blas is None:
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:
            _blas = False
        else:
            np.ones((2, 2)) @ np.ones((2, 2))  # make sure numpy's BLAS is loaded
            found = ThreadpoolController().select(internal_api="openblas").lib_controllers
            _blas = found[0] if found else False
            _cap = int(_blas.num_threads) if _blas else 1
    return _blas


def _parse(value) -> int | str:
    count = value
    if isinstance(value, str):
        if value.strip().lower() == "auto":
            return "auto"
        try:
            count = int(value.strip())
        except ValueError:
            count = None
    if isinstance(count, (bool, np.bool_)) or not isinstance(count, (int, np.integer)) or count < 1:
        raise ValueError(f"BLAS threads must be 'auto' or a positive integer, got {value!r}")
    return int(count)


def max_threads() -> int:
    """The threads OpenBLAS started with (its cap: ``OPENBLAS_NUM_THREADS`` or the core count)."""
    _controller()
    return _cap


def set_threads(value) -> None:
    """Use ``value`` BLAS threads for every product (a positive int), or choose by size (``"auto"``)."""
    global _policy, matmul
    _policy = _parse(value)
    matmul = _matmul_setting_threads  # the next product sets the count the new policy gives


def get_policy() -> int | str:
    """The active policy: ``"auto"`` or a fixed thread count."""
    global _policy
    if _policy is None:
        _policy = _parse(os.environ.get(ENV_VAR, "auto"))
    return _policy


def threads_for(m: int, k: int, n: int) -> int:
    """The thread count the policy gives a product of an m×k by a k×n matrix."""
    policy = get_policy()
    if policy != "auto":
        return policy
    return 1 if 2 * m * k * n < SERIAL_BELOW_FLOPS else max_threads()


def _matmul_setting_threads(a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``a @ b`` with the thread count :func:`threads_for` chooses for its size, set by the first
    product after a policy change; :data:`matmul` is then ``np.matmul`` itself until the next one.

    Under ``"auto"`` a product below :data:`SERIAL_BELOW_FLOPS` needs no switch: OpenBLAS runs
    it on one thread by the same rule, and switching the count back and forth costs a few µs a
    product, so the count stays at every thread and only a fixed policy ever changes it."""
    global _current, matmul
    if _blas is None:
        _controller()
    if _blas:
        policy = _policy if _policy is not None else get_policy()
        wanted = _cap if policy == "auto" else policy
        if wanted != _current:
            _blas.set_num_threads(wanted)
            _current = wanted
    matmul = np.matmul
    return np.matmul(a, b, out=out)


#: ``matmul(a, b, out=None)``: ``a @ b`` under the thread policy (read it as ``threads.matmul``: it
#: is rebound to ``np.matmul`` once the policy's count is set, and back when the policy changes)
matmul = _matmul_setting_threads


def busy_note() -> str | None:
    """A one-line hint when the policy may use several threads but the machine's load (the 1-minute
    average, this process included) leaves no core free; ``None`` otherwise."""
    if get_policy() == 1 or max_threads() == 1 or not hasattr(os, "getloadavg"):
        return None
    load, cores = os.getloadavg()[0], os.cpu_count() or 1
    if load < cores - 0.5:
        return None
    return (f"the machine is busy (load {load:.1f} on {cores} cores): one BLAS thread per product is likely "
            "faster (--threads 1 or TINYGRAD_LAB_THREADS=1)")


def describe() -> dict:
    """What the BLAS runs on, for metrics and benchmark records: library, kernel, threads, policy."""
    blas = _controller()
    if not blas:
        return {"library": "none found", "kernel": "none", "max_threads": 1, "policy": get_policy(),
                "serial_below_flops": SERIAL_BELOW_FLOPS}
    return {"library": f"{blas.internal_api} {blas.version}", "kernel": blas.architecture,
            "max_threads": max_threads(), "policy": get_policy(), "serial_below_flops": SERIAL_BELOW_FLOPS}
