"""``experiment hessian`` writes the numbers the textbook arguments rest on."""
import argparse
import json

import pytest

from tinygrad_lab.experiments import EXPERIMENT_MODULES, hessian


@pytest.fixture(scope="module")
def summary(tmp_path_factory):
    out = tmp_path_factory.mktemp("hessian")
    parser = argparse.ArgumentParser()
    hessian.add_arguments(parser)
    assert hessian.run(parser.parse_args(["--out", str(out)])) == 0
    assert (out / "hessian.png").stat().st_size > 0
    return json.loads((out / "summary.json").read_text())


def test_is_registered():
    assert hessian.NAME in EXPERIMENT_MODULES
    assert hessian.HELP


def test_quadratics_have_the_expected_curvature(summary):
    q = summary["quadratics"]
    assert q["x^2 + 50y^2"]["eigenvalues"] == pytest.approx([2.0, 100.0])
    assert q["x^2 + 50y^2"]["condition_number"] == pytest.approx(50.0)
    assert q["x^2 + 50y^2"]["max_stable_lr"] == pytest.approx(0.02)
    for name in ("x^2/20 + y^2", "0.05x^2 + y^2"):
        assert q[name]["eigenvalues"] == pytest.approx([0.1, 2.0])
        assert q[name]["condition_number"] == pytest.approx(20.0)


def test_gradient_descent_converges_below_and_diverges_above_two_over_lambda_max(summary):
    s = summary["stability"]
    assert s["lambda_max"] == pytest.approx(100.0)
    assert s["critical_lr"] == pytest.approx(0.02)
    below, above = s["runs"]
    assert below["lr"] < s["critical_lr"] < above["lr"]
    assert below["converged"] and not below["diverged"]
    assert above["diverged"] and not above["converged"]
    assert below["final_loss"] < 1e-10
    assert above["final_loss"] > 1e10


def test_mlp_loss_hessian_spectrum(summary):
    m = summary["mlp_loss"]
    assert m["parameters"] == 2 * 3 + 3 + 3 * 1 + 1
    assert len(m["eigenvalues"]) == m["parameters"]
    assert m["eigenvalues"] == sorted(m["eigenvalues"])
    assert m["lambda_max"] > 0 and m["condition_number"] >= 1


def test_the_four_input_jacobians_agree(summary):
    j = summary["input_jacobian"]
    assert j["methods"] == ["reverse mode", "forward mode", "central differences", "chain product"]
    assert len(j["pairwise_max_difference"]) == 6
    assert j["max_pairwise_difference"] < 1e-6
