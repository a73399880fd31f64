"""The docs stay true: README.md and docs/*.md are checked as code.

* every ```python block runs as written (in a temporary folder); blocks that are not meant to run
  are fenced as ```text or ```console;
* every ```py block is a quote of the source: it follows a link ``[…](path#Symbol)`` naming a function
  or class (``Class.method`` for a method), and its non-blank lines are a run of consecutive non-blank
  lines of that symbol's current source, so a quote cannot drift from the code and an edit elsewhere
  in the file cannot break it;
* every local link (figures, source files) points to a file that exists.
"""
import ast
import re
from pathlib import Path

import pytest

from tinygrad_lab.function import REGISTRY

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)
LINK = re.compile(r"\]\(([^)\s]+)\)")
SYMBOL_ANCHOR = re.compile(r"\[[^\]]*\]\(([^)#]+\.py)#([A-Za-z_][\w.]*)\)\s*$")


def blocks(language: str):
    found = []
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        for match in FENCE.finditer(text):
            if match.group(1) == language:
                line = text.count("\n", 0, match.start()) + 1
                found.append(pytest.param(page, match, id=f"{page.relative_to(ROOT)}:{line}"))
    return found


def test_the_study_guide_pages_exist():
    names = {p.name for p in PAGES}
    assert names >= {"README.md", "backprop.md", "optimizers.md", "initialization.md", "gradcheck.md",
                     "architecture.md", "errors.md"}


@pytest.mark.parametrize("page, match", blocks("python"))
def test_python_block_runs(page, match, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    registered = dict(REGISTRY)            # a block may define a Function: keep it out of the op catalogue test
    try:
        exec(compile(match.group(2), str(page), "exec"), {"__name__": "__docs__"})
    finally:
        REGISTRY.clear()
        REGISTRY.update(registered)


def symbol_source(path: Path, symbol: str) -> list[str]:
    """The source lines of the function or class ``symbol`` (dotted for nesting) in ``path``."""
    text = path.read_text(encoding="utf-8")
    scope = ast.parse(text)
    for part in symbol.split("."):
        found = [n for n in ast.iter_child_nodes(scope)
                 if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and n.name == part]
        assert found, f"{path.name} defines no {symbol!r}"
        scope = found[0]
    return text.splitlines()[scope.lineno - 1:scope.end_lineno]


def is_run_of(quoted: list[str], source: list[str]) -> bool:
    return any(source[i:i + len(quoted)] == quoted for i in range(len(source) - len(quoted) + 1))


@pytest.mark.parametrize("page, match", blocks("py"))
def test_source_quote_matches_the_symbol(page, match):
    before = page.read_text(encoding="utf-8")[:match.start()].rstrip("\n").splitlines()
    anchor = SYMBOL_ANCHOR.search(before[-1]) if before else None
    assert anchor, f"a ```py quote in {page.name} must follow a link to file.py#Symbol, got {before[-1:]!r}"
    path = (page.parent / anchor.group(1)).resolve()
    source = [line for line in symbol_source(path, anchor.group(2)) if line.strip()]
    quoted = [line for line in match.group(2).splitlines() if line.strip()]
    assert quoted and is_run_of(quoted, source), (
        f"{page.name}: the quote of {anchor.group(1)}#{anchor.group(2)} is not in that symbol's source")


def test_a_quote_that_drifted_is_caught():
    source = ["def f(x):", "    y = x + 1", "    return y"]
    assert is_run_of(["    y = x + 1", "    return y"], source)
    assert not is_run_of(["    y = x + 2"], source)
    assert not is_run_of(["    return y", "    y = x + 1"], source)


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_local_links_exist(page):
    missing = []
    for target in LINK.findall(page.read_text(encoding="utf-8")):
        if re.match(r"[a-z]+:", target) or target.startswith("#"):
            continue                                          # web links and same-page anchors
        if not (page.parent / target.split("#")[0]).exists():
            missing.append(target)
    assert not missing, f"{page.name} links to missing files: {missing}"
