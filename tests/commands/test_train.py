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
    assert lines[0].startswith("epoch,train_loss,test_loss,test_accuracy") and len(lines) == 2


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
    assert "predicted" in capsys.readouterr().out


@pytest.mark.parametrize("argv, message", [
    (["train", "--hidden", "a,b"], "bad layer sizes 'a,b'"),
    (["train", "--epochs", "0", "--dataset", "mnist-sample"], "epochs must be >= 1"),
    (["train", "--sizes", "784-10", "--hidden", "5"], "--sizes or --hidden, not both"),
    (["evaluate", "nowhere.npz"], "nowhere.npz does not exist"),
    (["predict", "nowhere.npz"], "either IMAGE or --index"),
])
def test_bad_options_are_named(argv, message):
    with pytest.raises(SystemExit, match=message):
        main(argv)
