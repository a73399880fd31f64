"""The lr-decay experiment: quick run writes its files; decay beats a constant lr."""

import json

from tinygrad_lab.experiments import EXPERIMENT_MODULES, lr_decay, main


def test_quick_run(tmp_path):
    assert "lr_decay" in EXPERIMENT_MODULES and lr_decay.NAME == "lr-decay"
    assert main(lr_decay, ["--epochs", "30", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "lr_decay.png").read_bytes()[:4] == b"\x89PNG"
    assert (tmp_path / "lr_decay.csv").read_text().startswith("schedule,step,lr,loss")
    summary = json.loads((tmp_path / "summary.json").read_text())["schedules"]
    assert set(summary) == {"constant", "StepLR 1/10", "StepLR 1/3", "ExponentialLR 0.94",
                            "ReduceLROnPlateau"}
    assert summary["constant"]["final_lr"] == 0.1
    assert summary["StepLR 1/10"]["final_lr"] < 0.1
    for label in ("StepLR 1/10", "StepLR 1/3", "ExponentialLR 0.94"):
        assert summary[label]["final_loss"] < summary["constant"]["final_loss"]
