"""``tinygrad-lab check-backprop FILE.py:FUNC``: the report on stdout; exit 0 right, 1 wrong, 2 usage."""
import pytest

from tinygrad_lab.cli import main

STUDENT = '''
import numpy as np


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def sigmoid_prime(z):
    return sigmoid(z) * (1 - sigmoid(z))


def backprop(W, b, x, t, sigma_prime_of_a=False):
    z1 = W[0] @ x + b[0]
    a1 = sigmoid(z1)
    z2 = W[1] @ a1 + b[1]
    a2 = sigmoid(z2)
    delta2 = (a2 - t) * sigmoid_prime(z2)
    delta1 = sigmoid_prime(a1 if sigma_prime_of_a else z1) * (W[1].T @ delta2)
    return [np.outer(delta1, x), np.outer(delta2, a1)], [delta1, delta2]


def backprop_wrong(W, b, x, t):
    return backprop(W, b, x, t, sigma_prime_of_a=True)


def backprop_crash(W, b, x, t):
    delta = W[1] @ W[1]
    return delta

NOT_A_FUNCTION = 3
'''


@pytest.fixture
def mine(tmp_path):
    path = tmp_path / "mine.py"
    path.write_text(STUDENT)
    return path


def test_a_right_function_exits_0_and_prints_the_table(mine, capsys):
    assert main(["check-backprop", f"{mine}:backprop", "--trials", "5"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("check_backprop(backprop): RIGHT on 5 random 2-3-2 sigmoid nets")
    assert "dW[1]" in out and "reference" in out


def test_a_wrong_function_exits_1_naming_the_output_and_the_mistake(mine, capsys):
    assert main(["check-backprop", f"{mine}:backprop_wrong"]) == 1
    out = capsys.readouterr().out
    assert "WRONG" in out and "first wrong output: dW[0]" in out
    assert "diagnosis: σ'(a(l)) is used where σ'(z(l)) is needed in the hidden layers" in out


def test_a_function_that_raises_exits_1_with_its_own_line(mine, capsys):
    assert main(["check-backprop", f"{mine}:backprop_crash"]) == 1
    out = capsys.readouterr().out
    line = STUDENT.splitlines().index("    delta = W[1] @ W[1]") + 1
    assert f"mine.py, line {line}, in backprop_crash: delta = W[1] @ W[1]" in out and "Traceback" not in out


def test_options_reach_the_check(mine, capsys):
    assert main(["check-backprop", f"{mine}:backprop", "--sizes", "2-4-2", "--activation", "sigmoid",
                 "--trials", "3", "--seed", "7"]) == 0
    assert "3 random 2-4-2 sigmoid nets" in capsys.readouterr().out


@pytest.mark.parametrize("target, options, message", [
    ("{dir}/missing.py:backprop", [], "{dir}/missing.py: no such file"),
    ("{dir}/mine.py:backprop_missing", [], "has no function 'backprop_missing'; it defines backprop, backprop_crash"),
    ("{dir}/mine.py:NOT_A_FUNCTION", [], "has no function 'NOT_A_FUNCTION'"),
    ("{dir}/mine.py", [], "expected FILE.py:FUNCTION, like mine.py:backprop"),
    ("{dir}/mine.py:backprop", ["--sizes", "2-x-2"], "argument --sizes: sizes must be widths joined by '-'"),
    ("{dir}/mine.py:backprop", ["--sizes", "0-3"], "argument --sizes: every layer needs at least one unit"),
    ("{dir}/mine.py:backprop", ["--activation", "swish"], "argument --activation: invalid choice: 'swish'"),
    ("{dir}/mine.py:backprop", ["--trials", "0"], "--trials must be >= 1, got 0"),
    ("{dir}/broken.py:backprop", [], "broken.py: cannot import it (NameError: name 'np' is not defined, line 1)"),
])
def test_usage_errors_exit_2_with_one_line(mine, capsys, target, options, message):
    (mine.parent / "broken.py").write_text("x = np.zeros(3)\n")
    with pytest.raises(SystemExit) as exit_info:
        main(["check-backprop", target.format(dir=mine.parent), *options])
    assert exit_info.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == "" and len(captured.err.strip().splitlines()) == 1
    assert message.format(dir=mine.parent) in captured.err


def test_the_students_own_imports_work(tmp_path, capsys):
    (tmp_path / "helpers.py").write_text(STUDENT)
    (tmp_path / "mine.py").write_text("from helpers import backprop as checked\n")
    assert main(["check-backprop", f"{tmp_path / 'mine.py'}:checked", "--trials", "2"]) == 0
