"""``tinygrad-lab experiment hessian``: curvature, the largest stable learning rate, and ∂y/∂x four ways.

the nine-layer experiment blames SGD's zig-zag on an ill-conditioned Hessian; cs231n ends with Newton's method;
the homework (question 2) asks for ∂y/∂x of a network.  This experiment computes, with the exact
Hessians of :mod:`tinygrad_lab.func`:

1. The Hessians of the quadratics x² + 50y², x²/20 + y² and 0.05x² + y², their eigenvalues λ and
   condition numbers κ = λ_max / λ_min, and the Hessian of a small sigmoid MLP's loss
   E = ½ Σ (y − t)² at initialisation (all its parameters θ as one vector).
2. Why gradient descent needs lr < 2/λ_max.  On f(p) = ½ pᵀHp, in H's eigenbasis, one step
   p ← p − η H p multiplies the i-th coordinate by (1 − η λᵢ); it shrinks for every i iff
   |1 − η λᵢ| < 1, i.e. η < 2/λ_max.  Just above, the steepest direction flips sign and grows each
   step; just below, it converges, and the slowest direction contracts by 1 − η λ_min ≈ 1 − 2/κ per
   step: a large κ means slow progress along the flat direction while the steep one zig-zags.
   Shown on x² + 50y² (λ_max = 100) with lr = 0.99·2/100 and 1.01·2/100.
3. ∂y/∂x of a small network for a batch of inputs, four ways: reverse mode (a vjp per output),
   forward mode (a jvp per input, dual numbers), central differences, and the homework's chain
   product diag(σ'(z(L))) W(L) ⋯ diag(σ'(z(1))) W(1) (:func:`tinygrad_lab.backprop.input_jacobian`).

``--out DIR`` receives ``summary.json`` and ``hessian.png``.  Runs in about a second.
"""
from __future__ import annotations

import argparse
import itertools
import json
import sys
from pathlib import Path

import numpy as np

NAME = "hessian"
HELP = ("Hessians of quadratics and of an MLP's loss (eigenvalues, condition number), GD's stable lr "
        "2/λ_max, and ∂y/∂x by reverse mode, forward mode, central differences and the chain product")

#: f(x, y) = a x² + b y², named as in the textbooks
QUADRATICS = {"x^2 + 50y^2": (1.0, 50.0), "x^2/20 + y^2": (1 / 20, 1.0), "0.05x^2 + y^2": (0.05, 1.0)}
STABILITY_QUADRATIC = "x^2 + 50y^2"
LR_FACTORS = (0.99, 1.01)
LOSS_MLP_SIZES = [2, 3, 1]
JACOBIAN_MLP_SIZES = [3, 4, 2]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, default=Path("runs/hessian"),
                        help="directory for summary.json and hessian.png (default runs/hessian/)")
    parser.add_argument("--steps", type=int, default=1000,
                        help="gradient-descent steps at each learning rate (default 1000)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the networks and their data (default 0)")
    parser.add_argument("--no-plot", action="store_true", help="write only summary.json")


def quadratic(a: float, b: float):
    """f(p) = a p₀² + b p₁²: Hessian diag(2a, 2b)."""
    coefficients = np.array([a, b])
    return lambda p: (p * p * coefficients).sum()


def spectrum(h: np.ndarray) -> dict:
    """Eigenvalues of a symmetric H (ascending) and κ = max |λ| / min |λ|."""
    eigenvalues = np.linalg.eigvalsh(h)
    magnitudes = np.abs(eigenvalues)
    return {"eigenvalues": eigenvalues.tolist(),
            "lambda_max": float(eigenvalues.max()), "lambda_min": float(eigenvalues.min()),
            "condition_number": float(magnitudes.max() / magnitudes.min()),
            "negative_eigenvalues": int((eigenvalues < 0).sum())}


def gradient_descent(f, start, lr: float, steps: int) -> np.ndarray:
    """f(p) at every step of p ← p − lr ∇f(p), by plain Tensor updates (no optimizer)."""
    from tinygrad_lab.tensor import Tensor, no_grad

    p = Tensor(np.array(start, dtype=np.float64), requires_grad=True)
    losses = []
    for _ in range(steps):
        loss = f(p)
        losses.append(loss.item())
        loss.backward()
        with no_grad():
            p.data -= lr * p.grad.data
        p.zero_grad()
    losses.append(f(p).item())
    return np.array(losses)


def stability_runs(steps: int) -> dict:
    """GD on x² + 50y² from (1, 1) at lr = factor · 2/λ_max for each factor in LR_FACTORS."""
    from tinygrad_lab.func import hessian
    from tinygrad_lab.tensor import Tensor

    f = quadratic(*QUADRATICS[STABILITY_QUADRATIC])
    lambda_max = spectrum(hessian(f, Tensor(np.zeros(2))).data)["lambda_max"]
    critical = 2 / lambda_max
    runs = []
    for factor in LR_FACTORS:
        losses = gradient_descent(f, [1.0, 1.0], factor * critical, steps)
        first, last = float(losses[0]), float(losses[-1])
        runs.append({"lr_factor": factor, "lr": factor * critical, "initial_loss": first,
                     "final_loss": last, "converged": last < 1e-6 * first, "diverged": last > first,
                     "losses": losses.tolist()})
    return {"function": STABILITY_QUADRATIC, "lambda_max": lambda_max, "critical_lr": critical,
            "steps": steps, "runs": runs}


def mlp_loss_hessian(seed: int) -> dict:
    """The Hessian of E(θ) = ½ Σ (y − t)² of a sigmoid MLP at initialisation, θ = all W(l), b(l)."""
    from tinygrad_lab import nn
    from tinygrad_lab.backprop import layers_of
    from tinygrad_lab.func import hessian
    from tinygrad_lab.losses import half_sum_squared_error
    from tinygrad_lab.tensor import Tensor

    rng = np.random.default_rng(seed)
    model = nn.MLP(LOSS_MLP_SIZES, activation="sigmoid", output_activation="sigmoid", rng=rng)
    layers = layers_of(model)
    x = rng.uniform(-1, 1, (8, LOSS_MLP_SIZES[0]))
    t = (x.prod(axis=1, keepdims=True) > 0).astype(np.float64)  # XOR of the signs
    theta0 = np.concatenate([np.concatenate([layer.W.ravel(), layer.b]) for layer in layers])

    def loss(theta):
        a, offset = Tensor(x), 0
        for layer in layers:
            (n_out, n_in), n_w = layer.W.shape, layer.W.size
            w = theta[offset:offset + n_w].reshape(n_out, n_in)
            b = theta[offset + n_w:offset + n_w + n_out]
            a, offset = layer.sigma.forward(nn.functional.linear(a, w, b)), offset + n_w + n_out
        return half_sum_squared_error(a, Tensor(t))

    return {"sizes": LOSS_MLP_SIZES, "samples": len(x), "parameters": theta0.size,
            **spectrum(hessian(loss, Tensor(theta0)).data)}


def input_jacobians(seed: int) -> dict:
    """∂y/∂x per sample (N, outputs, inputs) four ways, and their largest pairwise difference."""
    from tinygrad_lab import nn
    from tinygrad_lab.backprop import input_jacobian, layers_of
    from tinygrad_lab.func import jacobian
    from tinygrad_lab.gradcheck import numerical_jacobian
    from tinygrad_lab.tensor import Tensor

    rng = np.random.default_rng(seed + 1)
    model = nn.MLP(JACOBIAN_MLP_SIZES, activation="sigmoid", output_activation="sigmoid", rng=rng)
    x = rng.uniform(-1, 1, (5, JACOBIAN_MLP_SIZES[0]))

    def per_sample(full: np.ndarray) -> np.ndarray:
        return np.einsum("nknj->nkj", full)  # samples are independent: keep the diagonal blocks

    ways = {
        "reverse mode": per_sample(jacobian(model, Tensor(x), mode="rev").data),
        "forward mode": per_sample(jacobian(model, Tensor(x), mode="fwd").data),
        "central differences": per_sample(numerical_jacobian(model, Tensor(x.copy()))),
        "chain product": input_jacobian(layers_of(model), x),
    }
    pairwise = {f"{a} vs {b}": float(np.abs(ways[a] - ways[b]).max())
                for a, b in itertools.combinations(ways, 2)}
    return {"sizes": JACOBIAN_MLP_SIZES, "samples": len(x), "methods": list(ways),
            "dy_dx_sample_0": ways["reverse mode"][0].tolist(),
            "pairwise_max_difference": pairwise, "max_pairwise_difference": max(pairwise.values())}


def compute(steps: int, seed: int) -> dict:
    from tinygrad_lab.func import hessian
    from tinygrad_lab.tensor import Tensor

    quadratics = {}
    for name, (a, b) in QUADRATICS.items():
        h = hessian(quadratic(a, b), Tensor(np.zeros(2))).data
        quadratics[name] = {"hessian": h.tolist(), **spectrum(h)}
        quadratics[name]["max_stable_lr"] = 2 / quadratics[name]["lambda_max"]
    return {"quadratics": quadratics, "stability": stability_runs(steps),
            "mlp_loss": mlp_loss_hessian(seed), "input_jacobian": input_jacobians(seed)}


def report(summary: dict) -> None:
    print("Hessians of the quadratics (exact, by double backward):")
    for name, q in summary["quadratics"].items():
        print(f"  {name:<14} eigenvalues {np.round(q['eigenvalues'], 6).tolist()}  "
              f"condition number {q['condition_number']:.6g}  largest stable lr 2/λ_max = {q['max_stable_lr']:.6g}")
    s = summary["stability"]
    print(f"Gradient descent on {s['function']} from (1, 1), {s['steps']} steps, λ_max = {s['lambda_max']:g}, "
          f"2/λ_max = {s['critical_lr']:g}:")
    for run in s["runs"]:
        verdict = "converges" if run["converged"] else "diverges" if run["diverged"] else "neither"
        print(f"  lr = {run['lr_factor']}·2/λ_max = {run['lr']:.6g}: f {run['initial_loss']:.6g} -> "
              f"{run['final_loss']:.6g}  ({verdict})")
    m = summary["mlp_loss"]
    print(f"Hessian of E = ½Σ(y − t)² for MLP {m['sizes']} (sigmoid) at init, {m['parameters']} parameters, "
          f"{m['samples']} samples:")
    print(f"  eigenvalues {np.array2string(np.array(m['eigenvalues']), precision=4)}")
    print(f"  λ_max {m['lambda_max']:.6g}, λ_min {m['lambda_min']:.6g}, {m['negative_eigenvalues']} negative, "
          f"condition number max|λ|/min|λ| {m['condition_number']:.6g}")
    j = summary["input_jacobian"]
    print(f"∂y/∂x of MLP {j['sizes']} (sigmoid) on {j['samples']} samples, four ways:")
    for pair, diff in j["pairwise_max_difference"].items():
        print(f"  {pair:<45} max |difference| {diff:.3g}")
    print(f"  max pairwise difference {j['max_pairwise_difference']:.3g}")


def plot(summary: dict, path: Path) -> None:
    from tinygrad_lab.experiments import pyplot
    plt = pyplot()

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    s = summary["stability"]
    for run in s["runs"]:
        left.semilogy(run["losses"], label=f"lr = {run['lr_factor']}·2/λ_max")
    left.set(title=f"GD on {s['function']}", xlabel="step", ylabel="f")
    left.legend()
    m = summary["mlp_loss"]
    right.stem(m["eigenvalues"])
    right.set(title=f"Hessian eigenvalues, MLP {m['sizes']} loss at init", xlabel="index", ylabel="λ")
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def run(args) -> int:
    if args.steps < 1:
        raise SystemExit(f"experiment hessian: --steps must be >= 1, got {args.steps}")
    summary = compute(args.steps, args.seed)
    report(summary)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "summary.json").write_text(json.dumps(summary, indent=1))
    if not args.no_plot:
        plot(summary, args.out / "hessian.png")
    print(f"wrote {args.out / 'summary.json'}" + ("" if args.no_plot else f" and {args.out / 'hessian.png'}"))
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m tinygrad_lab.experiments.hessian", description=HELP)
    add_arguments(parser)
    sys.exit(run(parser.parse_args()))
