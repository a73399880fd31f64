"""What a run leaves to read: metrics.json with where the time went, and curves.png drawn once, at the end."""
import json
import subprocess
import sys
from pathlib import Path

from tinygrad_lab.train import Trainer
from tinygrad_lab.train_reports import write_reports

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
