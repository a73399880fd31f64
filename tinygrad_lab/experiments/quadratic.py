"""The optimizer lab on ill-conditioned quadratics (nine ReLU layers, five layers, the homework's question 4) and Rosenbrock.

Every optimizer starts from the same point; the parameters are one ``Tensor`` of shape (2,) and
the gradient comes from ``backward``. the nine-layer table's story on f = x² + 50y² (Hessian diag(2, 100),
condition number 50), with the default learning rates:

* SGD with a small lr (0.005) is stable along the steep y axis but crawls along the flat x axis;
* SGD with a large lr (0.021 > 2/100) overshoots along y by a factor |1 − 100·lr| > 1 each step:
  it oscillates and diverges;
* momentum (same lr 0.005, μ = 0.9) damps the y oscillation on average and accelerates x;
* Nesterov momentum oscillates less than plain momentum (fewer sign changes of y);
* the adaptive methods rescale each axis; Newton's method solves any quadratic in one step.

f = x²/20 + y² (DLFS and 003; DLFS's 0.05x² + y² is the same function), DLFS's
round bowl x² + y² as the contrast where plain SGD is fine, and Rosenbrock (non-convex) are
the other problems. Outputs in ``--out``: ``<function>_trajectories.png`` (contours and paths, one
panel per optimizer), ``<function>_convergence.png`` (f against step, log scale),
``<function>_trajectories.csv``, and ``summary.json``.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tinygrad_lab import Tensor
from tinygrad_lab.experiments import main, pyplot
from tinygrad_lab.optim import SGD, Adagrad, Adam, RMSprop, newton_step_

NAME = "quadratic"
HELP = "optimizers on x^2 + 50y^2 and friends: contour trajectories, convergence, steps table"


@dataclass(frozen=True)
class Problem:
    """A 2-D test function with its start, optimum, plotting window and the lrs that tell its story."""

    key: str
    title: str
    f: Callable[[Tensor], Tensor]
    start: tuple[float, float]
    optimum: tuple[float, float]
    window: tuple[float, float, float, float]  # xmin, xmax, ymin, ymax
    lrs: dict[str, float]


@dataclass(frozen=True)
class Method:
    """One optimizer configuration; ``lr`` comes from the problem (or ``--lr``)."""

    label: str
    make: Callable[..., object] | None  # optimizer class; None for Newton
    hyper: dict = field(default_factory=dict)


METHODS = [
    Method("sgd-small", SGD),
    Method("sgd-large", SGD),
    Method("momentum", SGD, {"momentum": 0.9}),
    Method("nesterov", SGD, {"momentum": 0.9, "nesterov": True}),
    Method("adagrad", Adagrad),
    Method("rmsprop", RMSprop),
    Method("adam", Adam),
    Method("newton", None),
]

_QUAD_LRS = {"sgd-small": 0.1, "sgd-large": 1.05, "momentum": 0.1, "nesterov": 0.1,
             "adagrad": 1.5, "rmsprop": 0.1, "adam": 0.3}
PROBLEMS = {
    p.key: p for p in [
        Problem("elongated", "f = x² + 50y²  (the nine-layer experiment)", lambda v: v[0] ** 2 + 50 * v[1] ** 2,
                (-7.0, 2.0), (0.0, 0.0), (-8, 8, -3, 3),
                {"sgd-small": 0.005, "sgd-large": 0.021, "momentum": 0.005, "nesterov": 0.005,
                 "adagrad": 1.0, "rmsprop": 0.1, "adam": 0.3}),
        Problem("dlfs", "f = x²/20 + y² = 0.05x² + y²  (DLFS, 003)",
                lambda v: v[0] ** 2 / 20 + v[1] ** 2, (-7.0, 2.0), (0.0, 0.0), (-10, 10, -5, 5),
                _QUAD_LRS),
        Problem("round", "f = x² + y²  (DLFS's contrast)", lambda v: v[0] ** 2 + v[1] ** 2,
                (-7.0, 2.0), (0.0, 0.0), (-8, 8, -4, 4), _QUAD_LRS),
        Problem("rosenbrock", "f = (1 − x)² + 100(y − x²)²  (non-convex)",
                lambda v: (1 - v[0]) ** 2 + 100 * (v[1] - v[0] ** 2) ** 2, (-1.2, 1.0),
                (1.0, 1.0), (-2, 2, -1, 3),
                {"sgd-small": 1e-3, "sgd-large": 4e-3, "momentum": 1e-3, "nesterov": 1e-3,
                 "adagrad": 0.5, "rmsprop": 0.01, "adam": 0.1}),
    ]
}
MAX_ZOOM_OUT = 2.5  # a panel's view grows to at most this many times the problem's window per axis
DIVERGED = 1e6  # f above DIVERGED * max(f(start), 1), or non-finite, counts as diverged


@dataclass
class Result:
    label: str
    lr: float | None
    points: np.ndarray  # (k + 1, 2): the start and every iterate
    values: np.ndarray  # f at each point
    status: str  # "converged", "diverged" or "not reached"

    @property
    def steps(self) -> int:
        return len(self.values) - 1

    @property
    def y_sign_changes(self) -> int:
        y = self.points[:, 1]
        return int(np.count_nonzero(np.diff(np.sign(y[y != 0])) != 0))

    def steps_text(self) -> str:
        return str(self.steps) if self.status == "converged" else self.status


def optimize(problem: Problem, method: Method, lr: float | None, steps: int, tol: float) -> Result:
    """Run ``method`` from the problem's start until f < tol, divergence or ``steps`` steps."""
    x = Tensor(np.array(problem.start, dtype=np.float64), requires_grad=True)
    opt = method.make([x], lr=lr, **method.hyper) if method.make else None
    points, values = [x.data.copy()], []
    limit = DIVERGED * max(problem.f(x).item(), 1.0)
    status = "not reached"
    for k in range(steps + 1):
        loss = problem.f(x)
        value = loss.item()
        values.append(value)
        if value < tol:
            status = "converged"
            break
        if not math.isfinite(value) or value > limit:
            status = "diverged"
            break
        if k == steps:
            break
        if opt is None:
            newton_step_(problem.f, x)
        else:
            opt.zero_grad()
            loss.backward()
            opt.step()
        points.append(x.data.copy())
    return Result(method.label, lr, np.array(points), np.array(values), status)


def run_problem(problem: Problem, steps: int, tol: float, overrides: dict[str, float]) -> list[Result]:
    results = []
    for method in METHODS:
        lr = None if method.make is None else overrides.get(method.label, problem.lrs[method.label])
        results.append(optimize(problem, method, lr, steps, tol))
    return results


def story(results: list[Result]) -> list[tuple[str, bool]]:
    """the nine-layer table's claims, checked on the results for x² + 50y²."""
    r = {res.label: res for res in results}
    small, large, mom, nest = r["sgd-small"], r["sgd-large"], r["momentum"], r["nesterov"]
    return [
        ("SGD with a small lr converges without oscillating in y, but slowly (along x)",
         small.status == "converged" and small.y_sign_changes == 0),
        ("SGD with a large lr oscillates along y and diverges",
         large.status == "diverged" and large.y_sign_changes > 10),
        ("momentum (same small lr) converges in fewer steps than SGD",
         mom.status == "converged" and mom.steps < small.steps),
        ("Nesterov oscillates less than momentum (fewer sign changes of y)",
         nest.y_sign_changes < mom.y_sign_changes),
        ("Newton's method solves the quadratic in one step", r["newton"].steps == 1),
    ]


# ------------------------------------------------------------------------------------ output
def table(problem: Problem, results: list[Result], tol: float) -> str:
    lines = [f"{problem.title}, start {problem.start}, steps to f < {tol:g}",
             f"{'optimizer':<11} {'lr':>8} {'steps':>12} {'final f':>10} {'y sign changes':>15}"]
    for res in results:
        lr = "-" if res.lr is None else f"{res.lr:g}"
        lines.append(f"{res.label:<11} {lr:>8} {res.steps_text():>12} {res.values[-1]:>10.3g} "
                     f"{res.y_sign_changes:>15}")
    return "\n".join(lines)


def panel_view(problem: Problem, points: np.ndarray) -> tuple[tuple[float, float, float, float], int | None]:
    """(the view of one optimizer's panel, the first step outside it or None).

    The view is the problem's window, grown to take in the whole path when that keeps it within
    ``MAX_ZOOM_OUT`` times the window on each axis (Newton's third step on Rosenbrock lands at
    y = −3.2, below the window's −1), so that every point is drawn.  A path that goes further (it
    diverges) keeps the window, and the step where it leaves it is returned, to be marked."""
    x0, x1, y0, y1 = problem.window
    finite = points[np.isfinite(points).all(axis=1)]
    margin = 0.05
    low, high = np.minimum(finite.min(axis=0), (x0, y0)), np.maximum(finite.max(axis=0), (x1, y1))
    pad = margin * (high - low)
    grown = (low[0] - pad[0] * (low[0] < x0), high[0] + pad[0] * (high[0] > x1),
             low[1] - pad[1] * (low[1] < y0), high[1] + pad[1] * (high[1] > y1))
    if len(finite) == len(points) and (grown[1] - grown[0] <= MAX_ZOOM_OUT * (x1 - x0)
                                       and grown[3] - grown[2] <= MAX_ZOOM_OUT * (y1 - y0)):
        return grown, None
    outside = ~((points[:, 0] >= x0) & (points[:, 0] <= x1) & (points[:, 1] >= y0) & (points[:, 1] <= y1))
    return problem.window, int(np.argmax(outside))


def plot_trajectories(problem: Problem, results: list[Result], path: Path) -> None:
    """One panel per optimizer: the contours of f and the path.  Each panel shows its whole path
    (see :func:`panel_view`), or says at which step the path leaves the view and marks where."""
    plt = pyplot()
    cols = 4
    rows = math.ceil(len(results) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.2 * rows), squeeze=False)
    for ax, res in zip(axes.flat, results):
        (x0, x1, y0, y1), leaves_at = panel_view(problem, res.points)
        gx, gy = np.meshgrid(np.linspace(x0, x1, 300), np.linspace(y0, y1, 300))
        fv = problem.f(Tensor(np.stack([gx, gy]))).data
        ax.contour(gx, gy, fv, levels=np.geomspace(max(fv.min(), 1e-3), fv.max(), 18), cmap="Blues", linewidths=0.7)
        ax.plot(res.points[:, 0], res.points[:, 1], "-o", color="tab:red", ms=2.2, lw=0.9)
        ax.plot(*problem.start, "ks", ms=5, label="start")
        ax.plot(*problem.optimum, "*", color="gold", mec="k", ms=14, label="optimum")
        if leaves_at is not None:
            exit_point = np.clip(res.points[leaves_at], (x0, y0), (x1, y1))
            ax.plot(*exit_point, "v", color="tab:red", mec="k", ms=9, clip_on=False, label="leaves the view")
            ax.text(0.03, 0.04, f"leaves the view at step {leaves_at}", transform=ax.transAxes, fontsize=8,
                    color="tab:red", bbox={"facecolor": "white", "alpha": 0.8, "linewidth": 0})
        lr = "" if res.lr is None else f", lr={res.lr:g}"
        ax.set_title(f"{res.label}{lr}: {res.steps_text()}"
                     + (" step(s)" if res.status == "converged" else ""), fontsize=10)
        ax.set_xlim(x0, x1)
        ax.set_ylim(y0, y1)
        ax.set_xlabel("x")
        ax.set_ylabel("y")
    for ax in list(axes.flat)[len(results):]:
        ax.axis("off")
    axes.flat[0].legend(loc="lower right", fontsize=8)
    fig.suptitle(f"{problem.title}: trajectories", fontsize=13)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_convergence(problem: Problem, results: list[Result], tol: float, path: Path) -> None:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(8, 5))
    for res in results:
        values = np.clip(res.values, tol / 1e3, 1e12)  # Newton lands near 1e-20: keep the scale
        ax.semilogy(np.arange(len(values)), values, marker="o" if len(values) < 5 else None,
                    label=f"{res.label} ({res.steps_text()})")
    ax.axhline(tol, color="gray", ls="--", lw=1, label=f"tolerance {tol:g}")
    ax.set_xlabel("step")
    ax.set_ylabel(f"f(x, y)  (log scale, floored at {tol / 1e3:g})")
    ax.set_title(f"{problem.title}: convergence")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=8, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_csv(problem: Problem, results: list[Result], path: Path) -> None:
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["function", "optimizer", "step", "x", "y", "f"])
        for res in results:
            for k, ((x, y), f) in enumerate(zip(res.points, res.values)):
                w.writerow([problem.key, res.label, k, repr(float(x)), repr(float(y)), repr(float(f))])


# --------------------------------------------------------------------------------------- CLI
def _lr_override(text: str) -> tuple[str, float]:
    label, sep, value = text.partition("=")
    labels = [m.label for m in METHODS if m.make is not None]
    if not sep or label not in labels:
        raise argparse.ArgumentTypeError(f"expected OPT=VALUE with OPT one of {labels}, got {text!r}")
    try:
        lr = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"learning rate {value!r} is not a number") from None
    if not lr > 0:
        raise argparse.ArgumentTypeError(f"learning rate must be > 0, got {value}")
    return label, lr


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--function", choices=[*PROBLEMS, "all"], default="all",
                        help="which problem (default: all)")
    parser.add_argument("--steps", type=int, default=2000, help="step budget per optimizer")
    parser.add_argument("--tol", type=float, default=1e-6, help="stop when f < tol")
    parser.add_argument("--lr", type=_lr_override, action="append", default=[], metavar="OPT=VALUE",
                        help="override a learning rate, e.g. --lr sgd-large=0.019 (repeatable)")
    parser.add_argument("--out", type=Path, default=Path("runs/quadratic"), help="output directory")


def run(args: argparse.Namespace) -> int:
    if args.steps < 1:
        raise SystemExit("--steps must be >= 1")
    args.out.mkdir(parents=True, exist_ok=True)
    overrides = dict(args.lr)
    keys = list(PROBLEMS) if args.function == "all" else [args.function]
    summary = {"tol": args.tol, "steps": args.steps, "functions": {}}
    for key in keys:
        problem = PROBLEMS[key]
        results = run_problem(problem, args.steps, args.tol, overrides)
        print(table(problem, results, args.tol))
        entry = {"title": problem.title, "start": problem.start, "optimum": problem.optimum,
                 "runs": [{"optimizer": r.label, "lr": r.lr, "status": r.status,
                           "steps": r.steps if r.status == "converged" else None,
                           "final_f": float(r.values[-1]), "y_sign_changes": r.y_sign_changes}
                          for r in results]}
        if key == "elongated":
            entry["story"] = [{"claim": c, "holds": ok} for c, ok in story(results)]
            for claim, ok in story(results):
                print(f"  [{'x' if ok else ' '}] {claim}")
        print()
        summary["functions"][key] = entry
        plot_trajectories(problem, results, args.out / f"{key}_trajectories.png")
        plot_convergence(problem, results, args.tol, args.out / f"{key}_convergence.png")
        write_csv(problem, results, args.out / f"{key}_trajectories.csv")
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2))
    print(f"figures, CSVs and summary.json written to {args.out}/")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(__import__(__name__)))
