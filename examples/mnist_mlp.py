"""The API end to end on MNIST: data, DataLoader, nn.MLP, Adam, StepLR, a checkpoint, evaluation.

Uses the full MNIST if it is on disk or downloadable, else the bundled 5,000/1,000-digit sample
(``load_dataset`` prints one line saying so).  ``--quick`` never downloads and trains one epoch on
1,000 digits.  Writes ``mnist_mlp.npz`` (model, optimizer and scheduler state) in the current folder.

    python examples/mnist_mlp.py [--quick]     # sample: ~3 s (quick: ~1 s); full MNIST: minutes
"""
import sys

import numpy as np

from tinygrad_lab import Tensor, cross_entropy, nn, optim
from tinygrad_lab.checkpoint import load_checkpoint, save_checkpoint
from tinygrad_lab.data import DataLoader, load_dataset, normalize
from tinygrad_lab.train import evaluate

QUICK = "--quick" in sys.argv
data = load_dataset("mnist", download=not QUICK)
n_train = 1000 if QUICK else len(data.train_labels)
x_train, y_train = normalize(data.train_images[:n_train], np.float64), data.train_labels[:n_train]
x_test, y_test = normalize(data.test_images, np.float64), data.test_labels
print(f"{data.name}: {n_train} training and {len(y_test)} test digits from {data.source}")

loader = DataLoader(x_train, y_train, batch_size=64, seed=0)          # reshuffled every epoch
model = nn.MLP([784, 128, 10], activation="relu", seed=0)             # He init for ReLU
opt = optim.Adam(model.parameters(), lr=1e-3)
scheduler = optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)     # halve the lr every epoch

for epoch in range(1 if QUICK else 3):
    for xb, yb in loader:
        loss = cross_entropy(model(Tensor(xb)), yb)                    # softmax cross-entropy, mean
        opt.zero_grad()
        loss.backward()
        opt.step()
    scheduler.step()                                                   # after the epoch's updates
    test_loss, test_acc, _ = evaluate(model, x_test, y_test)
    print(f"epoch {epoch + 1}: lr {opt.param_groups[0]['lr']:.1e}, test loss {test_loss:.3f}, "
          f"accuracy {test_acc:.1%}")

save_checkpoint("mnist_mlp.npz", {"model": model.state_dict(), "optimizer": opt.state_dict(),
                                  "scheduler": scheduler.state_dict(), "epoch": epoch + 1})
state = load_checkpoint("mnist_mlp.npz")
restored = nn.MLP([784, 128, 10], activation="relu", seed=1)          # other weights until loaded
restored.load_state_dict(state["model"])
assert evaluate(restored, x_test, y_test)[1] == test_acc, "the checkpoint did not restore the model"
print(f"restored from mnist_mlp.npz (epoch {state['epoch']}): accuracy {test_acc:.1%} again")
assert test_acc > (0.5 if QUICK else 0.85), f"accuracy {test_acc:.1%} is too low"
