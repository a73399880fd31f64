"""The training loop: it learns, it resumes bit for bit, it stops cleanly on a NaN loss."""
import dataclasses
import json

import numpy as np
import pytest

from tinygrad_lab import optim
from tinygrad_lab import train as train_module
from tinygrad_lab.checkpoint import load_checkpoint, save_checkpoint
from tinygrad_lab.data import load_sample, normalize
from tinygrad_lab.train import (ConfigError, NonFiniteLoss, ResumeConflict, TrainConfig, Trainer, build_model,
                                build_optimizer, evaluate, hold_out, load_model, parse_schedule, write_reports)


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


def test_the_run_records_where_its_time_went(sample, tmp_path):
    trainer = Trainer(_cfg(), tmp_path, data=sample, progress=False, log=lambda *_: None)
    trainer.fit()
    write_reports(trainer)
    seconds = json.loads((tmp_path / "metrics.json").read_text())["seconds"]
    assert list(seconds) == ["data", "first_step", "steps", "evaluation", "checkpoints", "reports"]
    assert all(t > 0 for t in seconds.values()), seconds
    assert seconds["first_step"] == round(trainer.first_step_seconds, 4)


def _final_state(trainer):
    return {k: v.copy() for k, v in trainer.model.state_dict().items()}


@pytest.mark.parametrize("stop_after", [7, 28, 29, 45])   # mid-epoch, at and after the epoch end (1,800 / 64)
def test_resume_equals_an_uninterrupted_run_bit_for_bit(sample, tmp_path, stop_after):
    """With the default validation split (200 of 2,000) and dropout masks drawn as the run goes."""
    cfg = _cfg(batchnorm=True, optimizer="momentum", lr_schedule="step:1:0.5", dropout=0.3)
    whole = Trainer(cfg, tmp_path / "a", data=sample, progress=False, log=lambda *_: None)
    whole.fit()
    first = Trainer(cfg, tmp_path / "b", data=sample, progress=False, log=lambda *_: None)
    first.fit(stop_after_steps=stop_after)
    resumed = Trainer.resume(tmp_path / "b" / "checkpoint.npz", data=sample, progress=False, log=lambda *_: None)
    resumed.fit()
    for name, value in _final_state(whole).items():
        np.testing.assert_array_equal(value, _final_state(resumed)[name], err_msg=name)
    assert len(whole.x_train) == 1800 and len(whole.loader) == 29
    assert [r["test_loss"] for r in whole.history] == [r["test_loss"] for r in resumed.history]
    assert [r["val_loss"] for r in whole.history] == [r["val_loss"] for r in resumed.history]


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
    ({"val_split": -1}, r"val_split: must be 0 \(no validation set\), a count \(an integer >= 1\) or a fraction"),
    ({"val_split": 2.5}, r"val_split: must be 0 .* \(got 2.5\)"),
    ({"val_split": float("nan")}, r"val_split: must be 0"),
    ({"val_split": True}, r"val_split: must be 0"),
    ({"early_stopping": 0}, r"early_stopping: must be an integer >= 1 \(got 0\)"),
    ({"early_stopping": 3, "val_split": 0}, r"early_stopping: needs a validation set to watch, and the validation "
                                            r"split is 0"),
    ({"lr_schedule": "plateau", "val_split": 0}, r"lr_schedule: plateau steps on the validation loss"),
    ({"dropout": 1.0}, r"dropout: must be a probability in \[0, 1\) \(got 1.0\)"),
    ({"dropout": -0.1}, r"dropout: must be a probability"),
    ({"momentum": 0.9, "optimizer": "adamw"}, r"momentum: adamw takes no momentum \(only sgd, momentum, nesterov, "
                                              r"rmsprop do\)"),
    ({"momentum": 0.9, "optimizer": "adagrad"}, r"momentum: adagrad takes no momentum"),
    ({"momentum": 1.0, "optimizer": "sgd"}, r"momentum: must be in \[0, 1\) for sgd"),
    ({"momentum": 0.0, "optimizer": "nesterov"}, r"momentum: must be in \(0, 1\) for nesterov"),
])
def test_bad_configs_name_the_field_not_a_flag(kw, message):
    with pytest.raises(ConfigError, match=message) as caught:
        _cfg(**kw)
    assert caught.value.field in kw and "--" not in str(caught.value)


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


def test_a_batch_is_at_most_the_training_set_when_memory_is_estimated(monkeypatch):
    """A DataLoader's batch never exceeds the training set: --batch-size 10⁸ needs what the whole set
    needs (it was estimated for 10⁸ rows: 372 GiB, refused naming --hidden)."""
    huge, whole = _cfg(sizes=[784, 16, 10], batch_size=10**8), _cfg(sizes=[784, 16, 10], batch_size=5000)
    assert train_module.memory_needed(huge) == train_module.memory_needed(whole) < 2**30
    assert train_module.memory_needed(huge, train_samples=1200) == train_module.memory_needed(
        dataclasses.replace(huge, batch_size=1200))
    train_module.check_memory(huge)


@pytest.mark.parametrize("cfg, field", [(dict(sizes=[784, 16, 10], batch_size=5000, dataset="mnist"), "batch_size"),
                                        (dict(sizes=[784, 4000, 4000, 10], batch_size=64), "sizes")])
def test_memory_refusal_names_the_option_that_needs_it(monkeypatch, cfg, field):
    cfg = _cfg(**cfg)
    monkeypatch.setattr(train_module, "memory_available", lambda: train_module.memory_needed(cfg) // 2)
    with pytest.raises(ConfigError) as caught:
        train_module.check_memory(cfg)
    assert caught.value.field == field


# ----- validation split, early stopping, best.npz ------------------------------------------------
@pytest.mark.parametrize("n_train, expected", [(60_000, 5000), (50_000, 5000), (5000, 500), (2000, 200)])
def test_the_default_split_is_5000_or_a_tenth_of_a_smaller_training_set(n_train, expected):
    y = np.arange(n_train) % 10
    x = np.arange(n_train, dtype=np.float32)[:, None]
    x_train, y_train, x_val, y_val = hold_out(_cfg(), x, y)
    assert len(x_val) == expected and len(x_train) == n_train - expected
    assert np.bincount(y_val).tolist() == [expected // 10] * 10                  # stratified
    assert sorted(np.concatenate([x_train, x_val])[:, 0].tolist()) == x[:, 0].tolist()   # a partition
    assert np.array_equal(y_val, x_val[:, 0].astype(int) % 10)                   # labels follow their images


def test_split_values_count_fraction_and_none(sample):
    x, y = sample[0], sample[1]
    assert len(hold_out(_cfg(val_split=300), x, y)[2]) == 300
    assert len(hold_out(_cfg(val_split=0.25), x, y)[2]) == 500
    assert len(hold_out(_cfg(val_split=0), x, y)[2]) == 0
    assert _cfg(val_split=300.0).val_split == 300 and isinstance(_cfg(val_split=300.0).val_split, int)
    with pytest.raises(ConfigError, match=r"val_split: holds out 2000 of the 2000 training samples"):
        hold_out(_cfg(val_split=2000), x, y)
    with pytest.raises(ConfigError, match=r"holds out 1 samples for 2 classes.*\(the default split; 0 holds "
                                          r"out none\)"):
        hold_out(_cfg(), x[:8], np.arange(8) % 2)


def test_the_split_depends_on_the_seed_and_not_on_the_model_or_batches(sample):
    x, y = sample[0], sample[1]
    val = hold_out(_cfg(seed=3), x, y)[3]
    np.testing.assert_array_equal(hold_out(_cfg(seed=3, sizes=[784, 8, 10], batch_size=7), x, y)[3], val)
    assert not np.array_equal(hold_out(_cfg(seed=4), x, y)[2], hold_out(_cfg(seed=3), x, y)[2])


def _scripted_validation(monkeypatch, trainer, losses):
    """Make the validation losses of the coming epochs ``losses`` (the test set is evaluated for real)."""
    real, script = train_module.evaluate, iter(losses)

    def evaluate(model, x, y, *args):
        loss, accuracy, predicted = real(model, x, y, *args)
        return (next(script), accuracy, predicted) if x is trainer.x_val else (loss, accuracy, predicted)
    monkeypatch.setattr(train_module, "evaluate", evaluate)


def test_plateau_steps_on_the_validation_loss_never_the_test_loss(sample, tmp_path, monkeypatch):
    trainer = Trainer(_cfg(lr_schedule="plateau:0.5:0", epochs=3), tmp_path, data=sample, progress=False,
                      log=lambda *_: None)
    stepped, real_step = [], type(trainer.scheduler).step
    monkeypatch.setattr(type(trainer.scheduler), "step", lambda self, metric: (stepped.append(metric),
                                                                              real_step(self, metric)))
    trainer.fit()
    assert stepped == [row["val_loss"] for row in trainer.history]
    assert all(row["val_loss"] != row["test_loss"] for row in trainer.history)


def test_early_stopping_stops_after_patience_epochs_and_best_npz_holds_the_best_epoch(sample, tmp_path,
                                                                                      monkeypatch):
    cfg = _cfg(lr_schedule="none", epochs=10, early_stopping=3, sizes=[784, 8, 10])
    lines = []
    trainer = Trainer(cfg, tmp_path / "a", data=sample, progress=False, log=lines.append)
    _scripted_validation(monkeypatch, trainer, [1.0, 0.8, 0.85, 0.8, 0.9, 0.1, 0.1])
    trainer.fit()
    assert trainer.status == "finished" and len(trainer.history) == 5       # epochs 3, 4, 5 were not lower than 0.8
    assert lines[-1] == "early stopping after epoch 5: no lower validation loss for 3 epochs since epoch 2"
    assert trainer.best()["epoch"] == 2
    write_reports(trainer)
    metrics = json.loads((tmp_path / "a" / "metrics.json").read_text())
    assert metrics["early_stopping"] == {"patience": 3, "epochs_trained": 5, "stopped_early": True}
    assert metrics["best"]["epoch"] == 2 and metrics["best"]["val_loss"] == 0.8
    assert metrics["data"]["test_set"].startswith("reported only")
    monkeypatch.undo()
    two_epochs = Trainer(dataclasses.replace(cfg, epochs=2, early_stopping=None), tmp_path / "b", data=sample,
                         progress=False, log=lambda *_: None)
    two_epochs.fit()
    best, _ = load_model(tmp_path / "a" / "best.npz")
    for (name, p), (_, q) in zip(best.named_parameters(), two_epochs.model.named_parameters()):
        np.testing.assert_array_equal(p.data, q.data, err_msg=name)


def test_an_early_stopped_run_resumed_stays_stopped_unless_given_more_patience(sample, tmp_path, monkeypatch):
    cfg = _cfg(lr_schedule="none", epochs=6, early_stopping=1, sizes=[784, 8, 10])
    trainer = Trainer(cfg, tmp_path, data=sample, progress=False, log=lambda *_: None)
    _scripted_validation(monkeypatch, trainer, [0.5, 0.6])
    trainer.fit()
    assert len(trainer.history) == 2
    quiet = dict(data=sample, progress=False, log=lambda *_: None)
    again = Trainer.resume(tmp_path / "checkpoint.npz", **quiet)
    assert again.fit() == trainer.history and again.status == "finished"
    patient = Trainer.resume(tmp_path / "checkpoint.npz", changes={"early_stopping": 5}, **quiet)
    assert len(patient.fit()) == 6


def test_resume_refuses_another_split_and_reads_old_checkpoints_as_unsplit(sample, tmp_path):
    Trainer(_cfg(epochs=1), tmp_path, data=sample, progress=False).save()
    with pytest.raises(ResumeConflict, match="val_split"):
        Trainer.resume(tmp_path / "checkpoint.npz", changes={"val_split": 0}, data=sample, progress=False)
    state = load_checkpoint(tmp_path / "checkpoint.npz")
    del state["config"]["val_split"]                     # as written before validation splits existed
    save_checkpoint(tmp_path / "old.npz", state)
    old = Trainer.resume(tmp_path / "old.npz", data=sample, progress=False)
    assert len(old.x_val) == 0 and len(old.x_train) == 2000


def test_an_old_checkpoints_init_xavier_keeps_its_meaning_lecun(sample, tmp_path):
    """Before init names had one meaning, a saved init="xavier" meant N(0, 1/n_in): such a config
    (no "init_names") is read as "lecun"; a config saved now keeps "xavier" (Glorot's)."""
    Trainer(_cfg(epochs=1, init="xavier"), tmp_path, data=sample, progress=False).save()
    state = load_checkpoint(tmp_path / "checkpoint.npz")
    assert state["config"]["init"] == "xavier" and state["config"]["init_names"] == 2
    assert Trainer.resume(tmp_path / "checkpoint.npz", data=sample, progress=False).cfg.init == "xavier"
    del state["config"]["init_names"]                    # as written before
    save_checkpoint(tmp_path / "old.npz", state)
    old = Trainer.resume(tmp_path / "old.npz", data=sample, progress=False)
    assert old.cfg.init == "lecun"
    assert load_model(tmp_path / "old.npz")[1].init == "lecun"


# ----- model and optimizer options -------------------------------------------------------------
def test_dropout_adds_layers_that_train_and_evaluate_as_identity(sample, tmp_path):
    trainer = Trainer(_cfg(dropout=0.5, epochs=1), tmp_path, data=sample, progress=False, log=lambda *_: None)
    assert [layer.p for layer in trainer.dropout_layers()] == [0.5]
    trainer.fit()
    x = sample[2][:50]
    first, _, _ = evaluate(trainer.model, x, sample[3][:50])
    assert evaluate(trainer.model, x, sample[3][:50])[0] == first            # eval mode: no masks
    assert trainer.model.training                                           # evaluate() restored the mode


@pytest.mark.parametrize("kw, kind, momentum, decay", [
    ({"optimizer": "sgd"}, optim.SGD, 0.0, 0.0),
    ({"optimizer": "sgd", "momentum": 0.5}, optim.SGD, 0.5, 0.0),
    ({"optimizer": "momentum"}, optim.SGD, 0.9, 0.0),
    ({"optimizer": "nesterov", "momentum": 0.8}, optim.SGD, 0.8, 0.0),
    ({"optimizer": "rmsprop", "momentum": 0.3}, optim.RMSprop, 0.3, 0.0),
    ({"optimizer": "adamw"}, optim.AdamW, None, 0.01),                       # PyTorch's default decay
    ({"optimizer": "adamw", "weight_decay": 0.0}, optim.AdamW, None, 0.0),
    ({"optimizer": "adam"}, optim.Adam, None, 0.0),
])
def test_optimizer_options_reach_the_optimizer(kw, kind, momentum, decay):
    cfg = _cfg(**kw)
    optimizer = build_optimizer(cfg, list(build_model(cfg).parameters()))
    group = optimizer.param_groups[0]
    assert type(optimizer) is kind and group["weight_decay"] == decay
    assert group.get("momentum") == momentum and cfg.resolved().get("momentum") == momentum
    assert group["nesterov"] if cfg.optimizer == "nesterov" else not group.get("nesterov", False)


def test_kaiming_is_he_as_pytorch_calls_it():
    for name in ("kaiming", "kaiming_normal", "kaiming_uniform"):
        assert name in TrainConfig.__dataclass_fields__["init"].metadata["help"]
    he, kaiming = build_model(_cfg(init="he")), build_model(_cfg(init="kaiming"))
    for (name, p), (_, q) in zip(he.named_parameters(), kaiming.named_parameters()):
        np.testing.assert_array_equal(p.data, q.data, err_msg=name)


def test_the_trainer_and_evaluate_convert_numpy_batches_to_the_models_dtype(sample, tmp_path):
    """The dtype rule: plain data takes the model's dtype (data loading); a Tensor is never cast."""
    x, y, xt, yt, src = sample
    as64 = (x[:256].astype(np.float64), y[:256], xt[:200].astype(np.float64), yt[:200], src)
    trainer = Trainer(_cfg(epochs=1, dtype="float32"), tmp_path, data=as64, progress=False, log=lambda *_: None)
    history = trainer.fit()
    assert np.isfinite(history[-1]["train_loss"])
    assert all(p.dtype == np.float32 for p in trainer.model.parameters())
    loss, accuracy, _ = evaluate(trainer.model, xt[:200].astype(np.float64), yt[:200])
    assert np.isfinite(loss) and 0 <= accuracy <= 1
    from tinygrad_lab import Tensor
    with pytest.raises(TypeError, match=r"Linear\(784, 32\) holds float32 weights but got a float64 input"):
        trainer.model(Tensor(xt[:2].astype(np.float64)))
