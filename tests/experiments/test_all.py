"""``python -m tinygrad_lab.experiments.all --quick`` writes every docs figure folder, without MNIST."""
import subprocess
import sys


def test_all_quick_writes_the_docs_figures(tmp_path):
    done = subprocess.run([sys.executable, "-m", "tinygrad_lab.experiments.all", "--quick", "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "mnist" not in done.stdout.lower()
    for folder, figure in [("quadratic", "elongated_trajectories.png"), ("lr_decay", "lr_decay.png"),
                           ("init_stats", "relu9_stats.png"), ("hessian", "hessian.png")]:
        assert (tmp_path / folder / figure).stat().st_size > 1000, (folder, figure)


def test_all_does_not_import_the_mnist_experiments(tmp_path):
    code = ("import sys, tinygrad_lab.experiments.all as a; "
            "assert not [m for m in sys.modules if 'mnist' in m or m.endswith('batchnorm') and 'experiments' in m]; "
            "print(a.MNIST_EXPERIMENTS)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
