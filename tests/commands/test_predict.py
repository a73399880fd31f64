"""predict on real drawings: transparency, size, position, several images, JSON, bombs, a closed pipe."""
import io
import json
import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tinygrad_lab.cli import main
from tinygrad_lab.commands.predict import image_to_input
from tinygrad_lab.data import load_sample, normalize
from tinygrad_lab.train import Trainer
from tinygrad_lab.train_config import TrainConfig
from tinygrad_lab.train_reports import write_reports

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))
from bench_predict_drawings import drawing, measure  # noqa: E402


@pytest.fixture(scope="module")
def model_and_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    ds = load_sample()
    data = (normalize(ds.train_images), ds.train_labels, normalize(ds.test_images), ds.test_labels, "sample")
    trainer = Trainer(TrainConfig(dataset="mnist-sample", sizes=[784, 64, 10], epochs=3), out, data=data,
                      progress=False, log=lambda *_: None)
    trainer.fit()
    write_reports(trainer)
    return trainer.model.eval(), trainer.cfg, out


def test_drawn_digits_lose_under_3_points_against_the_originals(model_and_run):
    model, cfg, _ = model_and_run
    ds = load_sample()
    result = measure(model, cfg, ds.test_images[:200], ds.test_labels[:200])
    assert result["original_accuracy"] > 0.8
    assert result["points_lost"] < 3.0, result


def test_a_drawing_comes_back_as_its_digit_centred_by_mass():
    digit = load_sample().test_images[0]
    recovered = image_to_input(io.BytesIO(drawing(digit, np.random.default_rng(1))))
    assert recovered.shape == (28, 28) and recovered.max() == pytest.approx(1.0, abs=0.05)
    mass = recovered.sum()
    assert abs(np.arange(28) @ recovered.sum(axis=1) / mass - 14) < 0.6
    assert abs(np.arange(28) @ recovered.sum(axis=0) / mass - 14) < 0.6
    original = digit / 255.0
    assert np.corrcoef(recovered.ravel(), original.ravel())[0, 1] > 0.8


@pytest.mark.parametrize("mode", ["dark ink on transparent", "light ink on transparent", "dark on white"])
def test_alpha_and_polarity_give_a_light_digit_on_dark(tmp_path, mode):
    digit = np.asarray(Image.fromarray(load_sample().test_images[3]).resize((560, 560), Image.Resampling.BICUBIC))
    if mode == "dark on white":
        image = Image.fromarray(255 - digit)
    else:
        image = Image.new("RGBA", (560, 560), (0, 0, 0, 0) if mode.startswith("dark") else (255, 255, 255, 0))
        image.putalpha(Image.fromarray(digit))
        if not mode.startswith("dark"):
            image = Image.merge("RGBA", (*Image.new("RGB", (560, 560), (255, 255, 255)).split(), image.getchannel("A")))
    image.save(tmp_path / "d.png")
    x = image_to_input(tmp_path / "d.png")
    assert x[0].max() < 0.05 and x.max() > 0.9 and (x > 0.5).sum() > 40   # not blank, not scattered dots


def test_a_decompression_bomb_is_refused_before_decoding(model_and_run, tmp_path, capsys):
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", 12000, 12000, 8, 0, 0, 0, 0)
    (tmp_path / "bomb.png").write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
                                        + chunk(b"IDAT", zlib.compress(b"\0" * 1000)) + chunk(b"IEND", b""))
    with pytest.raises(SystemExit, match=r"bomb\.png: declares 12000×12000 pixels, more than"):
        main(["predict", str(model_and_run[2] / "model.npz"), str(tmp_path / "bomb.png")])


def test_several_images_one_line_each_and_json(model_and_run, tmp_path, capsys):
    rng = np.random.default_rng(0)
    names = []
    for i in range(3):
        (tmp_path / f"{i}.png").write_bytes(drawing(load_sample().test_images[i], rng))
        names.append(str(tmp_path / f"{i}.png"))
    assert main(["predict", str(model_and_run[2] / "model.npz"), *names]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in lines] == names
    assert main(["predict", str(model_and_run[2] / "model.npz"), *names, "--json"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["image"] for r in records] == names
    assert all(sum(r["probabilities"]) == pytest.approx(1) and r["predicted"] in range(10) for r in records)


def test_a_closed_pipe_ends_quietly(model_and_run, tmp_path):
    names = []
    for i in range(200):
        (tmp_path / f"{i}.png").write_bytes(drawing(load_sample().test_images[i % 10], np.random.default_rng(i)))
        names.append(str(tmp_path / f"{i}.png"))
    command = [sys.executable, "-m", "tinygrad_lab.cli", "predict", str(model_and_run[2] / "model.npz"), *names]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT,
                               env={**os.environ, "PYTHONPATH": str(ROOT)})
    process.stdout.readline()
    process.stdout.close()                                  # as `| head -1` does
    stderr = process.stderr.read().decode()
    process.wait(timeout=120)
    assert stderr == "" and process.returncode in (0, 141)


@pytest.mark.parametrize("endianness", ["I;16", "I;16B"])
def test_a_16_bit_greyscale_png_gives_the_input_of_its_8_bit_twin(tmp_path, endianness):
    """16-bit grey levels are scaled by 65535 exactly (Pillow's convert("L") clipped them at 255: a
    saturated digit, 0.06 off in probability)."""
    digit = 255 - load_sample().test_images[7]                                  # dark on light
    Image.fromarray(digit).save(tmp_path / "d8.png")
    wide = (digit.astype(np.uint16) * 257).astype("<u2" if endianness == "I;16" else ">u2")   # 0..65535
    Image.fromarray(wide).save(tmp_path / "d16.png")
    assert Image.open(tmp_path / "d16.png").mode.startswith("I")
    np.testing.assert_allclose(image_to_input(tmp_path / "d16.png"), image_to_input(tmp_path / "d8.png"),
                               rtol=0, atol=1e-12)


def test_16_bit_levels_between_the_8_bit_ones_are_kept():
    from tinygrad_lab.commands.predict import to_grey
    levels = np.array([[0, 1, 257, 32768, 65535]], dtype=np.uint16)
    np.testing.assert_array_equal(to_grey(Image.fromarray(levels)), levels / 65535)


@pytest.mark.parametrize("size", [(1, 1), (7, 30), (30, 7)])
def test_an_image_too_small_to_hold_a_digit_is_refused_naming_its_size(model_and_run, tmp_path, size):
    pixels = np.full(size[::-1], 255, dtype=np.uint8)
    pixels[size[1] // 2, :] = 0
    Image.fromarray(pixels).save(tmp_path / "tiny.png")
    with pytest.raises(SystemExit) as caught:
        main(["predict", str(model_and_run[2] / "model.npz"), str(tmp_path / "tiny.png")])
    assert caught.value.code == (f"tinygrad-lab predict: {tmp_path / 'tiny.png'}: is {size[0]}×{size[1]} pixels, "
                                 "too small to hold a digit (at least 8×8: MNIST's digits are 20 pixels tall)")


def test_an_8_by_8_drawing_is_read():
    digit = Image.fromarray(255 - load_sample().test_images[7]).resize((8, 8), Image.Resampling.LANCZOS)
    stream = io.BytesIO()
    digit.save(stream, format="PNG")
    x = image_to_input(stream)
    assert x.shape == (28, 28) and x.max() == pytest.approx(1.0)


def test_predict_runs_on_numpy_without_loading_numba(model_and_run, tmp_path):
    """A few images: Numba's import and kernel loading would cost more than the forward pass."""
    (tmp_path / "0.png").write_bytes(drawing(load_sample().test_images[0], np.random.default_rng(0)))
    script = ("import sys; from tinygrad_lab.cli import main; code = main(['predict', sys.argv[1], sys.argv[2]]); "
              "print('numba' in sys.modules); sys.exit(code)")
    env = {k: v for k, v in os.environ.items() if k != "TINYGRAD_LAB_BACKEND"}
    done = subprocess.run([sys.executable, "-c", script, str(model_and_run[2] / "model.npz"), str(tmp_path / "0.png")],
                          capture_output=True, text=True, cwd=ROOT, env={**env, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "False"
    with_numba = subprocess.run([sys.executable, "-c", script, str(model_and_run[2] / "model.npz"),
                                 str(tmp_path / "0.png")], capture_output=True, text=True, cwd=ROOT,
                                env={**env, "PYTHONPATH": str(ROOT), "TINYGRAD_LAB_BACKEND": "numba"})
    assert with_numba.stdout.splitlines() == [done.stdout.splitlines()[0], "True"]
