"""What a run leaves to read: metrics.json with where the time went, and curves.png drawn once, at the end."""
import json
import subprocess
import sys
from pathlib import Path

from tinygrad_lab.train import Trainer
from tinygrad_lab.train_reports import plot_curves, write_reports

ROOT = Path(__file__).resolve().parents[1]


def test_the_run_records_where_its_time_went(make_config, sample, tmp_path):
    trainer = Trainer(make_config(), tmp_path, data=sample, progress=False, log=lambda *_: None)
    trainer.fit()
    write_reports(trainer)
    seconds = json.loads((tmp_path / "metrics.json").read_text())["seconds"]
    assert list(seconds) == ["data", "first_step", "steps", "evaluation", "checkpoints", "reports"]
    assert all(t > 0 for t in seconds.values()), seconds
    assert seconds["first_step"] == round(trainer.first_step_seconds, 4)


def test_matplotlib_is_imported_only_to_draw_the_curves_at_the_end(tmp_path):
    """Training (metrics written every epoch) loads no matplotlib; write_reports does, without pyplot
    (which would pick a GUI backend), and writes curves.png."""
    code = f"""
import sys
from tinygrad_lab.backend import set_backend
from tinygrad_lab.train import Trainer
from tinygrad_lab.train_config import TrainConfig
from tinygrad_lab.train_reports import write_reports
set_backend("numpy")
cfg = TrainConfig(dataset="mnist-sample", sizes=[784, 8, 10], epochs=2, batch_size=500)
trainer = Trainer(cfg, {str(tmp_path)!r}, progress=False, log=lambda *_: None, download=False)
trainer.fit()
print(sorted(m for m in sys.modules if m.partition(".")[0] == "matplotlib"))
write_reports(trainer)
print("matplotlib.figure" in sys.modules, "matplotlib.pyplot" in sys.modules)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.splitlines() == ["[]", "True False"]
    assert (tmp_path / "metrics.json").exists() and (tmp_path / "curves.png").exists()


def test_the_curves_are_drawn_once(tmp_path, monkeypatch):
    """One draw of the figure for curves.png (after Figure.tight_layout, savefig drew it twice)."""
    from matplotlib.figure import Figure

    draws, real_draw = [], Figure.draw
    monkeypatch.setattr(Figure, "draw", lambda self, renderer: (draws.append(1), real_draw(self, renderer))[1])
    history = [{"epoch": e, "train_loss": 1 / e, "val_loss": 1.1 / e, "val_accuracy": 0.8, "test_loss": 1.2 / e,
                "test_accuracy": 0.8} for e in (1, 2, 3)]
    path = plot_curves(history, tmp_path / "curves.png", title="three epochs")
    assert len(draws) == 1
    assert path.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
