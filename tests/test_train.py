"""The training loop: it learns, it resumes bit for bit, it stops cleanly on a NaN loss."""
import dataclasses
import json

import numpy as np
import pytest

from tinygrad_lab import optim
from tinygrad_lab import train as train_module
from tinygrad_lab.checkpoint import load_checkpoint, save_checkpoint
from tinygrad_lab.train import NonFiniteLoss, Trainer, build_model, build_optimizer, evaluate, load_model
from tinygrad_lab.train_config import ConfigError, ResumeConflict, TrainConfig
from tinygrad_lab.train_reports import write_reports


def test_a_quick_run_learns_well_above_chance(make_config, sample, tmp_path):
    trainer = Trainer(make_config(), tmp_path, data=sample, progress=False, log=lambda *_: None)
    history = trainer.fit()
    assert [row["epoch"] for row in history] == [1, 2]
    assert history[-1]["test_accuracy"] > 0.80
    assert history[-1]["train_loss"] < history[0]["train_loss"]
    assert (tmp_path / "checkpoint.npz").exists()


def _final_state(trainer):
    return {k: v.copy() for k, v in trainer.model.state_dict().items()}


@pytest.mark.parametrize("stop_after", [7, 28, 29, 45])   # mid-epoch, at and after the epoch end (1,800 / 64)
def test_resume_equals_an_uninterrupted_run_bit_for_bit(make_config, sample, tmp_path, stop_after):
    """With the default validation split (200 of 2,000) and dropout masks drawn as the run goes."""
    cfg = make_config(batchnorm=True, optimizer="momentum", lr_schedule="step:1:0.5", dropout=0.3)
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


def test_the_same_seed_gives_bit_identical_training(make_config, sample, tmp_path):
    runs = []
    for name in ("first", "second"):
        trainer = Trainer(make_config(batchnorm=True, epochs=1), tmp_path / name, data=sample, progress=False,
                          log=lambda *_: None)
        trainer.fit()
        runs.append(_final_state(trainer))
    for name, value in runs[0].items():
        np.testing.assert_array_equal(value, runs[1][name], err_msg=name)


def test_nan_loss_stops_cleanly_and_keeps_the_last_checkpoint(make_config, sample, tmp_path):
    trainer = Trainer(make_config(epochs=1), tmp_path, data=sample, progress=False, log=lambda *_: None)
    trainer.save()
    trainer.model[0].weight.data[0, 0] = np.nan   # as if an update had diverged
    with pytest.raises(NonFiniteLoss, match=r"became (nan|inf) at step \d+.*detect_anomaly\(\)"):
        trainer.fit()
    assert "the last good checkpoint is" in trainer.last_checkpoint_note()
    state = load_checkpoint(tmp_path / "checkpoint.npz")
    assert all(np.all(np.isfinite(v)) for v in state["model"].values())


def test_load_model_round_trip(make_config, sample, tmp_path):
    trainer = Trainer(make_config(epochs=1), tmp_path, data=sample, progress=False, log=lambda *_: None)
    trainer.fit()
    model, cfg = load_model(tmp_path / "checkpoint.npz")
    assert cfg.sizes == [784, 32, 10] and not model.training
    for (n, p), (_, q) in zip(model.named_parameters(), trainer.model.named_parameters()):
        np.testing.assert_array_equal(p.data, q.data, err_msg=n)


def test_resume_keeps_the_checkpoints_epochs_unless_told_and_checks_them(make_config, sample, tmp_path):
    Trainer(make_config(epochs=1), tmp_path, data=sample, progress=False, log=lambda *_: None).save()
    assert Trainer.resume(tmp_path / "checkpoint.npz", data=sample, progress=False).cfg.epochs == 1
    assert Trainer.resume(tmp_path / "checkpoint.npz", epochs=3, data=sample, progress=False).cfg.epochs == 3
    with pytest.raises(ValueError, match=r"epochs: must be an integer >= 1 \(got 0\)"):
        Trainer.resume(tmp_path / "checkpoint.npz", epochs=0, data=sample, progress=False)


@pytest.mark.parametrize("schedule", ["none", "step:1:0.5", "multistep:1,3:0.5", "exp:0.7", "cosine",
                                      "plateau:0.5:0"])
def test_extending_a_finished_run_continues_as_a_run_planned_that_long(make_config, sample, tmp_path, schedule):
    """Resumed with more epochs, every schedule gives the remaining epochs the lrs a run asked for that
    many epochs from the start has; the epoch-by-epoch schedules (all but cosine) stay bit-identical."""
    x, y, xt, yt, src = sample
    data = (x[:300], y[:300], xt[:200], yt[:200], src)
    quiet = dict(data=data, progress=False, log=lambda *_: None)
    short = Trainer(make_config(lr_schedule=schedule, epochs=2, sizes=[784, 8, 10]), tmp_path / "short", **quiet)
    short.fit()
    extended = Trainer.resume(tmp_path / "short" / "checkpoint.npz", epochs=4, **quiet)
    extended.fit()
    planned = Trainer(make_config(lr_schedule=schedule, epochs=4, sizes=[784, 8, 10]), tmp_path / "long", **quiet)
    planned.fit()
    lrs = [row["lr"] for row in extended.history]
    assert lrs[2:] == pytest.approx([row["lr"] for row in planned.history][2:], rel=1e-12)
    assert all(lr > 0 for lr in lrs)
    if schedule == "cosine":      # the old schedule ended at 0; epoch 3 of 4 starts at base·(1 + cos(π·2/4))/2
        assert short.optimizer.param_groups[0]["lr"] == pytest.approx(0.0, abs=1e-15)
        assert lrs[2] == pytest.approx(1e-3 * 0.5)
    else:
        assert [r["test_loss"] for r in extended.history] == [r["test_loss"] for r in planned.history]


def test_batchnorm_drops_a_last_batch_of_one(make_config, sample, tmp_path):
    x, y, xt, yt, src = sample
    trainer = Trainer(make_config(batchnorm=True, batch_size=64, epochs=1, val_split=0), tmp_path,
                      data=(x[:129], y[:129], xt, yt, src),
                      progress=False, log=lambda *_: None)
    assert trainer.drop_last and len(trainer.loader) == 2
    trainer.fit()
    assert trainer.step == 2 and trainer.status == "finished"


def test_output_size_and_memory_are_checked_before_any_work(make_config, sample, tmp_path):
    with pytest.raises(ConfigError, match="the output layer has 5 units but the data has 10 classes"):
        Trainer(make_config(sizes=[784, 16, 5]), tmp_path, data=sample)
    with pytest.raises(ConfigError, match=r"the run needs about [\d,.]+ GiB .* GiB of memory is available"):
        Trainer(make_config(sizes=[784, 10**9, 10]), tmp_path, data=sample)


# ----- early stopping, best.npz ----------------------------------------------------------------
def _scripted_validation(monkeypatch, trainer, losses):
    """Make the validation losses of the coming epochs ``losses`` (the test set is evaluated for real)."""
    real, script = train_module.evaluate, iter(losses)

    def evaluate(model, x, y, *args):
        loss, accuracy, predicted = real(model, x, y, *args)
        return (next(script), accuracy, predicted) if x is trainer.x_val else (loss, accuracy, predicted)
    monkeypatch.setattr(train_module, "evaluate", evaluate)


def test_plateau_steps_on_the_validation_loss_never_the_test_loss(make_config, sample, tmp_path, monkeypatch):
    trainer = Trainer(make_config(lr_schedule="plateau:0.5:0", epochs=3), tmp_path, data=sample, progress=False,
                      log=lambda *_: None)
    stepped, real_step = [], type(trainer.scheduler).step
    monkeypatch.setattr(type(trainer.scheduler), "step", lambda self, metric: (stepped.append(metric),
                                                                              real_step(self, metric)))
    trainer.fit()
    assert stepped == [row["val_loss"] for row in trainer.history]
    assert all(row["val_loss"] != row["test_loss"] for row in trainer.history)


def test_early_stopping_stops_after_patience_epochs_and_best_npz_holds_the_best_epoch(make_config, sample, tmp_path,
                                                                                      monkeypatch):
    cfg = make_config(lr_schedule="none", epochs=10, early_stopping=3, sizes=[784, 8, 10])
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


def test_an_early_stopped_run_resumed_stays_stopped_unless_given_more_patience(make_config, sample, tmp_path,
                                                                               monkeypatch):
    cfg = make_config(lr_schedule="none", epochs=6, early_stopping=1, sizes=[784, 8, 10])
    trainer = Trainer(cfg, tmp_path, data=sample, progress=False, log=lambda *_: None)
    _scripted_validation(monkeypatch, trainer, [0.5, 0.6])
    trainer.fit()
    assert len(trainer.history) == 2
    quiet = dict(data=sample, progress=False, log=lambda *_: None)
    again = Trainer.resume(tmp_path / "checkpoint.npz", **quiet)
    assert again.fit() == trainer.history and again.status == "finished"
    patient = Trainer.resume(tmp_path / "checkpoint.npz", changes={"early_stopping": 5}, **quiet)
    assert len(patient.fit()) == 6


def test_resume_refuses_another_split_and_reads_old_checkpoints_as_unsplit(make_config, sample, tmp_path):
    Trainer(make_config(epochs=1), tmp_path, data=sample, progress=False).save()
    with pytest.raises(ResumeConflict, match="val_split"):
        Trainer.resume(tmp_path / "checkpoint.npz", changes={"val_split": 0}, data=sample, progress=False)
    state = load_checkpoint(tmp_path / "checkpoint.npz")
    del state["config"]["val_split"]                     # as written before validation splits existed
    save_checkpoint(tmp_path / "old.npz", state)
    old = Trainer.resume(tmp_path / "old.npz", data=sample, progress=False)
    assert len(old.x_val) == 0 and len(old.x_train) == 2000


def test_an_old_checkpoints_init_xavier_keeps_its_meaning_lecun(make_config, sample, tmp_path):
    """Before init names had one meaning, a saved init="xavier" meant N(0, 1/n_in): such a config
    (no "init_names") is read as "lecun"; a config saved now keeps "xavier" (Glorot's)."""
    Trainer(make_config(epochs=1, init="xavier"), tmp_path, data=sample, progress=False).save()
    state = load_checkpoint(tmp_path / "checkpoint.npz")
    assert state["config"]["init"] == "xavier" and state["config"]["init_names"] == 2
    assert Trainer.resume(tmp_path / "checkpoint.npz", data=sample, progress=False).cfg.init == "xavier"
    del state["config"]["init_names"]                    # as written before
    save_checkpoint(tmp_path / "old.npz", state)
    old = Trainer.resume(tmp_path / "old.npz", data=sample, progress=False)
    assert old.cfg.init == "lecun"
    assert load_model(tmp_path / "old.npz")[1].init == "lecun"


# ----- model and optimizer options -------------------------------------------------------------
def test_dropout_adds_layers_that_train_and_evaluate_as_identity(make_config, sample, tmp_path):
    trainer = Trainer(make_config(dropout=0.5, epochs=1), tmp_path, data=sample, progress=False, log=lambda *_: None)
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
def test_optimizer_options_reach_the_optimizer(make_config, kw, kind, momentum, decay):
    cfg = make_config(**kw)
    optimizer = build_optimizer(cfg, list(build_model(cfg).parameters()))
    group = optimizer.param_groups[0]
    assert type(optimizer) is kind and group["weight_decay"] == decay
    assert group.get("momentum") == momentum and cfg.resolved().get("momentum") == momentum
    assert group["nesterov"] if cfg.optimizer == "nesterov" else not group.get("nesterov", False)


def test_kaiming_is_he_as_pytorch_calls_it(make_config):
    for name in ("kaiming", "kaiming_normal", "kaiming_uniform"):
        assert name in TrainConfig.__dataclass_fields__["init"].metadata["help"]
    he, kaiming = build_model(make_config(init="he")), build_model(make_config(init="kaiming"))
    for (name, p), (_, q) in zip(he.named_parameters(), kaiming.named_parameters()):
        np.testing.assert_array_equal(p.data, q.data, err_msg=name)


def test_the_trainer_and_evaluate_convert_numpy_batches_to_the_models_dtype(make_config, sample, tmp_path):
    """The dtype rule: plain data takes the model's dtype (data loading); a Tensor is never cast."""
    x, y, xt, yt, src = sample
    as64 = (x[:256].astype(np.float64), y[:256], xt[:200].astype(np.float64), yt[:200], src)
    trainer = Trainer(make_config(epochs=1, dtype="float32"), tmp_path, data=as64, progress=False, log=lambda *_: None)
    history = trainer.fit()
    assert np.isfinite(history[-1]["train_loss"])
    assert all(p.dtype == np.float32 for p in trainer.model.parameters())
    loss, accuracy, _ = evaluate(trainer.model, xt[:200].astype(np.float64), yt[:200])
    assert np.isfinite(loss) and 0 <= accuracy <= 1
    from tinygrad_lab import Tensor
    with pytest.raises(TypeError, match=r"Linear\(784, 32\) holds float32 weights but got a float64 input"):
        trainer.model(Tensor(xt[:2].astype(np.float64)))


def _as_uint8(sample):
    """The ``sample`` fixture's images as loaded: uint8 rows (the fixture scaled them)."""
    from tinygrad_lab.data import flatten, load_sample

    ds = load_sample()
    x, y, xt, yt, src = sample
    return flatten(ds.train_images[:len(x)]), y, flatten(ds.test_images), yt, src


def test_a_loaded_dataset_stays_uint8_and_is_scaled_batch_by_batch(make_config, tmp_path):
    trainer = Trainer(make_config(dataset="mnist-sample"), tmp_path, progress=False, log=lambda *_: None,
                      download=False)
    for x in (trainer.x_train, trainer.x_val, trainer.x_test):
        assert x.dtype == np.uint8 and x.ndim == 2 and x.shape[1] == 784


def test_uint8_data_trains_bit_for_bit_as_the_same_data_scaled_up_front(make_config, sample, tmp_path):
    """Scaling each batch when it is used (and each evaluation chunk) gives the run of the data set
    scaled once; the captured step reads each fresh scaled batch in place."""
    cfg = make_config(batchnorm=True, dropout=0.2, clip_norm=1.0)
    runs = [Trainer(cfg, tmp_path / name, data=data, progress=False, log=lambda *_: None)
            for name, data in (("float", sample), ("uint8", _as_uint8(sample)))]
    histories = [t.fit() for t in runs]
    assert runs[1].x_train.dtype == np.uint8
    for key in ("train_loss", "val_loss", "test_loss", "val_accuracy", "test_accuracy"):
        assert [r[key] for r in histories[0]] == [r[key] for r in histories[1]], key
    for name, value in _final_state(runs[0]).items():
        assert value.tobytes() == _final_state(runs[1])[name].tobytes(), name
    step = runs[1].run_step
    assert step.reason is None and step.plan is not None
    xb, yb = runs[1].x_train[:64], runs[1].y_train[:64]
    for _ in range(2):              # recorded again (evaluation's eval()/train() dropped the plans), replayed
        runs[1].train_step(xb, yb)
    (buffer,) = [b for i, _, b in step.plan.inputs if i == 0]
    assert step.reason is None
    assert all(k.args[at[0]] is not buffer for k, at in step.plan.readers[id(buffer)])  # read in place


def test_evaluate_scales_uint8_images_chunk_by_chunk_as_normalize(make_config, sample):
    from tinygrad_lab.data import normalize

    model = build_model(make_config())
    x, y = _as_uint8(sample)[2:4]
    for batch_size in (64, 1000):
        scaled = evaluate(model, normalize(x), y, batch_size=batch_size)
        loss, accuracy, predicted = evaluate(model, x, y, batch_size=batch_size)
        assert (loss, accuracy) == scaled[:2] and np.array_equal(predicted, scaled[2])


@pytest.mark.parametrize("stop_after", [None, 5])
def test_the_progress_bar_shows_each_epoch_and_closes(make_config, sample, tmp_path, capsys, stop_after):
    """With ``progress=True`` a bar per epoch on stderr, closed at the end of the epoch or when the run
    stops early; without it the loop runs on the batches themselves (tqdm is not needed)."""
    trainer = Trainer(make_config(epochs=1), tmp_path, data=sample, progress=True, log=lambda *_: None)
    trainer.fit(stop_after_steps=stop_after)
    err = capsys.readouterr().err
    assert "epoch 1/1" in err and "batch" in err
    assert trainer.step == (stop_after or len(trainer.loader))
