"""The initialization lab: how the weight initializer shapes each layer's activations and gradients.

A net of L blocks z(l) = W(l) a(l−1) [+ b(l)], [BatchNorm1d,] a(l) = σ(z(l)), with a(0) = x a
Gaussian batch (N samples × n features), is run forward once with the framework's own layers
(``nn.Linear``, ``nn.BatchNorm1d``, ``nn.ReLU``/``Sigmoid``/``Tanh``) and initializers
(:mod:`tinygrad_lab.init`).  For every layer we record the mean and std of a(l) over all N × n
entries, and after one backward pass of E = ½ Σₙ Σᵢ a(L)ₙᵢ² (summed over the batch: the homework's
``half_sum_squared_error(a(L), 0)``) the mean |∂E/∂W(l)| over the entries of W(l).

Three of the textbook results are reproduced:

* the nine-layer experiment, part 2: 9 ReLU layers, W ~ N(0, 0.01²), N(0, 1), LeCun N(0, 1/n),
  He/MSRA, and N(0, 0.01²) with BatchNorm after every linear layer: the per-layer "layer k mean …
  and std …" tables;
* DLFS (Deep Learning from Scratch, ch. 6): 5 layers of 100 units, sigmoid/tanh/ReLU, weights
  std 1, std 0.01, LeCun N(0, 1/n) (which the book calls Xavier), He: one histogram figure per
  activation;
* the homework, question 4: 5 layers of 100 units, σ ∈ {sigmoid, ReLU}, θ (weights and biases) ∈
  {0, N(0, 1), N(0, 0.01²)}: the histograms of every layer's output.

Computation (:func:`run_setting`, :func:`run_settings`, the ``*_settings`` lists) returns
plain data (:class:`Run`, :class:`LayerStats`); printing, CSV and plotting are separate functions.
"""
from __future__ import annotations

import argparse
import csv
import math
import textwrap
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

from tinygrad_lab.init import get_initializer
from tinygrad_lab.losses import half_sum_squared_error
from tinygrad_lab.nn import BatchNorm1d, Linear, Sequential, get_activation
from tinygrad_lab.tensor import Tensor

NAME = "init-stats"
HELP = ("per-layer activation statistics, histograms and gradients under different weight "
        "initializers (nine ReLU layers, five layers, the homework's question 4)")

RELU9_DEPTH = 9
HISTOGRAM_DEPTH = 5
RELU9_INITS = ("normal:0.01", "normal:1", "lecun", "he", "normal:0.01+bn")
FIVE_LAYER_ACTIVATIONS = ("sigmoid", "tanh", "relu")
FIVE_LAYER_INITS = ("normal:1", "normal:0.01", "lecun", "he")
HOMEWORK_ACTIVATIONS = ("sigmoid", "relu")
HOMEWORK_THETAS = ("zeros", "normal:1", "normal:0.01")
BN_SUFFIX = "+bn"
#: histogram range of a(l) per activation (None: from the data)
VALUE_RANGES = {"sigmoid": (0.0, 1.0), "tanh": (-1.0, 1.0), "relu": None}
LOSS_TEXT = "E = ½ Σₙ Σᵢ a(L)ₙᵢ² (summed over the batch; half_sum_squared_error(a(L), 0))"


# ----- settings and results ---------------------------------------------------------------------
def describe_init(spec: str) -> str:
    """A readable name of an initializer spec: ``normal:0.01`` → ``N(0, 0.01²)``."""
    name, _, arg = spec.partition(":")
    if name == "normal":
        std = arg or "1"
        return f"N(0, {std})" if float(std) == 1 else f"N(0, {std}²)"
    return {"zeros": "0", "constant": f"{arg or 0}",
            "lecun": "LeCun N(0, 1/n) (called Xavier in Deep Learning from Scratch)",
            "xavier": "Xavier/Glorot N(0, 2/(n_in + n_out))", "glorot": "Xavier/Glorot N(0, 2/(n_in + n_out))",
            "he": "He N(0, 2/n)", "msra": "MSRA N(0, 2/n)"}.get(name, spec)


@dataclass(frozen=True)
class Setting:
    """One net: activation σ, weight initializer spec, BatchNorm after every linear layer or not,
    and ``theta_bias``: biases drawn like the weights (the homework's θ) instead of no bias."""

    activation: str
    init: str
    batchnorm: bool = False
    theta_bias: bool = False

    @property
    def constant_init(self) -> bool:
        return self.init.startswith(("zeros", "constant"))

    @property
    def init_label(self) -> str:
        symbol = "θ" if self.theta_bias else "W"
        if self.constant_init:
            label = f"{symbol} = {describe_init(self.init)}"
        else:
            label = f"θ ~ {describe_init(self.init)}" if self.theta_bias else describe_init(self.init)
        return label + (" + BN" if self.batchnorm else "")

    @property
    def label(self) -> str:
        return f"{self.activation}, {self.init_label}"

    @property
    def slug(self) -> str:
        """A file-name-safe name: ``relu_normal-0.01_bn``."""
        parts = [self.activation, self.init.replace(":", "-")] + ["bn"] * self.batchnorm
        return "_".join(parts)


@dataclass(frozen=True)
class LayerStats:
    """Statistics of a(l) over all N × n entries (layer 0 is the input x); ``mean_abs_grad`` is
    the mean |∂E/∂W(l)| over the entries of W(l) (NaN for the input)."""

    layer: int
    mean: float
    std: float
    min: float
    max: float
    zero_fraction: float
    mean_abs_grad: float

    @classmethod
    def of(cls, layer: int, values: np.ndarray, grad: np.ndarray | None = None) -> LayerStats:
        return cls(layer, float(values.mean()), float(values.std()), float(values.min()),
                   float(values.max()), float(np.mean(values == 0)),
                   float(np.abs(grad).mean()) if grad is not None else math.nan)


@dataclass
class Run:
    """One setting's forward/backward pass: ``stats[0]`` is the input, ``stats[l]`` layer l;
    ``outputs[l − 1]`` holds a(l) (for the histograms)."""

    setting: Setting
    stats: list[LayerStats]
    outputs: list[np.ndarray]

    @property
    def layers(self) -> list[LayerStats]:
        return self.stats[1:]


def relu9_settings(inits=RELU9_INITS) -> list[Setting]:
    """the nine-layer experiment, part 2: ReLU nets; an init spec ending in ``+bn`` adds BatchNorm."""
    return [Setting("relu", spec.removesuffix(BN_SUFFIX), batchnorm=spec.endswith(BN_SUFFIX))
            for spec in inits]


def five_layer_settings(activation: str) -> list[Setting]:
    """Deep Learning from Scratch (DLFS), ch. 6: one activation under std 1, std 0.01, LeCun (the book's Xavier) and He."""
    return [Setting(activation, init) for init in FIVE_LAYER_INITS]


def homework_settings() -> list[Setting]:
    """the homework, question 4: σ ∈ {sigmoid, relu} × θ ∈ {0, N(0, 1), N(0, 0.01²)} on W and b."""
    return [Setting(act, theta, theta_bias=True) for act in HOMEWORK_ACTIVATIONS for theta in HOMEWORK_THETAS]


# ----- computation ------------------------------------------------------------------------------
def build_net(setting: Setting, n_in: int, width: int, depth: int,
              rng: np.random.Generator) -> Sequential:
    """``depth`` blocks Sequential(Linear, [BatchNorm1d,] σ), weights (and θ biases) drawn from ``rng``."""
    blocks = []
    for layer in range(depth):
        linear = Linear(n_in if layer == 0 else width, width, bias=setting.theta_bias,
                        init=setting.init, rng=rng)
        if setting.theta_bias:
            get_initializer(setting.init)(linear.bias, rng=rng)
        norm = [BatchNorm1d(width)] if setting.batchnorm else []
        blocks.append(Sequential(linear, *norm, get_activation(setting.activation)))
    return Sequential(*blocks)


def layer_outputs(net: Sequential, x: np.ndarray) -> list[Tensor]:
    """a(1), …, a(L): the output of every block of ``net`` on the input x (graph recorded)."""
    outputs, a = [], Tensor(x)
    for block in net:
        a = block(a)
        outputs.append(a)
    return outputs


def measure(net: Sequential, x: np.ndarray) -> tuple[list[LayerStats], list[np.ndarray]]:
    """Forward x, backward E = ½ Σ a(L)²: the statistics of x and of every a(l) and ∂E/∂W(l), and
    the arrays a(1), …, a(L)."""
    net.zero_grad()
    outputs = layer_outputs(net, x)
    half_sum_squared_error(outputs[-1], np.zeros(outputs[-1].shape)).backward()
    arrays = [a.data for a in outputs]
    grads = [block[0].weight.grad.data for block in net]
    stats = [LayerStats.of(0, x)] + [LayerStats.of(l, a, g)
                                     for l, (a, g) in enumerate(zip(arrays, grads), start=1)]
    return stats, arrays


def run_setting(setting: Setting, x: np.ndarray, width: int, depth: int,
                rng: np.random.Generator) -> Run:
    """Build the net of ``setting`` on input x and measure it."""
    return Run(setting, *measure(build_net(setting, x.shape[1], width, depth, rng), x))


def gaussian_input(samples: int, features: int, seed: int, part: int) -> np.ndarray:
    """x ~ N(0, 1) of shape (samples, features), the same for every setting of one part."""
    return np.random.default_rng([seed, part]).standard_normal((samples, features))


def run_settings(settings: list[Setting], samples: int, width: int, depth: int, seed: int,
                 part: int) -> list[Run]:
    """Every setting on one shared input; setting i draws its weights from Generator(seed, part, i)."""
    x = gaussian_input(samples, width, seed, part)
    return [run_setting(s, x, width, depth, np.random.default_rng([seed, part, i]))
            for i, s in enumerate(settings)]


# ----- text -------------------------------------------------------------------------------------
def seed_number(value: float) -> str:
    """The textbook table's ``%.5f``, except that 0 < |value| < 1e-3 is written ``%.5e``, so a collapsing std
    stays visible (the textbook tables show it as 0.00000)."""
    return f"{value:.5e}" if 0 < abs(value) < 1e-3 else f"{value:.5f}"


def seed_table(run: Run) -> list[str]:
    """the nine-layer table's table: "input mean … and std …", then "layer k mean … and std …" per layer."""
    x, layers = run.stats[0], run.layers
    return ([f"input mean {seed_number(x.mean)} and std {seed_number(x.std)}"]
            + [f"layer {s.layer} mean {seed_number(s.mean)} and std {seed_number(s.std)}" for s in layers])


def gradient_table(runs: list[Run]) -> list[str]:
    """One row per setting: mean |∂E/∂W(l)| for l = 1 … L."""
    depth = len(runs[0].layers)
    name_width = max(len(r.setting.label) for r in runs)
    header = f"{'setting':<{name_width}}" + "".join(f"{f'W({l})':>10}" for l in range(1, depth + 1))
    rows = [f"{r.setting.label:<{name_width}}" + "".join(f"{s.mean_abs_grad:>10.2e}" for s in r.layers)
            for r in runs]
    return [header] + rows


def constant_layers(run: Run) -> list[tuple[int, float]]:
    """(l, v) for every layer whose output a(l) is the single value v in all entries."""
    return [(s.layer, s.min) for s in run.layers if s.min == s.max]


def theta_zero_findings(runs: list[Run]) -> list[str]:
    """What θ = 0 really gives, read off the runs (not assumed)."""
    lines = []
    for run in runs:
        if not run.setting.constant_init:
            continue
        constant = constant_layers(run)
        if len(constant) == len(run.layers):
            values = sorted({v for _, v in constant})
            what = (f"every layer's output a(1) … a({len(run.layers)}) is exactly "
                    f"{' / '.join(f'{v:g}' for v in values)} in all entries")
        else:
            what = f"constant layers: {constant or 'none'}"
        nonzero = [str(s.layer) for s in run.layers if s.mean_abs_grad > 0]
        grads = f"∂E/∂W(l) ≠ 0 only for l = {', '.join(nonzero)}" if nonzero else "∂E/∂W(l) = 0 for every l"
        lines.append(f"{run.setting.label}: {what}; {grads}")
    return lines


def width_note(runs: list[Run], width: int) -> str:
    """How far N(0, 1) explodes at this width, against the textbook table (which fits width ≈ 800:
    its layer-1 mean 11.3 ≈ 0.399 · √800, the ReLU mean of N(0, 800))."""
    std1 = next((r for r in runs if r.setting.init == "normal:1" and not r.setting.batchnorm), None)
    if std1 is None:
        return ""
    last = std1.layers[-1]
    return (f"note: with N(0, 1) each ReLU layer multiplies the std by about √(n/2) = {math.sqrt(width / 2):.3g} "
            f"at width n = {width}, so layer {last.layer} reaches std {last.std:.3g}; the textbook N(0, 1) table "
            "(layer 1 mean 11.3, layer 9 std 8.8e10) fits width ≈ 800, where the ReLU mean of N(0, n), "
            "0.399·√n, is 11.3 (--width 800 reproduces it)")


# ----- files ------------------------------------------------------------------------------------
CSV_COLUMNS = ["experiment", "activation", "init", "batchnorm", "bias"] + [f.name for f in fields(LayerStats)]


def write_csv(path: Path, experiment: str, runs: list[Run]) -> Path:
    """One row per (setting, layer), layer 0 being the input x."""
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(CSV_COLUMNS)
        for run in runs:
            s = run.setting
            bias = s.init if s.theta_bias else "none"
            for stats in run.stats:
                writer.writerow([experiment, s.activation, s.init, s.batchnorm, bias]
                                + [getattr(stats, f.name) for f in fields(LayerStats)])
    return path


# ----- figures ----------------------------------------------------------------------------------
def _pyplot():
    from tinygrad_lab.experiments import pyplot
    return pyplot()


def _positive_or_nan(values) -> np.ndarray:
    """Values for a log axis: zeros (all-zero layers) become NaN, i.e. gaps in the line."""
    values = np.asarray(values, dtype=float)
    return np.where(values > 0, values, np.nan)


def _save(fig, path: Path) -> Path:
    fig.savefig(path, dpi=110)
    _pyplot().close(fig)
    return path


def plot_layer_curves(runs: list[Run], path: Path, title: str) -> Path:
    """Mean and std of a(l) against the layer l (0 = input), log scale, one line per setting."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.8), constrained_layout=True)
    for ax, field in zip(axes, ("mean", "std")):
        for run in runs:
            # the input's mean ≈ 0 has no place on a log axis: means start at layer 1
            stats = run.stats if field == "std" else run.layers
            ax.plot([s.layer for s in stats], _positive_or_nan([getattr(s, field) for s in stats]),
                    marker="o", label=run.setting.init_label)
        ax.set_yscale("log")
        ax.set_xlabel("layer l (0 = input x)")
        ax.set_ylabel(f"{field} of a(l) over all entries")
        ax.set_title(f"{field} of each layer's output a(l)")
        ax.set_xticks(range(len(runs[0].stats)))
        ax.grid(True, which="major", alpha=0.3)
    axes[1].legend(title="weights", fontsize=9)
    fig.suptitle(title)
    return _save(fig, path)


def row_range(run: Run) -> tuple[float, float] | None:
    """The histogram range of one row: the activation's own range for sigmoid/tanh, else the range
    of all of the run's a(l), shared by its layers so that shrinking and growing stay visible."""
    fixed = VALUE_RANGES[run.setting.activation]
    if fixed is not None:
        return fixed
    low, high = min(a.min() for a in run.outputs), max(a.max() for a in run.outputs)
    return (float(low), float(high)) if high > low else None


def _histogram_panel(ax, values: np.ndarray, setting: Setting, layer: int,
                     value_range: tuple[float, float] | None) -> None:
    """Histogram of a(l), 30 bins over ``value_range``, with its mean and std (over all entries) in
    a box.  ReLU: the exact zeros are counted in the box, not drawn, so the positive part shows
    (unless the layer is all zeros)."""
    values = values.ravel()
    if values.min() == values.max():
        notes, drawn = [f"all {values.size} values", f"= {values[0]:g}"], values
    else:
        notes, drawn = [f"mean {values.mean():.3g}", f"std {values.std():.3g}"], values
        if setting.activation == "relu":
            notes.append(f"{np.mean(values == 0):.0%} exactly 0 (not drawn)")
            drawn = values[values > 0]
    counts, _, _ = ax.hist(drawn, bins=30, range=value_range, color="tab:blue")
    ax.set_ylim(0, 1.45 * counts.max())  # headroom for the box
    ax.set_title("\n".join(textwrap.wrap(setting.label, 34) + [f"layer {layer}"]), fontsize=9)  # a panel's width
    ax.text(0.97, 0.95, "\n".join(notes), transform=ax.transAxes, ha="right", va="top", fontsize=7.5,
            bbox={"boxstyle": "round", "facecolor": "white", "alpha": 0.8, "linewidth": 0.5})
    ax.xaxis.set_major_formatter(_pyplot().FuncFormatter(lambda v, _: f"{v:.3g}"))
    ax.ticklabel_format(axis="y", style="plain")
    ax.locator_params(axis="x", nbins=4)
    ax.tick_params(labelsize=7.5)


def plot_histograms(runs: list[Run], path: Path, title: str) -> Path:
    """A grid of histograms: one row per setting, one column per layer."""
    plt = _pyplot()
    rows, cols = len(runs), len(runs[0].outputs)
    height = 3.0 * rows + 0.7
    fig, axes = plt.subplots(rows, cols, figsize=(3.1 * cols, height), squeeze=False)
    # fixed margins in inches (constrained_layout would double the drawing time)
    fig.subplots_adjust(left=0.8 / (3.1 * cols), right=0.99, bottom=0.5 / height, top=1 - 1.0 / height,
                        wspace=0.3, hspace=0.85)   # room for a title of up to four lines
    for row, run in zip(axes, runs):
        value_range = row_range(run)
        for layer, (ax, values) in enumerate(zip(row, run.outputs), start=1):
            _histogram_panel(ax, values, run.setting, layer, value_range)
            ax.set_xlabel(f"a({layer}) = {run.setting.activation}(z({layer}))", fontsize=8)
        row[0].set_ylabel("count", fontsize=8)
    fig.suptitle(title)
    return _save(fig, path)


def plot_gradients(groups: dict[str, list[Run]], path: Path) -> Path:
    """mean |∂E/∂W(l)| against l, log scale: one panel per experiment, one line per setting;
    settings whose gradients are all 0 are named in the legend (a log axis cannot draw 0)."""
    plt = _pyplot()
    cols = 3
    rows = math.ceil(len(groups) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(5.6 * cols, 5.2 * rows), squeeze=False,
                             constrained_layout=True)
    for ax, (name, runs) in zip(axes.flat, groups.items()):
        for run in runs:
            grads = [s.mean_abs_grad for s in run.layers]
            zero = [s.layer for s in run.layers if s.mean_abs_grad == 0]
            label = run.setting.label + (f" (exactly 0 at l = {', '.join(map(str, zero))})" if zero else "")
            ax.plot([s.layer for s in run.layers], _positive_or_nan(grads), marker="o", label=label)
        ax.set_yscale("log")
        ax.set_title(name, fontsize=10)
        ax.set_xlabel("layer l")
        ax.set_ylabel("mean |∂E/∂W(l)|")
        ax.set_xticks([s.layer for s in runs[0].layers])
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7.5, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2)
    for ax in list(axes.flat)[len(groups):]:
        ax.set_visible(False)
    fig.suptitle(f"Gradients after one backward pass of {LOSS_TEXT}")
    return _save(fig, path)


# ----- command line -----------------------------------------------------------------------------
def _count(minimum: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be >= {minimum}, got {value}")
        return value
    return parse


def _init_spec(text: str) -> str:
    """An initializer spec (see :func:`tinygrad_lab.init.get_initializer`), optionally ``+bn``."""
    from tinygrad_lab.nn import Parameter

    try:
        get_initializer(text.removesuffix(BN_SUFFIX))(Parameter(np.zeros((2, 2))), rng=np.random.default_rng(0))
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"{e} (append {BN_SUFFIX} for BatchNorm)") from None
    return text


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seed", type=int, default=0, help="seed of the inputs and weights (default 0)")
    parser.add_argument("--width", type=_count(1), default=100,
                        help="units per layer and input features (default 100, as in Deep Learning from Scratch)")
    parser.add_argument("--samples", type=_count(2), default=1000, help="input rows N (default 1000)")
    parser.add_argument("--init", action="append", type=_init_spec, metavar="SPEC",
                        help="a weight initializer of the nine-layer ReLU tables, repeatable: lecun, xavier, he, "
                             f"normal:0.01, …; append {BN_SUFFIX} for BatchNorm (default: "
                             f"{' '.join(RELU9_INITS)})")
    parser.add_argument("--out", type=Path, default=Path("runs/init-stats"),
                        help="folder for the PNG and CSV files (default runs/init-stats/)")


def run(args) -> int:
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    n, width, seed = args.samples, args.width, args.seed
    shape = f"x ~ N(0, 1) of shape ({n}, {width})"
    files, lines = [], []

    runs000 = run_settings(relu9_settings(args.init or RELU9_INITS), n, width, RELU9_DEPTH, seed, part=0)
    lines += [(f"== the nine-layer experiment, part 2: {RELU9_DEPTH} × [Linear({width}, {width}, no bias) → ReLU], {shape}, "
               f"seed {seed} =="),
              (f"mean and std over all {n} × {width} entries of the input x and of each layer's output "
               "a(l) = ReLU(z(l)) (after the activation, as the tables of the nine-layer experiment print); values below 1e-3 in e-notation"),
              ""]
    for r in runs000:
        lines += [f"-- {r.setting.init_label} --", *seed_table(r), ""]
    lines += [note for note in [width_note(runs000, width)] if note]
    title000 = f"the nine-layer experiment: {RELU9_DEPTH} ReLU layers of {width} units, {shape}"
    files += [write_csv(out / "relu9_stats.csv", "relu9", runs000),
              plot_layer_curves(runs000, out / "relu9_stats.png", title000)]

    runs001 = {act: run_settings(five_layer_settings(act), n, width, HISTOGRAM_DEPTH, seed, part=1)
               for act in FIVE_LAYER_ACTIVATIONS}
    for act, runs in runs001.items():
        files.append(plot_histograms(runs, out / f"five_layer_{act}_histograms.png",
                                     f"Deep Learning from Scratch (DLFS), ch. 6: {act} activations a(l) of "
                                     f"{HISTOGRAM_DEPTH} layers × {width} units, no bias, {shape}; rows: weight init"
                                     + ("; x-axis shared along each row" if act == "relu" else "")))
    files.append(write_csv(out / "five_layer_stats.csv", "five_layer", [r for rs in runs001.values() for r in rs]))

    runs003 = run_settings(homework_settings(), n, width, HISTOGRAM_DEPTH, seed, part=2)
    title003 = (f"the homework, question 4: outputs a(l) of {HISTOGRAM_DEPTH} layers × {width} units, {shape}, "
                "θ = weights and biases; ReLU: x-axis shared along each row")
    files += [plot_histograms([r], out / f"homework_{r.setting.slug}.png", f"{title003}\n{r.setting.label}")
              for r in runs003]
    files += [plot_histograms(runs003, out / "homework_overview.png", title003),
              write_csv(out / "homework_stats.csv", "homework", runs003)]
    lines += ["", "== the homework, question 4: θ = 0 (weights and biases) ==", *theta_zero_findings(runs003),
              ("(z(l) = 0·a(l−1) + 0 = 0 in every layer, so a(l) = σ(0): the homework's all-zero outputs hold "
               "for ReLU only, sigmoid gives 0.5; with W = 0, δ(l) = W(l+1)ᵀ δ(l+1) ⊙ σ'(z(l)) vanishes below "
               "the last layer, and ReLU's σ'(0) = 0 leaves no gradient at all)")]

    groups = {f"the nine-layer experiment: {RELU9_DEPTH} × ReLU": runs000,
              **{f"DLFS: {act}": runs for act, runs in runs001.items()},
              "the homework: θ on W and b": runs003}
    lines += ["", f"== mean |∂E/∂W(l)| after one backward pass of {LOSS_TEXT} =="]
    for name, runs in groups.items():
        lines += ["", f"-- {name} --", *gradient_table(runs)]
    files.append(plot_gradients(groups, out / "gradients.png"))

    summary = out / "summary.txt"
    summary.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    print("\nwrote " + ", ".join(str(f) for f in files + [summary]))
    return 0
