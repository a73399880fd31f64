"""The docs stay true: README.md and docs/*.md are checked as code.

* every ```python block runs as written (in a temporary folder); blocks that are not meant to run
  are fenced as ```text or ```console;
* every ```py block is a quote of the source: it follows a link ``[…](path#Lm-Ln)`` and each of its
  lines is one of the lines m..n of that file, so a quote cannot drift from the code;
* every local link (figures, source files) points to a file that exists.
"""
import re
from pathlib import Path

import pytest

from tinygrad_lab.function import REGISTRY

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)
LINK = re.compile(r"\]\(([^)\s]+)\)")
LINE_ANCHOR = re.compile(r"\[[^\]]*\]\(([^)#]+)#L(\d+)(?:-L(\d+))?\)\s*$")


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


@pytest.mark.parametrize("page, match", blocks("py"))
def test_source_quote_matches_the_file(page, match):
    before = page.read_text(encoding="utf-8")[:match.start()].rstrip("\n").splitlines()
    anchor = LINE_ANCHOR.search(before[-1]) if before else None
    assert anchor, f"a ```py quote in {page.name} must follow a link to file#Lm-Ln, got {before[-1:]!r}"
    path = (page.parent / anchor.group(1)).resolve()
    first = int(anchor.group(2))
    last = int(anchor.group(3) or first)
    source = path.read_text(encoding="utf-8").splitlines()[first - 1:last]
    quoted = [line for line in match.group(2).splitlines() if line.strip()]
    assert quoted == [line for line in source if line.strip()], (
        f"{page.name}: the quote of {anchor.group(1)}#L{first}-L{last} differs from the file")


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_local_links_exist(page):
    missing = []
    for target in LINK.findall(page.read_text(encoding="utf-8")):
        if re.match(r"[a-z]+:", target) or target.startswith("#"):
            continue                                          # web links and same-page anchors
        if not (page.parent / target.split("#")[0]).exists():
            missing.append(target)
    assert not missing, f"{page.name} links to missing files: {missing}"
