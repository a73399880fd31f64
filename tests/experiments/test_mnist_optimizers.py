"""The MNIST optimizer comparison: the quick run writes its files and the adaptive/momentum
methods beat plain SGD after the same steps from the same start on the same batches."""

import csv
import json

import numpy as np
import pytest

from tinygrad_lab.experiments import EXPERIMENT_MODULES, main, mnist_optimizers


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    out = tmp_path_factory.mktemp("mnist_optimizers")
    assert main(mnist_optimizers, ["--quick", "--out", str(out)]) == 0
    return out, json.loads((out / "summary.json").read_text())


def test_registered():
    assert "mnist_optimizers" in EXPERIMENT_MODULES and mnist_optimizers.NAME == "mnist-optimizers"


def test_files(quick):
    out, summary = quick
    assert (out / "mnist_optimizers.png").read_bytes()[:4] == b"\x89PNG"
    table = list(csv.DictReader((out / "mnist_optimizers.csv").open()))
    assert [r["optimizer"] for r in table] == list(mnist_optimizers.OPTIMIZERS)
    steps = list(csv.DictReader((out / "mnist_optimizers_steps.csv").open()))
    per_optimizer = {name: [float(r["loss"]) for r in steps if r["optimizer"] == name]
                     for name in mnist_optimizers.OPTIMIZERS}
    lengths = {len(v) for v in per_optimizer.values()}
    assert lengths == {int(table[0]["steps"])} == {summary["table"][0]["steps"]}
    assert all(np.isfinite(v).all() for v in per_optimizer.values())
    # the same initial weights and the same first batch: the same first loss for every optimizer
    assert len({v[0] for v in per_optimizer.values()}) == 1
    epochs = list(csv.DictReader((out / "mnist_optimizers_epochs.csv").open()))
    assert {r["epoch"] for r in epochs} == {"0", "1"}


def test_story(quick):
    _, summary = quick
    rows = {r["optimizer"]: r for r in summary["table"]}
    for row in rows.values():
        assert np.isfinite([row["final_loss"], row["train_accuracy"], row["test_accuracy"]]).all()
    sgd = rows["SGD"]
    for name in ("Momentum", "Nesterov", "AdaGrad", "RMSprop", "Adam"):
        assert rows[name]["final_loss"] < sgd["final_loss"], name
    assert rows["Adam"]["test_accuracy"] > 0.5 > sgd["test_accuracy"]
