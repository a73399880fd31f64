"""``tinygrad-lab predict CHECKPOINT IMAGE...``: classify drawn digits (or ``--index N`` of the test set).

An image is brought to MNIST's form the way MNIST itself was made (LeCun et al.): alpha composited
onto the background, grey levels with the digit light on dark, cropped to the ink's bounding box,
the longer side scaled to 20 pixels with antialiasing (aspect kept), then placed in a 28×28 field so
that its centre of mass is at the centre.  Pillow reads the file; decompression bombs and images
smaller than 8×8 are refused from the header.  16-bit greyscale levels are scaled by 65535 exactly.
"""
from __future__ import annotations

import json
import os

import numpy as np

#: the largest image accepted, in pixels (a 17 KB PNG may declare 12000×12000)
MAX_PIXELS = 25_000_000
#: the smallest side accepted, in pixels: below it an image cannot hold a drawn digit (MNIST's are 20 tall)
MIN_SIDE = 8
#: the brightest level of a 16-bit greyscale image (Pillow's modes I;16, I;16B, I;16L, and I for 16-bit PNGs)
WHITE_16_BIT = 65535
#: ink is whatever is brighter than this fraction of the brightest pixel (after the background is removed)
INK_THRESHOLD = 0.1


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("predict", help="classify drawn digits (PNG, JPEG, ...) or a test-set index")
    p.add_argument("checkpoint", help="a checkpoint.npz or model.npz written by train")
    p.add_argument("images", nargs="*", metavar="IMAGE", help="image files of one digit each (any size, "
                   "dark on light or light on dark, transparency allowed); one output line each")
    p.add_argument("--index", type=int, help="use test image N of the data the model was trained on (the run "
                   "recorded it) instead")
    p.add_argument("--data-dir", help="with --index: folder holding the IDX files to read instead")
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.set_defaults(func=run)


class ImageError(ValueError):
    """A file that is not a usable image of a digit."""


def open_image(source):
    """A Pillow image of a file path or file object, its size checked before any pixel is decoded."""
    from PIL import Image

    pillow_limit, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None   # our check below, with the size
    try:
        image = Image.open(source)            # reads the header only
        width, height = image.size
        if width * height > MAX_PIXELS:
            raise ImageError(f"declares {width}×{height} pixels, more than the {MAX_PIXELS:,} accepted "
                             "(a decompression bomb?)")
        if min(width, height) < MIN_SIDE:
            raise ImageError(f"is {width}×{height} pixels, too small to hold a digit (at least {MIN_SIDE}×{MIN_SIDE}: "
                             "MNIST's digits are 20 pixels tall)")
        image.load()
    except ImageError:
        raise
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as e:
        raise ImageError(f"cannot read it as an image ({e})") from None
    finally:
        Image.MAX_IMAGE_PIXELS = pillow_limit
    return image


def to_grey(image) -> np.ndarray:
    """Grey levels in [0, 1] with transparency composited onto the background.

    A 16-bit greyscale image is scaled exactly, level / 65535 (through 8 bits, Pillow would clip
    every level above 255 to white).  Where the image has an alpha channel the ink is what is opaque, so the background is chosen to
    contrast with the ink: white under dark ink, black under light ink."""
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        alpha = np.asarray(rgba.getchannel("A"), dtype=np.float64) / 255
        grey = np.asarray(rgba.convert("L"), dtype=np.float64) / 255
        ink_level = (grey * alpha).sum() / max(alpha.sum(), 1e-12)
        background = 1.0 if ink_level < 0.5 else 0.0
        return alpha * grey + (1 - alpha) * background
    if image.mode.startswith("I;16") or image.mode == "I":
        return np.clip(np.asarray(image, dtype=np.float64) / WHITE_16_BIT, 0, 1)
    return np.asarray(image.convert("L"), dtype=np.float64) / 255 if image.mode != "F" else \
        np.asarray(image, dtype=np.float64) / 255


def to_mnist(grey: np.ndarray) -> np.ndarray:
    """A grey image (any size, either polarity) as MNIST's 28×28 field, light digit on dark, in [0, 1]."""
    from PIL import Image

    border = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
    background = float(np.median(border))
    ink = grey - background if background < 0.5 else background - grey   # light on dark
    ink = np.clip(ink, 0, None)
    if ink.max() <= 0.05:
        raise ImageError("holds no digit (no pixel differs from the background)")
    ink /= ink.max()
    rows, cols = np.nonzero(ink > INK_THRESHOLD)
    ink = ink[rows.min():rows.max() + 1, cols.min():cols.max() + 1]
    height, width = ink.shape
    scale = 20 / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    small = np.asarray(Image.fromarray(ink.astype(np.float32), mode="F").resize(size, Image.Resampling.LANCZOS))
    small = np.clip(small, 0, 1)
    # place it so that its centre of mass lands on the field's centre (pixel centres 0..27: 13.5 → 14 as MNIST)
    total = small.sum()
    r = np.arange(small.shape[0]) @ small.sum(axis=1) / total
    c = np.arange(small.shape[1]) @ small.sum(axis=0) / total
    field = np.zeros((28 + 2 * 20, 28 + 2 * 20))
    top, left = 20 + int(round(14 - r)), 20 + int(round(14 - c))
    field[top:top + small.shape[0], left:left + small.shape[1]] = small
    return field[20:48, 20:48]


def image_to_input(source) -> np.ndarray:
    """A file (path or file object) as the model's 28×28 input in [0, 1]."""
    return to_mnist(to_grey(open_image(source)))


def run(args) -> int:
    from tinygrad_lab.backend import ENV_VAR as BACKEND_ENV_VAR, use_backend
    from tinygrad_lab.checkpoint import CheckpointError
    from tinygrad_lab.cli import CommandError, UsageError
    from tinygrad_lab.ops import softmax
    from tinygrad_lab.tensor import Tensor, no_grad
    from tinygrad_lab.train import load_run

    if bool(args.images) == (args.index is not None):
        raise UsageError("give IMAGE files or --index N (one of them)")
    try:
        model, cfg, recorded = load_run(args.checkpoint)
    except (FileNotFoundError, CheckpointError, ValueError) as e:
        raise CommandError(str(e)) from None
    names, labels, pixels = [], [], []
    if args.index is not None:
        from tinygrad_lab.commands.evaluate import test_data
        ds = test_data("predict", cfg, recorded, args.data_dir)
        if not 0 <= args.index < len(ds.test_labels):
            raise UsageError(f"--index {args.index}: outside [0, {len(ds.test_labels)})")
        names, labels = [f"test image {args.index}"], [int(ds.test_labels[args.index])]
        pixels = [ds.test_images[args.index] / 255.0]
    else:
        for name in args.images:            # every image is read before anything is printed
            try:
                pixels.append(image_to_input(name))
            except FileNotFoundError:
                raise CommandError(f"{name}: no such file") from None
            except ImageError as e:
                raise CommandError(f"{name}: {e}") from None
            names.append(name)
            labels.append(None)
    # A few images: the NumPy backend answers at once; loading Numba's kernels would take longer
    # than the forward pass they speed up (unless TINYGRAD_LAB_BACKEND asks for them).
    with no_grad(), use_backend(os.environ.get(BACKEND_ENV_VAR) or "numpy"):
        probs = softmax(model(Tensor(np.stack(pixels).reshape(len(pixels), -1), dtype=cfg.dtype))).data
    for name, label, p in zip(names, labels, probs):
        best = int(p.argmax())
        if args.json:
            record = {"image": name, "predicted": best, "probability": float(p[best]),
                      "probabilities": [float(v) for v in p]}
            if label is not None:
                record["label"] = label
            print(json.dumps(record))
        else:
            print(f"{name}: {best} (p = {p[best]:.3f})" + (f", true label {label}" if label is not None else ""))
    return 0
