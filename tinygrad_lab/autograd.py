"""The backward pass: the chain rule applied node by node, outputs first.

For the output E of a graph and any tensor v in it, ∂E/∂v = Σ over v's consumers f of
backward_f(∂E/∂f's output)[v's slot].  Visiting tensors in reverse topological order guarantees that
every consumer of v has handed over its contribution before v passes its own gradient on.  The
engine gets that order for free, as PyTorch does with its sequence numbers: every tensor is numbered
when it is made (``Tensor._seq``), an op's output is always made after its inputs, so visiting the
tensors in decreasing number is a reverse topological order; a heap of the tensors waiting with a
gradient replaces a sort of the whole graph (and, being a loop, has no recursion limit: a chain of
100,000 ops is fine).  :func:`topological_order` sorts a graph explicitly, for those who walk one
without running it (the graph drawing, the step capture).
"""
from __future__ import annotations

from heapq import heapify, heappop, heappush
from typing import Sequence

import numpy as np

from tinygrad_lab.anomaly import check_backward
from tinygrad_lab.mode import MODES
from tinygrad_lab.tensor import Tensor, as_float_array


def topological_order(roots: Sequence[Tensor]) -> list[Tensor]:
    """Every tensor the roots depend on through recorded nodes, each after all of its inputs.

    A depth-first search: a computed tensor is pushed once to visit its inputs and once more to be
    placed after them; a leaf has no inputs to wait for, so it is placed as soon as it is seen."""
    order: list[Tensor] = []
    seen: set[Tensor] = set()  # tensors hash by identity
    stack: list[tuple[Tensor, bool]] = [(t, False) for t in reversed(roots)]
    while stack:
        tensor, inputs_done = stack.pop()
        if inputs_done:
            order.append(tensor)
            continue
        if tensor in seen:
            continue
        seen.add(tensor)
        node = tensor.creator
        if node is None:
            order.append(tensor)
            continue
        if node.freed:
            _refuse_freed(node, tensor)
        stack.append((tensor, True))
        for x in node.inputs:
            if x.requires_grad and x not in seen:
                stack.append((x, False))
    return order


def _seed(output: Tensor, grad) -> np.ndarray | Tensor:
    if not output.requires_grad:
        raise RuntimeError(
            f"backward() on a tensor of shape {output.shape} that does not require grad: no input "
            "of the computation had requires_grad=True (or it ran under no_grad())"
        )
    if grad is None:
        if output._data.size != 1:
            raise RuntimeError(
                f"backward() on a tensor of shape {output.shape} needs grad=∂E/∂y of that shape; "
                "the implicit gradient 1 exists only for a tensor with one element"
            )
        return np.array(1.0, output._data.dtype).reshape(output._data.shape)  # 1, of the output's dtype and shape
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

    Computed tensors are visited in decreasing creation number ``_seq``, as PyTorch orders its nodes
    by sequence_nr: an op's output is made after its inputs, so every consumer of a tensor is visited
    before the tensor passes its gradient on (a reverse topological order, found without sorting the
    graph: a heap holds the computed tensors that have a gradient so far).  A leaf's gradients are
    summed as they arrive and reach its ``.grad`` only after every node has run, so a pass that fails
    midway (a freed graph, an input changed in place, a bad backward) leaves every ``.grad`` as it was.

    With ``capture`` (id -> tensor), the gradients of those tensors are returned instead of being
    accumulated into leaves' ``.grad``.
    """
    pending: dict[Tensor, np.ndarray | Tensor] = {}  # each tensor's gradient so far
    handed: set[int] = set()  # ids of the caller's seeds and of the arrays given to a .grad: copied if met again
    for output, grad in zip(outputs, grads):
        g = _seed(output, grad)
        if isinstance(g, Tensor) != create_graph:  # a graph Tensor under create_graph, else an array
            g = Tensor.wrap(g) if create_graph else g.data
        if grad is not None:  # the caller's (the implicit 1 is ours: once freed, its id may come back
            handed.add(id(g))  # as a fresh gradient's, which would then be copied for nothing)
        pending[output] = pending[output] + g if output in pending else g
    # (-_seq, id, tensor) of the computed tensors pending: the id breaks the tie between a tensor and
    # its copy.deepcopy (the same _seq) without comparing tensors
    heap = [(-t._seq, id(t), t) for t in pending if t.creator is not None]
    heapify(heap)
    captured: dict[int, np.ndarray | Tensor] = {}
    anomaly = MODES.anomaly_enabled
    previous, MODES.grad_enabled = MODES.grad_enabled, create_graph  # backward records a graph only
    try:                                                                # when asked (create_graph)
        while heap:
            tensor = heappop(heap)[2]
            g = pending.pop(tensor)
            if capture is not None and id(tensor) in capture:
                captured[id(tensor)] = g
            node = tensor.creator
            if node.freed:
                _refuse_freed(node, tensor)
            if node.versions:
                node.check_versions(tensor)
            if create_graph:  # backward on Tensors: its ops record the graph of the gradient
                gxs = node.backward(g, *node.inputs, y=tensor)
            else:  # the common case, on the arrays the forward pass used
                gxs = node.backward(g, *node.arrays, y=tensor._data)
            if not isinstance(gxs, tuple):
                gxs = (gxs,)
            if anomaly:
                check_backward(node, gxs, tensor.shape)
            for x, gx, needed in zip(node.inputs, gxs, node.needs_grad):
                if not needed or gx is None:
                    continue
                if gx.shape != x._data.shape or gx.dtype != x._data.dtype:
                    _refuse_gradient(node, x, gx)
                summed = pending.get(x)
                if summed is not None:
                    pending[x] = summed + gx
                else:  # x's first gradient: a computed tensor joins the heap
                    pending[x] = gx
                    if x.creator is not None:
                        heappush(heap, (-x._seq, id(x), x))
            if not retain_graph:  # the node has handed its gradients on: free what it saved
                node.inputs = node.arrays = None
                node.freed = True
        # every node has run: what is left pending are the leaves' gradients (a leaf that stopped
        # requiring grad after the forward pass gets none, as in PyTorch)
        for leaf, g in pending.items():
            if not leaf.requires_grad:
                continue
            if capture is None:
                _accumulate_into_leaf(leaf, g, create_graph, handed)
            elif id(leaf) in capture:
                captured[id(leaf)] = g
    finally:
        MODES.grad_enabled = previous
    return captured


def _refuse_freed(node, tensor: Tensor) -> None:
    """Raise: the graph through ``node`` (which made ``tensor``) was freed by an earlier backward."""
    raise RuntimeError(
        f"Trying to backward through the graph a second time: the graph of {node.name} "
        f"(output shape {tensor.shape}) was freed by an earlier backward(); call "
        "backward(retain_graph=True) the first time if you need to run it twice"
    )


def _refuse_gradient(node, x: Tensor, gx) -> None:
    """Raise: ``node.backward`` gave input ``x`` a gradient of the wrong shape or dtype."""
    if gx.shape != x.shape:
        raise AssertionError(f"{node.name}.backward gave a gradient of shape {gx.shape} "
                             f"for an input of shape {x.shape}")
    raise AssertionError(f"{node.name}.backward gave a {gx.dtype} gradient for a "
                         f"{x.dtype} input of shape {x.shape}")


def _accumulate_into_leaf(leaf: Tensor, g, create_graph: bool, handed: set[int]) -> None:
    """leaf.grad ← g, or leaf.grad += g.  A fresh array that no other leaf holds becomes the grad
    as it is; a view, or an array already handed to a leaf (Add gives one gy to both inputs), is
    copied first, so that no two gradients share memory (``clip_grad_norm_`` scales them in place)
    and later backward passes can accumulate into it in place."""
    if create_graph:
        if id(g) in handed or not g._data.flags.writeable:  # one graph tensor handed to two leaves,
            g = g * 1.0  # or a read-only broadcast view: each leaf gets its own, writable array
        handed.add(id(g))
        leaf.grad = g if leaf.grad is None else leaf.grad + g
    elif leaf.grad is None:
        if g.base is not None or id(g) in handed or not g.flags.writeable:
            g = np.array(g, copy=True)
        handed.add(id(g))
        leaf.grad = Tensor.wrap(g)
    else:
        own = leaf.grad._data
        if leaf.grad.creator is None and not leaf.grad.requires_grad and own.base is None:
            np.add(own, g, own)  # own += g in place, as PyTorch: the array is this leaf's own
            # (out= as a positional argument: the keyword costs as much as a small sum)
        else:
            # out of place: a .grad left by backward(create_graph=True) is a graph tensor that the
            # user may hold, other leaves may share, or whose data may be a read-only broadcast view
            leaf.grad = Tensor.wrap(own + g)


def backward(outputs: Sequence[Tensor], grads=None, retain_graph: bool = False,
             create_graph: bool = False) -> None:
    """Accumulate the gradients of ``outputs`` (weighted by ``grads``) into every leaf's ``.grad``."""
    outputs = list(outputs)
    grads = [None] * len(outputs) if grads is None else list(grads)
    _backward(outputs, grads, retain_graph, create_graph)


def _backward(outputs: list[Tensor], grads: list, retain_graph: bool, create_graph: bool) -> None:
    recorder = MODES.recorder
    if recorder is not None:
        recorder.backward(outputs, grads, retain_graph, create_graph)
    _run(outputs, grads, retain_graph or create_graph, create_graph, None)


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
    for i, x in enumerate(inputs):  # as PyTorch, even with allow_unused: no gradient is tracked for x
        if not x.requires_grad:
            raise RuntimeError(f"input {i} (shape {x.shape}) does not require grad; create it with "
                               "requires_grad=True or call x.requires_grad_() before computing the outputs")
    recorder = MODES.recorder
    if recorder is not None:
        recorder.unsupported("the step calls autograd.grad()")
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


def zero_grad(params: Sequence[Tensor], set_to_none: bool = True) -> None:
    """Reset the gradients ``backward()`` accumulates into: ``p.grad = None`` (the default, as
    PyTorch) or, with ``set_to_none=False``, zeros written into it.  ``Optimizer.zero_grad`` and
    ``Module.zero_grad`` both come here."""
    recorder = MODES.recorder
    if recorder is not None:
        recorder.zero_grad(params, set_to_none)
    for p in params:
        if p.grad is None:
            continue
        if set_to_none:
            p.grad = None
        elif hasattr(p.grad, "copy_"):  # a Tensor: detached first (a grad from
            p.grad = p.grad.detach()       # create_graph=True leaves its graph), then zeroed
            p.grad.copy_(0.0)
        else:
            p.grad.data[...] = 0


def tensor_backward(self: Tensor, grad=None, retain_graph: bool = False, create_graph: bool = False) -> None:
    """Accumulate ∂self/∂leaf into ``leaf.grad`` for every leaf that requires grad.

    ``grad`` is ∂E/∂self, the upstream gradient; it may be omitted only for a scalar (then 1).
    The graph is freed afterwards unless ``retain_graph=True``.  With ``create_graph=True`` the
    gradients are themselves computed by graph ops, so they can be differentiated again.
    """
    _backward([self], [grad], retain_graph, create_graph)


# The engine provides Tensor.backward (tensor.py knows nothing of it), as ``y.backward()``.
tensor_backward.__name__, tensor_backward.__qualname__ = "backward", "Tensor.backward"
Tensor.backward = tensor_backward
