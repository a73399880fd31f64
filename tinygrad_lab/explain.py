"""Backprop for one sample, step by step, in the homework's notation (docs/backprop.md).

:func:`explain` builds a tiny MLP (2-3-2, sigmoid, by default), runs one sample through it and
returns an :class:`Explanation`: the forward pass, the homework's δ recursion
(:mod:`tinygrad_lab.backprop`), and the same gradients from the autograd graph and from central
differences.  ``Explanation.text()`` is what ``tinygrad-lab explain`` prints.

    z(l) = W(l) a(l−1) + b(l),   a(l) = σ(z(l)),   a(0) = x,   y = a(L)

    loss "l2":             E = ½ Σ (y − t)², σ on every layer, output included
                           δ(L) = (a(L) − t) ⊙ σ'(z(L))
    loss "cross-entropy":  E = −log softmax(z(L))[t], no σ on the output (y = z(L), the logits)
                           δ(L) = softmax(z(L)) − onehot(t)

    δ(l) = σ'(z(l)) ⊙ W(l+1)ᵀ δ(l+1),   ∂E/∂W(l) = δ(l) a(l−1)ᵀ,   ∂E/∂b(l) = δ(l)

On your own numbers: ``explain(weights="mine.npz", x=[0.1, 0.2], t=[1, 0])`` takes W0, b0, W1, … as
``numpy.savez`` writes them (W[i] of shape (n[i+1], n[i]), b[i] of shape (n[i+1],)), in the
indexing of :func:`tinygrad_lab.check_backprop.check_backprop`: W0 is the homework's W(1).
"""
from __future__ import annotations

import os
import re
import textwrap
from dataclasses import dataclass

import numpy as np

from tinygrad_lab import backprop, ops
from tinygrad_lab.gradcheck import numerical_grad
from tinygrad_lab.losses import cross_entropy, half_sum_squared_error
from tinygrad_lab.nn import MLP, Linear, Parameter
from tinygrad_lab.activations import REGISTRY as ACTIVATIONS
from tinygrad_lab.tensor import Tensor

LOSSES = ("l2", "cross-entropy")
LOSS_FORMULA = {"l2": "E = ½ Σ (y − t)²", "cross-entropy": "E = −log softmax(z(L))[t]"}
#: step of the central differences (f(θ + h) − f(θ − h)) / 2h
EPS = 1e-6


def parse_sizes(text: str) -> list[int]:
    """``"2-3-2"`` -> ``[2, 3, 2]``: the layer widths, input first; at least two, each >= 1."""
    parts = str(text).split("-")
    if len(parts) < 2 or not all(p.strip().isdigit() for p in parts):
        raise ValueError(f"sizes must be widths joined by '-', input first, like 2-3-2; got {text!r}")
    sizes = [int(p) for p in parts]
    if min(sizes) < 1:
        raise ValueError(f"every layer needs at least one unit; got {text!r}")
    return sizes


def parse_vector(text: str) -> np.ndarray:
    """``"0.1,0.2"`` -> ``array([0.1, 0.2])``: numbers joined by ','."""
    try:
        return np.array([float(part) for part in str(text).split(",")])
    except ValueError:
        raise ValueError(f"expected numbers joined by ',', like 0.5,-1; got {text!r}") from None


def load_weights(weights) -> list[tuple[np.ndarray, np.ndarray]]:
    """(W(l), b(l)) for l = 1..L from ``weights``, an .npz path or a mapping of arrays named W0, b0,
    W1, b1, … (W[i] of shape (n[i+1], n[i]); b[i] of shape (n[i+1],) or (n[i+1], 1)), in float64.
    A ValueError names the file, or the array and the shape it should have."""
    source = ""
    if isinstance(weights, (str, os.PathLike)):
        source = f"{os.fspath(weights)}: "
        try:
            with np.load(weights, allow_pickle=False) as npz:
                weights = {name: npz[name] for name in npz.files}
        except (OSError, ValueError) as err:
            raise ValueError(f"{source}cannot read it as an .npz of arrays ({getattr(err, 'strerror', None) or err})") from None
    names = list(weights)
    L = sum(1 for name in names if re.fullmatch(r"W\d+", name))
    expected = [f"{kind}{i}" for i in range(L) for kind in "Wb"]
    if L == 0 or sorted(names) != sorted(expected):
        missing, extra = sorted(set(expected) - set(names)), sorted(set(names) - set(expected))
        why = f"no {', '.join(missing)}" if missing else f"unexpected {', '.join(extra)}" if extra else "no W0"
        raise ValueError(f"{source}expected the arrays W0, b0, W1, b1, … as numpy.savez(file, W0=…, b0=…, …) "
                         f"writes them; got {', '.join(names) or 'none'} ({why})")
    layers = []
    for i in range(L):
        W, b = _float_array(weights[f"W{i}"], f"W{i}", source), _float_array(weights[f"b{i}"], f"b{i}", source)
        n_in = layers[-1][0].shape[0] if layers else None
        if W.ndim != 2 or n_in is not None and W.shape[1] != n_in:
            follows = f"{n_in}): W{i - 1} of shape {layers[-1][0].shape} has {n_in} outputs" if layers \
                else "n0), a matrix"
            raise ValueError(f"{source}W{i} has shape {W.shape}, expected (n{i + 1}, {follows}")
        if b.shape not in ((W.shape[0],), (W.shape[0], 1)):
            raise ValueError(f"{source}b{i} has shape {b.shape}, expected ({W.shape[0]},) (or ({W.shape[0]}, 1)) "
                             f"for W{i} of shape {W.shape}")
        layers.append((W, b.reshape(-1)))
    return layers


def _float_array(value, name: str, source: str) -> np.ndarray:
    array = np.asarray(value)
    if array.dtype.kind not in "biuf":
        raise ValueError(f"{source}{name} is not an array of numbers (dtype {array.dtype})")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{source}{name} has NaN or infinite entries")
    return array.astype(np.float64)


def _sample_vector(value, name: str, n: int, where: str) -> np.ndarray:
    """``value`` as a float64 vector of n entries ((n,) or a column (n, 1)), or a ValueError."""
    vector = _float_array(parse_vector(value) if isinstance(value, str) else value, name, "")
    if vector.shape not in ((n,), (n, 1)):
        raise ValueError(f"{name} has shape {vector.shape}, expected ({n},) ({where})")
    return vector.reshape(-1)


@dataclass
class Explanation:
    """One sample through a tiny MLP: forward pass, δ recursion, and three sets of gradients.

    ``params`` lists (name, Parameter) as W(1), b(1), …, W(L), b(L); ``recursion``, ``autograd``
    and ``numerical`` hold ∂E/∂θ in that order.  ``loss_tensor`` is E with its graph retained
    (and ``.grad`` of the parameters filled), ready for :func:`tinygrad_lab.viz.draw`.
    """

    sizes: list[int]
    activation: str
    loss: str
    seed: int
    weights_from: str | None      # where W(l), b(l) came from, None when drawn with the seed
    x: np.ndarray
    t: np.ndarray             # onehot(target class), the L2 target too
    target: int
    layers: list[backprop.Layer]
    forward: backprop.ForwardPass
    gradients: backprop.Gradients
    params: list[tuple[str, Parameter]]
    recursion: list[np.ndarray]
    autograd: list[np.ndarray]
    numerical: list[np.ndarray]
    loss_tensor: Tensor

    @property
    def names(self) -> dict[str, Parameter]:
        return dict(self.params)

    @property
    def max_difference(self) -> float:
        """The largest |difference| between any two of recursion, autograd and central differences."""
        return max(_max_abs(a, b) for a, b in self._pairs().values())

    def _pairs(self) -> dict[str, tuple[list[np.ndarray], list[np.ndarray]]]:
        return {"recursion − autograd": (self.recursion, self.autograd),
                "recursion − central differences": (self.recursion, self.numerical),
                "autograd − central differences": (self.autograd, self.numerical)}

    def text(self, width: int = 80) -> str:
        """The whole explanation, no line wider than ``width`` (at least 60) columns."""
        return "\n".join(self._header(width) + self._forward_lines(width) + self._backward_lines(width)
                         + self._check_lines()) + "\n"

    # ----- sections ---------------------------------------------------------------------------
    def _header(self, width: int) -> list[str]:
        sizes = "-".join(map(str, self.sizes))
        where = "every layer, output included" if self.loss == "l2" else "the hidden layers"
        if self.loss == "l2":
            loss = "Loss: E = ½ Σ (y − t)², the homework's L2 loss, with y = a(L)."
        else:
            loss = ("Loss: E = −log softmax(z(L))[t], the softmax cross-entropy.  The output layer "
                    "has no σ: y = a(L) = z(L), the logits, so δ(L) = softmax(z(L)) − onehot(t) "
                    "and σ'(z(L)) does not appear.")
        intro = (f"Backprop, step by step, for one sample of a {sizes} MLP with σ = {self.activation} "
                 f"on {where}.  The homework's notation (docs/backprop.md); float64, "
                 f"{f'weights from {self.weights_from} (its W0, b0 are W(1), b(1))' if self.weights_from else f'seed {self.seed}'}; "
                 "vectors are printed as rows, with 4 significant digits.")
        paragraphs = [intro, loss]
        return [line for text in paragraphs for line in textwrap.wrap(text, width) + [""]]

    def _forward_lines(self, width: int) -> list[str]:
        L = len(self.layers)
        target = "t" if self.loss == "l2" else "onehot(t)"
        lines = ["Sample"] + _aligned([("x = a(0)", self.x), (target, self.t)], width)
        if self.loss == "cross-entropy":
            lines.append(f"  t = {self.target} (the target class)")
        lines += ["", "Parameters"] + _aligned([(name, p.data) for name, p in self.params], width)
        lines += ["", "Forward pass: z(l) = W(l) a(l−1) + b(l),  a(l) = σ(z(l))"]
        steps = [(f"{kind}({l + 1})", values[l][0]) for l in range(L)
                 for kind, values in (("z", self.forward.z), ("a", self.forward.a))]
        steps[-1] = (steps[-1][0] + " = y", steps[-1][1])
        lines += _aligned(steps, width)
        formula = LOSS_FORMULA[self.loss].replace("(L)", f"({L})")
        return lines + [f"  {formula} = {self.loss_tensor.item():.4g}", ""]

    def _backward_lines(self, width: int) -> list[str]:
        L = len(self.layers)
        fp, grads = self.forward, self.gradients
        lines = ["Backward pass: the homework's recursion (tinygrad_lab.backprop)"]
        for l in range(L - 1, -1, -1):
            n = l + 1
            if l == L - 1 and self.loss == "l2":
                lines.append(f"  δ({n}) = (a({n}) − t) ⊙ σ'(z({n}))")
                factors = [(f"a({n}) − t", fp.a[l][0] - self.t),
                           (f"σ'(z({n}))", self.layers[l].sigma.derivative(fp.z[l], fp.a[l])[0])]
            elif l == L - 1:
                lines.append(f"  δ({n}) = softmax(z({n})) − onehot(t)")
                factors = [(f"softmax(z({n}))", ops.softmax(fp.z[l][0])), ("onehot(t)", self.t)]
            else:
                lines.append(f"  δ({n}) = σ'(z({n})) ⊙ W({n + 1})ᵀ δ({n + 1})")
                factors = [(f"W({n + 1})ᵀ δ({n + 1})", grads.delta[l + 1][0] @ self.layers[l + 1].W),
                           (f"σ'(z({n}))", self.layers[l].sigma.derivative(fp.z[l], fp.a[l])[0])]
            lines += _aligned(factors + [(f"δ({n})", grads.delta[l][0])], width, indent=4)
            lines += _labeled(f"∂E/∂W({n}) = δ({n}) a({n - 1})ᵀ", grads.dW[l], width)
            lines += _labeled(f"∂E/∂b({n}) = δ({n})", grads.db[l], width)
        return lines + [""]

    def _check_lines(self) -> list[str]:
        lines = ["Check: ∂E/∂θ three ways ([i,j] are numpy indices, from 0)",
                 f"  {'θ':<12}{'recursion':>13}{'autograd':>13}{'central diff':>14}{'max |diff|':>12}"]
        for (name, p), r, a, n in zip(self.params, self.recursion, self.autograd, self.numerical):
            for index in np.ndindex(p.shape):
                entry = f"{name}[{','.join(map(str, index))}]"
                diff = max(abs(r[index] - a[index]), abs(r[index] - n[index]), abs(a[index] - n[index]))
                lines.append(f"  {entry:<12}{r[index]:>13.4g}{a[index]:>13.4g}{n[index]:>14.4g}"
                             f"{diff:>12.1e}")
        lines.append("")
        for pair, (left, right) in self._pairs().items():
            lines.append(f"  max |{pair}| = {_max_abs(left, right):.1e}")
        lines.append(f"  max difference = {self.max_difference:.1e}  (float64: central differences "
                     f"with h = {EPS:g}")
        lines.append("  are good to about 1e-9; the recursion and autograd agree up to rounding)")
        return lines


def explain(sizes=None, activation: str = "sigmoid", loss: str = "l2", seed: int = 0, weights=None,
            x=None, t=None) -> Explanation:
    """Build the MLP, draw one sample (x uniform in [−1, 1], a random target class) and compute
    everything :class:`Explanation` shows.  float64 throughout; the same seed gives the same text.

    ``weights`` (an .npz path or a mapping, see :func:`load_weights`) replaces the drawn weights and
    sets the sizes; ``x`` and ``t`` (vectors, or text such as ``"0.1,0.2"``) replace the sample, t a
    one-hot vector for the cross-entropy.  ``sizes`` defaults to 2-3-2, or the weights' widths."""
    given = load_weights(weights) if weights is not None else None
    if given is not None:
        widths = [given[0][0].shape[1]] + [W.shape[0] for W, _ in given]
        if sizes is not None and list(parse_sizes(_sizes_text(sizes))) != widths:
            raise ValueError(f"sizes {_sizes_text(sizes)} differ from the weights' {'-'.join(map(str, widths))}")
        sizes = widths
    sizes = parse_sizes(_sizes_text(sizes if sizes is not None else (2, 3, 2)))
    if activation not in ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r}; known: {', '.join(ACTIVATIONS)}")
    if loss not in LOSSES:
        raise ValueError(f"unknown loss {loss!r}; known: {', '.join(LOSSES)}")
    if loss == "cross-entropy" and sizes[-1] < 2:
        raise ValueError(f"cross-entropy needs at least 2 output classes; sizes {sizes} end with 1")
    rng = np.random.default_rng(seed)
    model = MLP(sizes, activation, output_activation=activation if loss == "l2" else None, rng=rng)
    x = np.round(rng.uniform(-1, 1, sizes[0]), 2) if x is None else \
        _sample_vector(x, "x", sizes[0], f"n0, the columns of {'W0' if given else 'W(1)'}")
    target = int(rng.integers(sizes[-1]))
    if t is not None:
        t = _sample_vector(t, "t", sizes[-1], f"n{len(sizes) - 1}, the rows of "
                           f"{f'W{len(sizes) - 2}' if given else f'W({len(sizes) - 1})'}")
        if loss == "cross-entropy" and not (np.isin(t, (0, 1)).all() and t.sum() == 1):
            raise ValueError(f"t must be one-hot for the cross-entropy (one 1, the rest 0); got {t.tolist()}")
        target = int(np.argmax(t))
    t = np.eye(sizes[-1])[target] if t is None or loss == "cross-entropy" else t
    linears = [m for m in model if isinstance(m, Linear)]
    params = [(f"{kind}({l})", p) for l, m in enumerate(linears, 1)
              for kind, p in (("W", m.weight), ("b", m.bias))]
    for linear, (W, b) in zip(linears, given or []):
        linear.weight.data[...], linear.bias.data[...] = W, b

    def loss_of_model(*_params) -> Tensor:
        return _loss_graph(model, x, t, target, loss)

    E = loss_of_model()
    E.backward(retain_graph=True)
    autograd = [p.grad.data.copy() for _, p in params]
    numerical = numerical_grad(loss_of_model, [p for _, p in params], eps=EPS)

    layers = backprop.layers_of(model)
    fp = backprop.forward(layers, x[None])
    if loss == "l2":
        grads = backprop.gradients(layers, fp, t[None])
    else:
        grads = backprop.backpropagate(layers, fp, ops.softmax(fp.z[-1], axis=1) - t[None])
    recursion = [g for pair in zip(grads.dW, grads.db) for g in pair]
    weights_from = None if given is None else os.fspath(weights) if isinstance(weights, (str, os.PathLike)) \
        else "the given arrays"
    return Explanation(sizes, activation, loss, seed, weights_from, x, t, target, layers, fp, grads, params,
                       recursion, autograd, numerical, E)


def _sizes_text(sizes) -> str:
    return sizes if isinstance(sizes, str) else "-".join(map(str, sizes))


def _loss_graph(model: MLP, x: np.ndarray, t: np.ndarray, target: int, loss: str) -> Tensor:
    """E for the sample, through ``model``'s modules one by one, naming x, z(l), a(l), t and E so a
    drawing of the graph uses the homework's names."""
    h, l = Tensor(x[None], name="x = a(0)"), 0
    for module in model:
        l += isinstance(module, Linear)
        h = module(h)
        h.name = f"z({l})" if isinstance(module, Linear) else f"a({l})"
    if loss == "l2":
        E = half_sum_squared_error(h, Tensor(t[None], name="t"))
    else:
        E = cross_entropy(h, [target], reduction="sum")
    E.name = "E"
    return E


def _max_abs(left: list[np.ndarray], right: list[np.ndarray]) -> float:
    return max(float(np.max(np.abs(a - b))) for a, b in zip(left, right))


def _array_lines(array: np.ndarray, width: int) -> list[str]:
    """A vector as ``[a  b  c]`` or a matrix as bracketed rows, each row wrapped to ``width``."""
    matrix = np.atleast_2d(array)
    cells = [[f"{v:.4g}" for v in row] for row in matrix]
    cell = max(len(c) for row in cells for c in row)
    per_line = max(1, (width - 4) // (cell + 2))
    outer = "[" if np.ndim(array) == 2 else ""
    lines = []
    for i, row in enumerate(cells):
        chunks = [row[k:k + per_line] for k in range(0, len(row), per_line)]
        for j, chunk in enumerate(chunks):
            opening = ((outer if i == 0 else " " * len(outer)) + "[") if j == 0 else " " * (len(outer) + 1)
            closing = ("]" + ("]" if outer and i == len(cells) - 1 else "")) if j == len(chunks) - 1 else ""
            lines.append(opening + "  ".join(c.rjust(cell) for c in chunk) + closing)
    return lines


def _aligned(items: list[tuple[str, np.ndarray]], width: int, indent: int = 2) -> list[str]:
    """``label = array`` lines for several items, their ``=`` signs in one column."""
    label_width = max(len(label) for label, _ in items)
    return [line for label, array in items
            for line in _labeled(label.ljust(label_width), array, width, indent)]


def _labeled(label: str, array: np.ndarray, width: int, indent: int = 2) -> list[str]:
    """``label = array``, the array's continuation lines aligned under its first; when the label
    leaves too little room the array starts on the next line."""
    prefix = " " * indent + f"{label} = "
    if width - len(prefix) < 30:
        lines = [prefix.rstrip()]
        prefix = " " * (indent + 4)
    else:
        lines = []
    body = _array_lines(np.asarray(array), width - len(prefix))
    return lines + [prefix + body[0]] + [" " * len(prefix) + line for line in body[1:]]
