"""``tinygrad-lab evaluate CHECKPOINT``: test accuracy and the confusion matrix."""
from __future__ import annotations

from pathlib import Path

import numpy as np


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("evaluate", help="test accuracy and confusion matrix of a saved model")
    p.add_argument("checkpoint", help="a checkpoint.npz or model.npz written by train")
    p.add_argument("--data-dir", help="folder holding the IDX files")
    p.add_argument("--dataset", help="override the dataset the model was trained on")
    p.add_argument("--out", help="where to write confusion.png (default: the checkpoint's folder)")
    p.set_defaults(func=run)


def confusion_matrix(true: np.ndarray, predicted: np.ndarray, classes: int) -> np.ndarray:
    """counts[i, j] = number of samples of class i predicted as j."""
    counts = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(counts, (true, predicted), 1)
    return counts


def run(args) -> int:
    from tinygrad_lab.checkpoint import CheckpointError
    from tinygrad_lab.data import load_dataset, normalize
    from tinygrad_lab.train import evaluate, load_model

    try:
        model, cfg = load_model(args.checkpoint)
    except (FileNotFoundError, CheckpointError, ValueError) as e:
        raise SystemExit(f"tinygrad-lab evaluate: {e}") from None
    ds = load_dataset(args.dataset or cfg.dataset, root=args.data_dir or cfg.data_dir)
    x, y = normalize(ds.test_images, np.dtype(cfg.dtype)), ds.test_labels
    loss, accuracy, predicted = evaluate(model, x, y)
    counts = confusion_matrix(y, predicted, cfg.sizes[-1])
    print(f"data: {ds.source}, {len(y)} test images")
    print(f"test loss {loss:.4f}, test accuracy {100 * accuracy:.2f}%")
    print("confusion matrix (rows: true class, columns: predicted)")
    print("     " + "".join(f"{j:>6}" for j in range(counts.shape[1])))
    for i, row in enumerate(counts):
        print(f"{i:>4} " + "".join(f"{c:>6}" for c in row))
    out = Path(args.out) if args.out else Path(args.checkpoint).parent
    path = plot_confusion(counts, out / "confusion.png", f"{100 * accuracy:.2f}% test accuracy")
    print(f"wrote {path}")
    return 0


def plot_confusion(counts: np.ndarray, path: Path, title: str) -> Path:
    import matplotlib.pyplot as plt

    path.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(6, 5.2))
    image = ax.imshow(np.log1p(counts), cmap="Blues")
    for (i, j), c in np.ndenumerate(counts):
        ax.text(j, i, str(c), ha="center", va="center", fontsize=7,
                color="white" if np.log1p(c) > 0.6 * np.log1p(counts.max()) else "black")
    ax.set(xlabel="predicted class", ylabel="true class", title=f"confusion matrix, {title}",
           xticks=range(counts.shape[1]), yticks=range(counts.shape[0]))
    fig.colorbar(image, ax=ax, label="log(1 + count)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
