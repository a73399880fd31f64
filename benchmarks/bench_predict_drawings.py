"""``predict`` on drawings: MNIST's test digits redrawn as large images, against the originals.

Each 28×28 test digit becomes a "drawing" as a user would make one: scaled up 10× (bicubic), black
ink on a transparent background (RGBA, the ink in the alpha channel), placed off-centre on a
non-square canvas, saved as PNG.  ``predict``'s preprocessing (commands/predict.py: composite, light
on dark, crop, scale to 20 px, centre of mass) brings each back to 28×28; the script reports the
model's accuracy on those and on the original digits.  The goal: lose under 2 points.

    python benchmarks/bench_predict_drawings.py [--checkpoint CKPT] [--data-dir MNIST_DIR] [--limit N]

Without ``--checkpoint`` it first trains a 784-256-10 ReLU MLP for 3 epochs on the same data.
Without ``--data-dir`` it uses the bundled sample (1,000 test digits).
"""
from __future__ import annotations

import argparse
import io
import json
import tempfile
import time

import numpy as np
from PIL import Image

from tinygrad_lab.commands.predict import image_to_input
from tinygrad_lab.data import load_dataset, normalize
from tinygrad_lab.train import Trainer, evaluate, load_model
from tinygrad_lab.train_config import TrainConfig

SCALE = 10
CANVAS = (SCALE * 28 + 170, SCALE * 28 + 60)     # width, height: not square, room to move the digit


def drawing(digit: np.ndarray, rng: np.random.Generator) -> bytes:
    """A 28×28 uint8 digit as a PNG: 10× larger, black ink on transparent, off-centre, non-square canvas."""
    big = Image.fromarray(digit).resize((SCALE * 28, SCALE * 28), Image.Resampling.BICUBIC)
    ink = Image.new("RGBA", big.size, (0, 0, 0, 0))
    ink.putalpha(big)
    canvas = Image.new("RGBA", CANVAS, (0, 0, 0, 0))
    canvas.paste(ink, (int(rng.integers(0, CANVAS[0] - big.size[0])), int(rng.integers(0, CANVAS[1] - big.size[1]))))
    buffer = io.BytesIO()
    canvas.save(buffer, format="PNG")
    return buffer.getvalue()


def measure(model, cfg, images: np.ndarray, labels: np.ndarray, seed: int = 0) -> dict:
    """Accuracy on the original digits and on their drawings through predict's preprocessing."""
    rng = np.random.default_rng(seed)
    _, original, _ = evaluate(model, normalize(images, np.dtype(cfg.dtype)), labels)
    redrawn = np.stack([image_to_input(io.BytesIO(drawing(d, rng))) for d in images]).reshape(len(images), -1)
    _, drawn, _ = evaluate(model, redrawn.astype(cfg.dtype), labels)
    return {"digits": len(labels), "original_accuracy": original, "drawing_accuracy": drawn,
            "points_lost": 100 * (original - drawn)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint")
    parser.add_argument("--data-dir")
    parser.add_argument("--limit", type=int, help="only the first N test digits")
    parser.add_argument("--out", help="write the result as JSON here")
    args = parser.parse_args()
    dataset = "mnist" if args.data_dir else "mnist-sample"
    ds = load_dataset(dataset, root=args.data_dir, download=False)
    if args.checkpoint:
        model, cfg = load_model(args.checkpoint)
    else:
        cfg = TrainConfig(dataset=dataset, data_dir=args.data_dir, sizes=[784, 256, 10], epochs=3,
                          val_split=0)   # all 60,000 training digits: the README's figures
        with tempfile.TemporaryDirectory() as out:
            trainer = Trainer(cfg, out, progress=False, download=False)
            trainer.fit()
        model = trainer.model.eval()
    n = args.limit or len(ds.test_labels)
    started = time.perf_counter()
    result = measure(model, cfg, ds.test_images[:n], ds.test_labels[:n])
    result["seconds"] = round(time.perf_counter() - started, 1)
    print(json.dumps(result, indent=2))
    if args.out:
        with open(args.out, "w") as f:
            json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
