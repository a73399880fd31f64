"""``tinygrad-lab gradcheck``: every op and layer of the catalogue against central differences."""
from __future__ import annotations

import numpy as np


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("gradcheck", help="check every op's and layer's gradient against central "
                              "differences (float64) and print a table")
    p.add_argument("--samples", type=int, default=5, help="random inputs per op (default 5)")
    p.add_argument("--seed", type=int, default=0, help="seed of the input generator (default 0)")
    p.add_argument("--op", action="append", metavar="NAME", help="check only this op (repeatable)")
    p.set_defaults(func=run)


def run(args) -> int:
    from tinygrad_lab.gradcheck import GradcheckError, gradcheck, max_errors
    from tinygrad_lab.op_catalogue import CASES, run_case

    if args.samples < 1:
        raise SystemExit(f"tinygrad-lab gradcheck: --samples must be >= 1, got {args.samples}")
    cases = CASES
    if args.op:
        known = {c.name for c in CASES}
        unknown = [n for n in args.op if n not in known]
        if unknown:
            raise SystemExit(f"tinygrad-lab gradcheck: unknown op {unknown[0]!r}; known: {', '.join(sorted(known))}")
        cases = [c for c in CASES if c.name in args.op]
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
