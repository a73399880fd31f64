"""Every optimizer of ``optim.REGISTRY`` is offered by ``tinygrad-lab train --optimizer`` and learns."""
import json

import pytest

from tinygrad_lab import optim
from tinygrad_lab.cli import main
from tinygrad_lab.train_config import OPTIMIZERS


def test_train_offers_every_registered_optimizer():
    assert set(optim.REGISTRY) <= set(OPTIMIZERS)


@pytest.mark.parametrize("name", sorted(set(optim.REGISTRY) - {"sgd"}))
def test_train_learns_with_it(name, tmp_path):
    out = tmp_path / name
    assert main(["train", "--dataset", "mnist-sample", "--hidden", "32", "--epochs", "1", "--batch-size",
                 "50", "--optimizer", name, "--out", str(out), "--no-progress"]) == 0
    history = json.loads((out / "metrics.json").read_text())["history"]
    assert history[-1]["test_accuracy"] > 0.5          # chance: 0.1
