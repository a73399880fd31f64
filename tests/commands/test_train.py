"""train, evaluate and predict from the command line, on the bundled sample."""
import contextlib
import io

import numpy as np
import pytest

from tinygrad_lab.cli import main


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        assert main(["train", "--dataset", "mnist-sample", "--hidden", "32", "--epochs", "1", "--batch-size",
                     "64", "--out", str(out), "--no-progress", "--backend", "numpy"]) == 0
    (out / "log.txt").write_text(stdout.getvalue())
    return out


def test_train_writes_its_reports(trained):
    for name in ("metrics.csv", "metrics.json", "model.npz", "checkpoint.npz", "curves.png"):
        assert (trained / name).stat().st_size > 0
    lines = (trained / "metrics.csv").read_text().splitlines()
    assert lines[0].startswith("epoch,train_loss,val_loss,val_accuracy,test_loss,test_accuracy") and len(lines) == 2


def test_train_holds_out_a_validation_set_and_says_the_test_set_is_only_reported(trained):
    metrics = __import__("json").loads((trained / "metrics.json").read_text())
    assert metrics["data"]["validation_samples"] == 500 and metrics["data"]["train_samples"] == 4500
    assert metrics["config"]["val_split"] == 500
    assert metrics["data"]["test_set"] == ("reported only: the lr schedule, early stopping and best.npz use the "
                                           "validation set")
    assert metrics["best"]["epoch"] == 1 and "best.npz" in metrics["files"]
    assert (trained / "log.txt").read_text().splitlines()[1] == (
        "validation: 500 samples held out from the training set (stratified by class, seed 0); the test set is "
        "reported only: the lr schedule, early stopping and best.npz use the validation set")


def test_best_npz_is_a_model_file_evaluate_reads(trained, capsys):
    assert main(["evaluate", str(trained / "best.npz")]) == 0
    assert "test accuracy" in capsys.readouterr().out


def test_resume_help_lists_the_options_a_resumed_run_may_change(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "only --data-dir, --epochs, --early-stopping, --checkpoint-every and the running options" in help_text


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
    (["train", "--val-split", "-1"], 2, r"train: --val-split -1: must be 0 \(no validation set\), a count"),
    (["train", "--val-split", "0.5x"], 2, r"argument --val-split: must be a finite number, got '0.5x'"),
    (["train", "--lr-schedule", "plateau", "--val-split", "0"], 2,
     r"--lr-schedule plateau: plateau steps on the validation loss, and the validation split is 0"),
    (["train", "--early-stopping", "0"], 2, r"train: --early-stopping 0: must be an integer >= 1$"),
    (["train", "--optimizer", "adagrad", "--momentum", "0.5"], 2, r"--momentum 0\.5: adagrad takes no momentum"),
    (["train", "--optimizer", "nesterov", "--momentum", "1"], 2, r"--momentum 1: must be in \(0, 1\) for nesterov"),
    (["train", "--dropout", "0.5", "--init", "kaiming_fan"], 2, r"--init kaiming_fan: unknown init 'kaiming_fan'; "
                                                                r"known: .*kaiming, kaiming_normal, kaiming_uniform"),
    (["train", "--resume", "RUN/checkpoint.npz", "--val-split", "0"], 2, r"drop --val-split"),
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


def test_a_batch_larger_than_the_training_set_trains_on_the_whole_set(tmp_path, capsys):
    assert main(["train", "--dataset", "mnist-sample", "--hidden", "16", "--epochs", "1", "--batch-size", "100000000",
                 "--out", str(tmp_path), "--no-progress", "--backend", "numpy"]) == 0
    assert __import__("json").loads((tmp_path / "metrics.json").read_text())["config"]["batch_size"] == 10**8


def _files(folder):
    """Every file of ``folder``: its bytes and modification time."""
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(folder.iterdir())}


def test_resuming_a_finished_run_says_nothing_is_left_and_writes_nothing(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--dataset", "mnist-sample", "--hidden", "8", "--epochs", "1", "--out", str(out),
                 "--no-progress", "--backend", "numpy"]) == 0
    capsys.readouterr()
    before = _files(out)
    assert main(["train", "--resume", str(out / "checkpoint.npz")]) == 0
    assert main(["train", "--resume", str(out / "checkpoint.npz"), "--epochs", "1"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines == [f"--resume {out / 'checkpoint.npz'}: nothing left to train (it has trained all its 1 epoch); "
                     "nothing was written. To train on, resume with --epochs N (N > 1)"] * 2
    assert _files(out) == before


def test_resuming_an_early_stopped_run_names_early_stopping(tmp_path, capsys):
    from tinygrad_lab.checkpoint import load_checkpoint, save_checkpoint
    out = tmp_path / "run"
    assert main(["train", "--dataset", "mnist-sample", "--hidden", "8", "--epochs", "2", "--out", str(out),
                 "--no-progress", "--backend", "numpy"]) == 0
    state = load_checkpoint(out / "checkpoint.npz")            # as if epoch 2 had not improved, with patience 1
    state["config"].update(epochs=5, early_stopping=1)
    state["history"][1]["val_loss"] = state["history"][0]["val_loss"] + 1
    save_checkpoint(out / "checkpoint.npz", state)
    capsys.readouterr()
    before = _files(out)
    assert main(["train", "--resume", str(out / "checkpoint.npz")]) == 0
    assert capsys.readouterr().out.strip() == (
        f"--resume {out / 'checkpoint.npz'}: nothing left to train (early stopping after epoch 2: no lower "
        "validation loss for 1 epochs since epoch 1); nothing was written. To train on, resume with --early-stopping "
        "P (P > 1) to give it more patience")
    assert _files(out) == before


def test_debug_shows_the_traceback(capsys):
    from tinygrad_lab.cli import CommandError
    with pytest.raises(CommandError, match="no such checkpoint file"):
        main(["train", "--resume", "missing.npz", "--debug"])


def test_train_refuses_a_folder_holding_other_files_and_force_keeps_them(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("mine")
    argv = ["train", "--dataset", "mnist-sample", "--hidden", "8", "--epochs", "1", "--out", str(tmp_path),
            "--no-progress", "--backend", "numpy"]
    code, line = _error(argv, capsys)
    assert (code, line) == (1, f"tinygrad-lab train: --out {tmp_path} already holds files (notes.txt); choose another "
                               "--out, or write into it with --force")
    assert main([*argv, "--force"]) == 0
    assert (tmp_path / "notes.txt").read_text() == "mine" and (tmp_path / "model.npz").exists()
