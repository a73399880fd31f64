import pytest

from tinygrad_lab.cli import main
from tinygrad_lab.op_catalogue import CASES


def test_gradcheck_command_prints_a_passing_row_per_op(capsys):
    assert main(["gradcheck", "--samples", "1"]) == 0
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines()[1:-1]]
    assert len(rows) == len(CASES)
    assert all(row.split()[-1] == "yes" for row in rows)
    assert f"{len(CASES)} of {len(CASES)} ops pass" in out


def test_gradcheck_command_filters_and_rejects_unknown_ops(capsys):
    assert main(["gradcheck", "--op", "matmul", "--op", "relu"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 4
    with pytest.raises(SystemExit, match="unknown op 'conv2d'"):
        main(["gradcheck", "--op", "conv2d"])
    with pytest.raises(SystemExit, match="--samples must be >= 1, got 0"):
        main(["gradcheck", "--samples", "0"])


def test_help_lists_the_commands(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    assert "gradcheck" in capsys.readouterr().out


USER_OPS = '''
import numpy as np
from tinygrad_lab import ops
from tinygrad_lab.function import Function


class Cube(Function, register=True):
    """y = x³, ∂y/∂x = 3x²."""

    def forward(self, x):
        return x ** 3

    def backward(self, gy, x, y):
        return gy * 3 * x * x


class WrongProduct(Function, register=True):
    """y = a·b with the gradient of a forgotten factor: gradcheck must say NO."""

    def forward(self, a, b):
        return a * b

    def backward(self, gy, a, b, y):
        return gy * b * 2, gy * a


class Private(Function):                  # not registered: stays out of the table
    def forward(self, x):
        return x
'''


@pytest.fixture(autouse=True)
def restore_registry(monkeypatch):
    """The user ops these tests import register themselves: keep them out of the package's REGISTRY."""
    from tinygrad_lab import function
    monkeypatch.setattr(function, "REGISTRY", dict(function.REGISTRY))


def test_gradcheck_module_adds_the_functions_a_user_module_registers(tmp_path, monkeypatch, capsys):
    (tmp_path / "my_ops_registered.py").write_text(USER_OPS)
    monkeypatch.chdir(tmp_path)          # importable from the current folder, as with `python -m`
    assert main(["gradcheck", "--module", "my_ops_registered", "--op", "Cube", "--op", "WrongProduct",
                 "--samples", "2"]) == 1
    rows = {line.split()[0]: line.split()[-1] for line in capsys.readouterr().out.splitlines()[1:-1]}
    assert rows == {"Cube": "yes", "WrongProduct": "NO"}
    assert main(["gradcheck", "--module", "my_ops_registered", "--samples", "1"]) == 1
    out = capsys.readouterr().out
    assert f"{len(CASES) + 1} of {len(CASES) + 2} ops pass" in out and "Private" not in out


def test_gradcheck_module_cases_choose_shapes_and_domain(tmp_path, monkeypatch, capsys):
    (tmp_path / "my_ops_cases.py").write_text(
        "from tinygrad_lab.op_catalogue import OpCase, unary\n"
        "from tinygrad_lab.testing import positive\n"
        "CASES = [OpCase('my_log', unary(), lambda x: x.log(), lambda x: [positive(x)])]\n")
    monkeypatch.chdir(tmp_path)
    assert main(["gradcheck", "--module", "my_ops_cases", "--op", "my_log"]) == 0
    assert "1 of 1 ops pass" in capsys.readouterr().out


@pytest.mark.parametrize("source, message", [
    (None, r"--module my_ops_missing: cannot import it \(ModuleNotFoundError: No module named 'my_ops_missing'\)"),
    ("x = 1\n", r"--module my_ops_missing: defines no CASES and no Function with register=True"),
    ("CASES = [1]\n", r"CASES must be a list of tinygrad_lab.op_catalogue.OpCase"),
    ("from tinygrad_lab.op_catalogue import CASES\nCASES = CASES[:1]\n", r"has the name of an op already"),
])
def test_gradcheck_module_errors_are_one_line_usage_errors(tmp_path, monkeypatch, capsys, source, message):
    if source is not None:
        (tmp_path / "my_ops_missing.py").write_text(source)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delitem(__import__("sys").modules, "my_ops_missing", raising=False)
    with pytest.raises(SystemExit) as caught:
        main(["gradcheck", "--module", "my_ops_missing"])
    assert caught.value.code == 2
    line = capsys.readouterr().err.strip()
    assert line.startswith("tinygrad-lab gradcheck: --module my_ops_missing") and "\n" not in line
    assert __import__("re").search(message, line), line
