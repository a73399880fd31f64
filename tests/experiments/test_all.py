"""``python -m tinygrad_lab.experiments.all --quick`` writes every docs figure folder, without MNIST."""
import subprocess
import sys


def test_all_quick_writes_the_docs_figures(tmp_path):
    done = subprocess.run([sys.executable, "-m", "tinygrad_lab.experiments.all", "--quick", "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "mnist" not in done.stdout.lower()
    for folder, figure in [("quadratic", "elongated_trajectories.png"), ("lr-decay", "lr_decay.png"),
                           ("init-stats", "relu9_stats.png"), ("hessian", "hessian.png")]:
        assert (tmp_path / folder / figure).stat().st_size > 1000, (folder, figure)


def test_all_does_not_import_the_mnist_experiments(tmp_path):
    code = ("import sys, tinygrad_lab.experiments.all as a; "
            "assert not [m for m in sys.modules if 'mnist' in m or m.endswith('batchnorm') and 'experiments' in m]; "
            "print(a.MNIST_EXPERIMENTS)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def test_one_spelling_per_experiment_in_the_command_its_runs_folder_and_the_docs():
    """``experiment init-stats`` writes into runs/init-stats, and its docs figures live in
    docs/figures/init-stats (the docs' folder was init_stats)."""
    import importlib
    from pathlib import Path

    from tinygrad_lab.experiments import EXPERIMENT_MODULES, all as all_module, parser
    root = Path(__file__).resolve().parents[2]
    for name in EXPERIMENT_MODULES:
        module = importlib.import_module(f"tinygrad_lab.experiments.{name}")
        assert parser(module).get_default("out") == Path("runs") / module.NAME, name
    for name, _, _ in all_module.DOCS_EXPERIMENTS:
        module = importlib.import_module(f"tinygrad_lab.experiments.{name}")
        assert (root / "docs" / "figures" / module.NAME).is_dir(), module.NAME
    linked = {link.split("/")[1] for doc in (root / "docs").glob("*.md")
              for link in __import__("re").findall(r"figures/[^/)\s]+/", doc.read_text())}
    assert linked <= {importlib.import_module(f"tinygrad_lab.experiments.{n}").NAME for n in EXPERIMENT_MODULES}
