"""``tinygrad-lab predict CHECKPOINT IMAGE.png | --index N``: classify one digit."""
from __future__ import annotations

import numpy as np


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("predict", help="classify one digit: a PNG file or a test-set index")
    p.add_argument("checkpoint", help="a checkpoint.npz or model.npz written by train")
    p.add_argument("image", nargs="?", help="a PNG of a digit (any size; light digit on dark, or dark on "
                   "light, which is inverted)")
    p.add_argument("--index", type=int, help="use test image N of the model's dataset instead")
    p.add_argument("--data-dir", help="folder holding the IDX files (with --index)")
    p.set_defaults(func=run)


def image_to_input(path) -> np.ndarray:
    """A PNG as MNIST's 28×28 grey levels in [0, 1], light digit on a dark background."""
    import matplotlib.image as mpimg

    try:
        pixels = np.asarray(mpimg.imread(path), dtype=np.float64)
    except (OSError, ValueError, SyntaxError) as e:
        raise SystemExit(f"tinygrad-lab predict: cannot read {path} as an image ({e})") from None
    if pixels.ndim == 3:
        pixels = pixels[..., :3].mean(axis=2)
    if pixels.max() > 1:
        pixels = pixels / 255.0
    if pixels.mean() > 0.5:  # dark digit on light paper: invert to MNIST's convention
        pixels = 1.0 - pixels
    return _resize(pixels, 28, 28)


def _resize(image: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """Nearest-neighbour resampling (enough to feed a drawn digit to the network)."""
    r = (np.arange(rows) * image.shape[0] / rows).astype(int)
    c = (np.arange(cols) * image.shape[1] / cols).astype(int)
    return image[np.ix_(r, c)]


def run(args) -> int:
    from tinygrad_lab.checkpoint import CheckpointError
    from tinygrad_lab.ops import softmax
    from tinygrad_lab.tensor import Tensor, no_grad
    from tinygrad_lab.train import load_model

    if (args.image is None) == (args.index is None):
        raise SystemExit("tinygrad-lab predict: give either IMAGE or --index N")
    try:
        model, cfg = load_model(args.checkpoint)
    except (FileNotFoundError, CheckpointError, ValueError) as e:
        raise SystemExit(f"tinygrad-lab predict: {e}") from None
    label = None
    if args.index is not None:
        from tinygrad_lab.data import load_dataset
        ds = load_dataset(cfg.dataset, root=args.data_dir or cfg.data_dir)
        if not 0 <= args.index < len(ds.test_labels):
            raise SystemExit(f"tinygrad-lab predict: --index {args.index} is outside [0, {len(ds.test_labels)})")
        pixels, label = ds.test_images[args.index] / 255.0, int(ds.test_labels[args.index])
    else:
        pixels = image_to_input(args.image)
    with no_grad():
        probs = softmax(model(Tensor(pixels.reshape(1, -1), dtype=cfg.dtype))).data[0]
    best = int(probs.argmax())
    print(f"predicted {best} (p = {probs[best]:.3f})" + (f", true label {label}" if label is not None else ""))
    print("  ".join(f"{k}:{p:.3f}" for k, p in enumerate(probs)))
    return 0
