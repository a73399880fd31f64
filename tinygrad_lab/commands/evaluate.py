"""``tinygrad-lab evaluate CHECKPOINT``: test accuracy and the confusion matrix."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from tinygrad_lab.train_config import DATASETS


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("evaluate", help="test accuracy and confusion matrix of a saved model")
    p.add_argument("checkpoint", help="a checkpoint.npz or model.npz written by train")
    p.add_argument("--data-dir", help="folder holding the IDX files; when given, the only place looked in "
                   "(a model trained on the bundled sample is then evaluated on the MNIST found there; "
                   "default: the data the run recorded, the folder or the bundled sample it trained on)")
    p.add_argument("--dataset", choices=DATASETS, help="override the dataset the model was trained on")
    p.add_argument("--offline", action="store_true", help="never download")
    p.add_argument("--out", help="where to write confusion.png (default: the checkpoint's folder)")
    p.set_defaults(func=run)


def confusion_matrix(true: np.ndarray, predicted: np.ndarray, classes: int) -> np.ndarray:
    """counts[i, j] = number of samples of class i predicted as j."""
    counts = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(counts, (true, predicted), 1)
    return counts


def test_data(command: str, cfg, recorded: dict | None, data_dir: str | None = None, dataset: str | None = None,
              download: bool = True):
    """The dataset whose test set ``command`` reads.

    ``--data-dir``/``--dataset``, when given, decide (a model trained on the bundled sample is then
    evaluated on the MNIST found in ``--data-dir``).  Otherwise the data the run recorded: the bundled
    sample, or the folder it read a full dataset from (files written before the record: the config's
    dataset and ``data_dir``).  A recorded folder that is gone is named in one line on stderr, with what
    is used instead: the same dataset found in the usual places, else (MNIST) the bundled sample."""
    from tinygrad_lab.cli import CommandError
    from tinygrad_lab.data import DownloadError, load_dataset, load_mnist, load_sample

    if data_dir or dataset:
        dataset = dataset or cfg.dataset
        if data_dir and dataset == "mnist-sample":
            dataset = "mnist"
        try:
            return load_dataset(dataset, root=data_dir, download=download)
        except (FileNotFoundError, ValueError, RuntimeError) as e:   # missing files, checksum, IDX, download
            raise CommandError(f"--data-dir {e}" if data_dir else f"--dataset {dataset}: {e}") from None
    recorded = recorded or {"dataset": cfg.dataset, "folder": cfg.data_dir}
    name, folder = recorded["dataset"], recorded["folder"]
    source = f"the run's data, {name}" + (f" in {folder}" if folder else "")
    try:
        return load_dataset(name, root=folder, download=download and folder is None)
    except FileNotFoundError as e:
        if folder is None:
            raise CommandError(f"{source}: {e}") from None
        gone = f"{source}, is gone ({e})"
    except (ValueError, RuntimeError) as e:                        # checksum, IDX, download: never replaced
        raise CommandError(f"{source}: {e}") from None
    try:
        ds = load_mnist(download=download, fallback=False) if name == "mnist" else load_dataset(name, download=download)
        instead = f"{name} found in {ds.source}"
    except (FileNotFoundError, DownloadError) as e:
        if name != "mnist":
            raise CommandError(f"{gone}, and {e}") from None
        why = f"full mnist not found in the usual places, and downloading it failed: {e.reason()}" \
            if isinstance(e, DownloadError) else str(e)
        ds, instead = load_sample(), f"the bundled sample ({why})"
    except ValueError as e:                                        # a corrupted copy elsewhere: never replaced
        raise CommandError(f"{gone}, and {e}") from None
    print(f"tinygrad-lab {command}: {gone}; using {instead} instead", file=sys.stderr)
    return ds


def run(args) -> int:
    from tinygrad_lab.checkpoint import CheckpointError
    from tinygrad_lab.cli import CommandError
    from tinygrad_lab.data import flatten
    from tinygrad_lab.train import evaluate, load_run

    try:
        model, cfg, recorded = load_run(args.checkpoint)
    except (FileNotFoundError, CheckpointError) as e:
        raise CommandError(str(e)) from None
    out = Path(args.out) if args.out else Path(args.checkpoint).parent
    if out.exists() and not out.is_dir():
        raise CommandError(f"--out {out} is a file, not a folder")
    ds = test_data("evaluate", cfg, recorded, args.data_dir, args.dataset, download=not args.offline)
    x, y = flatten(ds.test_images), ds.test_labels  # uint8: evaluate scales chunk by chunk
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
