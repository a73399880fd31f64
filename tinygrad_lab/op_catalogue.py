"""The catalogue of every op and layer with the inputs that exercise it: one source for the
Hypothesis property tests and for ``tinygrad-lab gradcheck``.

An :class:`OpCase` says how to draw input shapes and integer parameters (``build``, given
``draw_int(lo, hi)``, so the same code serves Hypothesis and a seeded numpy Generator), how to map raw
values in [−2, 2] into the op's domain, away from its kinks (``prepare``), and how to call it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from tinygrad_lab import activations, losses, nn, ops
from tinygrad_lab.tensor import Tensor
from tinygrad_lab.testing import away_from, distinct, nonzero, positive

DrawInt = Callable[[int, int], int]


def _same(*xs):
    return list(xs)


@dataclass(frozen=True)
class OpCase:
    name: str
    build: Callable[[DrawInt], tuple[list[tuple[int, ...]], dict]]
    fn: Callable[..., Tensor]
    prepare: Callable[..., list[np.ndarray]] = field(default=_same)

    def sample(self, rng: np.random.Generator) -> tuple[list[np.ndarray], dict]:
        """Inputs from a numpy Generator, for the CLI and examples."""
        shapes, params = self.build(lambda lo, hi: int(rng.integers(lo, hi + 1)))
        return self.prepare(*[rng.uniform(-2, 2, s) for s in shapes]), params


# ----- shape builders --------------------------------------------------------------------------
def _shape(draw: DrawInt, min_dims=1, max_dims=3, max_side=4) -> tuple[int, ...]:
    return tuple(draw(1, max_side) for _ in range(draw(min_dims, max_dims)))


def _squeezed(draw: DrawInt, shape) -> tuple[int, ...]:
    """A shape that broadcasts to ``shape``: some leading dims dropped, some dims set to 1."""
    lead = draw(0, len(shape))
    return tuple(1 if draw(0, 2) == 0 else n for n in shape[lead:])


def unary(min_dims=0):
    return lambda d: ([_shape(d, min_dims)], {})


def binary_broadcast(d):
    full = _shape(d, 0)
    small = _squeezed(d, full)
    return ([full, small] if d(0, 1) else [small, full]), {}


def same_shape(n):
    def build(d):
        s = _shape(d)
        return [s] * n, {}
    return build


def with_axis(d):
    shape = _shape(d, 1)
    choice = d(0, len(shape))
    axis = None if choice == len(shape) else choice - d(0, 1) * len(shape)  # also negative axes
    return [shape], {"axis": axis, "keepdims": bool(d(0, 1))}


def matmul_2d(d):
    m, k, n = d(1, 4), d(1, 4), d(1, 4)
    return [(m, k), (k, n)], {}


def matmul_batched(d):
    b, m, k, n = d(1, 3), d(1, 4), d(1, 4), d(1, 4)
    return ([(b, m, k), (k, n)] if d(0, 1) else [(b, m, k), (1, k, n)]), {}


def rows(n_inputs=1):
    def build(d):
        s = (d(2, 5), d(1, 4))
        return [s] * n_inputs, {}
    return build


def _transpose_build(d):
    shape = _shape(d, 1)
    return [shape], {"axes": tuple(np.random.default_rng(d(0, 100)).permutation(len(shape)).tolist())}


def _getitem_build(d):
    shape = _shape(d, 1)
    if d(0, 1):
        lo = d(0, shape[0] - 1)
        index = slice(lo, d(lo + 1, shape[0]))
    else:
        index = np.array([d(0, shape[0] - 1) for _ in range(d(1, 5))])  # repeats accumulate
    return [shape], {"index": index}


def _scatter_build(d):
    n = d(1, 4)
    return [(d(1, 5),)], {"n": n, "seed": d(0, 100)}


def _scatter(x, n, seed):
    index = np.random.default_rng(seed).integers(0, n, x.shape[0])
    return ops.ScatterAdd(index, (n,)).apply(x)


def _join_build(d):
    shape = _shape(d, 1)
    k = d(2, 3)
    return [shape] * k, {"axis": d(0, len(shape) - 1)}


def _concat_build(d):
    shape = list(_shape(d, 1))
    axis = d(0, len(shape) - 1)
    shapes = []
    for _ in range(d(2, 3)):
        shape[axis] = d(1, 3)
        shapes.append(tuple(shape))
    return shapes, {"axis": axis}


def _where_build(d):
    shape = _shape(d, 1)
    cond = np.array([bool(d(0, 1)) for _ in range(int(np.prod(shape)))]).reshape(shape)
    return [shape, shape], {"cond": cond}


def _sum_to_build(d):
    full = _shape(d, 1)
    return [full], {"shape": _squeezed(d, full)}


def _broadcast_build(d):
    full = _shape(d, 1)
    return [_squeezed(d, full)], {"shape": full}


def _ce_build(d):
    n, c = d(1, 5), d(2, 5)
    return [(n, c)], {"targets": np.array([d(0, c - 1) for _ in range(n)]),
                      "reduction": ("mean", "sum")[d(0, 1)]}


def _class_loss_build(d):
    shapes, params = _ce_build(d)
    params.update(reduction=("mean", "sum", "none")[d(0, 2)], label_smoothing=(0.0, 0.3)[d(0, 1)])
    return shapes, params


def _binary_build(d):
    shape = _shape(d, 1)
    targets = np.array([d(0, 10) / 10 for _ in range(int(np.prod(shape)))]).reshape(shape)
    return [shape], {"t": targets, "reduction": ("mean", "sum", "none")[d(0, 2)]}


def _affine_build(d):
    n, i, o = d(1, 5), d(1, 4), d(1, 4)
    return [(n, i), (o, i), (o,)], {}


def _affine_row_build(d):
    i, o = d(1, 4), d(1, 4)
    return [(1, i), (o, i), (o,)], {}


def _affine_away_from(kinks):
    def prepare(a, w, b):
        """One row: shift each bias so that z = a Wᵀ + b keeps 0.05 away from σ's kinks."""
        z = a @ w.T + b
        return [a, w, b + (away_from(z, list(kinks)) - z)[0]]
    return prepare


def _activation_cases(act) -> list[OpCase]:
    """The unfused node, the fused Affine node and the nn layer of one activation."""
    away = (lambda *xs: [away_from(x, list(act.kinks)) for x in xs]) if act.kinks else _same
    fused = [OpCase("affine" if act.name == "identity" else f"affine_{act.name}",
                    _affine_row_build if act.kinks else _affine_build,
                    lambda a, w, b: nn.linear.affine(a, w, b, act),
                    _affine_away_from(act.kinks) if act.kinks else _same)]
    if act.name == "identity":
        return fused
    return [OpCase(act.name, unary(), lambda x: ops.activation(x, act), away), *fused,
            OpCase(act.title, rows(), lambda x: nn.get_activation(act.name)(x), away)]


def _batchnorm_build(d):
    n, c = d(2, 6), d(1, 4)
    return [(n, c), (c,), (c,)], {}


# ----- domains -----------------------------------------------------------------------------------
def _spread_columns(x, gamma=None, beta=None):
    """Columns with a variance well above BatchNorm's eps."""
    spread = x + 0.7 * np.arange(x.shape[0])[:, None]
    return [spread] + [a for a in (gamma, beta) if a is not None]


def _separate(a, b):
    return [a, np.where(np.abs(a - b) < 0.05, b + 0.1, b)]


# ----- layers, called with their parameters as inputs ------------------------------------------
def _linear(x, w, b):
    layer = nn.Linear(w.shape[1], w.shape[0])
    layer.weight, layer.bias = w, b
    return layer(x)


def _batchnorm(x, gamma, beta, training):
    layer = nn.BatchNorm1d(x.shape[1])  # a fresh layer per call: its running stats never leak
    layer.weight, layer.bias = gamma, beta
    if not training:
        layer.running_mean = np.linspace(-0.5, 0.5, x.shape[1])
        layer.running_var = np.linspace(0.5, 2.0, x.shape[1])
        layer.eval()
    return layer(x)


def _mlp(x, activation, batchnorm, fuse=False):
    model = nn.MLP([x.shape[1], 3, 2], activation=activation, batchnorm=batchnorm, seed=7,
                   output_activation="sigmoid", fuse=fuse)
    return model(x)


CASES: list[OpCase] = [
    OpCase("add", binary_broadcast, ops.add),
    OpCase("sub", binary_broadcast, ops.sub),
    OpCase("mul", binary_broadcast, ops.mul),
    OpCase("div", binary_broadcast, ops.div, lambda a, b: [a, nonzero(b)]),
    OpCase("neg", unary(), ops.neg),
    OpCase("pow_scalar", lambda d: ([_shape(d, 0)], {"c": d(-3, 3) + 0.5}), lambda x, c: x ** c,
           lambda x: [positive(x)]),
    OpCase("pow_integer", lambda d: ([_shape(d, 0)], {"c": d(2, 3)}), lambda x, c: x ** c),
    OpCase("pow_tensor", binary_broadcast, ops.pow, lambda a, b: [positive(a), b]),
    OpCase("matmul", matmul_2d, ops.matmul),
    OpCase("matmul_batched", matmul_batched, ops.matmul),
    OpCase("exp", unary(), ops.exp),
    OpCase("log", unary(), ops.log, lambda x: [positive(x)]),
    OpCase("sqrt", unary(), ops.sqrt, lambda x: [positive(x)]),
    OpCase("abs", unary(), ops.abs, lambda x: [away_from(x, [0.0])]),
    OpCase("clip", unary(), lambda x: ops.clip(x, -0.5, 0.7), lambda x: [away_from(x, [-0.5, 0.7])]),
    OpCase("where", _where_build, lambda a, b, cond: ops.where(cond, a, b)),
    OpCase("maximum", binary_broadcast, ops.maximum, _separate),
    OpCase("softmax", with_axis, lambda x, axis, keepdims: ops.softmax(x, axis if axis is not None else -1)),
    OpCase("log_softmax", with_axis,
           lambda x, axis, keepdims: ops.log_softmax(x, axis if axis is not None else -1)),
    OpCase("sum", with_axis, ops.sum),
    OpCase("mean", with_axis, ops.mean),
    OpCase("max", with_axis, ops.max, lambda x: [distinct(x)]),
    OpCase("min", with_axis, ops.min, lambda x: [distinct(x)]),
    OpCase("var", lambda d: ([(d(2, 5), d(2, 4))], {"axis": (0, 1, None)[d(0, 2)], "ddof": d(0, 1)}),
           lambda x, axis, ddof: ops.var(x, axis, ddof=ddof)),
    OpCase("reshape", unary(1), lambda x: x.reshape(-1)),
    OpCase("transpose", _transpose_build, lambda x, axes: ops.transpose(x, *axes)),
    OpCase("T", lambda d: ([(d(1, 4), d(1, 4))], {}), lambda x: x.T),
    OpCase("swapaxes", unary(2), lambda x: ops.swapaxes(x, 0, -1)),
    OpCase("getitem", _getitem_build, ops.getitem),
    OpCase("scatter_add", _scatter_build, _scatter),
    OpCase("concatenate", _concat_build, lambda *xs, axis: ops.concatenate(xs, axis)),
    OpCase("stack", _join_build, lambda *xs, axis: ops.stack(xs, axis)),
    OpCase("broadcast_to", _broadcast_build, lambda x, shape: ops.broadcast_to(x, shape)),
    OpCase("sum_to", _sum_to_build, lambda x, shape: ops.sum_to(x, shape)),
    OpCase("half_sum_squared_error", same_shape(2), losses.half_sum_squared_error),
    OpCase("mse_loss_mean", same_shape(2), lambda y, t: losses.mse_loss(y, t, reduction="mean")),
    OpCase("cross_entropy", _ce_build, losses.cross_entropy),
    OpCase("Linear", _affine_build, _linear),
    OpCase("BatchNorm1d_train", _batchnorm_build, lambda x, g, b: _batchnorm(x, g, b, True), _spread_columns),
    # a fresh generator per call: every call draws the same mask
    OpCase("Dropout_train", rows(), lambda x: nn.functional.dropout(x, 0.3, generator=np.random.default_rng(5))),
    OpCase("BatchNorm1d_eval", _batchnorm_build, lambda x, g, b: _batchnorm(x, g, b, False)),
    OpCase("MLP_sigmoid", rows(), lambda x: _mlp(x, "sigmoid", False)),
    OpCase("MLP_tanh_batchnorm", rows(), lambda x: _mlp(x, "tanh", True), _spread_columns),
    # PyTorch's losses (all reductions), and its everyday tensor methods
    OpCase("mse_loss_none", same_shape(2), lambda y, t: losses.mse_loss(y, t, reduction="none")),
    OpCase("nll_loss", _class_loss_build, lambda x, targets, reduction, label_smoothing:
           losses.nll_loss(x, targets, reduction)),
    OpCase("cross_entropy_smoothing", _class_loss_build, losses.cross_entropy),
    OpCase("binary_cross_entropy", _binary_build, losses.binary_cross_entropy, lambda x: [0.5 + 0.2 * x]),
    OpCase("binary_cross_entropy_with_logits", same_shape(2),
           lambda x, t: losses.binary_cross_entropy_with_logits(x, t, reduction="none")),
    OpCase("clone", unary(), lambda x: x.clone()),
    OpCase("cast", unary(), lambda x: ops.Cast(x.dtype).apply(x)),  # float32 <-> float64: tests/test_tensor_methods.py
    OpCase("minimum", binary_broadcast, ops.minimum, _separate),
    OpCase("logsumexp", with_axis, lambda x, axis, keepdims: x.logsumexp(dim=axis, keepdim=keepdims)),
    OpCase("std", lambda d: ([(d(2, 5), d(2, 4))], {"axis": (0, 1, None)[d(0, 2)], "ddof": d(0, 1)}),
           lambda x, axis, ddof: x.std(dim=axis, correction=ddof), lambda x: [distinct(x)]),
    OpCase("unsqueeze", unary(), lambda x: x.unsqueeze(-1).unsqueeze(0)),
    OpCase("squeeze", lambda d: ([(1, d(1, 3), 1, d(1, 3))], {}), lambda x: x.squeeze()),
    OpCase("flatten", unary(2), lambda x: x.flatten(start_dim=1)),
    OpCase("view", unary(1), lambda x: x.view(-1, 1)),
    OpCase("MLP_sigmoid_fused", rows(), lambda x: _mlp(x, "sigmoid", False, fuse=True)),
    *(case for act in activations.REGISTRY.values() for case in _activation_cases(act)),
]


def run_case(case: OpCase, arrays: list[np.ndarray], params: dict):
    """(fn, input tensors) ready for :func:`tinygrad_lab.gradcheck.gradcheck`."""
    tensors = [Tensor(a, requires_grad=True) for a in arrays]
    return (lambda *xs: case.fn(*xs, **params)), tensors
