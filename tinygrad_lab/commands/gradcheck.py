"""``tinygrad-lab gradcheck``: every op and layer of the catalogue against central differences.

``--module NAME`` adds the ops of a module of your own, without editing the package: its ``CASES``
(a list of :class:`~tinygrad_lab.op_catalogue.OpCase`, to choose shapes and the op's domain), or else
one case per ``Function`` it defines with ``register=True``, called as ``MyOp.apply(x, ...)`` on
inputs of one shape with values in [−2, 2].
"""
from __future__ import annotations

import importlib
import inspect
import sys

import numpy as np


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("gradcheck", help="check every op's and layer's gradient against central "
                              "differences (float64) and print a table")
    p.add_argument("--samples", type=int, default=5, help="random inputs per op (default 5)")
    p.add_argument("--seed", type=int, default=0, help="seed of the input generator (default 0)")
    p.add_argument("--op", action="append", metavar="NAME", help="check only this op (repeatable)")
    p.add_argument("--module", action="append", metavar="MODULE",
                   help="also check the ops of this module (importable from the current folder or PYTHONPATH; "
                        "repeatable): its CASES list of OpCase, or else each Function it defines with "
                        "register=True, on inputs of one shape in [-2, 2]")
    p.set_defaults(func=run)


def module_cases(name: str) -> list:
    """The OpCases a user's module contributes (see the module docstring)."""
    from tinygrad_lab.cli import UsageError
    from tinygrad_lab.function import REGISTRY
    from tinygrad_lab.op_catalogue import OpCase, same_shape

    sys.path.insert(0, "")                # the current folder, as `python -m` has it
    try:
        module = importlib.import_module(name)
    except Exception as e:                # a missing module, or one that fails while importing
        raise UsageError(f"--module {name}: cannot import it ({type(e).__name__}: {e})") from None
    finally:
        sys.path.remove("")
    if hasattr(module, "CASES"):
        cases = list(module.CASES)
        if not all(isinstance(c, OpCase) for c in cases):
            raise UsageError(f"--module {name}: CASES must be a list of tinygrad_lab.op_catalogue.OpCase")
        return cases
    ops = [cls for cls in REGISTRY.values() if cls.__module__ == module.__name__]
    if not ops:
        raise UsageError(f"--module {name}: defines no CASES and no Function with register=True "
                         "(class MyOp(Function, register=True))")
    return [OpCase(cls.__name__, same_shape(len(inspect.signature(cls.forward).parameters) - 1), cls.apply)
            for cls in ops]


def run(args) -> int:
    from tinygrad_lab.cli import UsageError
    from tinygrad_lab.gradcheck import GradcheckError, gradcheck, max_errors
    from tinygrad_lab.op_catalogue import CASES, run_case

    if args.samples < 1:
        raise SystemExit(f"tinygrad-lab gradcheck: --samples must be >= 1, got {args.samples}")
    cases = list(CASES)
    for name in args.module or []:
        for case in module_cases(name):
            if any(c.name == case.name for c in cases):
                raise UsageError(f"--module {name}: op {case.name!r} has the name of an op already in the table")
            cases.append(case)
    if args.op:
        known = {c.name for c in cases}
        unknown = [n for n in args.op if n not in known]
        if unknown:
            raise SystemExit(f"tinygrad-lab gradcheck: unknown op {unknown[0]!r}; known: {', '.join(sorted(known))}")
        cases = [c for c in cases if c.name in args.op]
    rng = np.random.default_rng(args.seed)
    print(f"{'op':<22} {'max abs err':>12} {'max rel err':>12}  pass")
    failures = 0
    for case in cases:
        worst_abs = worst_rel = 0.0
        ok = True
        for _ in range(args.samples):
            fn, inputs = run_case(case, *case.sample(rng))
            abs_err, rel_err = max_errors(fn, inputs)
            worst_abs, worst_rel = max(worst_abs, abs_err), max(worst_rel, rel_err)
            try:
                gradcheck(fn, inputs)
            except GradcheckError:
                ok = False
        failures += not ok
        print(f"{case.name:<22} {worst_abs:>12.2e} {worst_rel:>12.2e}  {'yes' if ok else 'NO'}")
    print(f"{len(cases) - failures} of {len(cases)} ops pass ({args.samples} random inputs each, float64, "
          "eps 1e-6, atol 1e-5, rtol 1e-3)")
    return 1 if failures else 0
