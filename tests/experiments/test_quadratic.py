"""The quadratic lab: quick runs write their files and the nine-layer table's story holds."""

import csv
import json

import numpy as np
import pytest

from tinygrad_lab.experiments import EXPERIMENT_MODULES, main, quadratic


def test_registered():
    assert "quadratic" in EXPERIMENT_MODULES and quadratic.NAME == "quadratic"


@pytest.fixture(scope="module")
def elongated(tmp_path_factory):
    out = tmp_path_factory.mktemp("quadratic")
    assert main(quadratic, ["--function", "elongated", "--steps", "1000", "--out", str(out)]) == 0
    return out, json.loads((out / "summary.json").read_text())["functions"]["elongated"]


def test_files(elongated):
    out, _ = elongated
    for name in ["elongated_trajectories.png", "elongated_convergence.png"]:
        assert (out / name).read_bytes()[:4] == b"\x89PNG"
    rows = list(csv.DictReader((out / "elongated_trajectories.csv").open()))
    assert {r["optimizer"] for r in rows} == {m.label for m in quadratic.METHODS}
    assert rows[0]["step"] == "0" and float(rows[0]["x"]) == -7.0


def test_relu9_story(elongated):
    _, summary = elongated
    runs = {r["optimizer"]: r for r in summary["runs"]}
    assert runs["sgd-large"]["status"] == "diverged"
    assert runs["sgd-small"]["status"] == "converged"
    assert runs["momentum"]["steps"] < runs["sgd-small"]["steps"] / 3
    assert runs["nesterov"]["steps"] < runs["momentum"]["steps"]
    assert runs["nesterov"]["y_sign_changes"] < runs["momentum"]["y_sign_changes"]
    assert runs["sgd-small"]["y_sign_changes"] == 0
    assert runs["newton"]["steps"] == 1
    assert all(c["holds"] for c in summary["story"])


def test_lr_override_and_budget(tmp_path, capsys):
    main(quadratic, ["--function", "round", "--steps", "20", "--lr", "sgd-small=0.5",
                     "--out", str(tmp_path)])
    runs = json.loads((tmp_path / "summary.json").read_text())["functions"]["round"]["runs"]
    by = {r["optimizer"]: r for r in runs}
    assert by["sgd-small"]["lr"] == 0.5 and by["sgd-small"]["steps"] == 1  # exact on x^2 + y^2
    assert by["sgd-large"]["status"] in ("diverged", "not reached")
    assert "sgd-small" in capsys.readouterr().out


def test_bad_override(tmp_path):
    with pytest.raises(SystemExit):
        main(quadratic, ["--lr", "sgd=oops", "--out", str(tmp_path)])


@pytest.mark.parametrize("key", ["rosenbrock", "round"])
def test_every_panel_shows_its_whole_path_or_marks_where_it_leaves(tmp_path, monkeypatch, key):
    """Newton's third step on Rosenbrock (y = −3.2) fell below the axes (−1) unmarked; sgd-large
    diverges on the round bowl: its panel says at which step the path leaves the view."""
    import matplotlib.pyplot as plt
    figures = []
    monkeypatch.setattr(plt, "close", figures.append)
    problem = quadratic.PROBLEMS[key]
    results = quadratic.run_problem(problem, 2000, 1e-6, {})
    quadratic.plot_trajectories(problem, results, tmp_path / "t.png")
    for ax, res in zip(figures[0].axes, results):
        (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
        inside = ((res.points[:, 0] >= x0) & (res.points[:, 0] <= x1) & (res.points[:, 1] >= y0)
                  & (res.points[:, 1] <= y1))
        marks = [t.get_text() for t in ax.texts if t.get_text().startswith("leaves the view at step")]
        assert inside.all() or marks == [f"leaves the view at step {int(np.argmax(~inside))}"], res.label
    newton = dict(zip([r.label for r in results], figures[0].axes))["newton"]
    assert key != "rosenbrock" or newton.get_ylim()[0] < -3.17
    monkeypatch.undo()
    plt.close(figures[0])
