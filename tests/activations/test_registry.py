"""Every registered activation: its σ' is the derivative of its σ, it is the same fused and unfused
on both backends, and ``tinygrad-lab train --activation NAME`` learns with it.  (The op catalogue
adds gradcheck, gradgradcheck and the jvp tests of its unfused, fused and nn-layer forms, and the
backend parity suite its kernels.)"""
import json

import numpy as np
import pytest

from tinygrad_lab import Tensor, activations, nn
from tinygrad_lab.activations import Definition
from tinygrad_lab.backend import use_backend
from tinygrad_lab.cli import main

ACTS = list(activations.REGISTRY.values())


@pytest.mark.parametrize("act", ACTS, ids=lambda a: a.name)
def test_sigma_prime_is_the_derivative_of_sigma(act):
    z = np.linspace(-4, 4, 81) + 0.013            # off every kink
    h = 1e-6
    numeric = (act.sigma(z + h) - act.sigma(z - h)) / (2 * h)
    np.testing.assert_allclose(act.derivative(z, act.sigma(z)), numeric, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("backend", ["numpy", "numba"])
@pytest.mark.parametrize("act", ACTS, ids=lambda a: a.name)
def test_fused_equals_unfused(act, backend):
    x = np.random.default_rng(0).normal(size=(6, 5))
    with use_backend(backend):
        grads = []
        for fuse in (False, True):
            model = nn.MLP([5, 4, 3], activation=act.name, output_activation=act.name, seed=1, fuse=fuse)
            out = model(Tensor(x))
            (out * out).sum().backward()
            grads.append([out.data] + [p.grad.data for p in model.parameters()])
    for unfused, fused in zip(*grads):
        np.testing.assert_allclose(fused, unfused, rtol=1e-12, atol=1e-13)


def test_sigma_prime_must_say_what_it_reads():
    with pytest.raises(TypeError, match="named y .* or z"):
        Definition("bad", "Bad", lambda z: z, lambda a: a)


def test_unknown_activation_is_named():
    with pytest.raises(ValueError, match="unknown activation 'swish'; known: identity, relu"):
        activations.get("swish")


@pytest.mark.parametrize("name", [a.name for a in ACTS if a.name != "identity"])
def test_train_learns_with_it(name, tmp_path):
    out = tmp_path / name
    assert main(["train", "--dataset", "mnist-sample", "--hidden", "32", "--epochs", "1", "--batch-size",
                 "50", "--activation", name, "--out", str(out), "--no-progress"]) == 0
    assert final_accuracy(out) > 0.5          # chance: 0.1


def final_accuracy(out) -> float:
    return json.loads((out / "metrics.json").read_text())["history"][-1]["test_accuracy"]
