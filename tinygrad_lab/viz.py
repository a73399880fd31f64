"""Draw the graph that produced a tensor, as Graphviz DOT text or an .svg/.png rendered by ``dot``.

The drawing is the record autograd differentiates: one box per op application (a Function node:
Affine, Sigmoid, Sum, …) and one ellipse per tensor (its name when known, shape and dtype), with
edges input tensor → op → output tensor.  For an MLP it reads like the homework's forward pass,
z(l) = W(l) a(l−1) + b(l) (an Affine node) then a(l) = σ(z(l)); ``backward()`` runs against the
arrows, handing δ(l) = ∂E/∂z(l) from each node to its inputs.

Parameters are filled blue, tensors that need no gradient (inputs x, targets t, Python constants)
are dashed, and the tensor drawn is filled red.  Tensors of at most ``TINY_SIZE`` elements show
their values (``show_values``) and accumulated ``.grad`` (``show_grads``, after
``backward(retain_graph=True)``).

``backward()`` frees the graph unless ``retain_graph=True``: draw before backward, or retain it.
No Python dependency: rendering calls the ``dot`` program of Graphviz when it is installed.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from tinygrad_lab.autograd import topological_order
from tinygrad_lab.tensor import Tensor

#: tensors with at most this many elements show their values and gradients when asked
TINY_SIZE = 6
#: file suffixes ``draw`` renders with ``dot -T<suffix>``
RENDER_FORMATS = ("svg", "png", "pdf")
INSTALL_HINT = ("install Graphviz to render it (Debian/Ubuntu: sudo apt-get install graphviz; "
                "macOS: brew install graphviz)")

_PARAMETER_STYLE = 'style=filled, fillcolor="#cfe2f3"'
_CONSTANT_STYLE = "style=dashed"
_ROOT_STYLE = 'style=filled, fillcolor="#f4cccc"'
_OP_STYLE = 'shape=box, style="rounded,filled", fillcolor="#eeeeee"'


class GraphFreedError(RuntimeError):
    """The graph to draw was freed by ``backward()`` (called without ``retain_graph=True``)."""


def quote(text: str) -> str:
    """``text`` as a DOT quoted string whose label renders exactly ``text`` (newlines as line breaks)."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def to_dot(tensor: Tensor, show_values: bool = False, show_grads: bool = False,
           names: Mapping[str, Tensor] | None = None, model=None) -> str:
    """The graph that produced ``tensor`` as DOT text (``digraph``), one node per op and per tensor.

    A tensor's name is, in this order: its key in ``names`` (e.g. ``{"W(1)": layer.weight}``),
    its ``Tensor.name``, its dotted name in ``model.named_parameters()`` (e.g. ``"0.weight"``).
    Raises :class:`GraphFreedError` if backward() already freed the graph.
    """
    if not isinstance(tensor, Tensor):
        raise TypeError(f"to_dot draws the graph of a Tensor, got a {type(tensor).__name__}")
    try:
        order = topological_order([tensor])
    except RuntimeError as err:  # the only error topological_order raises: a freed node
        raise GraphFreedError(
            f"cannot draw the graph of a tensor of shape {tensor.shape}: backward() freed it. Draw "
            "before calling backward(), or call backward(retain_graph=True) (which show_grads=True "
            "needs anyway)") from err
    labels = _known_names(names, model)
    node_ids: dict[int, str] = {}
    lines = ["digraph graph_of_tensor {", '  node [fontname="Helvetica", fontsize=10];',
             '  edge [fontname="Helvetica", fontsize=9];']

    def tensor_node(t: Tensor) -> str:
        if id(t) not in node_ids:
            node_ids[id(t)] = f"t{len(node_ids)}"
            label = _tensor_label(t, labels.get(id(t), t.name), show_values, show_grads)
            lines.append(f"  {node_ids[id(t)]} [label={quote(label)}{_tensor_style(t, tensor)}];")
        return node_ids[id(t)]

    op_count = 0
    for t in order:
        node = t.creator
        if node is None:
            tensor_node(t)
            continue
        inputs = [tensor_node(x) for x in node.inputs]
        op = f"f{op_count}"
        op_count += 1
        lines.append(f"  {op} [label={quote(node.name)}, {_OP_STYLE}];")
        for slot, x in enumerate(inputs):
            slot_label = f" [label={quote(str(slot))}]" if len(inputs) > 1 else ""
            lines.append(f"  {x} -> {op}{slot_label};")
        lines.append(f"  {op} -> {tensor_node(t)};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _tensor_style(t: Tensor, root: Tensor) -> str:
    if t is root:
        return ", " + _ROOT_STYLE
    if not t.requires_grad:
        return ", " + _CONSTANT_STYLE
    return ", " + _PARAMETER_STYLE if t.is_leaf else ""


def _known_names(names: Mapping[str, Tensor] | None, model) -> dict[int, str]:
    """id(tensor) -> name, from ``names`` first, then from ``model.named_parameters()``."""
    known: dict[int, str] = {}
    if model is not None:
        known.update((id(p), name) for name, p in model.named_parameters())
    for name, t in (names or {}).items():
        if not isinstance(t, Tensor):
            raise TypeError(f"names[{name!r}] is a {type(t).__name__}, not a Tensor")
        known[id(t)] = str(name)
    return known


def _tensor_label(t: Tensor, name: str | None, show_values: bool, show_grads: bool) -> str:
    lines = ([name] if name else []) + [f"{t.shape} {t.dtype}"]
    if t.size <= TINY_SIZE:
        if show_values:
            lines.append("data " + _compact(t.data))
        if show_grads and t.grad is not None:
            lines.append("grad " + _compact(t.grad.data))
    return "\n".join(lines)


def _compact(array: np.ndarray) -> str:
    return np.array2string(np.asarray(array), precision=4, separator=", ", suppress_small=True)


def file_format(path) -> str:
    """The format ``draw`` writes for ``path``, from its suffix: svg, png, pdf, dot or gv."""
    fmt = Path(path).suffix.lstrip(".").lower()
    if fmt not in RENDER_FORMATS + ("dot", "gv"):
        raise ValueError(f"cannot draw to {Path(path).name!r}; use a .svg, .png, .pdf or .dot file name")
    return fmt


def draw(tensor: Tensor, path, **kwargs) -> Path:
    """Write the graph of ``tensor`` next to ``path`` as .dot, and render ``path`` (.svg/.png/.pdf)
    with Graphviz's ``dot`` when it is installed; ``kwargs`` go to :func:`to_dot`.

    Returns the file written last: ``path`` when rendered, else the .dot file (with a message on
    stderr saying how to install Graphviz).  A ``.dot``/``.gv`` ``path`` is written, not rendered.
    """
    path = Path(path)
    fmt = file_format(path)
    text = to_dot(tensor, **kwargs)
    dot_path = path if fmt in ("dot", "gv") else path.with_suffix(".dot")
    dot_path.write_text(text, encoding="utf-8")
    if dot_path == path:
        return dot_path
    program = shutil.which("dot")
    if program is None:
        print(f"draw: the Graphviz program `dot` was not found, so {path} was not rendered; wrote "
              f"{dot_path}. To render it, {INSTALL_HINT}, then run: dot -T{fmt} {dot_path} -o {path}",
              file=sys.stderr)
        return dot_path
    result = subprocess.run([program, f"-T{fmt}", str(dot_path), "-o", str(path)],
                            check=False, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"draw: `dot -T{fmt}` failed on {dot_path}: {result.stderr.strip()}")
    return path


class Graph:
    """A graph drawing that Jupyter shows inline: as SVG rendered by Graphviz's ``dot`` when it is
    installed, else as its DOT text.  ``graph.source`` (and ``str(graph)``) is the DOT text."""

    def __init__(self, source: str):
        self.source = source
        self._svg: str | None = None

    def __str__(self) -> str:
        return self.source

    def svg(self) -> str | None:
        """The drawing as SVG text, or None without Graphviz."""
        program = shutil.which("dot")
        if program is None:
            return None
        if self._svg is None:
            result = subprocess.run([program, "-Tsvg"], input=self.source, check=False, capture_output=True,
                                    text=True)
            if result.returncode != 0:
                raise RuntimeError(f"Graph.svg: `dot -Tsvg` failed: {result.stderr.strip()}")
            self._svg = result.stdout
        return self._svg

    def _repr_svg_(self) -> str | None:
        return self.svg()

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict[str, str]:
        svg = self.svg()
        return {"text/plain": self.source} if svg is None else {"image/svg+xml": svg, "text/plain": self.source}


def graph(tensor: Tensor, **kwargs) -> Graph:
    """The graph of ``tensor`` as a :class:`Graph` (``kwargs`` go to :func:`to_dot`): the last
    expression of a notebook cell, it is drawn inline."""
    return Graph(to_dot(tensor, **kwargs))
