"""``tinygrad-lab check-backprop FILE.py:FUNC``: check a hand-written backprop ``FUNC(W, b, x, t) ->
(dW, db)`` against the homework's recursion and name the mistake (see :mod:`tinygrad_lab.check_backprop`).
Exit status 0 when it is right, 1 when it is wrong, 2 on a usage error."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path


def add_parser(subparsers) -> None:
    from tinygrad_lab.activations import REGISTRY as ACTIVATIONS
    from tinygrad_lab.commands.explain import sizes_type

    p = subparsers.add_parser(
        "check-backprop", help="check your own backprop FUNC(W, b, x, t) -> (dW, db) on random nets: "
        "which output is wrong first, and which known mistake reproduces your numbers")
    p.add_argument("target", metavar="FILE.py:FUNC", help="the file and the name of your function")
    p.add_argument("--sizes", type=sizes_type, default=[2, 3, 2], metavar="N-N-N",
                   help="layer widths, input first (default 2-3-2)")
    p.add_argument("--activation", choices=list(ACTIVATIONS), default="sigmoid",
                   help="σ of every layer, output included (default sigmoid)")
    p.add_argument("--trials", type=int, default=20, help="random nets and samples (default 20)")
    p.add_argument("--seed", type=int, default=0, help="seed of the nets (default 0)")
    p.set_defaults(func=run)


def load_function(target: str):
    """The function FUNC of FILE.py, imported from its path (its folder first on sys.path, so
    its own imports work); :class:`~tinygrad_lab.cli.UsageError` naming what is missing."""
    from tinygrad_lab.cli import UsageError

    path_text, _, name = target.rpartition(":")
    if not path_text or not name:
        raise UsageError(f"expected FILE.py:FUNCTION, like mine.py:backprop; got {target!r}")
    path = Path(path_text)
    if not path.is_file():
        raise UsageError(f"{path_text}: no such file")
    spec = importlib.util.spec_from_file_location(f"_checked_{path.stem}", path)
    if spec is None:
        raise UsageError(f"{path_text}: not a Python file (FILE.py:FUNCTION)")
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(path.resolve().parent))
    try:
        spec.loader.exec_module(module)
    except Exception as err:                      # the student's file fails while importing
        where = _line_in(err, path)
        raise UsageError(f"{path_text}: cannot import it ({type(err).__name__}: {err}{where})") from None
    finally:
        sys.path.pop(0)
    fn = getattr(module, name, None)
    if not callable(fn):
        defined = sorted(k for k, v in vars(module).items()
                         if callable(v) and getattr(v, "__module__", None) == module.__name__)
        known = f"; it defines {', '.join(defined)}" if defined else ""
        raise UsageError(f"{path_text} has no function {name!r}{known}")
    return fn


def _line_in(err: Exception, path: Path) -> str:
    import traceback

    frames = [f for f in traceback.extract_tb(err.__traceback__) if Path(f.filename) == path.resolve()]
    return f", line {frames[-1].lineno}" if frames and not isinstance(err, SyntaxError) else ""


def run(args) -> int:
    from tinygrad_lab.check_backprop import check_backprop
    from tinygrad_lab.cli import UsageError

    if args.trials < 1:
        raise UsageError(f"--trials must be >= 1, got {args.trials}")
    report = check_backprop(load_function(args.target), args.sizes, args.activation, args.trials, args.seed)
    print(report)
    return 0 if report.ok else 1
