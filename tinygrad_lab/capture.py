"""A captured training step: record its kernels once, replay them (CUDA graphs and tinygrad's TinyJit,
on the CPU).

``step = capture(train_step)``, then ``step(x, y)`` as before.  ``train_step(*args)`` is a function
that runs one training step (zero_grad, forward, loss, ``backward()``, optionally
``clip_grad_norm_``, ``optimizer.step()``) and returns the loss (a Tensor or its ``.item()``).

* **Record.**  The first call with a given *signature* (the arguments' shapes and dtypes, the
  backend) runs the step eagerly while a recorder (:func:`tinygrad_lab.mode.recording`) is told what
  the capture needs, by the few calls that make a step: ``zero_grad`` and ``backward()``
  (:mod:`~tinygrad_lab.autograd`: the graph), ``clip_grad_norm_`` and ``optimizer.step()``.
* **Plan.**  From that record a :class:`Plan` is built: every node of the graph lowers itself
  (``Function.lower``: it hands the plan its own ``forward_into``/``backward_into`` over buffers the
  plan allocates once, and names the state its forward pass changes), then the clipping and the
  optimizer's own ``step()``.  The optimizer's parameters are re-homed once
  (``optimizer.make_flat()``, see :mod:`tinygrad_lab.optim.flat`): each group's parameters become
  views of one flat buffer, their gradients views of a second one (the backward kernels write into
  it directly, and ``step()`` updates each group with one kernel over the buffers).  This module knows no op, loss or layer: only the graph and the
  ``lower`` each node declares.
* **Replay.**  Later calls with the same signature hand the arguments to the kernels that read
  them (an array the tape could overwrite, or of another layout, is copied into an input buffer)
  and run the tape: no Tensor, no graph node, no Python per op.  ``print(step.plan)`` lists it.

An input of the graph is an argument of the step, a tensor made from one (``Tensor(x)``:
:meth:`~tinygrad_lab.tensor.Tensor.copied_from`), or a parameter of the optimizer; a loss's targets
are an argument the node names (``plan.argument``).  Every effect of a step happens inside a node's
forward pass or the optimizer step (BatchNorm's running statistics, dropout's mask), so the tape
reproduces the eager step bit for bit.

Guards: a call whose signature has no plan records one (the last, partial batch gets its own).  A
plan replays only while nothing that shaped it changed, else the step records again:

* the modules and the optimizers' parameter groups: any edit of a module (an attribute set to
  another object or deleted, ``train()``/``eval()``, ``Module.to``, a ``Sequential``'s layer list)
  or of the parameter groups (a new optimizer, ``add_param_group``) moves an edit stamp
  (:func:`tinygrad_lab.mode.edits`), and the plans recorded before it are dropped;
* every tensor the graph read and every parameter of the optimizer keeps its ``requires_grad``;
* the optimizer's flat groups still hold its parameters (a rebound ``.data`` moves one out).

The check is two stamp comparisons and a pass over the parameters.  Grad mode off, anomaly mode, an
open dual level, keyword arguments or a step the plan cannot express (an op without ``lower``, no
``zero_grad``, two ``backward()`` calls, a frozen parameter of the optimizer, an edit or in-place
write inside the step, a node changing state outside the loss's graph, …) run eagerly, the reason
said once (a :class:`CaptureFallback` warning) and kept in ``step.reason``.  A non-finite loss
undoes the replay's forward effects and runs the step eagerly, so the step's own check (raise,
skip) sees it.  Python in the step that is not one of these calls (prints, counters) runs only when
the step is recorded, as with every graph capture: so do the Python values it reads (a clip norm,
which model or optimizer object it uses); pass a value that changes as an argument.
"""
from __future__ import annotations

import functools
import math
import warnings
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from tinygrad_lab.autograd import topological_order
from tinygrad_lab.backend import get_backend
from tinygrad_lab.mode import current_modes, edits, recording
from tinygrad_lab.tensor import Tensor

__all__ = ["CaptureFallback", "CapturedStep", "Plan", "capture"]

class CaptureFallback(UserWarning):
    """A captured step runs eagerly; the message says why."""


class Unsupported(Exception):
    """Something the plan cannot express (the message is the one-line reason)."""


def capture(step: Callable) -> "CapturedStep":
    """``step`` recorded on its first call and replayed as a tape of kernels afterwards (see the
    module's docstring); call the result as you would call ``step``."""
    return CapturedStep(step)


@dataclass
class Kernel:
    """One entry of the tape: ``fn(*args)``, every array argument a buffer of the plan."""

    name: str
    fn: Callable
    args: tuple
    shown: tuple = ()  # buffers to print when ``args`` hides them

    def __str__(self) -> str:
        shapes = [_describe(a) for a in self.args + self.shown if isinstance(a, np.ndarray)]
        return f"{self.name:<28} {', '.join(shapes)}".rstrip()


def _describe(a: np.ndarray) -> str:
    return ("x".join(map(str, a.shape)) or "scalar") + f" {a.dtype}"


# ----- the recorder ----------------------------------------------------------------------------
class Recorder:
    """What one eager run of the step did, as told by ``zero_grad``, ``backward()``,
    ``clip_grad_norm_`` and ``optimizer.step()``."""

    def __init__(self):
        self.events: list[str] = []
        self.backwards: list[tuple] = []
        self.clips: list[tuple] = []
        self.optimizers: list = []
        self.problems: list[str] = []
        self.cleared: set[int] = set()  # the parameters zero_grad() set to None before backward()

    def zero_grad(self, params, set_to_none: bool) -> None:
        if not set_to_none:
            self.unsupported("zero_grad(set_to_none=False) (the plan writes gradients, it does not add them)")
        if "backward" not in self.events:
            self.cleared.update(id(p) for p in params)

    def backward(self, outputs, grads, retain_graph: bool, create_graph: bool) -> None:
        self.events.append("backward")
        order = topological_order(outputs)
        nodes = [(t.creator, t.creator.inputs, t) for t in order if t.creator is not None]
        leaves = [(t, t.grad is not None) for t in order if t.creator is None]
        self.backwards.append((outputs, grads, create_graph, nodes, leaves))

    def clip(self, params, replay: Callable) -> None:
        """``clip_grad_norm_(params, …)`` ran; ``replay(grads, scaled)`` repeats it on gradient buffers."""
        self.events.append("clip_grad_norm_")
        self.clips.append((params, replay))

    def optimizer_step(self, optimizer, closure) -> None:
        self.events.append("optimizer.step")
        self.optimizers.append(optimizer)
        if closure is not None:
            self.unsupported("optimizer.step is given a closure")

    def unsupported(self, reason: str) -> None:
        self.problems.append(reason)

    def flags(self) -> list[tuple[Tensor, bool]]:
        """(tensor, requires_grad) of every leaf the graph read and every parameter of the optimizer:
        a plan, or a refusal, holds while these are unchanged."""
        tensors: dict[int, Tensor] = {}
        for *_, nodes, _ in self.backwards:
            for _, inputs, _ in nodes:
                tensors.update((id(t), t) for t in inputs if t.creator is None)
        for optimizer in self.optimizers:
            tensors.update((id(p), p) for group in optimizer.param_groups for p in group["params"])
        return [(t, t.requires_grad) for t in tensors.values()]


def _unchanged(flags: list[tuple[Tensor, bool]]) -> bool:
    return all(t.requires_grad == flag for t, flag in flags)


@dataclass
class Refusal:
    """Why a signature runs eagerly, kept while the ``flags`` it was read with hold."""

    reason: str
    flags: list

    def valid(self) -> bool:
        return _unchanged(self.flags)


# ----- the optimizer's step over its flat buffers ----------------------------------------------
def _optimizer_step(optimizer, grads: list[tuple[Any, Tensor]]) -> None:
    """``optimizer.step()``, the eager step's own loop (every check, then one update per flat group),
    with each parameter's ``.grad`` the view of its group's flat gradient buffer the backward wrote."""
    for p, g in grads:
        p.grad = g
    optimizer.step()


# ----- the plan --------------------------------------------------------------------------------
class Plan:
    """The tape of one step signature: input copies, forward kernels, backward kernels, clipping
    and the optimizer update, over buffers allocated here once.  A node's ``lower`` builds its part
    through :meth:`value`, :meth:`grad`, :meth:`output`, :meth:`argument`, :meth:`forward`,
    :meth:`backward` and :meth:`changes`."""

    def __init__(self, rec: Recorder, args: tuple, result, effects: int):
        if rec.problems:
            raise Unsupported(rec.problems[0])
        if rec.events not in (["backward", "optimizer.step"], ["backward", "clip_grad_norm_", "optimizer.step"]):
            raise Unsupported(f"the step calls {', '.join(rec.events) or 'none of them'}; a plan replays "
                              "one backward(), optionally clip_grad_norm_, then one optimizer.step()")
        outputs, grads, create_graph, nodes, leaves = rec.backwards[0]
        if len(outputs) != 1 or grads[0] is not None or create_graph:
            raise Unsupported("backward() is called with several outputs, a gradient or create_graph=True")
        self.loss = loss = outputs[0]
        optimizer = rec.optimizers[0]
        params = {id(p): p for group in optimizer.param_groups for p in group["params"]}
        self.backend = get_backend()
        self.flags = rec.flags()
        self.values: dict[Tensor, np.ndarray] = {}
        self.inputs: list[tuple[int, Callable | None, np.ndarray]] = []  # (argument, conversion, buffer)
        self._args = args
        for leaf, had_grad in leaves:  # the leaves that require grad
            if id(leaf) not in params:
                raise Unsupported(f"a tensor of shape {leaf.shape} requires grad but the optimizer "
                                  "does not update it")
            if had_grad or id(leaf) not in rec.cleared:
                raise Unsupported("backward() accumulates into an existing .grad: call "
                                  "optimizer.zero_grad() in the step, before backward()")
        graph_params = {id(leaf) for leaf, _ in leaves}
        for gi, group in enumerate(optimizer.param_groups):
            for pi, p in enumerate(group["params"]):
                if id(p) not in graph_params:
                    raise Unsupported(f"parameter {pi} of group {gi} (shape {p.shape}) gets no gradient")
        consumers: dict[Tensor, int] = {}
        for node, inputs, _ in nodes:
            for x in inputs:
                consumers[x] = consumers.get(x, 0) + 1
        for t, n in consumers.items():
            if t.requires_grad and n > 1:
                raise Unsupported(f"a tensor of shape {t.shape} feeds {n} ops (the plan sums no gradients)")
        self.optimizer, self.groups = optimizer, optimizer.make_flat()
        if None in self.groups:
            raise Unsupported(f"parameter group {self.groups.index(None)} mixes dtypes (no flat buffers)")
        for g in self.groups:
            for p, view in zip(g.params, g.views):
                self.values[p] = view
        self.grads = {p: gview for g in self.groups for p, gview in zip(g.params, g.grad_views)}
        self.grads[loss] = np.ones_like(loss.data)  # ∂E/∂E = 1, where the backward pass starts
        self.forward_tape: list[Kernel] = []
        self.changed: list = []  # the state the forward kernels change besides their outputs
        backward: list[list[Kernel]] = []
        for node, inputs, out in nodes:
            if node.lower is None:
                raise Unsupported(f"the op {node.name} has no replay kernels (it defines no Function.lower)")
            self._node_backward: list[Kernel] = []
            node.lower(self, inputs, out)
            backward.append(self._node_backward)
        if effects != len(self.changed):
            raise Unsupported(f"{effects} node(s) changed state (BatchNorm's running statistics, Dropout's "
                              f"generator) but {len(self.changed)} of them are in the loss's graph")
        self.backward_tape = [k for ks in reversed(backward) for k in ks]
        self.update: list[Kernel] = []
        if rec.clips:
            self.update.append(self._clip(rec.clips[0], params))
        bound = [(p, Tensor.wrap(view)) for g in self.groups for p, view in zip(g.params, g.grad_views)]
        self.update.append(Kernel(f"{type(optimizer).__name__}.step, flat", _optimizer_step, (optimizer, bound),
                                  tuple(a for g in self.groups for a in (g.data, g.grad))))
        del self._args, self._node_backward
        tape = self.forward_tape + self.backward_tape
        #: input buffer id -> [(kernel, the positions of its args that read the buffer)]
        self.readers = {id(buffer): [(k, tuple(j for j, a in enumerate(k.args) if a is buffer))
                                     for k in tape if any(a is buffer for a in k.args)]
                        for _, convert, buffer in self.inputs if convert is None}
        #: what the tape writes that outlives it: an argument overlapping one of these is copied
        self.written = [a for g in self.groups for a in (g.data, g.grad)] + [
            a for state in self.changed for a in state if isinstance(a, np.ndarray)]
        self.loss_buffer = self.values[loss]
        if result is loss:
            self.returns = "tensor"
        elif isinstance(result, float) and result == float(loss.data):
            self.returns = "float"
        elif result is None:
            self.returns = "none"
        else:
            raise Unsupported(f"the step returns a {type(result).__name__}, not its loss")

    # ----- what a node's lower() calls ---------------------------------------------------------
    def value(self, t: Tensor) -> np.ndarray:
        """The buffer holding ``t``: a parameter's view, an op's output, or an input buffer bound to
        the step's argument ``t`` is (or is a copy of) on every replay."""
        if t not in self.values:
            self.values[t] = self.argument(t, t.data)
        return self.values[t]

    def grad(self, t: Tensor) -> np.ndarray:
        """The gradient buffer of ``t`` (a view of the flat gradient buffer for a parameter), in C
        order whatever ``t``'s layout: kernels that take their outputs as row views write into it."""
        if t not in self.grads:
            self.grads[t] = np.empty(t.shape, t.dtype)
        return self.grads[t]

    def output(self, out: Tensor, buffer: np.ndarray) -> np.ndarray:
        """Make ``buffer`` the one holding the node's output ``out``; returns it."""
        self.values[out] = buffer
        return buffer

    def argument(self, given, like: np.ndarray, convert: Callable | None = None, what: str = "an input") -> np.ndarray:
        """A buffer like ``like`` that each replay fills from the step's argument that ``given`` is
        (or whose copy it is: ``Tensor(x)``, or the data of a Tensor argument): ``convert(argument)``
        when given, else the argument's data as it is (read in place when it can be, see :meth:`_bind`)."""
        source = given
        while source is not None:
            for i, arg in enumerate(self._args):
                if arg is source or (isinstance(arg, Tensor) and arg.data is source):
                    buffer = np.empty_like(like)
                    self.inputs.append((i, convert, buffer))
                    return buffer
            source = source.copied_from() if isinstance(source, Tensor) else None
        raise Unsupported(f"{what} of shape {np.shape(like)} is neither an argument of the step "
                          "(or a copy of one) nor a parameter")

    def forward(self, name: str, fn: Callable, *args) -> None:
        """Append ``fn(*args)`` to the forward tape."""
        self.forward_tape.append(Kernel(name, fn, args))

    def backward(self, name: str, fn: Callable, *args) -> None:
        """Append ``fn(*args)`` to the node's part of the backward tape (run in reverse node order)."""
        self._node_backward.append(Kernel(name, fn, args))

    def changes(self, *state) -> None:
        """Declare the state (arrays, numpy Generators) the node's forward kernel changes besides its
        output: saved before each replay's forward pass and restored if the loss is not finite."""
        self.changed.append(state)

    # ----- building ----------------------------------------------------------------------------
    def _clip(self, call, params) -> Kernel:
        clipped, replay = call
        if any(id(p) not in params for p in clipped):
            raise Unsupported("clip_grad_norm_ is given a tensor the optimizer does not update")
        views = [self.grads[p] for p in clipped]
        everything = len({id(p) for p in clipped}) == len(params)
        scaled = [g.grad for g in self.groups] if everything else views
        return Kernel("clip_grad_norm_", replay, (views, scaled))

    def valid(self) -> bool:
        """Whether the flags the plan was recorded with hold and the optimizer's flat groups are
        still the plan's, holding its parameters (``p.data = …`` moves one out)."""
        groups = self.optimizer.param_groups
        return (_unchanged(self.flags) and len(groups) == len(self.groups)
                and all(g.holds(group["params"]) for g, group in zip(self.groups, groups)))

    # ----- running -----------------------------------------------------------------------------
    def replay(self, args: tuple):
        """Run the tape on ``args``; :data:`NOT_FINITE` (nothing changed) if the loss is not finite."""
        for i, convert, buffer in self.inputs:
            arg = args[i]
            if convert is not None:
                np.copyto(buffer, convert(arg))
            else:
                self._bind(buffer, arg.data if isinstance(arg, Tensor) else arg)
        saved = self._save_state() if self.changed else None
        for k in self.forward_tape:
            k.fn(*k.args)
        if not math.isfinite(self.loss_buffer):
            self._restore_state(saved)
            return NOT_FINITE
        for k in self.backward_tape:
            k.fn(*k.args)
        for k in self.update:
            k.fn(*k.args)
        if self.returns == "float":
            return float(self.loss_buffer)
        return Tensor.wrap(self.loss_buffer.copy()) if self.returns == "tensor" else None

    def _bind(self, buffer: np.ndarray, data) -> None:
        """Let the kernels that read ``buffer`` read the argument ``data`` itself when it is an array
        of the buffer's shape and dtype, C-contiguous and apart from everything the tape writes (the
        eager step's copy, ``Tensor(x)``, gives the same values: nothing writes the argument during
        the step); otherwise copy it into ``buffer``, converted as the eager copy converts it."""
        source = data
        if not (isinstance(data, np.ndarray) and data.dtype == buffer.dtype and data.shape == buffer.shape
                and data.flags.c_contiguous and not any(np.may_share_memory(data, w) for w in self.written)):
            np.copyto(buffer, data, casting="unsafe")
            source = buffer
        for k, positions in self.readers[id(buffer)]:
            if k.args[positions[0]] is not source:
                k.args = tuple(source if j in positions else a for j, a in enumerate(k.args))

    def _save_state(self) -> list:
        return [[s.copy() if isinstance(s, np.ndarray) else s.bit_generator.state for s in state]
                for state in self.changed]

    def _restore_state(self, saved) -> None:
        if saved is None:
            return
        for state, values in zip(self.changed, saved):
            for s, value in zip(state, values):
                if isinstance(s, np.ndarray):
                    s[...] = value
                else:
                    s.bit_generator.state = value

    def __str__(self) -> str:
        kernels = self.forward_tape + self.backward_tape
        arrays = {id(a): a for k in kernels for a in k.args if isinstance(a, np.ndarray)}
        arrays.update({id(g.data): g.data for g in self.groups})
        arrays.update({id(g.grad): g.grad for g in self.groups})
        size = sum(a.nbytes for a in arrays.values() if a.base is None)
        lines = [f"captured step ({self.backend.NAME} backend): {len(self.inputs)} inputs, "
                 f"{len(kernels) + len(self.update)} kernels, {size / 2**20:.1f} MiB of buffers", "inputs:"]
        lines += [f"  argument {i} -> {'converted' if convert else 'read':<9} {_describe(b)}"
                  for i, convert, b in self.inputs]
        for title, tape in (("forward:", self.forward_tape), ("backward:", self.backward_tape),
                            ("update:", self.update)):
            lines += [title] + [f"  {k}" for k in tape]
        return "\n".join(lines)


NOT_FINITE = object()


# ----- the captured step -----------------------------------------------------------------------
class CapturedStep:
    """A step function with its plans (one per signature); ``plan`` is the one the last call used
    (None if it ran eagerly), ``reason`` why the last call ran eagerly (None if it did not)."""

    def __init__(self, step: Callable):
        functools.update_wrapper(self, step)
        self.step = step
        self.plans: dict[tuple, Plan | Refusal] = {}
        self.stamps = (-1, -1)  # the edit stamps (modules, groups) the plans were recorded under
        self.plan: Plan | None = None
        self.reason: str | None = None
        self._said: set[str] = set()

    def __call__(self, *args, **kwargs):
        reason = _eager_reason(args, kwargs)
        if reason is not None:
            return self._eager(reason, args, kwargs)
        now = edits()
        if (now.modules, now.groups) != self.stamps:  # a module or a parameter group was edited
            self.plans.clear()
        plan = self.plans.get(self._key(args))
        if plan is not None and plan.valid():
            if isinstance(plan, Refusal):
                return self._eager(plan.reason, args, kwargs)
            self.plan, self.reason = plan, None
            result = plan.replay(args)
            return self.step(*args) if result is NOT_FINITE else result
        return self._record(args)

    def _key(self, args: tuple) -> tuple:
        signature = tuple((type(a), a.shape, a.dtype) if isinstance(a, (np.ndarray, Tensor)) else (type(a), a)
                          for a in args)
        return signature, get_backend().NAME

    def _record(self, args: tuple):
        now = edits()
        before = (now.modules, now.groups, now.tensors, now.effects)
        rec = Recorder()
        with recording(rec):
            result = self.step(*args)
        if (now.modules, now.groups) != before[:2]:
            rec.unsupported("the step edits a module or the parameter groups (an attribute, train()/eval(), "
                            "Module.to, add_param_group)")
        if now.tensors != before[2]:
            rec.unsupported("the step writes into a tensor in place (copy_ or .data =)")
        self.stamps = (now.modules, now.groups)
        key = self._key(args)
        try:
            plan = Plan(rec, args, result, now.effects - before[3])
        except Unsupported as e:
            self.plans[key] = Refusal(str(e), rec.flags())
            self._say(str(e))
        else:
            self.plans[key] = plan
            self.plan, self.reason = plan, None
        return result

    def _eager(self, reason: str, args: tuple, kwargs: dict):
        self._say(reason)
        return self.step(*args, **kwargs)

    def _say(self, reason: str) -> None:
        self.plan, self.reason = None, reason
        if reason not in self._said:
            self._said.add(reason)
            warnings.warn(f"capture: running the step eagerly: {reason}", CaptureFallback, stacklevel=4)


def _eager_reason(args: tuple, kwargs: dict) -> str | None:
    """Why a call cannot use a plan at all, or None."""
    modes = current_modes()
    if not modes.grad_enabled:
        return "grad mode is off (no_grad)"
    if modes.anomaly_enabled:
        return "anomaly detection is on (detect_anomaly checks every op)"
    if modes.tangents is not None:
        return "a forward-mode dual level is open"
    if modes.recorder is not None:
        return "another captured step is recording"
    if kwargs:
        return f"keyword arguments ({', '.join(kwargs)}); pass them positionally"
    for i, a in enumerate(args):
        if not isinstance(a, (np.ndarray, Tensor)):
            try:
                hash(a)
            except TypeError:
                return f"argument {i} is a {type(a).__name__} (arrays, Tensors and hashable values only)"
    return None
