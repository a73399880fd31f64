"""The BatchNorm experiment: the quick run writes its files, a too-large scale diverges without
BatchNorm, and BatchNorm learns where the plain net does not."""

import csv
import json

import numpy as np
import pytest

from tinygrad_lab.experiments import EXPERIMENT_MODULES, batchnorm, main


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    out = tmp_path_factory.mktemp("batchnorm")
    assert main(batchnorm, ["--quick", "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    return out, summary, {(r["std"], r["batchnorm"]): r for r in summary["table"]}


def test_registered():
    assert "batchnorm" in EXPERIMENT_MODULES and batchnorm.NAME == "batchnorm"


def test_files(quick):
    out, summary, rows = quick
    assert (out / "batchnorm.png").read_bytes()[:4] == b"\x89PNG"
    assert summary["scales"] == list(batchnorm.QUICK_SCALES)
    assert set(rows) == {(s, bn) for s in batchnorm.QUICK_SCALES for bn in ("yes", "no")}
    table = list(csv.DictReader((out / "batchnorm.csv").open()))
    assert len(table) == len(rows) and table[0].keys() >= {"std", "batchnorm", "test_accuracy"}
    epochs = list(csv.DictReader((out / "batchnorm_epochs.csv").open()))
    with_bn = [r for r in epochs if r["setting"] == batchnorm.label(0.01, True)]
    assert [int(r["epoch"]) for r in with_bn] == list(range(summary["configs"][batchnorm.label(0.01, True)]["epochs"] + 1))
    for row in with_bn:
        assert np.isfinite([float(row[k]) for k in ("train_loss", "train_accuracy", "test_loss", "test_accuracy")]).all()


def test_story(quick):
    _, summary, rows = quick
    for scale in batchnorm.QUICK_SCALES:  # BatchNorm never diverges and ends ahead at every scale
        assert rows[scale, "yes"]["diverged_at_step"] == ""
        assert rows[scale, "yes"]["test_accuracy"] > rows[scale, "no"]["test_accuracy"]
    assert rows[1.0, "no"]["diverged_at_step"] != ""  # std 1 without BatchNorm blows up
    assert rows[0.01, "no"]["test_accuracy"] < 0.15  # vanishing signal: chance level
    assert rows[0.01, "yes"]["test_accuracy"] > 0.5
    assert summary["conclusion"].startswith(f"BatchNorm ends with the higher test accuracy at "
                                            f"{len(batchnorm.QUICK_SCALES)} of {len(batchnorm.QUICK_SCALES)}")
