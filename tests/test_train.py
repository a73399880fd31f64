"""The training loop: it learns, it resumes bit for bit, it stops cleanly on a NaN loss."""
import numpy as np
import pytest

from tinygrad_lab.checkpoint import load_checkpoint
from tinygrad_lab.data import load_sample, normalize
from tinygrad_lab.train import NonFiniteLoss, TrainConfig, Trainer, load_model, parse_schedule


@pytest.fixture(scope="module")
def sample():
    ds = load_sample()
    x, xt = normalize(ds.train_images), normalize(ds.test_images)
    return x[:2000], ds.train_labels[:2000], xt, ds.test_labels, "bundled sample"


def _cfg(**kw):
    base = dict(dataset="mnist-sample", sizes=[784, 32, 10], epochs=2, batch_size=64, seed=3)
    return TrainConfig(**{**base, **kw})


def test_a_quick_run_learns_well_above_chance(sample, tmp_path):
    trainer = Trainer(_cfg(), tmp_path, data=sample, progress=False, log=lambda *_: None)
    history = trainer.fit()
    assert [row["epoch"] for row in history] == [1, 2]
    assert history[-1]["test_accuracy"] > 0.80
    assert history[-1]["train_loss"] < history[0]["train_loss"]
    assert (tmp_path / "checkpoint.npz").exists()


def _final_state(trainer):
    return {k: v.copy() for k, v in trainer.model.state_dict().items()}


@pytest.mark.parametrize("stop_after", [7, 31, 32, 45])   # mid-epoch, at and after the epoch end
def test_resume_equals_an_uninterrupted_run_bit_for_bit(sample, tmp_path, stop_after):
    cfg = _cfg(batchnorm=True, optimizer="momentum", lr_schedule="step:1:0.5")
    whole = Trainer(cfg, tmp_path / "a", data=sample, progress=False, log=lambda *_: None)
    whole.fit()
    first = Trainer(cfg, tmp_path / "b", data=sample, progress=False, log=lambda *_: None)
    first.fit(stop_after_steps=stop_after)
    resumed = Trainer.resume(tmp_path / "b" / "checkpoint.npz", data=sample, progress=False, log=lambda *_: None)
    resumed.fit()
    for name, value in _final_state(whole).items():
        np.testing.assert_array_equal(value, _final_state(resumed)[name], err_msg=name)
    assert [r["test_loss"] for r in whole.history] == [r["test_loss"] for r in resumed.history]


def test_the_same_seed_gives_bit_identical_training(sample, tmp_path):
    runs = []
    for name in ("first", "second"):
        trainer = Trainer(_cfg(batchnorm=True, epochs=1), tmp_path / name, data=sample, progress=False,
                          log=lambda *_: None)
        trainer.fit()
        runs.append(_final_state(trainer))
    for name, value in runs[0].items():
        np.testing.assert_array_equal(value, runs[1][name], err_msg=name)


def test_nan_loss_stops_cleanly_and_keeps_the_last_checkpoint(sample, tmp_path):
    trainer = Trainer(_cfg(epochs=1), tmp_path, data=sample, progress=False, log=lambda *_: None)
    trainer.save()
    trainer.model[0].weight.data[0, 0] = np.nan   # as if an update had diverged
    with pytest.raises(NonFiniteLoss, match=r"became (nan|inf) at step \d+.*--detect-anomaly"):
        trainer.fit()
    assert "the last good checkpoint is" in trainer.last_checkpoint_note()
    state = load_checkpoint(tmp_path / "checkpoint.npz")
    assert all(np.all(np.isfinite(v)) for v in state["model"].values())


def test_load_model_round_trip(sample, tmp_path):
    trainer = Trainer(_cfg(epochs=1), tmp_path, data=sample, progress=False, log=lambda *_: None)
    trainer.fit()
    model, cfg = load_model(tmp_path / "checkpoint.npz")
    assert cfg.sizes == [784, 32, 10] and not model.training
    for (n, p), (_, q) in zip(model.named_parameters(), trainer.model.named_parameters()):
        np.testing.assert_array_equal(p.data, q.data, err_msg=n)


def test_resume_keeps_the_checkpoints_epochs_unless_told_and_checks_them(sample, tmp_path):
    Trainer(_cfg(epochs=1), tmp_path, data=sample, progress=False, log=lambda *_: None).save()
    assert Trainer.resume(tmp_path / "checkpoint.npz", data=sample, progress=False).cfg.epochs == 1
    assert Trainer.resume(tmp_path / "checkpoint.npz", epochs=3, data=sample, progress=False).cfg.epochs == 3
    with pytest.raises(ValueError, match="epochs must be >= 1, got 0"):
        Trainer.resume(tmp_path / "checkpoint.npz", epochs=0, data=sample, progress=False)

@pytest.mark.parametrize("kw, message", [
    ({"optimizer": "lbfgs"}, "unknown optimizer 'lbfgs'"),
    ({"dataset": "cifar"}, "unknown dataset 'cifar'"),
    ({"epochs": 0}, "epochs must be >= 1, got 0"),
    ({"lr": -1.0}, "lr must be > 0, got -1.0"),
    ({"sizes": [784]}, r"sizes must be at least two positive numbers, got \[784\]"),
    ({"lr_schedule": "step"}, "bad --lr-schedule 'step'"),
    ({"lr_schedule": "exp:x"}, r"bad --lr-schedule 'exp:x': \['x'\] are not numbers"),
    ({"dtype": "float16"}, "dtype must be float32 or float64"),
])
def test_bad_configs_are_named(kw, message):
    with pytest.raises(ValueError, match=message):
        _cfg(**kw)


def test_schedule_parsing():
    assert parse_schedule("step:3:0.1") == ("step", [3.0, 0.1])
    assert parse_schedule("multistep:2,4") == ("multistep", [[2.0, 4.0]])
    assert parse_schedule("plateau") == ("plateau", [])
