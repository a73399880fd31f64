"""``tinygrad-lab evaluate CHECKPOINT``: test accuracy and the confusion matrix."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from tinygrad_lab.train import DATASETS


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("evaluate", help="test accuracy and confusion matrix of a saved model")
    p.add_argument("checkpoint", help="a checkpoint.npz or model.npz written by train")
    p.add_argument("--data-dir", help="folder holding the IDX files; when given, the only place looked in "
                   "(a model trained on the bundled sample is then evaluated on the MNIST found there)")
    p.add_argument("--dataset", choices=DATASETS, help="override the dataset the model was trained on")
    p.add_argument("--offline", action="store_true", help="never download")
    p.add_argument("--out", help="where to write confusion.png (default: the checkpoint's folder)")
    p.set_defaults(func=run)


def confusion_matrix(true: np.ndarray, predicted: np.ndarray, classes: int) -> np.ndarray:
    """counts[i, j] = number of samples of class i predicted as j."""
    counts = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(counts, (true, predicted), 1)
    return counts


def test_data(args, cfg):
    """(dataset, loaded test images and labels): --data-dir, when given, is where they are read."""
    from tinygrad_lab.cli import CommandError
    from tinygrad_lab.data import load_dataset

    dataset = args.dataset or cfg.dataset
    if args.data_dir and dataset == "mnist-sample":
        dataset = "mnist"
    try:
        return load_dataset(dataset, root=args.data_dir, download=not args.offline)
    except (FileNotFoundError, ValueError, RuntimeError) as e:   # missing files, checksum, IDX, download
        raise CommandError(f"--data-dir {e}" if args.data_dir else f"--dataset {dataset}: {e}") from None


def run(args) -> int:
    from tinygrad_lab.checkpoint import CheckpointError
    from tinygrad_lab.cli import CommandError
    from tinygrad_lab.data import normalize
    from tinygrad_lab.train import evaluate, load_model

    try:
        model, cfg = load_model(args.checkpoint)
    except (FileNotFoundError, CheckpointError) as e:
        raise CommandError(str(e)) from None
    out = Path(args.out) if args.out else Path(args.checkpoint).parent
    if out.exists() and not out.is_dir():
        raise CommandError(f"--out {out} is a file, not a folder")
    ds = test_data(args, cfg)
    x, y = normalize(ds.test_images, np.dtype(cfg.dtype)), ds.test_labels
    if x.shape[1] != cfg.sizes[0] or y.max(initial=0) >= cfg.sizes[-1]:
        raise CommandError(f"{ds.name} ({x.shape[1]} pixels, {y.max(initial=0) + 1} classes) does not fit the "
                           f"model {'-'.join(map(str, cfg.sizes))}")
    loss, accuracy, predicted = evaluate(model, x, y)
    counts = confusion_matrix(y, predicted, cfg.sizes[-1])
    print(f"data: {ds.source}, {len(y)} test images")
    print(f"test loss {loss:.4f}, test accuracy {100 * accuracy:.2f}%")
    print("confusion matrix (rows: true class, columns: predicted)")
    print("     " + "".join(f"{j:>6}" for j in range(counts.shape[1])))
    for i, row in enumerate(counts):
        print(f"{i:>4} " + "".join(f"{c:>6}" for c in row))
    path = plot_confusion(counts, out / "confusion.png", f"{100 * accuracy:.2f}% test accuracy")
    print(f"wrote {path}")
    return 0


def plot_confusion(counts: np.ndarray, path: Path, title: str) -> Path:
    """The confusion matrix as a PNG, written atomically."""
    from matplotlib.figure import Figure

    from tinygrad_lab.atomic import atomic_output

    path.parent.mkdir(parents=True, exist_ok=True)
    fig = Figure(figsize=(6, 5.2))
    ax = fig.subplots()
    image = ax.imshow(np.log1p(counts), cmap="Blues")
    for (i, j), c in np.ndenumerate(counts):
        ax.text(j, i, str(c), ha="center", va="center", fontsize=7,
                color="white" if np.log1p(c) > 0.6 * np.log1p(counts.max()) else "black")
    ax.set(xlabel="predicted class", ylabel="true class", title=f"confusion matrix, {title}",
           xticks=range(counts.shape[1]), yticks=range(counts.shape[0]))
    fig.colorbar(image, ax=ax, label="log(1 + count)")
    fig.tight_layout()
    with atomic_output(path) as f:
        fig.savefig(f, format="png", dpi=110)
    return path
