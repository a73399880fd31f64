"""Imports stay light and acyclic.

* importing the package or one optimizer loads no experiment, no forward mode, no Hessian tools and
  no matplotlib; ``tinygrad-lab --help`` imports no experiment module;
* the library never calls ``matplotlib.use`` (that would switch a notebook user's backend);
* every module imports first in a fresh interpreter (a cycle through module-level imports fails
  there), and the static graph of all imports, function-level ones included, of the modules this
  project keeps cycle-free (``ACYCLIC``) has no cycle.
"""
import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "tinygrad_lab"
MODULES = sorted(".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
                 for p in PACKAGE.rglob("*.py"))
#: modules (and their submodules) that the library and the CLI's help must not import; a name ending
#: in "." means the package's submodules only
HEAVY = ("tinygrad_lab.experiments.", "tinygrad_lab.forward_ad", "tinygrad_lab.func", "tinygrad_lab.optim.newton",
         "matplotlib")


def heavy_modules(modules: list[str]) -> list[str]:
    return [m for m in modules
            if any(m.startswith(h) if h.endswith(".") else m == h or m.startswith(h + ".") for h in HEAVY)]


def loaded_after(code: str) -> list[str]:
    out = subprocess.run([sys.executable, "-c", code + "\nimport sys; print('\\n'.join(sys.modules))"],
                         capture_output=True, text=True, check=True, cwd=ROOT)
    return out.stdout.split()


@pytest.mark.parametrize("code", ["import tinygrad_lab", "from tinygrad_lab.optim import Adam",
                                  "from tinygrad_lab import nn; nn.MLP([2, 2])"])
def test_importing_the_library_stays_light(code):
    heavy = heavy_modules(loaded_after(code))
    assert not heavy, f"{code!r} imported {heavy}"


def test_help_imports_no_experiment():
    code = ("from tinygrad_lab.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            "try:\n    main(['experiment', '--help'])\nexcept SystemExit:\n    pass")
    heavy = heavy_modules(loaded_after(code))
    assert not heavy


def test_newton_step_is_loaded_on_first_use():
    assert "tinygrad_lab.optim.newton" in loaded_after("from tinygrad_lab.optim import newton_step_")


def test_the_library_never_calls_matplotlib_use():
    offenders = [str(p) for p in PACKAGE.rglob("*.py") if "matplotlib.use(" in p.read_text(encoding="utf-8")]
    assert not offenders


@pytest.mark.parametrize("module", MODULES)
def test_module_imports_first_in_a_fresh_interpreter(module):
    subprocess.run([sys.executable, "-c", f"import {module}"], check=True, cwd=ROOT)


def import_graph() -> dict[str, set[str]]:
    """module -> the package modules it imports anywhere (module level or inside functions)."""
    graph = {}
    for path in PACKAGE.rglob("*.py"):
        name = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = ".".join(package.split(".")[:len(package.split(".")) - node.level + 1] + ([base] if base else []))
                names = {f"{base}.{a.name}" for a in node.names}
                targets |= (names & set(MODULES)) or {base}      # `from pkg import module`: the module
        if "importlib.import_module(f\"" + name in path.read_text(encoding="utf-8"):
            targets |= {m for m in MODULES if m.startswith(name + ".")}   # a registry importing its modules
        graph[name] = {t for t in targets if t in MODULES and t != name}
    return graph


def cycles(graph, nodes) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), within ``nodes``."""
    index, low, stack, on, found, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v] & nodes:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(nodes):
        if v not in index:
            visit(v)
    return found


#: the cycles allowed: none.  tensor.py imports nothing of the graph machinery (ops binds Tensor's
#: operators, autograd provides Tensor.backward); data.sample (the builder) imports data.datasets.
KNOWN = []


def test_no_import_cycle_but_the_known_ones():
    assert [c for c in cycles(import_graph(), set(MODULES)) if c not in KNOWN] == []


def test_the_cycle_finder_finds_one():
    assert cycles({"a": {"b"}, "b": {"a"}, "c": set()}, {"a", "b", "c"}) == [["a", "b"]]
