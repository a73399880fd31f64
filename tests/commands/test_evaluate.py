"""evaluate and predict --index read the test set of the data the run trained on, as the run recorded it."""
import shutil
import urllib.error

import numpy as np
import pytest

from tinygrad_lab import user_cache
from tinygrad_lab.cli import main
from tinygrad_lab.data import datasets, load_sample
from tinygrad_lab.data.idx import write_idx


def _no_network(url, timeout):
    raise urllib.error.URLError("no network here")


@pytest.fixture
def world(tmp_path, monkeypatch):
    """No network, an empty cache, no $TINYGRAD_LAB_DATA, and a small "full MNIST" (300 training and 50
    test digits of the sample, the test set reordered so that test image 0 differs) whose checksums are
    the expected ones."""
    monkeypatch.setenv(user_cache.ENV_VAR, str(tmp_path / "cache"))
    monkeypatch.delenv(datasets.ENV_VAR, raising=False)
    monkeypatch.setattr(datasets, "SYSTEM_DIRS", {"mnist": [], "fashion-mnist": []})
    monkeypatch.setattr(datasets, "_urlopen", _no_network)
    sample = load_sample()
    order = np.argsort(sample.test_labels[:50] == sample.test_labels[0], kind="stable")   # another digit first
    arrays = {"train_images": sample.train_images[:300], "train_labels": sample.train_labels[:300].astype(np.uint8),
              "test_images": sample.test_images[:50][order], "test_labels": sample.test_labels[:50][order].astype(np.uint8)}
    folder = tmp_path / "mnist"
    folder.mkdir()
    for field, array in arrays.items():
        write_idx(folder / datasets.FILE_NAMES[field], array)
    monkeypatch.setattr(datasets, "CHECKSUMS", {**datasets.CHECKSUMS, "mnist": {
        datasets.FILE_NAMES[field]: datasets._idx_sha256(array) for field, array in arrays.items()}})
    return tmp_path, folder, arrays


def _train(out, *options) -> None:
    assert main(["train", "--hidden", "8", "--epochs", "1", "--batch-size", "32", "--val-split", "0", "--out",
                 str(out), "--no-progress", "--backend", "numpy", *options]) == 0


def test_evaluate_and_predict_default_to_the_data_dir_the_run_trained_on(world, capsys):
    tmp, folder, arrays = world
    _train(tmp / "run", "--data-dir", str(folder))
    capsys.readouterr()
    assert main(["evaluate", str(tmp / "run" / "model.npz")]) == 0
    out, err = capsys.readouterr()
    assert f"data: {folder}, 50 test images" in out.splitlines() and err == ""
    assert main(["predict", str(tmp / "run" / "model.npz"), "--index", "0"]) == 0
    label = int(arrays["test_labels"][0])
    assert label != load_sample().test_labels[0]
    assert capsys.readouterr().out.strip().endswith(f", true label {label}")


def test_a_run_trained_on_the_sample_is_evaluated_on_the_sample(world, capsys):
    """Offline without MNIST the run falls back to the sample; evaluate keeps to it even once full
    MNIST turns up in the cache."""
    tmp, folder, _ = world
    _train(tmp / "run", "--offline")
    shutil.copytree(folder, datasets.cache_dir("mnist"))
    capsys.readouterr()
    assert main(["evaluate", str(tmp / "run" / "model.npz"), "--offline"]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("data: bundled mnist_sample.npz") and ", 1000 test images" in out and err == ""


def test_a_recorded_folder_that_is_gone_is_named_in_one_line_then_the_fallback(world, capsys):
    tmp, folder, _ = world
    _train(tmp / "run", "--data-dir", str(folder))
    shutil.copytree(folder, datasets.cache_dir("mnist"))
    shutil.rmtree(folder)
    capsys.readouterr()
    assert main(["evaluate", str(tmp / "run" / "model.npz")]) == 0
    out, err = capsys.readouterr()
    assert err.splitlines() == [f"tinygrad-lab evaluate: the run's data, mnist in {folder}, is gone ({folder} is not a "
                                f"folder); using mnist found in {datasets.cache_dir('mnist')} instead"]
    assert f"data: {datasets.cache_dir('mnist')}, 50 test images" in out
    shutil.rmtree(datasets.cache_dir("mnist"))
    assert main(["predict", str(tmp / "run" / "model.npz"), "--index", "0"]) == 0
    out, err = capsys.readouterr()
    [line] = err.splitlines()
    assert line.startswith(f"tinygrad-lab predict: the run's data, mnist in {folder}, is gone ({folder} is not a "
                           "folder); using the bundled sample (full mnist not found in the usual places, and "
                           "downloading it failed: URLError: <urlopen error no network here>, from all 3 mirrors)")
    assert out.strip().endswith(f"true label {load_sample().test_labels[0]}")
