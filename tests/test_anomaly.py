"""Anomaly mode names the op that first produced NaN/inf and the line that created it."""
import numpy as np
import pytest

import tinygrad_lab as tl
from tinygrad_lab import Tensor


def test_forward_nan_names_the_op_shapes_and_the_user_line():
    x = Tensor(np.array([[1.0, -1.0]]), requires_grad=True)
    with tl.detect_anomaly():
        with pytest.raises(tl.AnomalyError, match=r"Log \(inputs of shapes \(1, 2\)\) produced NaN.*"
                                                  r"all of its inputs were finite.*test_anomaly.py:\d+"):
            (x * 2).log()  # log(-2) is NaN: this line must be named


def test_backward_inf_names_the_op():
    x = Tensor(np.array([0.0, 4.0]), requires_grad=True)
    with tl.detect_anomaly():
        y = x.sqrt().sum()   # forward is finite; d/dx sqrt at 0 is inf
        with pytest.raises(tl.AnomalyError, match=r"Sqrt .* produced inf in the gradient of input 0.*"
                                                  r"Created at .*test_anomaly.py"):
            y.backward()


def test_outside_anomaly_mode_nan_passes_silently_and_no_stack_is_kept():
    x = Tensor(np.array([-1.0]), requires_grad=True)
    y = x.log()
    assert np.isnan(y.data).all() and not hasattr(y.creator, "created_at")


def test_anomaly_mode_is_restored_after_the_block():
    with tl.detect_anomaly():
        pass
    from tinygrad_lab.mode import is_anomaly_enabled
    assert is_anomaly_enabled() is False


def test_in_place_change_of_a_saved_input_is_caught():
    w = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    loss = (w * w).sum()
    w.data -= 0.1            # as a manual SGD step before backward would
    with pytest.raises(RuntimeError, match=r"Mul: input 0 of shape \(2,\) was modified in place.*"
                                           r"version 0 -> 1"):
        loss.backward()


def test_optimizer_step_before_backward_is_caught():
    model = tl.nn.Linear(3, 2)
    opt = tl.optim.SGD(model.parameters(), lr=0.1)
    x = Tensor(np.ones((4, 3)))
    model(x).sum().backward()
    loss = (model(x) ** 2).sum()
    opt.step()
    with pytest.raises(RuntimeError, match="Affine: input 1 of shape \\(2, 3\\) was modified in place"):
        loss.backward()


def test_in_place_change_of_an_input_only_added_is_harmless():
    w = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    loss = (w + 1).sum()
    w.data += 5
    loss.backward()
    np.testing.assert_array_equal(w.grad.data, [1.0, 1.0])


def test_train_cli_stops_cleanly_with_detect_anomaly(tmp_path, monkeypatch):
    from tinygrad_lab import train
    from tinygrad_lab.cli import main

    real_build = train.build_model

    def poisoned(cfg):
        model = real_build(cfg)
        model[0].weight.data[0, 0] = np.inf   # inf * 0 pixels gives NaN in the first layer
        return model

    monkeypatch.setattr(train, "build_model", poisoned)
    with pytest.raises(SystemExit, match=r"(?s)stopped: Affine\+relu .* produced NaN.*no checkpoint was written"):
        main(["train", "--dataset", "mnist-sample", "--hidden", "8", "--epochs", "1", "--out", str(tmp_path),
              "--no-progress", "--detect-anomaly"])
