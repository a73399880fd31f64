"""train, evaluate and predict from the command line, on the bundled sample."""
import numpy as np
import pytest

from tinygrad_lab.cli import main


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    assert main(["train", "--dataset", "mnist-sample", "--hidden", "32", "--epochs", "1", "--batch-size",
                 "64", "--out", str(out), "--no-progress", "--backend", "numpy"]) == 0
    return out


def test_train_writes_its_reports(trained):
    for name in ("metrics.csv", "metrics.json", "model.npz", "checkpoint.npz", "curves.png"):
        assert (trained / name).stat().st_size > 0
    lines = (trained / "metrics.csv").read_text().splitlines()
    assert lines[0].startswith("epoch,train_loss,val_loss,val_accuracy,test_loss,test_accuracy") and len(lines) == 2


def test_evaluate_prints_accuracy_and_confusion(trained, capsys):
    assert main(["evaluate", str(trained / "model.npz")]) == 0
    out = capsys.readouterr().out
    assert "test accuracy" in out and "confusion matrix" in out
    rows = [line.split() for line in out.splitlines() if line[:4].strip().isdigit()]
    counts = np.array([[int(c) for c in row[1:]] for row in rows])
    assert counts.shape == (10, 10) and counts.sum() == 1000
    assert (trained / "confusion.png").exists()


def test_predict_by_index_and_png(trained, tmp_path, capsys):
    assert main(["predict", str(trained / "model.npz"), "--index", "0"]) == 0
    assert "true label" in capsys.readouterr().out
    import matplotlib.pyplot as plt
    from tinygrad_lab.data import load_sample
    digit = load_sample().test_images[0]
    plt.imsave(tmp_path / "digit.png", 255 - digit, cmap="gray", vmin=0, vmax=255)  # dark on light
    assert main(["predict", str(trained / "model.npz"), str(tmp_path / "digit.png")]) == 0
    assert capsys.readouterr().out.startswith(f"{tmp_path / 'digit.png'}: ")


def _error(argv, capsys) -> tuple[int, str]:
    """(exit status, the one stderr line) of a command that fails."""
    with pytest.raises(SystemExit) as caught:
        main(argv)
    stderr = capsys.readouterr().err
    if isinstance(caught.value.code, str):
        assert stderr == ""
        return 1, caught.value.code
    assert len(stderr.splitlines()) == 1, stderr
    return caught.value.code, stderr.strip()


@pytest.mark.parametrize("argv, status, message", [
    (["train", "--hidden", "a,b"], 2, r"train: --hidden a,b: not a list of integers"),
    (["train", "--epochs", "0"], 2, r"train: --epochs 0: must be an integer >= 1$"),
    (["train", "--sizes", "784-10", "--hidden", "5"], 2, r"--sizes and --hidden: give one of them, not both"),
    (["train", "--seed", "-1"], 2, r"train: --seed -1: must be an integer >= 0$"),
    (["train", "--lr", "inf"], 2, r"argument --lr: must be a finite number, got 'inf'"),
    (["train", "--lr-schedule", "step:inf"], 2, r"--lr-schedule step:inf: EPOCHS must be an integer"),
    (["train", "--sizes", "784-16-5", "--dataset", "mnist-sample", "--out", "OUT"], 2,
     r"--sizes 784-16-5: the output layer has 5 units but the data has 10 classes"),
    (["train", "--hidden", "1000000000"], 2, r"--hidden 1000000000: the run needs about .* GiB of memory is available"),
    (["train", "--out", "FILE"], 1, r"--out .*FILE is a file, not a folder"),
    (["train", "--resume", "missing.npz"], 1, r"--resume missing\.npz: no such checkpoint file"),
    (["train", "--resume", "RUN/model.npz"], 1, r"not a training checkpoint \(a model\.npz\?"),
    (["train", "--resume", "RUN/checkpoint.npz", "--epochs", "0"], 2, r"--epochs 0: must be an integer >= 1"),
    (["evaluate", "nowhere.npz"], 1, r"checkpoint nowhere\.npz does not exist"),
    (["evaluate", "RUN/model.npz", "--dataset", "bogus"], 2, r"argument --dataset: invalid choice: 'bogus'"),
    (["evaluate", "RUN/model.npz", "--data-dir", "FILE"], 1, r"--data-dir .*FILE is not a folder"),
    (["predict", "nowhere.npz"], 2, r"give IMAGE files or --index N"),
    (["predict", "RUN/model.npz", "FILE"], 1, r"FILE: cannot read it as an image"),
    (["predict", "RUN/model.npz", "--index", "-3"], 2, r"--index -3: outside \[0, 1000\)"),
])
def test_every_cli_error_is_one_line_with_its_status(trained, tmp_path, capsys, argv, status, message):
    (tmp_path / "FILE").write_text("not an image, not a folder")
    argv = [a.replace("RUN", str(trained)).replace("FILE", str(tmp_path / "FILE")).replace("OUT", str(tmp_path / "o"))
            for a in argv]
    code, line = _error(argv, capsys)
    assert code == status, line
    assert line.startswith(f"tinygrad-lab {argv[0]}: ") and "Traceback" not in line
    assert __import__("re").search(message, line), line


def test_debug_shows_the_traceback(capsys):
    from tinygrad_lab.cli import CommandError
    with pytest.raises(CommandError, match="no such checkpoint file"):
        main(["train", "--resume", "missing.npz", "--debug"])
