"""What a run leaves to read: metrics.json with where the time went, and curves.png (drawn with Pillow):
its size, each series in its panel, awkward histories, the atomic write."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

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


def test_a_whole_run_imports_no_matplotlib(tmp_path):
    """Training (metrics written every epoch) and write_reports (curves.png drawn with Pillow) load no
    matplotlib."""
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
write_reports(trainer)
print(sorted(m for m in sys.modules if m.partition(".")[0] == "matplotlib"), "PIL.Image" in sys.modules)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.splitlines() == ["[] True"]
    assert (tmp_path / "metrics.json").exists() and (tmp_path / "curves.png").exists()


TRAIN, VAL, TEST = (0x1F, 0x77, 0xB4), (0x2C, 0xA0, 0x2C), (0xFF, 0x7F, 0x0E)


def history(epochs=5, val=True, **columns) -> list[dict]:
    """A plausible run's history; ``columns`` replace a column by a list of values, one per epoch."""
    rows = [{"epoch": e, "train_loss": 0.3 / e, "val_loss": 0.12 - 0.01 * e, "val_accuracy": 0.96 + 0.003 * e,
             "test_loss": 0.11 - 0.01 * e, "test_accuracy": 0.965 + 0.003 * e} for e in range(1, epochs + 1)]
    rows = [{**row, **{k: v[i] for k, v in columns.items()}} for i, row in enumerate(rows)]
    return rows if val else [{k: v for k, v in row.items() if not k.startswith("val_")} for row in rows]


def color_pixels(path: Path, color: tuple[int, int, int]) -> tuple[int, int]:
    """How many pixels of the left and of the right half of the image are within 8 of ``color``."""
    pixels = np.asarray(Image.open(path).convert("RGB")).astype(int)
    near = (np.abs(pixels - color) <= 8).all(axis=-1)
    half = pixels.shape[1] // 2
    return int(near[:, :half].sum()), int(near[:, half:].sum())


def test_curves_png_is_a_1100_by_440_image(tmp_path):
    path = plot_curves(history(), tmp_path / "curves.png", title="five epochs")
    assert path == tmp_path / "curves.png"
    with Image.open(path) as image:
        assert (image.format, image.size, image.mode) == ("PNG", (1100, 440), "RGB")


@pytest.mark.parametrize("val", [True, False])
def test_each_series_is_drawn_in_its_panel(tmp_path, val):
    """train: loss panel (left) only; val (if any) and test: both panels.  (A series' legend entry alone
    has 25-60 pixels of its color, its line and markers 150-470.)"""
    path = plot_curves(history(val=val), tmp_path / "curves.png", title="five epochs")
    left, right = color_pixels(path, TRAIN)
    assert left > 100 and right == 0
    for color, present in ((VAL, val), (TEST, True)):
        left, right = color_pixels(path, color)
        assert (left > 100 and right > 100) if present else left == right == 0, (color, left, right)


def test_an_all_nan_series_draws_only_its_legend_entry(tmp_path):
    """(How a line breaks at an inf or NaN point: tests/test_line_chart.py.)"""
    drawn = color_pixels(plot_curves(history(), tmp_path / "finite.png", title="finite"), TRAIN)[0]
    nothing = history(train_loss=[float("nan")] * 5)
    legend_only = color_pixels(plot_curves(nothing, tmp_path / "nan.png", title="all NaN"), TRAIN)[0]
    assert 0 < legend_only < drawn / 3, (legend_only, drawn)


@pytest.mark.parametrize("rows", [
    history(epochs=1), history(epochs=1, val=False),
    history(train_loss=[0.5] * 5, val_loss=[0.5] * 5, test_loss=[0.5] * 5, val_accuracy=[0.1] * 5,
            test_accuracy=[0.1] * 5),
    history(train_loss=[0.0] * 5, val_accuracy=[1.0] * 5, test_accuracy=[0.0] * 5),
    history(train_loss=[float("nan")] * 5, val_loss=[float("inf")] * 5, val_accuracy=[float("nan")] * 5),
    history(train_loss=[1e-300, 1e30, 1e150, 1.7e308, 1e308], test_loss=[5e-324] * 5, val_loss=[1e15] * 5),
    history(epochs=200)], ids=["one-epoch", "one-epoch-no-val", "constant", "zeros", "nan-inf", "extremes", "200"])
def test_awkward_histories_draw_a_valid_png(tmp_path, rows):
    path = plot_curves(rows, tmp_path / "curves.png", title="awkward")
    with Image.open(path) as image:
        image.verify()
    with Image.open(path) as image:
        assert image.size == (1100, 440)
        image.load()
    assert color_pixels(path, TEST) > (0, 0)


def test_curves_png_is_written_atomically(tmp_path, monkeypatch):
    """An existing curves.png is replaced whole, and left as it was if writing fails; no temporary file
    stays behind either way."""
    path = tmp_path / "curves.png"
    path.write_bytes(b"an older run's curves")
    plot_curves(history(), path, title="five epochs")
    assert path.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert [p.name for p in tmp_path.iterdir()] == ["curves.png"]

    def full_disk(self, out, *args, **kwargs):
        out.write(b"\x89PNG half")
        raise OSError(28, "No space left on device")

    before = path.read_bytes()
    monkeypatch.setattr(Image.Image, "save", full_disk)
    with pytest.raises(OSError, match="No space left"):
        plot_curves(history(epochs=2), path, title="two epochs")
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["curves.png"]
