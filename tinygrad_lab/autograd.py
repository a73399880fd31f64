"""The backward pass: the chain rule applied node by node, outputs first.

For the output E of a graph and any tensor v in it, ∂E/∂v = Σ over v's consumers f of
backward_f(∂E/∂f's output)[v's slot].  Visiting tensors in reverse topological order guarantees that
every consumer of v has handed over its contribution before v passes its own gradient on.  The
topological order is built iteratively (no recursion limit: a chain of 100,000 ops is fine).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from tinygrad_lab.anomaly import check_backward
from tinygrad_lab.mode import is_anomaly_enabled, set_grad_enabled
from tinygrad_lab.tensor import Tensor, as_float_array


def topological_order(roots: Sequence[Tensor]) -> list[Tensor]:
    """Every tensor the roots depend on through recorded nodes, each after all of its inputs."""
    order: list[Tensor] = []
    seen: set[int] = set()
    stack: list[tuple[Tensor, bool]] = [(t, False) for t in reversed(roots)]
    while stack:
        tensor, inputs_done = stack.pop()
        if inputs_done:
            order.append(tensor)
            continue
        if id(tensor) in seen:
            continue
        seen.add(id(tensor))
        stack.append((tensor, True))
        node = tensor.creator
        if node is not None:
            if node.freed:
                raise RuntimeError(
                    f"Trying to backward through the graph a second time: the graph of {node.name} "
                    f"(output shape {tensor.shape}) was freed by an earlier backward(); call "
                    "backward(retain_graph=True) the first time if you need to run it twice"
                )
            stack.extend((x, False) for x in node.inputs if x.requires_grad and id(x) not in seen)
    return order


def _seed(output: Tensor, grad) -> np.ndarray | Tensor:
    if not output.requires_grad:
        raise RuntimeError(
            f"backward() on a tensor of shape {output.shape} that does not require grad: no input "
            "of the computation had requires_grad=True (or it ran under no_grad())"
        )
    if grad is None:
        if output.size != 1:
            raise RuntimeError(
                f"backward() on a tensor of shape {output.shape} needs grad=∂E/∂y of that shape; "
                "the implicit gradient 1 exists only for a tensor with one element"
            )
        return np.ones(output.shape, dtype=output.dtype)
    if isinstance(grad, Tensor):
        if grad.shape != output.shape:
            raise ValueError(f"grad has shape {grad.shape} but the output has shape {output.shape}")
        if grad.dtype == output.dtype:
            return grad
        if grad.requires_grad:
            raise TypeError(f"grad is a {grad.dtype} tensor that requires grad but the output is {output.dtype}; "
                            "a gradient always has its tensor's dtype")
        grad = grad.data  # cast below, as PyTorch casts a seed to the output's dtype
    grad = as_float_array(grad, output.dtype)
    if grad.shape != output.shape:
        raise ValueError(f"grad has shape {grad.shape} but the output has shape {output.shape}")
    return grad


def _run(outputs, grads, retain_graph, create_graph, capture: dict[int, Tensor] | None):
    """The engine shared by ``Tensor.backward`` and :func:`grad`.

    With ``capture`` (id -> tensor), the gradients of those tensors are returned instead of being
    accumulated into leaves' ``.grad``.
    """
    pending: dict[int, np.ndarray | Tensor] = {}
    for output, g in zip(outputs, grads):
        g = _seed(output, g)
        if create_graph and not isinstance(g, Tensor):
            g = Tensor.wrap(g)
        if not create_graph and isinstance(g, Tensor):
            g = g.data
        pending[id(output)] = pending[id(output)] + g if id(output) in pending else g
    handed = {id(g) for g in pending.values()}  # the caller's seed arrays never become a .grad
    order = topological_order(outputs)
    captured: dict[int, np.ndarray | Tensor] = {}
    mode = set_grad_enabled(create_graph)  # backward records a graph only when asked (create_graph)
    try:
        for tensor in reversed(order):
            g = pending.pop(id(tensor), None)
            if g is None:
                continue
            node = tensor.creator
            if capture is not None and id(tensor) in capture:
                captured[id(tensor)] = g
            elif node is None and capture is None:
                _accumulate_into_leaf(tensor, g, create_graph, handed)
            if node is None:
                continue
            if node.versions:
                node.check_versions(tensor)
            xs = node.inputs if create_graph else [x._data for x in node.inputs]
            y = tensor if create_graph else tensor._data
            gxs = node.backward(g, *xs, y=y)
            if not isinstance(gxs, tuple):
                gxs = (gxs,)
            if is_anomaly_enabled():
                check_backward(node, gxs, tensor.shape)
            for x, gx, needed in zip(node.inputs, gxs, node.needs_grad):
                if not needed or gx is None:
                    continue
                if gx.shape != x.shape:
                    raise AssertionError(f"{node.name}.backward gave a gradient of shape {gx.shape} "
                                         f"for an input of shape {x.shape}")
                if gx.dtype != x._data.dtype:
                    raise AssertionError(f"{node.name}.backward gave a {gx.dtype} gradient for a "
                                         f"{x.dtype} input of shape {x.shape}")
                pending[id(x)] = pending[id(x)] + gx if id(x) in pending else gx
    finally:
        mode.__exit__()
    if not retain_graph:
        for tensor in order:
            node = tensor.creator
            if node is not None:
                node.inputs, node.freed = None, True
    return captured


def _accumulate_into_leaf(leaf: Tensor, g, create_graph: bool, handed: set[int]) -> None:
    """leaf.grad ← g, or leaf.grad += g.  A fresh array that no other leaf holds becomes the grad
    as it is; a view, or an array already handed to a leaf (Add gives one gy to both inputs), is
    copied first, so that no two gradients share memory (``clip_grad_norm_`` scales them in place)
    and later backward passes can accumulate into it in place."""
    if create_graph:
        if id(g) in handed:  # one graph tensor handed to two leaves: each gets its own
            g = g * 1.0
        handed.add(id(g))
        leaf.grad = g if leaf.grad is None else leaf.grad + g
    elif leaf.grad is None:
        if g.base is not None or id(g) in handed or not g.flags.writeable:
            g = np.array(g, copy=True)
        handed.add(id(g))
        leaf.grad = Tensor.wrap(g)
    elif leaf.grad.creator is None and not leaf.grad.requires_grad and leaf.grad.data.base is None:
        np.add(leaf.grad.data, g, out=leaf.grad.data)  # in place, as PyTorch: the array is this leaf's own
    else:
        # out of place: a .grad left by backward(create_graph=True) is a graph tensor that the user
        # may hold, other leaves may share, or whose data may be a read-only broadcast view
        leaf.grad = Tensor.wrap(leaf.grad.data + g)


def backward(outputs: Sequence[Tensor], grads=None, retain_graph: bool = False,
             create_graph: bool = False) -> None:
    """Accumulate the gradients of ``outputs`` (weighted by ``grads``) into every leaf's ``.grad``."""
    grads = [None] * len(outputs) if grads is None else list(grads)
    _run(list(outputs), grads, retain_graph or create_graph, create_graph, capture=None)


def grad(outputs, inputs, grad_outputs=None, create_graph: bool = False, retain_graph: bool | None = None,
         allow_unused: bool = False) -> tuple[Tensor | None, ...]:
    """∂(Σ outputs·grad_outputs)/∂input for each of ``inputs``, returned, not stored in ``.grad``.

    With ``create_graph=True`` the results are graph tensors that can be differentiated again
    (Hessian-vector products, gradient penalties).  ``retain_graph`` defaults to ``create_graph``.
    """
    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    if grad_outputs is None or isinstance(grad_outputs, (Tensor, np.ndarray)):
        grad_outputs = [grad_outputs] * len(outputs) if grad_outputs is None else [grad_outputs]
    retain_graph = create_graph if retain_graph is None else retain_graph
    captured = _run(outputs, list(grad_outputs), retain_graph, create_graph,
                    capture={id(x): x for x in inputs})
    result = []
    for i, x in enumerate(inputs):
        g = captured.get(id(x))
        if g is None and not allow_unused:
            raise RuntimeError(f"input {i} (shape {x.shape}) was not used to compute the outputs; "
                               "pass allow_unused=True to get None for it")
        result.append(g if g is None or isinstance(g, Tensor) else Tensor.wrap(g))
    return tuple(result)
