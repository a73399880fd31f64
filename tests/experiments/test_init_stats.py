"""The initialization lab: statistics from the framework's forward/backward pass, the textbook claims
under a fixed seed (orders of magnitude), and the ``tinygrad-lab experiment init-stats`` command."""
import csv
from pathlib import Path

import numpy as np
import pytest

from tinygrad_lab.cli import main
from tinygrad_lab.experiments import EXPERIMENT_MODULES, init_stats, parser
from tinygrad_lab.experiments.init_stats import (
    HISTOGRAM_DEPTH,
    RELU9_DEPTH,
    RELU9_INITS,
    Setting,
    build_net,
    measure,
    run_settings,
    relu9_settings,
    five_layer_settings,
    homework_settings,
    seed_table,
    theta_zero_findings,
)

ACTIVATIONS = {"relu": lambda z: np.maximum(z, 0), "sigmoid": lambda z: 1 / (1 + np.exp(-z)),
               "tanh": np.tanh}
DERIVATIVES = {"relu": lambda z, a: (z > 0) * 1.0, "sigmoid": lambda z, a: a * (1 - a),
               "tanh": lambda z, a: 1 - a * a}


def by_hand(net, setting: Setting, x: np.ndarray):
    """The same net in plain numpy, weights read from the model: a(l) for every l, and ∂E/∂W(l) of
    E = ½ Σ a(L)² by the homework's δ recursion (only without BatchNorm)."""
    act = ACTIVATIONS[setting.activation]
    zs, activations, a = [], [x], x
    for block in net:
        linear = block[0]
        z = a @ linear.weight.data.T + (linear.bias.data if linear.bias is not None else 0)
        if setting.batchnorm:
            z = (z - z.mean(axis=0)) / np.sqrt(z.var(axis=0) + 1e-5)
        a = act(z)
        zs.append(z)
        activations.append(a)
    if setting.batchnorm:
        return activations[1:], None
    grads, delta = [], activations[-1] * DERIVATIVES[setting.activation](zs[-1], activations[-1])
    for l in range(len(zs) - 1, -1, -1):
        grads.insert(0, delta.T @ activations[l])
        if l:
            delta = (delta @ net[l][0].weight.data) * DERIVATIVES[setting.activation](zs[l - 1], activations[l])
    return activations[1:], grads


@pytest.mark.parametrize("setting", [Setting("relu", "normal:0.01", batchnorm=True), Setting("relu", "he"),
                                     Setting("sigmoid", "normal:1", theta_bias=True), Setting("tanh", "lecun")],
                         ids=lambda s: s.slug)
def test_statistics_come_from_the_framework_forward_and_backward(setting):
    rng = np.random.default_rng(7)
    x = rng.standard_normal((64, 12))
    net = build_net(setting, 12, 10, 4, np.random.default_rng(3))
    stats, outputs = measure(net, x)
    expected, grads = by_hand(net, setting, x)
    assert stats[0].mean == pytest.approx(x.mean()) and stats[0].std == pytest.approx(x.std())
    for s, a, mine in zip(stats[1:], outputs, expected):
        np.testing.assert_allclose(a, mine, rtol=1e-9, atol=1e-12)
        assert s.mean == pytest.approx(mine.mean(), rel=1e-9, abs=1e-15)
        assert s.std == pytest.approx(mine.std(), rel=1e-9, abs=1e-15)
    if grads is not None:
        for s, g in zip(stats[1:], grads):
            assert s.mean_abs_grad == pytest.approx(np.abs(g).mean(), rel=1e-9)


def test_settings_draw_their_weights_from_the_seed():
    a = build_net(Setting("relu", "he"), 5, 5, 2, np.random.default_rng(1))
    b = build_net(Setting("relu", "he"), 5, 5, 2, np.random.default_rng(1))
    np.testing.assert_array_equal(a[1][0].weight.data, b[1][0].weight.data)
    assert np.std(a[0][0].weight.data) > 0


@pytest.fixture(scope="module")
def relu9_runs():
    runs = run_settings(relu9_settings(), 1000, 100, RELU9_DEPTH, seed=0, part=0)
    return {r.setting.init + ("+bn" if r.setting.batchnorm else ""): r for r in runs}


def stds(run):
    return np.array([s.std for s in run.layers])


def test_relu9_tells_the_story(relu9_runs):
    assert list(relu9_runs) == list(RELU9_INITS)
    assert stds(relu9_runs["normal:0.01"])[-1] <= 1e-5                     # collapses
    assert np.all(np.diff(np.log(stds(relu9_runs["normal:0.01"]))) < 0)
    assert stds(relu9_runs["normal:1"])[-1] >= 1e6                         # explodes (√50 per layer at width 100)
    assert np.all(np.diff(np.log(stds(relu9_runs["normal:1"]))) > 0)
    lecun = stds(relu9_runs["lecun"])
    assert 0.4 < lecun[0] < 0.8 and 1e-3 < lecun[-1] < 0.1 and lecun[-1] / lecun[0] < 0.2  # slow decay
    assert np.all((0.4 < stds(relu9_runs["he"])) & (stds(relu9_runs["he"]) < 2))  # order 0.8 throughout
    assert np.all(np.abs(stds(relu9_runs["normal:0.01+bn"]) - 0.584) < 0.03)  # std of ReLU(N(0, 1)): constant
    means_bn = np.array([s.mean for s in relu9_runs["normal:0.01+bn"].layers])
    assert np.all(np.abs(means_bn - 0.399) < 0.03)


def test_relu9_gradients_vanish_and_explode(relu9_runs):
    grad = {k: np.array([s.mean_abs_grad for s in r.layers]) for k, r in relu9_runs.items()}
    assert np.all(grad["normal:0.01"] < 1e-12) and np.all(grad["normal:1"] > 1e12)
    assert np.all((grad["he"] > 1) & (grad["he"] < 1e5))


def test_relu9_table_has_the_seeds_format(relu9_runs):
    table = seed_table(relu9_runs["he"])
    assert table[0].startswith("input mean ") and " and std " in table[0]
    assert table[1].startswith("layer 1 mean 0.5") and len(table) == RELU9_DEPTH + 1
    assert "e-" in seed_table(relu9_runs["normal:0.01"])[-1]  # a collapsed std stays visible


def test_std_one_reaches_the_seeds_magnitude_at_its_width():
    """The textbook table's layer-9 std 8.8e10 fits width ≈ 800."""
    (run,) = run_settings([Setting("relu", "normal:1")], 200, 800, RELU9_DEPTH, seed=0, part=0)
    assert run.layers[-1].std >= 1e9


def saturated(a, low, high):
    return np.mean((a < low) | (a > high))


def test_five_layer_histogram_claims():
    sigmoid = {r.setting.init: r.outputs for r in run_settings(five_layer_settings("sigmoid"), 1000, 100,
                                                               HISTOGRAM_DEPTH, seed=0, part=1)}
    assert all(saturated(a, 0.05, 0.95) > 0.6 for a in sigmoid["normal:1"])        # at 0 and 1
    assert all(np.all(np.abs(a - 0.5) < 0.2) for a in sigmoid["normal:0.01"])       # at 0.5
    assert all(0.1 < a.std() < 0.3 and saturated(a, 0.05, 0.95) < 0.1 for a in sigmoid["lecun"])
    relu = {r.setting.init: r.outputs for r in run_settings(five_layer_settings("relu"), 1000, 100,
                                                            HISTOGRAM_DEPTH, seed=0, part=1)}
    assert all(0.5 < a.std() < 1.5 for a in relu["he"])
    assert relu["lecun"][-1].std() < 0.5 * relu["lecun"][0].std()


def test_homework_theta_zero_is_reported_as_it_is():
    runs = {r.setting.slug: r for r in run_settings(homework_settings(), 100, 100, HISTOGRAM_DEPTH, seed=0, part=2)}
    assert all(np.all(a == 0.5) for a in runs["sigmoid_zeros"].outputs)
    assert all(np.all(a == 0) for a in runs["relu_zeros"].outputs)
    assert [s.mean_abs_grad > 0 for s in runs["sigmoid_zeros"].layers] == [False] * 4 + [True]
    assert all(s.mean_abs_grad == 0 for s in runs["relu_zeros"].layers)
    findings = "\n".join(theta_zero_findings(list(runs.values())))
    assert "sigmoid, θ = 0: every layer's output a(1) … a(5) is exactly 0.5" in findings
    assert "relu, θ = 0: every layer's output a(1) … a(5) is exactly 0 " in findings
    assert np.std(runs["relu_normal-1"].outputs[0]) > 1


def test_experiment_is_registered_and_defaults_are_the_real_experiment():
    assert "init_stats" in EXPERIMENT_MODULES
    args = parser(init_stats).parse_args([])
    assert (args.width, args.samples, args.seed, args.out) == (100, 1000, 0, Path("runs/init-stats"))


def test_the_histogram_titles_name_the_book_once(tmp_path, monkeypatch):
    titles = []
    monkeypatch.setattr(init_stats, "plot_histograms", lambda runs, path, title: titles.append(title) or path)
    monkeypatch.setattr(init_stats, "plot_gradients", lambda groups, path: path)
    monkeypatch.setattr(init_stats, "plot_layer_curves", lambda runs, path, title: path)
    assert main(["experiment", "init-stats", "--out", str(tmp_path / "lab"), "--samples", "20", "--width", "8"]) == 0
    five_layer = [t for t in titles if "DLFS" in t]
    assert len(five_layer) == 3 and all(t.startswith("Deep Learning from Scratch (DLFS), ch. 6: ") for t in five_layer)
    assert not [t for t in titles if "DLFS (DLFS" in t or t.count("DLFS") > 1]


def test_command_writes_its_files(tmp_path, capsys):
    out = tmp_path / "lab"
    assert main(["experiment", "init-stats", "--out", str(out), "--samples", "50", "--width", "20",
                 "--seed", "3"]) == 0
    printed = capsys.readouterr().out
    assert "input mean" in printed and "layer 9 mean" in printed and "(50, 20)" in printed
    names = {p.name for p in out.iterdir()}
    expected_png = ({"relu9_stats.png", "gradients.png", "homework_overview.png"}
                    | {f"five_layer_{a}_histograms.png" for a in ("sigmoid", "tanh", "relu")}
                    | {f"homework_{s.slug}.png" for s in homework_settings()})
    assert expected_png | {"relu9_stats.csv", "five_layer_stats.csv", "homework_stats.csv",
                           "summary.txt"} <= names
    for name in expected_png:
        assert (out / name).read_bytes()[:4] == b"\x89PNG"
    with open(out / "relu9_stats.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len(RELU9_INITS) * (RELU9_DEPTH + 1)
    assert {r["init"] for r in rows} == {"normal:0.01", "normal:1", "lecun", "he"}
    assert "LeCun N(0, 1/n) (called Xavier in Deep Learning from Scratch)" in printed
    assert (out / "summary.txt").read_text().strip() in printed


def test_init_option_selects_the_table_settings(tmp_path, capsys):
    args = parser(init_stats).parse_args(["--init", "he_uniform", "--init", "xavier+bn"])
    assert args.init == ["he_uniform", "xavier+bn"]
    assert [s.batchnorm for s in relu9_settings(args.init)] == [False, True]


@pytest.mark.parametrize("argv, message", [
    (["--width", "0"], "--width: must be >= 1, got 0"),
    (["--width", "wide"], "'wide' is not an integer"),
    (["--samples", "1"], "--samples: must be >= 2, got 1"),
    (["--init", "gaussian"], "unknown init 'gaussian'"),
    (["--init", "normal:x"], "'x' is not a number"),
])
def test_bad_options_give_a_clear_error(argv, message, tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["experiment", "init-stats", "--out", str(tmp_path), *argv])
    assert exc.value.code == 2
    assert message in capsys.readouterr().err
    assert not any(tmp_path.iterdir())
