"""``tinygrad-lab experiment NAME`` writes its folder under the rule of every command that writes one:
a folder holding files is refused unless --force."""
import pytest

from tinygrad_lab.cli import main
from tinygrad_lab.experiments import EXPERIMENT_MODULES, describe

NAMES = [describe(module)[0] for module in EXPERIMENT_MODULES]


@pytest.mark.parametrize("name", NAMES)
def test_an_experiment_refuses_a_folder_that_holds_files(tmp_path, name):
    out = tmp_path / name
    out.mkdir()
    (out / "summary.json").write_text("an earlier run's")
    with pytest.raises(SystemExit) as caught:
        main(["experiment", name, "--out", str(out)])
    assert caught.value.code == (f"tinygrad-lab experiment {name}: --out {out} already holds files (summary.json); "
                                 "choose another --out, or write into it with --force")
    assert (out / "summary.json").read_text() == "an earlier run's"
    assert sorted(p.name for p in out.iterdir()) == ["summary.json"]


def test_force_writes_into_it_and_a_new_folder_needs_no_force(tmp_path, capsys):
    argv = ["experiment", "quadratic", "--function", "round", "--steps", "20"]
    assert main([*argv, "--out", str(tmp_path / "new")]) == 0
    assert main([*argv, "--out", str(tmp_path / "new"), "--force"]) == 0
    assert sorted(p.name for p in (tmp_path / "new").iterdir()) == [
        "round_convergence.png", "round_trajectories.csv", "round_trajectories.png", "summary.json"]
