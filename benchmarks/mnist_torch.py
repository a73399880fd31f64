"""The default ``tinygrad-lab train`` recipe as a plain PyTorch script (the reference of bench_run.py).

    python benchmarks/mnist_torch.py DATA_DIR [--seed 0]

784-512-256-10 ReLU, He (Kaiming normal, fan-in) weights and zero biases, float32; Adam 1e-3 with
cosine annealing over the epochs (stepped once per epoch); batch 128, reshuffled each epoch;
5 epochs; 5,000 training images held out and evaluated after every epoch; the test set evaluated
at the end.  The data are read the way such a script reads them: the four gzipped IDX files,
gunzipped with numpy.  Prints one JSON line: wall seconds of its parts, accuracies, threads.
"""
from __future__ import annotations

import argparse
import gzip
import json
import time
from pathlib import Path

started = time.perf_counter()

import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402


def read_idx(path: Path, offset: int) -> np.ndarray:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        return np.frombuffer(f.read(), np.uint8, offset=offset)


def find(folder: Path, name: str) -> Path:
    return folder / name if (folder / name).exists() else folder / f"{name}.gz"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("data_dir", type=Path)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--epochs", type=int, default=5)
    args = p.parse_args()
    torch.manual_seed(args.seed)
    imported = time.perf_counter()

    images = read_idx(find(args.data_dir, "train-images-idx3-ubyte"), 16).reshape(-1, 784)
    labels = read_idx(find(args.data_dir, "train-labels-idx1-ubyte"), 8).astype(np.int64)
    test_x = torch.from_numpy(read_idx(find(args.data_dir, "t10k-images-idx3-ubyte"), 16).reshape(-1, 784)
                              .astype(np.float32) / 255)
    test_y = torch.from_numpy(read_idx(find(args.data_dir, "t10k-labels-idx1-ubyte"), 8).astype(np.int64))
    order = np.random.default_rng(args.seed).permutation(len(labels))
    val, train = order[:5000], order[5000:]
    x = torch.from_numpy(images.astype(np.float32) / 255)
    y = torch.from_numpy(labels)
    x_train, y_train, x_val, y_val = x[train], y[train], x[val], y[val]
    loaded = time.perf_counter()

    model = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU(), nn.Linear(256, 10))
    for layer in model:
        if isinstance(layer, nn.Linear):
            nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
            nn.init.zeros_(layer.bias)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs)
    loss_fn = nn.CrossEntropyLoss()

    def accuracy(xs, ys) -> float:
        model.eval()
        with torch.no_grad():
            correct = sum(int((model(xs[i:i + 1000]).argmax(1) == ys[i:i + 1000]).sum())
                          for i in range(0, len(xs), 1000))
        model.train()
        return correct / len(xs)

    steps_s = eval_s = 0.0
    val_accuracy = []
    for _ in range(args.epochs):
        t0 = time.perf_counter()
        for batch in torch.randperm(len(x_train)).split(128):
            loss = loss_fn(model(x_train[batch]), y_train[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        t1 = time.perf_counter()
        val_accuracy.append(accuracy(x_val, y_val))
        schedule.step()
        steps_s, eval_s = steps_s + t1 - t0, eval_s + time.perf_counter() - t1
    t0 = time.perf_counter()
    test_accuracy = accuracy(test_x, test_y)
    eval_s += time.perf_counter() - t0
    print(json.dumps({"seconds": {"import": imported - started, "data": loaded - imported, "steps": steps_s,
                                  "evaluation": eval_s}, "val_accuracy": val_accuracy[-1],
                      "test_accuracy": test_accuracy, "torch": torch.__version__,
                      "threads": torch.get_num_threads()}))


if __name__ == "__main__":
    main()
