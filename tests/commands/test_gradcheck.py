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
