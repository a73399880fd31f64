"""The training loop: it learns, it resumes bit for bit, it stops cleanly on a NaN loss."""
import numpy as np
import pytest

from tinygrad_lab.checkpoint import load_checkpoint
from tinygrad_lab.data import load_sample, normalize
from tinygrad_lab.train import ConfigError, NonFiniteLoss, TrainConfig, Trainer, load_model, parse_schedule


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
    with pytest.raises(NonFiniteLoss, match=r"became (nan|inf) at step \d+.*detect_anomaly\(\)"):
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
    with pytest.raises(ValueError, match=r"epochs: must be an integer >= 1 \(got 0\)"):
        Trainer.resume(tmp_path / "checkpoint.npz", epochs=0, data=sample, progress=False)

@pytest.mark.parametrize("kw, message", [
    ({"optimizer": "lbfgs"}, r"optimizer: choose one of sgd, .* \(got 'lbfgs'\)"),
    ({"dataset": "cifar"}, r"dataset: choose one of mnist, .* \(got 'cifar'\)"),
    ({"epochs": 0}, r"epochs: must be an integer >= 1 \(got 0\)"),
    ({"seed": -1}, r"seed: must be an integer >= 0 \(got -1\)"),
    ({"lr": -1.0}, r"lr: must be a finite number > 0 \(got -1.0\)"),
    ({"lr": float("inf")}, r"lr: must be a finite number > 0 \(got inf\)"),
    ({"sizes": [784]}, r"sizes: need at least two sizes, all >= 1 \(got \[784\]\)"),
    ({"lr_schedule": "step"}, r"lr_schedule: not a schedule; use none, step:EPOCHS"),
    ({"lr_schedule": "step:inf"}, r"lr_schedule: EPOCHS must be an integer in \[1, inf\], got 'inf'"),
    ({"lr_schedule": "exp:x"}, r"lr_schedule: GAMMA must be a number .* got 'x'"),
    ({"dtype": "float16"}, r"dtype: choose one of float32, float64"),
    ({"init": "bogus"}, r"init: unknown init 'bogus'"),
])
def test_bad_configs_name_the_field_not_a_flag(kw, message):
    with pytest.raises(ConfigError, match=message) as caught:
        _cfg(**kw)
    assert caught.value.field == next(iter(kw)) and "--" not in str(caught.value)


def test_schedule_parsing_fills_in_the_defaults():
    assert parse_schedule("step:3:0.5") == ("step", {"step_size": 3, "gamma": 0.5})
    assert parse_schedule("multistep:2,4") == ("multistep", {"milestones": [2, 4], "gamma": 0.1})
    assert parse_schedule("plateau") == ("plateau", {"factor": 0.1, "patience": 2})


@pytest.mark.parametrize("schedule", ["none", "step:1:0.5", "multistep:1,3:0.5", "exp:0.7", "cosine",
                                      "plateau:0.5:0"])
def test_extending_a_finished_run_continues_as_a_run_planned_that_long(sample, tmp_path, schedule):
    """Resumed with more epochs, every schedule gives the remaining epochs the lrs a run asked for that
    many epochs from the start has; the epoch-by-epoch schedules (all but cosine) stay bit-identical."""
    x, y, xt, yt, src = sample
    data = (x[:300], y[:300], xt[:200], yt[:200], src)
    quiet = dict(data=data, progress=False, log=lambda *_: None)
    short = Trainer(_cfg(lr_schedule=schedule, epochs=2, sizes=[784, 8, 10]), tmp_path / "short", **quiet)
    short.fit()
    extended = Trainer.resume(tmp_path / "short" / "checkpoint.npz", epochs=4, **quiet)
    extended.fit()
    planned = Trainer(_cfg(lr_schedule=schedule, epochs=4, sizes=[784, 8, 10]), tmp_path / "long", **quiet)
    planned.fit()
    lrs = [row["lr"] for row in extended.history]
    assert lrs[2:] == pytest.approx([row["lr"] for row in planned.history][2:], rel=1e-12)
    assert all(lr > 0 for lr in lrs)
    if schedule == "cosine":      # the old schedule ended at 0; epoch 3 of 4 starts at base·(1 + cos(π·2/4))/2
        assert short.optimizer.param_groups[0]["lr"] == pytest.approx(0.0, abs=1e-15)
        assert lrs[2] == pytest.approx(1e-3 * 0.5)
    else:
        assert [r["test_loss"] for r in extended.history] == [r["test_loss"] for r in planned.history]


def test_batchnorm_drops_a_last_batch_of_one(sample, tmp_path):
    x, y, xt, yt, src = sample
    trainer = Trainer(_cfg(batchnorm=True, batch_size=64, epochs=1, val_split=0), tmp_path,
                      data=(x[:129], y[:129], xt, yt, src),
                      progress=False, log=lambda *_: None)
    assert trainer.drop_last and len(trainer.loader) == 2
    trainer.fit()
    assert trainer.step == 2 and trainer.status == "finished"


def test_output_size_and_memory_are_checked_before_any_work(sample, tmp_path):
    with pytest.raises(ConfigError, match="the output layer has 5 units but the data has 10 classes"):
        Trainer(_cfg(sizes=[784, 16, 5]), tmp_path, data=sample)
    with pytest.raises(ConfigError, match=r"the run needs about [\d,.]+ GiB .* GiB of memory is available"):
        Trainer(_cfg(sizes=[784, 10**9, 10]), tmp_path, data=sample)
