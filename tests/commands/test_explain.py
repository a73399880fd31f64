import shutil

import numpy as np

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


def test_explain_on_own_weights_x_and_t(tmp_path, capsys):
    path = tmp_path / "mine.npz"
    np.savez(path, W0=np.arange(6.0).reshape(3, 2) / 10, b0=np.zeros(3), W1=np.ones((2, 3)), b1=np.array([0.5, -0.5]))
    assert main(["explain", "--weights", str(path), "--x", "0.1,0.2", "--t", "1,0"]) == 0
    out = capsys.readouterr().out
    assert "x = a(0) = [0.1  0.2]" in out and "t        = [1  0]" in out
    assert "W(1) = [[  0  0.1]" in out and "b(2) = [ 0.5  -0.5]" in out
    assert float(out.split("max difference = ")[1].split()[0]) < 1e-8


@pytest.mark.parametrize("argv, status, message", [
    (["--weights", "{dir}/missing.npz"], 1, "missing.npz: cannot read it as an .npz of arrays"),
    (["--weights", "{dir}/mine.npz", "--x", "1,2,3"], 1, "x has shape (3,), expected (2,) (n0, the columns of W0)"),
    (["--weights", "{dir}/mine.npz", "--sizes", "2-4-2"], 1, "sizes 2-4-2 differ from the weights' 2-3-2"),
    (["--x", "0.1,zero"], 2, "argument --x: expected numbers joined by ',', like 0.5,-1; got '0.1,zero'"),
])
def test_bad_weights_and_samples_exit_with_one_line(tmp_path, capsys, argv, status, message):
    np.savez(tmp_path / "mine.npz", W0=np.ones((3, 2)), b0=np.zeros(3), W1=np.ones((2, 3)), b1=np.zeros(2))
    with pytest.raises(SystemExit) as exit_info:
        main(["explain", *[a.format(dir=tmp_path) for a in argv]])
    code = exit_info.value.code
    text = capsys.readouterr().err if status == 2 else str(code)
    assert (code == 2) == (status == 2) and message in text and len(text.strip().splitlines()) == 1
