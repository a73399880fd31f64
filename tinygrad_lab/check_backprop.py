"""Check a hand-written backprop against the homework's recursion, and name the mistake in it.

:func:`check_backprop` calls a student's ``fn(W, b, x, t) -> (dW, db)``, written in the homework's
notation for one sample, on ``trials`` random nets and samples, and compares every array it returns
with :func:`tinygrad_lab.backprop.gradients` (the reference, itself checked against autograd and
central differences by ``tests/test_backprop.py``):

    W[i] of shape (n[i+1], n[i]),  b[i] of shape (n[i+1],),  x of shape (n[0],),  t of shape (n[-1],)
    z(l) = W(l) a(l−1) + b(l),  a(l) = σ(z(l)) on every layer, output included,  E = ½ ‖a(L) − t‖²

(column vectors (n, 1) are accepted too).  When an array differs, the wrong output nearest the output
layer is where the mistake entered (errors flow downward), and each mistake of :data:`MISTAKES`, a
:class:`~tinygrad_lab.backprop.Variant` of the same recursion, is run on the same nets: the one whose
numbers the student's all equal is the diagnosis.

**Tolerance.**  Each returned array is compared as a whole: its error is
max |yours − reference| / max |reference|, the largest difference relative to the array's largest
entry (the floor 1e-12 · the largest entry of any reference array keeps an all-zero array, such as a
layer of dead ReLUs, from dividing by zero).  A float64 implementation, however it orders its sums,
errs by a few ulps of that scale (~1e-15 on these nets); a mistake changes a term of the derivation
and errs by O(1).  :data:`RTOL` = 1e-7 sits between the two, and float32 rounding (~1e-7) sits on it.
"""
from __future__ import annotations

import os
import traceback
import warnings
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from tinygrad_lab import activations, backprop
from tinygrad_lab.gradcheck import away_from
from tinygrad_lab.nn.activation import get_activation

#: an array is right when max |yours − reference| ≤ RTOL · max |reference| (see the module docstring)
RTOL = 1e-7
#: the floor of the denominator, relative to the largest entry of any reference array of the trial
FLOOR = 1e-12
#: the smallest distance of every z(l) from a kink of σ (relu's 0), where σ' is ambiguous
KINK_MARGIN = 0.05
ONE_D, COLUMN = "1-D vectors (n,)", "column vectors (n, 1)"


@dataclass(frozen=True)
class Mistake:
    """A known mistake: the variant of the recursion that makes it, and the sentence naming it."""

    name: str
    variant: backprop.Variant
    sentence: str
    #: sizes -> None when the mistake can be made on a net of these sizes, else why not
    applies: Callable[[tuple[int, ...]], str | None] = lambda sizes: None


def _needs_hidden_layer(sizes) -> str | None:
    return None if len(sizes) > 2 else "needs a hidden layer"


def _needs_one_width(sizes) -> str | None:
    if len(sizes) <= 2:
        return "needs a hidden layer"
    return None if len(set(sizes)) == 1 else "needs every layer of one width (W(l) and W(l+1) of one shape)"


V = backprop.Variant
#: the catalogue, in the order the diagnosis tries them
MISTAKES: tuple[Mistake, ...] = (
    Mistake("σ'(a) in hidden layers", V(sigma_prime_at_a=frozenset({"hidden"})),
            "σ'(a(l)) is used where σ'(z(l)) is needed in the hidden layers: "
            "δ(l) = σ'(z(l)) ⊙ W(l+1)ᵀ δ(l+1).", _needs_hidden_layer),
    Mistake("σ'(a) at the output", V(sigma_prime_at_a=frozenset({"output"})),
            "σ'(a(L)) is used where σ'(z(L)) is needed at the output: δ(L) = (a(L) − t) ⊙ σ'(z(L))."),
    Mistake("σ'(a) everywhere", V(sigma_prime_at_a=frozenset({"output", "hidden"})),
            "σ'(a(l)) is used where σ'(z(l)) is needed, in every layer's δ(l).", _needs_hidden_layer),
    Mistake("σ'(z(L)) forgotten", V(output_sigma_prime=False),
            "σ'(z(L)) is forgotten at the output: δ(L) = a(L) − t where (a(L) − t) ⊙ σ'(z(L)) is needed."),
    Mistake("sign of δ(L)", V(output_factor=-1.0),
            "The sign of δ(L) is flipped: ∂E/∂a(L) = a(L) − t, not t − a(L)."),
    Mistake("E = Σ", V(output_factor=2.0),
            "Every gradient is twice the reference: that is E = Σ (a(L) − t)², "
            "the homework's E = ½ Σ (a(L) − t)² has no factor 2 in δ(L) = (a(L) − t) ⊙ σ'(z(L))."),
    Mistake("dW transposed", V(dW_transposed=True),
            "∂E/∂W(l) is transposed: a(l−1) δ(l)ᵀ where δ(l) a(l−1)ᵀ, of the shape of W(l), is needed."),
    Mistake("a(l) for a(l−1)", V(dW_input_from_below=False),
            "∂E/∂W(l) uses a(l), the layer's own output, where its input a(l−1) is needed: "
            "∂E/∂W(l) = δ(l) a(l−1)ᵀ."),
    Mistake("bias gradient missing", V(bias_gradient="0"),
            "The bias gradient is missing (zero): ∂E/∂b(l) = δ(l)."),
    Mistake("bias gradient 1", V(bias_gradient="1"),
            "∂E/∂b(l) is taken as ∂z(l)/∂b(l) = 1 alone: by the chain rule ∂E/∂b(l) = δ(l) · 1 = δ(l)."),
    Mistake("W(l) for W(l+1)", V(weights_from_above=False),
            "W(l) is used where W(l+1) is needed in the recursion δ(l) = σ'(z(l)) ⊙ W(l+1)ᵀ δ(l+1).",
            _needs_one_width),
    Mistake("δ(L) reused", V(recursion=False),
            "δ(L) is reused at every layer instead of the recursion δ(l) = σ'(z(l)) ⊙ W(l+1)ᵀ δ(l+1).",
            _needs_hidden_layer),
)
del V


@dataclass
class LayerRow:
    """One layer of the report: the largest error of dW(l) and db(l) over the trials, and δ(l) on the
    first sample, the student's (their db(l), which is δ(l) for one sample) and the reference's."""

    layer: int                       # l, from 1 (the homework's numbering)
    dW_error: float
    db_error: float
    yours: np.ndarray | None
    reference: np.ndarray


@dataclass
class CheckReport:
    """What :func:`check_backprop` found.  ``ok``: every returned array equals the reference over
    every trial; ``first_wrong``: the wrong output nearest the output layer (``'dW[1]'``), in the
    student's indexing; ``mistake``: the known mistake that reproduces the student's numbers, or
    None, and ``diagnosis`` its sentence; ``problems``: what kept outputs from being compared (an
    exception, a missing or misshapen array, NaN), one line each.  ``str(report)`` is the table."""

    function: str
    sizes: tuple[int, ...]
    activation: str
    trials: int
    ok: bool
    first_wrong: str | None = None
    mistake: Mistake | None = None
    convention: str = ONE_D
    errors: dict[str, float] = field(default_factory=dict)
    rows: list[LayerRow] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    not_tried: list[str] = field(default_factory=list)

    @property
    def diagnosis(self) -> str | None:
        return self.mistake.sentence if self.mistake else None

    def __str__(self) -> str:
        net = f"{'-'.join(map(str, self.sizes))} {self.activation} net"
        verdict = "RIGHT" if self.ok else "WRONG"
        lines = [f"check_backprop({self.function}): {verdict} on {self.trials} random {net}s "
                 f"and samples ({self.convention})"]
        if self.first_wrong:
            kind, l = self.first_wrong[1], int(self.first_wrong[3:-1]) + 1
            lines.append(f"  first wrong output: {self.first_wrong}, ∂E/∂{kind}({l})")
        if not self.ok:
            if self.diagnosis:
                lines.append(f"  diagnosis: {self.diagnosis}")
            elif self.rows:
                lines.append(f"  diagnosis: none of the {len(MISTAKES) - len(self.not_tried)} known mistakes "
                             "reproduces these numbers")
                lines += [f"    not tried: {reason}" for reason in self.not_tried]
        lines += [f"  {problem}" for problem in self.problems]
        if self.rows:
            lines += ["", f"  {'layer':<7}{'output':<8}{'max error':<13}δ(l) on sample 1"]
            for row in self.rows:
                i = row.layer - 1
                for k, (name, err, who, delta) in enumerate([
                        (f"dW[{i}]", row.dW_error, "yours", row.yours),
                        (f"db[{i}]", row.db_error, "reference", row.reference)]):
                    mark = "  " if err <= RTOL else " ✗"
                    shown = _vector(delta) if delta is not None else "?"
                    lines.append(f"  {str(row.layer) if k == 0 else '':<7}{name:<8}{_error_text(err) + mark:<13}"
                                 f"{who:<10}{shown}")
            lines.append(f"  max error: max |yours − reference| / max |reference| of each array over the "
                         f"{self.trials} trials; ✗ above {RTOL:g}")
            lines.append("  yours: your db(l), which is δ(l) for one sample")
        return "\n".join(lines)


class _StudentError(Exception):
    """The student's function raised, or returned something that cannot be compared."""

    def __init__(self, lines: list[str], output: str | None = None, fatal: bool = True):
        super().__init__(lines[0])
        self.lines, self.output, self.fatal = lines, output, fatal


def check_backprop(fn: Callable, sizes=(2, 3, 2), activation: str = "sigmoid", trials: int = 20,
                   seed: int = 0) -> CheckReport:
    """Check ``fn(W, b, x, t) -> (dW, db)`` (see the module docstring) on ``trials`` random nets of
    ``sizes`` (widths, input first; or ``"2-3-2"``) with σ = ``activation`` on every layer, and
    return a :class:`CheckReport`.  The student's function never raises out of here: what it raised
    or returned wrong is in the report."""
    from tinygrad_lab.explain import parse_sizes

    sizes = tuple(parse_sizes(sizes if isinstance(sizes, str) else "-".join(map(str, sizes))))
    definition = activations.get(activation)
    if isinstance(trials, bool) or not isinstance(trials, (int, np.integer)) or trials < 1:
        raise ValueError(f"trials must be a positive integer, got {trials!r}")
    if not callable(fn):
        raise TypeError(f"check_backprop needs a function fn(W, b, x, t) -> (dW, db), got {type(fn).__name__}")
    rng = np.random.default_rng(seed)
    nets = [_random_net(rng, sizes, definition) for _ in range(int(trials))]
    report = CheckReport(getattr(fn, "__name__", type(fn).__name__), sizes, definition.name, int(trials), ok=False)
    try:
        report.convention = _convention(fn, nets[0], sizes)
        yours = [_call(fn, net, sizes, report.convention, trial) for trial, net in enumerate(nets, 1)]
    except _StudentError as err:
        report.problems, report.first_wrong = err.lines, err.output
        return report
    references = [_run(net, backprop.HOMEWORK) for net in nets]
    report.errors = {name: max(_error(y[name], r[name], r) for y, r in zip(yours, references))
                     for name in _output_names(len(sizes) - 1)}
    report.problems = _shape_problems(yours[0], sizes) + _dtype_notes(yours[0])
    wrong = [name for name, err in report.errors.items() if not err <= RTOL]
    report.ok = not wrong
    report.first_wrong = wrong[0] if wrong else None
    report.rows = [LayerRow(l + 1, report.errors[f"dW[{l}]"], report.errors[f"db[{l}]"],
                            yours[0][f"db[{l}]"].reshape(-1) if yours[0][f"db[{l}]"].size == sizes[l + 1] else None,
                            references[0][f"db[{l}]"]) for l in range(len(sizes) - 2, -1, -1)]
    if wrong:
        report.not_tried = [f"{m.name} ({m.applies(sizes)})" for m in MISTAKES if m.applies(sizes)]
        report.mistake = _diagnose(yours, nets, sizes)
    return report


def assert_backprop(fn: Callable, sizes=(2, 3, 2), activation: str = "sigmoid", trials: int = 20,
                    seed: int = 0) -> CheckReport:
    """:func:`check_backprop`, raising ``AssertionError(str(report))`` unless the report is ok (for a
    test of your own: ``def test_my_backprop(): assert_backprop(my_backprop)``)."""
    report = check_backprop(fn, sizes, activation, trials, seed)
    if not report.ok:
        raise AssertionError(str(report))
    return report


# ----- the nets ------------------------------------------------------------------------------------
@dataclass
class _Net:
    layers: list[backprop.Layer]
    x: np.ndarray
    t: np.ndarray
    forward: backprop.ForwardPass


def _random_net(rng: np.random.Generator, sizes, definition: activations.Definition) -> _Net:
    """Weights W(l) ~ N(0, 1/n(l−1)), biases b(l) ~ N(0, ½), a sample x and a target t uniform in
    [−1, 1]; each b(l) is then shifted so that every z(l) keeps KINK_MARGIN from the kinks of σ."""
    layers = [backprop.Layer(rng.normal(0, 1 / np.sqrt(n_in), (n_out, n_in)), rng.normal(0, 0.5, n_out),
                             get_activation(definition.name)) for n_in, n_out in zip(sizes[:-1], sizes[1:])]
    x, t = rng.uniform(-1, 1, (1, sizes[0])), rng.uniform(-1, 1, (1, sizes[-1]))
    for l, layer in enumerate(layers if definition.kinks else []):
        z = backprop.forward(layers[:l + 1], x).z[l]
        layer.b = layer.b + (away_from(z, definition.kinks, KINK_MARGIN) - z)[0]
    return _Net(layers, x, t, backprop.forward(layers, x))


def _run(net: _Net, variant: backprop.Variant) -> dict[str, np.ndarray]:
    """The gradients of one sample by the recursion with ``variant``'s mistakes, by output name."""
    grads = backprop.gradients(net.layers, net.forward, net.t, variant)
    return {name: g for l in range(len(grads.dW) - 1, -1, -1)
            for name, g in ((f"dW[{l}]", grads.dW[l]), (f"db[{l}]", grads.db[l]))}


def _output_names(L: int) -> list[str]:
    """dW[L−1], db[L−1], …, dW[0], db[0]: from the output layer down, the order errors flow in."""
    return [name for l in range(L - 1, -1, -1) for name in (f"dW[{l}]", f"db[{l}]")]


# ----- calling the student's function ----------------------------------------------------------------
def _arguments(net: _Net, convention: str):
    """Fresh copies of W, b, x, t in the student's convention (the function may write into them)."""
    column = (lambda v: v.reshape(-1, 1)) if convention == COLUMN else (lambda v: v.reshape(-1))
    return ([layer.W.copy() for layer in net.layers], [column(layer.b.copy()) for layer in net.layers],
            column(net.x.copy()), column(net.t.copy()))


def _convention(fn: Callable, net: _Net, sizes) -> str:
    """1-D vectors, unless the function fails with them (raises, or returns arrays of wrong shapes)
    and works with column vectors, or fails with 1-D vectors in a way that compares nothing (it
    raises, returns no pair of lists) and with column vectors only by shapes."""
    try:
        _shape_ok(_call(fn, net, sizes, ONE_D, 1), sizes)
        return ONE_D
    except _StudentError as one_d:
        try:
            _shape_ok(_call(fn, net, sizes, COLUMN, 1), sizes)
            return COLUMN
        except _StudentError as column:
            if not one_d.fatal:
                return ONE_D
            if not column.fatal:
                return COLUMN
            raised = column.lines[0].endswith(":")      # the exception's line follows the student's line
            one_d.lines.append(f"  with {COLUMN} it fails too: {column.lines[2 if raised else 0].strip()}")
            raise one_d from None


def _call(fn: Callable, net: _Net, sizes, convention: str, trial: int) -> dict[str, np.ndarray]:
    """The student's outputs by name, as numeric arrays of their own dtype; :class:`_StudentError`
    when it raised or returned something that is not two lists of one array per layer."""
    W, b, x, t = _arguments(net, convention)
    where = f"on trial {trial}, called with {convention}"
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            result = fn(W, b, x, t)
    except Exception as err:                  # the student's error, reported in their own words
        raise _StudentError([f"{_name(fn)}(W, b, x, t) raised {where}:", *_student_lines(err, fn),
                             _signature(net, convention)]) from None
    L = len(sizes) - 1
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        got = f"{len(result)} values" if isinstance(result, (tuple, list)) else _a(result)
        raise _StudentError([f"{_name(fn)}(W, b, x, t) returned {got} {where}; expected 2: (dW, db), "
                             "two lists of one array per layer"])
    outputs = {}
    for kind, arrays in zip(("dW", "db"), result):
        if not isinstance(arrays, (tuple, list)) or len(arrays) != L:
            got = f"a list of {len(arrays)}" if isinstance(arrays, (tuple, list)) else _a(arrays)
            raise _StudentError([f"{kind} is {got} {where}; expected a list of {L} arrays, one per layer "
                                 f"({', '.join(f'{kind}[{l}] of shape {_expected(kind, l, sizes)}' for l in range(L))})"])
        for l, array in enumerate(arrays):
            name = f"{kind}[{l}]"
            outputs[name] = _numeric(array)
            if outputs[name] is None:
                raise _StudentError([f"{name} is {_a(array)} {where}, not an array of shape "
                                     f"{_expected(kind, l, sizes)}"], name)
    return outputs


def _numeric(value) -> np.ndarray | None:
    """``value`` as an array of numbers (ints, floats, a nested list of them), else None."""
    if value is None or isinstance(value, (str, bytes)):
        return None
    try:
        array = np.asarray(value)
    except (TypeError, ValueError):          # ragged nesting
        return None
    return array if array.dtype.kind in "biuf" else None


def _shape_ok(outputs: dict, sizes) -> None:
    problems = _shape_problems(outputs, sizes)
    if problems:
        raise _StudentError(problems, fatal=False)


def _expected(kind: str, l: int, sizes) -> tuple[int, ...]:
    return (sizes[l + 1], sizes[l]) if kind == "dW" else (sizes[l + 1],)


def _shape_problems(outputs: dict, sizes) -> list[str]:
    """One line per output of a wrong shape or with NaN or infinite entries."""
    problems = []
    for name in _output_names(len(sizes) - 1):
        kind, l = name[:2], int(name[3:-1])
        shape, expected = outputs[name].shape, _expected(kind, l, sizes)
        if kind == "db" and shape in (expected, expected + (1,)):
            pass
        elif shape != expected:
            hint = ": is it transposed?" if shape == expected[::-1] else ""
            also = f" (or {expected + (1,)})" if kind == "db" else ""
            problems.append(f"{name} has shape {shape}, expected {expected}{also}{hint}")
        if not np.all(np.isfinite(outputs[name])):
            problems.append(f"{name} contains {'NaN' if np.isnan(outputs[name]).any() else 'inf'}")
    return problems


def _dtype_notes(outputs: dict[str, np.ndarray]) -> list[str]:
    """A line per output of another float dtype than float64, whose rounding the tolerance does not
    allow for (float32's, ~6e-8, is at it): such a check passes or fails by chance."""
    return [f"{name} is {array.dtype}: compute in float64 (float32 rounding, ~1e-7, is at the tolerance)"
            for name, array in outputs.items() if array.dtype.kind == "f" and array.dtype != np.float64]


def _a(value) -> str:
    """What a value is, for a message: "an array of shape (3, 2)", "a str", "None"."""
    if value is None:
        return "None"
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape}"
    name = type(value).__name__
    return f"{'an' if name[0] in 'aeiou' else 'a'} {name}"


def _name(fn: Callable) -> str:
    return getattr(fn, "__name__", type(fn).__name__)


def _student_lines(err: Exception, fn: Callable) -> list[str]:
    """The student's own line that raised (the last frame of their file) and the exception."""
    frames = traceback.extract_tb(err.__traceback__)[1:]          # [0] is the call in _call
    code = getattr(fn, "__code__", getattr(getattr(fn, "__call__", None), "__code__", None))
    theirs = [f for f in frames if code is not None and f.filename == code.co_filename] or frames[-1:]
    lines = []
    if theirs:
        frame = theirs[-1]
        lines.append(f"  {os.path.basename(frame.filename)}, line {frame.lineno}, in {frame.name}: "
                     f"{(frame.line or '').strip()}")
    message = str(err).splitlines()[0] if str(err) else ""
    return lines + [f"  {type(err).__name__}: {message}".rstrip(": ")]


def _signature(net: _Net, convention: str) -> str:
    W, b, x, t = _arguments(net, convention)
    shapes = ([f"W[{l}] {w.shape}" for l, w in enumerate(W)] + [f"b[{l}] {v.shape}" for l, v in enumerate(b)]
              + [f"x {x.shape}", f"t {t.shape}"])
    return f"  arguments: {', '.join(shapes)}"


# ----- comparing ---------------------------------------------------------------------------------------
def _error(yours: np.ndarray, reference: np.ndarray, all_reference: dict[str, np.ndarray]) -> float:
    """max |yours − reference| / max |reference| (floored, see the module docstring); inf when the
    shapes differ (a db of shape (n, 1) counts as (n,)) or an entry is not finite."""
    if yours.shape != reference.shape and yours.shape != reference.shape + (1,) * (reference.ndim == 1):
        return float("inf")
    yours = yours.reshape(reference.shape).astype(np.float64)
    if not np.all(np.isfinite(yours)):
        return float("nan")
    largest = max(float(np.max(np.abs(r), initial=0.0)) for r in all_reference.values())
    scale = max(float(np.max(np.abs(reference), initial=0.0)), FLOOR * largest, np.finfo(np.float64).tiny)
    return float(np.max(np.abs(yours - reference), initial=0.0)) / scale


def _diagnose(yours: list[dict], nets: list[_Net], sizes) -> Mistake | None:
    """The first mistake whose numbers equal all of the student's, on every trial."""
    for mistake in MISTAKES:
        if mistake.applies(sizes):
            continue
        for y, net in zip(yours, nets):
            theirs = _run(net, mistake.variant)
            if any(not _error(y[name], theirs[name], theirs) <= RTOL for name in theirs):
                break
        else:
            return mistake
    return None


def _error_text(err: float) -> str:
    return "shape" if err == float("inf") else "NaN/inf" if np.isnan(err) else f"{err:.1e}"


def _vector(v: np.ndarray, most: int = 6) -> str:
    """[ 0.1234  -0.5678 …], 4 significant digits (a space for the sign), at most ``most`` entries."""
    shown = "  ".join(f"{x: .4g}" for x in v[:most])
    return f"[{shown}{'  …' if v.size > most else ''}]"
