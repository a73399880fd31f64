"""Three interleaved spirals in the plane, classified by a 2-64-64-3 ReLU MLP (softmax
cross-entropy, Adam), with the decision regions saved as ``spiral.png``.

    python examples/spiral.py [--quick]      # ~5 s (quick: ~2 s)
"""
import sys

import numpy as np

from tinygrad_lab import Tensor, cross_entropy, nn, no_grad, optim
from tinygrad_lab.experiments import pyplot

QUICK = "--quick" in sys.argv
rng = np.random.default_rng(0)


def spirals(per_class: int, classes: int = 3):
    """Class k: radius r ∈ [0, 1], angle 4r + 2πk/3 + noise (the cs231n spiral data set)."""
    r = np.tile(np.linspace(0.0, 1.0, per_class), classes)
    k = np.repeat(np.arange(classes), per_class)
    angle = 4 * r + 2 * np.pi * k / classes + rng.normal(0, 0.2, r.size)
    return np.c_[r * np.sin(angle), r * np.cos(angle)], k


x, labels = spirals(100)
model = nn.MLP([2, 64, 64, 3], activation="relu", rng=rng)
opt = optim.Adam(model.parameters(), lr=0.01)
for step in range(100 if QUICK else 300):
    loss = cross_entropy(model(Tensor(x)), labels)      # full batch: 300 points
    opt.zero_grad()
    loss.backward()
    opt.step()

with no_grad():
    accuracy = (model(Tensor(x)).data.argmax(axis=1) == labels).mean()
    grid = np.linspace(-1.2, 1.2, 60 if QUICK else 200)
    gx, gy = np.meshgrid(grid, grid)
    regions = model(Tensor(np.c_[gx.ravel(), gy.ravel()])).data.argmax(axis=1).reshape(gx.shape)
print(f"loss {loss.item():.3f}, training accuracy {accuracy:.1%}")
assert accuracy > (0.6 if QUICK else 0.95)

plt = pyplot()
fig, ax = plt.subplots(figsize=(5, 5))
ax.contourf(gx, gy, regions, levels=[-0.5, 0.5, 1.5, 2.5], colors=["#aec7e8", "#ff9896", "#98df8a"])
ax.scatter(x[:, 0], x[:, 1], c=np.array(["#1f77b4", "#d62728", "#2ca02c"])[labels], s=12, edgecolors="k",
           linewidths=0.3)
ax.set(title=f"decision regions, accuracy {accuracy:.0%}", xticks=[], yticks=[])
fig.savefig("spiral.png", dpi=100, bbox_inches="tight")
print("wrote spiral.png")
