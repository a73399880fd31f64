"""The MNIST init comparison: the quick run writes its files and, with ReLU, He learns fastest
while std 0.01 stays at chance."""

import csv
import json
import math

import numpy as np
import pytest

from tinygrad_lab.experiments import EXPERIMENT_MODULES, main, mnist_inits


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    out = tmp_path_factory.mktemp("mnist_inits")
    assert main(mnist_inits, ["--quick", "--out", str(out)]) == 0
    return out, json.loads((out / "summary.json").read_text())


def test_registered():
    assert "mnist_inits" in EXPERIMENT_MODULES and mnist_inits.NAME == "mnist-inits"


def test_files(quick):
    out, summary = quick
    assert (out / "mnist_inits.png").read_bytes()[:4] == b"\x89PNG"
    table = list(csv.DictReader((out / "mnist_inits.csv").open()))
    assert [r["setting"] for r in table] == list(mnist_inits.QUICK_SETTINGS)
    assert (out / "mnist_inits_steps.csv").read_text().startswith("setting,step,loss")
    assert (out / "mnist_inits_epochs.csv").read_text().startswith("setting,epoch,step,train_loss")
    for row in summary["table"]:
        assert np.isfinite([row["initial_loss"], row["final_loss"], row["test_accuracy"]]).all()


def test_story(quick):
    _, summary = quick
    rows = {r["setting"]: r for r in summary["table"]}
    small, he = rows["ReLU + std 0.01"], rows["ReLU + He"]
    assert he["final_loss"] < rows[mnist_inits.LECUN_RELU]["final_loss"] < small["final_loss"]
    assert mnist_inits.LECUN_RELU == "ReLU + LeCun 1/n_in (called Xavier in Deep Learning from Scratch)"
    assert small["final_loss"] == pytest.approx(math.log(10), abs=0.01)  # std 0.01 barely learns
    assert he["test_accuracy"] > small["test_accuracy"] + 0.2
    assert summary["conclusion"].startswith("ReLU: He wins") and "std 0.01 barely learns" in summary["conclusion"]


def test_conclusion_is_computed():
    rows = [{"setting": "ReLU + std 0.01", "activation": "relu", "init": "normal:0.01", "initial_loss": 2.3,
             "final_loss": 1.0},
            {"setting": "ReLU + LeCun", "activation": "relu", "init": "lecun", "initial_loss": 2.3,
             "final_loss": 0.5},
            {"setting": "ReLU + He", "activation": "relu", "init": "he", "initial_loss": 2.3, "final_loss": 0.7}]
    line = mnist_inits.conclusion(rows)
    assert line.startswith("ReLU: LeCun wins") and "std 0.01 learns" in line
