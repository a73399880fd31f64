import shutil

import pytest

from tinygrad_lab.cli import main


def test_explain_prints_forward_backward_and_check(capsys):
    assert main(["explain"]) == 0
    out = capsys.readouterr().out
    assert "Forward pass" in out and "δ(2) = (a(2) − t) ⊙ σ'(z(2))" in out
    assert "δ(1) = σ'(z(1)) ⊙ W(2)ᵀ δ(2)" in out
    assert float(out.split("max difference = ")[1].split()[0]) < 1e-8
    assert max(len(line) for line in out.splitlines()) <= 80


def test_explain_options(capsys):
    assert main(["explain", "--sizes", "3-4-3", "--activation", "tanh", "--loss", "cross-entropy",
                 "--seed", "5"]) == 0
    out = capsys.readouterr().out
    assert "3-4-3 MLP" in out and "tanh" in out and "δ(2) = softmax(z(2)) − onehot(t)" in out


@pytest.mark.parametrize("argv, message", [
    (["--sizes", "2-0-2"], "argument --sizes: every layer needs at least one unit"),
    (["--sizes", "two-three"], "argument --sizes: sizes must be widths joined by '-'"),
    (["--activation", "swish"], "argument --activation: invalid choice: 'swish'"),
    (["--loss", "hinge"], "argument --loss: invalid choice: 'hinge'"),
])
def test_bad_options_are_usage_errors(capsys, argv, message):
    with pytest.raises(SystemExit) as exit_info:
        main(["explain", *argv])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("argv, message", [
    (["--sizes", "2-1", "--loss", "cross-entropy"], "at least 2 output classes"),
    (["--dot", "graph.txt"], "use a .svg, .png, .pdf or .dot file name"),
])
def test_invalid_combinations_exit_with_a_message(capsys, argv, message):
    with pytest.raises(SystemExit) as exit_info:
        main(["explain", *argv])
    assert message in str(exit_info.value.code)
    assert capsys.readouterr().out == ""


def test_dot_option_writes_the_graph(tmp_path, capsys):
    path = tmp_path / "graph.dot"
    assert main(["explain", "--dot", str(path)]) == 0
    text = path.read_text()
    assert text.startswith("digraph") and "Affine" in text and 'label="W(1)\\n' in text
    assert f"written to {path}" in capsys.readouterr().out


@pytest.mark.skipif(shutil.which("dot") is None,
                    reason="Graphviz `dot` is not installed (apt-get install graphviz)")
def test_dot_option_renders_svg(tmp_path):
    assert main(["explain", "--dot", str(tmp_path / "graph.svg")]) == 0
    assert b"<svg" in (tmp_path / "graph.svg").read_bytes()[:400]
