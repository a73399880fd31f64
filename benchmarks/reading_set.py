"""The reading set of one eager training step: which package files and lines a reader must follow.

    python benchmarks/reading_set.py            # table to stdout
    python benchmarks/reading_set.py --json out.json
    python benchmarks/reading_set.py --lines    # also every traced line, file by file

One warm step of ``nn.MLP([20, 32, 10])`` (float32, batch 16, cross-entropy, ``zero_grad``,
``backward``, Adam) is traced with ``sys.settrace``; every ``call`` and ``line`` event in a file of
the package counts the (file, line) pair once.  Printed: the number of files, the number of distinct
lines, the lines per file, and the package files that read the capture recorder
(``current_modes().recorder``), the hooks a captured step spies through.
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import re
import sys

import numpy as np

import tinygrad_lab as tg
from tinygrad_lab import Tensor, nn, optim


def trace_step() -> dict[str, list[int]]:
    """{package file: the distinct lines run, sorted} for one warm eager step, the file with the most lines first."""
    pkg = os.path.dirname(tg.__file__)
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(16, 20)).astype(np.float32), rng.integers(0, 10, 16)
    model = nn.MLP([20, 32, 10], seed=0, dtype=np.float32)
    opt = optim.Adam(model.parameters(), lr=1e-3)

    def step():
        opt.zero_grad()
        tg.cross_entropy(model(Tensor(x)), y).backward()
        opt.step()

    step()                                             # warm: kernels compiled, caches filled
    seen: set[tuple[str, int]] = set()

    def tracer(frame, event, arg):
        if frame.f_code.co_filename.startswith(pkg):
            if event in ("call", "line"):
                seen.add((frame.f_code.co_filename, frame.f_lineno))
            return tracer
        return None

    sys.settrace(tracer)
    try:
        step()
    finally:
        sys.settrace(None)
    per_file = collections.defaultdict(list)
    for f, line in sorted(seen):
        per_file[os.path.relpath(f, pkg)].append(line)
    return dict(sorted(per_file.items(), key=lambda item: -len(item[1])))


def recorder_readers() -> list[str]:
    """Package files outside capture.py and mode.py that read the capture recorder."""
    pkg = os.path.dirname(tg.__file__)
    found = []
    for root, _, files in os.walk(pkg):
        for name in files:
            path = os.path.join(root, name)
            rel = os.path.relpath(path, pkg)
            if name.endswith(".py") and rel not in ("capture.py", "mode.py"):
                with open(path, encoding="utf-8") as f:
                    if re.search(r"\.recorder\b", f.read()):
                        found.append(rel)
    return sorted(found)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--lines", action="store_true", help="also print every traced line, file by file")
    args = parser.parse_args()
    traced = trace_step()
    per_file = {name: len(lines) for name, lines in traced.items()}
    readers = recorder_readers()
    print(f"one eager step of nn.MLP([20, 32, 10]) + Adam: {len(per_file)} files, "
          f"{sum(per_file.values())} distinct lines")
    for name, lines in per_file.items():
        print(f"  {lines:4d}  {name}")
    if args.lines:
        pkg = os.path.dirname(tg.__file__)
        for name, lines in traced.items():
            with open(os.path.join(pkg, name), encoding="utf-8") as f:
                text = f.read().splitlines()
            for line in lines:
                print(f"{name}:{line}: {text[line - 1].rstrip()}")
    print(f"files reading the capture recorder (outside capture.py, mode.py): {len(readers)}: {', '.join(readers)}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"files": len(per_file), "lines": sum(per_file.values()), "per_file": per_file,
                       "recorder_readers": readers}, f, indent=1)


if __name__ == "__main__":
    main()
