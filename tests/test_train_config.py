"""The config of a training run: bad values named by their field, schedules parsed, the memory estimate."""
import dataclasses

import pytest

from tinygrad_lab import train_config
from tinygrad_lab.train_config import ConfigError, parse_schedule


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
def test_bad_configs_name_the_field_not_a_flag(make_config, kw, message):
    with pytest.raises(ConfigError, match=message) as caught:
        make_config(**kw)
    assert caught.value.field in kw and "--" not in str(caught.value)


def test_schedule_parsing_fills_in_the_defaults():
    assert parse_schedule("step:3:0.5") == ("step", {"step_size": 3, "gamma": 0.5})
    assert parse_schedule("multistep:2,4") == ("multistep", {"milestones": [2, 4], "gamma": 0.1})
    assert parse_schedule("plateau") == ("plateau", {"factor": 0.1, "patience": 2})


def test_a_batch_is_at_most_the_training_set_when_memory_is_estimated(make_config, monkeypatch):
    """A DataLoader's batch never exceeds the training set: --batch-size 10⁸ needs what the whole set
    needs (it was estimated for 10⁸ rows: 372 GiB, refused naming --hidden)."""
    huge = make_config(sizes=[784, 16, 10], batch_size=10**8)
    whole = make_config(sizes=[784, 16, 10], batch_size=5000)
    assert train_config.memory_needed(huge) == train_config.memory_needed(whole) < 2**30
    assert train_config.memory_needed(huge, train_samples=1200) == train_config.memory_needed(
        dataclasses.replace(huge, batch_size=1200))
    train_config.check_memory(huge)


@pytest.mark.parametrize("cfg, field", [(dict(sizes=[784, 16, 10], batch_size=5000, dataset="mnist"), "batch_size"),
                                        (dict(sizes=[784, 4000, 4000, 10], batch_size=64), "sizes")])
def test_memory_refusal_names_the_option_that_needs_it(make_config, monkeypatch, cfg, field):
    cfg = make_config(**cfg)
    monkeypatch.setattr(train_config, "memory_available", lambda: train_config.memory_needed(cfg) // 2)
    with pytest.raises(ConfigError) as caught:
        train_config.check_memory(cfg)
    assert caught.value.field == field
