"""A captured training step: record its kernels once, replay them (CUDA graphs and tinygrad's TinyJit,
on the CPU).

``step = capture(train_step)``, then ``step(x, y)`` as before.  ``train_step(*args)`` is a function
that runs one training step (zero_grad, forward, loss, ``backward()``, optionally
``clip_grad_norm_``, ``optimizer.step()``) and returns the loss (a Tensor or its ``.item()``).

* **Record.**  The first call with a given *signature* (the arguments' shapes and dtypes, the
  backend, the train/eval mode of every module the step calls) runs the step eagerly while a
  recorder (:func:`tinygrad_lab.mode.recording`) notes what it does: the graph ``backward()``
  walks, the clipping and the optimizer step, which tensors are copies of the arguments, which
  modules ran.
* **Plan.**  From that record a :class:`Plan` is built: buffers allocated once for every tensor of
  the graph and its gradient, and a tape of kernels over them — the GEMMs with ``out=``, the fused
  nodes' backend kernels, the gradient clipping and ONE optimizer update per parameter group.  The
  optimizer's parameters are re-homed once (:class:`FlatGroup`): each group's parameters become
  views of one flat buffer, their gradients views of a second one (the backward's GEMMs write into
  it directly), the optimizer's per-parameter state views of one flat array per entry, so
  ``state_dict()``/``load_state_dict()`` keep working on the views.
* **Replay.**  Later calls with the same signature hand the arguments to the kernels that read
  them (an array the tape could overwrite, or of another layout, is copied into an input buffer)
  and run the tape: no Tensor, no graph node, no Python per op.  ``print(step.plan)`` lists it.

Every effect of a step happens inside a node's forward pass or the optimizer step (BatchNorm's
running statistics in :class:`~tinygrad_lab.nn.batchnorm.BatchNormTrain`, dropout's mask drawn in
:class:`~tinygrad_lab.nn.dropout.DropoutTrain`), so the tape reproduces the eager step bit for bit.

Guards: a call whose signature has no plan records one (the last, partial batch gets its own).  A
plan replays only while everything else that shaped it is unchanged, else the step re-records:
the module tree of every module the step called (:class:`ModuleTree`: each module's type,
sub-modules, parameters and their ``requires_grad``, settings such as an activation, Dropout's
``p``, BatchNorm's ``eps`` and ``momentum``), the optimizer's parameter groups, their parameters
(still trained), their data (a rebound ``.data``) and its state (``load_state_dict`` of the
optimizer); a new optimizer or parameter group re-records too (the step may step it now).  The
check is two comparisons of edit stamps (:func:`tinygrad_lab.mode.edits`, stamped by
``Module.__setattr__`` and ``Sequential``'s layer list) and the flat groups' identity checks; the
tree itself is compared only after a stamp moved.  Grad mode off, anomaly mode, an open dual
level, keyword arguments or a step the plan cannot express (an op without replay kernels, no
``zero_grad``, two ``backward()`` calls, a frozen parameter of the optimizer, …) run eagerly,
the reason said once (a :class:`CaptureFallback` warning) and kept in ``step.reason``.  A
non-finite loss undoes the replay's forward effects and runs the step eagerly, so the step's own
check (raise, skip) sees it.  Python in the step that is not one of these calls (prints, counters)
runs only when the step is recorded, as with every graph capture: so do the Python values it reads
(a clip norm, which model or optimizer object it uses); pass a value that changes as an argument.
"""
from __future__ import annotations

import functools
import math
import warnings
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from tinygrad_lab import ops
from tinygrad_lab.threads import matmul  # the eager ops' GEMM: same thread policy, same bits
from tinygrad_lab.autograd import topological_order
from tinygrad_lab.backend import get_backend
from tinygrad_lab.losses import CrossEntropy, class_targets
from tinygrad_lab.mode import current_modes, edits, recording
from tinygrad_lab.nn.batchnorm import BatchNormTrain
from tinygrad_lab.nn.dropout import DropoutTrain
from tinygrad_lab.optim.clip import clip_grads
from tinygrad_lab.optim.optimizer import check_finite
from tinygrad_lab.tensor import Tensor

__all__ = ["CaptureFallback", "CapturedStep", "Plan", "capture"]

#: parameters start on 64-byte boundaries of the flat buffers, as freshly allocated arrays do
ALIGN_BYTES = 64


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
    """What one eager run of the step did, as told by the hooks in tensor, autograd, nn and optim."""

    def __init__(self):
        self.copies: dict[int, tuple[Any, Any]] = {}  # id(copy) -> (copy, the object it copies)
        self.modules: list = []
        self.events: list[str] = []
        self.backwards: list[tuple] = []
        self.clips: list[tuple] = []
        self.optimizers: list = []
        self.effects: list = []
        self.problems: list[str] = []
        self.cleared: set[int] = set()  # the parameters zero_grad() set to None before backward()

    def copied(self, source, copy) -> None:
        self.copies[id(copy)] = (copy, source)

    def called(self, module) -> None:
        if not any(m is module for m in self.modules):
            self.modules.append(module)

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

    def clip(self, params, max_norm: float, norm_type: float, error_if_nonfinite: bool) -> None:
        self.events.append("clip_grad_norm_")
        self.clips.append((params, max_norm, norm_type, error_if_nonfinite))

    def optimizer_step(self, optimizer, closure) -> None:
        self.events.append("optimizer.step")
        self.optimizers.append(optimizer)
        if closure is not None:
            self.unsupported("optimizer.step is given a closure")

    def effect(self, node) -> None:
        self.effects.append(node)

    def unsupported(self, reason: str) -> None:
        self.problems.append(reason)


# ----- the flat parameter buffers --------------------------------------------------------------
class FlatGroup:
    """One parameter group re-homed: ``data`` holds every parameter (each ``p.data`` becomes a view
    into it, starting on an aligned offset; the gaps hold zeros, which every update rule keeps at
    zero), ``grad`` their gradients (``p.grad`` a view), ``state`` the optimizer's state for the
    whole group (arrays flat like ``data``, scalars shared by all the group's parameters)."""

    def __init__(self, optimizer, gi: int):
        self.optimizer, self.gi = optimizer, gi
        self.params = list(optimizer.param_groups[gi]["params"])
        dtype = self.params[0].data.dtype
        if any(p.data.dtype != dtype for p in self.params):
            raise Unsupported(f"parameter group {gi} mixes dtypes")
        align = ALIGN_BYTES // dtype.itemsize
        self.slices, end = [], 0
        for p in self.params:
            self.slices.append(slice(end, end + p.data.size))
            end += -(-p.data.size // align) * align
        self.data, self.grad = np.zeros(end, dtype), np.zeros(end, dtype)
        self.views, self.grad_views = [], []
        for p, s in zip(self.params, self.slices):
            view = self.data[s].reshape(p.data.shape)
            view[...] = p.data
            p._data = view
            self.views.append(view)
            self.grad_views.append(self.grad[s].reshape(p.data.shape))
        self.grad_tensors = [Tensor.wrap(g) for g in self.grad_views]
        self.states = [optimizer.state.get(id(p)) for p in self.params]
        if any(s is None for s in self.states):
            raise Unsupported(f"a parameter of group {gi} has no optimizer state after the first step")
        self.state: dict[str, Any] = {}
        for key in self.states[0]:
            values = [s.get(key) for s in self.states]
            if all(isinstance(v, np.ndarray) for v in values):
                self._adopt(key, np.zeros(end, dtype), values)
            elif all(not isinstance(v, np.ndarray) and v == values[0] for v in values):
                self.state[key] = values[0]
            else:
                raise Unsupported(f"the optimizer state {key!r} differs between the parameters of group {gi}")

    def _adopt(self, key: str, flat: np.ndarray, values=None) -> None:
        """Make ``flat`` the group's state ``key`` and each parameter's state a view of it (copying
        ``values`` in first, when given)."""
        self.state[key] = flat
        for i, (s, sl) in enumerate(zip(self.states, self.slices)):
            if values is not None:
                flat[sl] = values[i].reshape(-1)
            s[key] = flat[sl]

    def valid(self) -> bool:
        """Whether the group, its parameters (still requiring grad), their data and the optimizer's
        state are still the ones re-homed (``load_state_dict`` of the optimizer replaces the state,
        ``p.data = …`` rebinds a parameter, ``requires_grad = False`` freezes it: then re-record)."""
        groups = self.optimizer.param_groups
        if self.gi >= len(groups):
            return False
        params = groups[self.gi]["params"]
        if len(params) != len(self.params):
            return False
        state = self.optimizer.state
        for p, q, view, s in zip(params, self.params, self.views, self.states):
            if p is not q or p._data is not view or not p.requires_grad or state.get(id(p)) is not s:
                return False
        flats = [(key, v) for key, v in self.state.items() if isinstance(v, np.ndarray)]
        return all(s[key].base is v for s in self.states for key, v in flats)

    def check(self) -> None:
        """The optimizer's checks before any update: hyperparameters, and gradients finite."""
        self.optimizer.validate_group(self.gi)
        if not get_backend().all_finite(self.grad):
            for pi, (p, g) in enumerate(zip(self.params, self.grad_views)):
                check_finite(g, self.gi, pi, p.data.shape)

    def update(self, backend) -> None:
        """The optimizer's update rule, once over the whole flat group; the state's scalars (Adam's
        step count, …) are read from the first parameter's state and written back to every one."""
        state = self.state
        for key, value in self.states[0].items():  # scalars may have moved in an eager step since
            if not isinstance(value, np.ndarray):
                state[key] = value
        arrays = {key: v for key, v in state.items() if isinstance(v, np.ndarray)}
        self.optimizer._update(backend, self.data, self.grad, state, self.optimizer.param_groups[self.gi])
        for key, value in state.items():
            if isinstance(value, np.ndarray):
                if arrays.get(key) is not value:  # created by this update (a first momentum step)
                    self._adopt(key, value)
            else:
                for s in self.states:
                    s[key] = value
        for p in self.params:
            p.mark_modified()


def _homed(groups: list[FlatGroup]) -> bool:
    """Whether ``groups`` are still every parameter group of their optimizer, as re-homed."""
    return len(groups[0].optimizer.param_groups) == len(groups) and all(g.valid() for g in groups)


def optimizer_step(groups: list[FlatGroup]) -> None:
    """``optimizer.step()`` over the flat groups: every check first (all or nothing), then one
    update per group.  The parameters' ``.grad`` are the views of the flat gradient buffers."""
    for g in groups:
        for p, t in zip(g.params, g.grad_tensors):
            p.grad = t
    for g in groups:
        g.check()
    backend = get_backend()
    for g in groups:
        g.update(backend)


# ----- what the recording read of the modules --------------------------------------------------
class ModuleTree:
    """The modules a recording called and all their sub-modules, each with what shaped the plan:
    its type and its attributes (sub-modules and lists of them, parameters with their
    ``requires_grad``, settings: a layer's activation, Dropout's ``p`` and generator, BatchNorm's
    ``eps`` and ``momentum``, …), ``training`` aside (the plans are keyed on it)."""

    def __init__(self, called=()):
        every: dict[int, Any] = {}
        for module in called:
            for m in module.modules():
                every.setdefault(id(m), m)
        self.modules = list(every.values())
        self.read = [_read(m) for m in self.modules]

    def changed(self) -> bool:
        """Whether a module's type or one of its attributes is not what it was when read."""
        return any(not _same(_read(m), read) for m, read in zip(self.modules, self.read))


def _read(module) -> tuple:
    """A module's type and attributes: tensors with their ``requires_grad``, lists as their items."""
    return (type(module), *((name, (v, v.requires_grad) if isinstance(v, Tensor) else
                             tuple(v) if isinstance(v, list) else v)
                            for name, v in vars(module).items() if name != "training"))


def _same(a, b) -> bool:
    """``a`` is ``b``, or an equal number or string (a setting written again), or tuples of such."""
    if a is b:
        return True
    if type(a) is not type(b):
        return False
    if type(a) is tuple:
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return isinstance(a, (int, float, str, np.generic)) and bool(a == b)


# ----- the plan --------------------------------------------------------------------------------
class Plan:
    """The tape of one step signature: input copies, forward kernels, backward kernels, clipping
    and the optimizer update, over buffers allocated here once."""

    def __init__(self, rec: Recorder, args: tuple, result, groups_of: Callable):
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
        self.values: dict[Tensor, np.ndarray] = {}
        self.inputs: list[tuple[int, str, np.ndarray]] = []  # (argument, how it is read, buffer)
        self._rec, self._args = rec, args
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
        in_graph = {id(node) for node, _, _ in nodes}
        if any(id(node) not in in_graph for node in rec.effects):
            raise Unsupported("a BatchNorm or Dropout node outside the loss's graph changes state")
        self.groups = groups_of(optimizer)
        for g in self.groups:
            for p, view, gview in zip(g.params, g.views, g.grad_views):
                self.values[p] = view
        self.grads = {p: gview for g in self.groups for p, gview in zip(g.params, g.grad_views)}
        self.forward: list[Kernel] = []
        backward: list[list[Kernel]] = []
        self.bn_layers, self.rngs = [], []
        for node, inputs, out in nodes:
            lower = LOWERINGS.get(type(node))
            if lower is None:
                raise Unsupported(f"the op {node.name} has no replay kernels (a plan knows "
                                  f"{', '.join(sorted(c.__name__ for c in LOWERINGS))})")
            backward.append(lower(self, node, inputs, out))
        self.backward = [k for ks in reversed(backward) for k in ks]
        self.update: list[Kernel] = []
        if rec.clips:
            self.update.append(self._clip(rec.clips[0], params))
        self.update.append(Kernel(f"{type(optimizer).__name__}.step, flat", optimizer_step, (self.groups,),
                                  tuple(a for g in self.groups for a in (g.data, g.grad))))
        del self._rec, self._args
        tape = self.forward + self.backward
        #: input buffer id -> [(kernel, the positions of its args that read the buffer)]
        self.readers = {id(buffer): [(k, tuple(j for j, a in enumerate(k.args) if a is buffer))
                                     for k in tape if any(a is buffer for a in k.args)]
                        for _, what, buffer in self.inputs if what == "tensor"}
        #: what the tape writes that outlives it: an argument overlapping one of these is copied
        self.written = [a for g in self.groups for a in (g.data, g.grad)] + [
            a for m in self.bn_layers for a in (m.running_mean, m.running_var)]
        self.loss_buffer = self.values[loss]
        if result is loss:
            self.returns = "tensor"
        elif isinstance(result, float) and result == float(loss.data):
            self.returns = "float"
        elif result is None:
            self.returns = "none"
        else:
            raise Unsupported(f"the step returns a {type(result).__name__}, not its loss")

    # ----- building ----------------------------------------------------------------------------
    def input(self, copy, array: np.ndarray, what: str) -> np.ndarray:
        """A buffer for ``copy``, which must be an argument or a copy of one (``Tensor(x)``, the
        targets checked by ``cross_entropy``); each replay binds its argument to it (:meth:`_bind`)."""
        _, source = self._rec.copies.get(id(copy), (None, copy))
        for i, arg in enumerate(self._args):
            if arg is source or (isinstance(arg, Tensor) and arg.data is source):
                buffer = np.empty_like(array)
                self.inputs.append((i, what, buffer))
                return buffer
        raise Unsupported(f"a {what} of shape {np.shape(array)} is neither an argument of the step "
                          "(or a copy of one) nor a parameter")

    def value(self, t: Tensor | None) -> np.ndarray | None:
        """The buffer holding ``t`` (a parameter's view, an op's output, or an input buffer)."""
        if t is None:
            return None
        if t not in self.values:
            self.values[t] = self.input(t, t.data, "tensor")
        return self.values[t]

    def grad(self, t: Tensor) -> np.ndarray:
        """The gradient buffer of ``t`` (a view of the flat gradient buffer for a parameter)."""
        if t not in self.grads:
            self.grads[t] = np.empty_like(t.data)
        return self.grads[t]

    def _clip(self, call, params) -> Kernel:
        clipped, max_norm, norm_type, error_if_nonfinite = call
        if any(id(p) not in params for p in clipped):
            raise Unsupported("clip_grad_norm_ is given a tensor the optimizer does not update")
        views = [self.grads[p] for p in clipped]
        everything = len({id(p) for p in clipped}) == len(params)
        scaled = [g.grad for g in self.groups] if everything else views
        return Kernel("clip_grad_norm_", clip_grads, (views, scaled, max_norm, norm_type, error_if_nonfinite))

    # ----- running -----------------------------------------------------------------------------
    def replay(self, args: tuple):
        """Run the tape on ``args``; :data:`NOT_FINITE` (nothing changed) if the loss is not finite."""
        for i, what, buffer in self.inputs:
            arg = args[i]
            if what == "targets":
                np.copyto(buffer, class_targets("cross_entropy", self.logits_shape, arg))
            else:
                self._bind(buffer, arg.data if isinstance(arg, Tensor) else arg)
        saved = self._save_effects()
        for k in self.forward:
            k.fn(*k.args)
        if not math.isfinite(self.loss_buffer):
            self._restore_effects(saved)
            return NOT_FINITE
        for k in self.backward:
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

    def _save_effects(self):
        if not (self.bn_layers or self.rngs):
            return None
        return ([(m.running_mean.copy(), m.running_var.copy()) for m in self.bn_layers],
                [rng.bit_generator.state for rng in self.rngs])

    def _restore_effects(self, saved) -> None:
        if saved is None:
            return
        for m, (mean, var) in zip(self.bn_layers, saved[0]):
            m.running_mean[...], m.running_var[...] = mean, var
        for rng, state in zip(self.rngs, saved[1]):
            rng.bit_generator.state = state

    def __str__(self) -> str:
        arrays = {id(a): a for k in self.forward + self.backward for a in k.args if isinstance(a, np.ndarray)}
        arrays.update({id(g.data): g.data for g in self.groups})
        arrays.update({id(g.grad): g.grad for g in self.groups})
        size = sum(a.nbytes for a in arrays.values() if a.base is None)
        lines = [f"captured step ({self.backend.NAME} backend): {len(self.inputs)} inputs, "
                 f"{len(self.forward) + len(self.backward) + len(self.update)} kernels, "
                 f"{size / 2**20:.1f} MiB of buffers", "inputs:"]
        lines += [f"  argument {i} -> {what:<8} {_describe(b)}" for i, what, b in self.inputs]
        for title, kernels in (("forward:", self.forward), ("backward:", self.backward), ("update:", self.update)):
            lines += [title] + [f"  {k}" for k in kernels]
        return "\n".join(lines)


NOT_FINITE = object()


# ----- how each node is replayed: its kernels into the plan's buffers ----------------------------
def _affine(plan: Plan, node: ops.Affine, inputs, out) -> list[Kernel]:
    """y = σ(a Wᵀ + b): a GEMM into z, then bias + σ; backward δ with gb, then δ W and δᵀ a."""
    a, w, b = inputs[0], inputs[1], inputs[2] if len(inputs) == 3 else None
    act, av, wv, bv = node.act, plan.value(a), plan.value(w), plan.value(b)
    z = np.empty(out.shape, out.dtype)
    y = z if act.uses == "y" else np.empty_like(z)
    plan.values[out] = y
    plan.forward += [Kernel("matmul a Wᵀ", matmul, (av, wv.T, z)),
                     Kernel(f"bias_act {act.name}", plan.backend.bias_act, (z, bv, act, y))]
    needs, delta = node.needs_grad, np.empty_like(y)
    gb = plan.grad(b) if b is not None and needs[2] else None
    kernels = [Kernel(f"act_backward_bias {act.name}", plan.backend.act_backward_bias,
                      (plan.grad(out), None if y is z else z, y, act, delta, gb))]
    if needs[0]:
        kernels.append(Kernel("matmul δ W", matmul, (delta, wv, plan.grad(a))))
    if needs[1]:
        kernels.append(Kernel("matmul δᵀ a", matmul, (delta.T, av, plan.grad(w))))
    return kernels


def _activate_into(act, x: np.ndarray, y: np.ndarray) -> None:
    y[...] = act.sigma(x)


def _activate_backward_into(act, gy: np.ndarray, x: np.ndarray, y: np.ndarray, gx: np.ndarray) -> None:
    np.multiply(gy, act.derivative(x, y), out=gx)


def _activate(plan: Plan, node: ops.Activate, inputs, out) -> list[Kernel]:
    """y = σ(x); gx = gy ⊙ σ'(x) (as :class:`~tinygrad_lab.ops.Activate`)."""
    x = plan.value(inputs[0])
    y = plan.values[out] = np.empty(out.shape, out.dtype)
    plan.forward.append(Kernel(node.name, _activate_into, (node.act, x, y)))
    if not node.needs_grad[0]:
        return []
    return [Kernel(f"{node.name} backward", _activate_backward_into, (node.act, plan.grad(out), x, y, plan.grad(inputs[0])))]


def _cross_entropy(plan: Plan, node: CrossEntropy, inputs, out) -> list[Kernel]:
    """The loss: softmax and log-sum-exp in one kernel; gx = (p − onehot(t)) · 1/N."""
    if out is not plan.loss:
        raise Unsupported("cross_entropy's result is not the loss backward() starts from")
    x = plan.value(inputs[0])
    plan.logits_shape = x.shape
    targets = plan.input(node.targets, node.targets, "targets")
    probs, loss = np.empty_like(x), np.empty((), x.dtype)
    plan.values[out] = loss
    plan.forward.append(Kernel("softmax_xent", node.forward_into, (x, targets, probs, loss)))
    if not node.needs_grad[0]:
        return []
    scale = node.scale(1.0, x.shape[0])   # gy = ∂E/∂E = 1
    return [Kernel("xent_grad", plan.backend.xent_grad, (probs, targets, scale, plan.grad(inputs[0])))]


def _batchnorm(plan: Plan, node: BatchNormTrain, inputs, out) -> list[Kernel]:
    """Batch statistics, x̂, y (and the layer's running statistics); the three gradients."""
    x, gamma, beta = (plan.value(t) for t in inputs)
    xhat, y = np.empty_like(x), np.empty_like(x)
    plan.values[out] = y
    plan.forward.append(Kernel("batchnorm_forward", node.forward_into, (x, gamma, beta, xhat, y)))
    if node.layer is not None:
        plan.bn_layers.append(node.layer)
    grads = [plan.grad(t) if needed else np.empty_like(plan.value(t))
             for t, needed in zip(inputs, node.needs_grad)]
    return [Kernel("batchnorm_backward", node.backward_into, (plan.grad(out), xhat, gamma, *grads))]


def _dropout(plan: Plan, node: DropoutTrain, inputs, out) -> list[Kernel]:
    """The mask drawn from the layer's generator, y = x ⊙ mask; gx = gy ⊙ mask."""
    x = plan.value(inputs[0])
    mask, y = np.empty_like(x), np.empty_like(x)
    plan.values[out] = y
    plan.rngs.append(node.rng)
    plan.forward.append(Kernel("dropout", node.forward_into, (x, mask, y)))
    if not node.needs_grad[0]:
        return []
    return [Kernel("multiply gy mask", np.multiply, (plan.grad(out), mask, plan.grad(inputs[0])))]


LOWERINGS = {ops.Affine: _affine, ops.Activate: _activate, CrossEntropy: _cross_entropy,
             BatchNormTrain: _batchnorm, DropoutTrain: _dropout}


# ----- the captured step -----------------------------------------------------------------------
class CapturedStep:
    """A step function with its plans (one per signature); ``plan`` is the one the last call used
    (None if it ran eagerly), ``reason`` why the last call ran eagerly (None if it did not)."""

    def __init__(self, step: Callable):
        functools.update_wrapper(self, step)
        self.step = step
        self.plans: dict[tuple, Plan | str] = {}
        self.homes: dict[int, list[FlatGroup]] = {}
        self.modules: list = []
        self.tree = ModuleTree()
        self.stamps = (0, 0)  # the edit stamps (modules, groups) the recordings were checked against
        self.plan: Plan | None = None
        self.reason: str | None = None
        self._said: set[str] = set()

    def __call__(self, *args, **kwargs):
        reason = _eager_reason(args, kwargs)
        if reason is not None:
            return self._eager(reason, args, kwargs)
        if not self._unchanged():
            self._forget()
        plan = self.plans.get(self._key(args))
        if isinstance(plan, str):
            if not self.tree.changed():  # a parameter unfrozen, say, is seen here (no stamp moves)
                return self._eager(plan, args, kwargs)
        elif plan is not None and _homed(plan.groups):
            self.plan, self.reason = plan, None
            result = plan.replay(args)
            return self.step(*args) if result is NOT_FINITE else result
        if plan is not None:  # the tree or the optimizer's groups, parameters or state changed
            self._forget()
        return self._record(args)

    def _unchanged(self) -> bool:
        """Whether the modules and optimizers the recordings read may be as they were: no edit
        stamped since, or only edits that left the tree as read (a module built elsewhere, a setting
        written with its old value).  A new parameter group or optimizer is a change."""
        now = edits()
        if (now.modules, now.groups) == self.stamps:
            return True
        if now.groups != self.stamps[1] or self.tree.changed():
            return False
        self.stamps = (now.modules, now.groups)
        return True

    def _forget(self) -> None:
        """Drop every plan: the next call records anew (re-homing the parameters if need be)."""
        self.plans.clear()
        self.homes.clear()
        self.modules.clear()
        self.tree = ModuleTree()

    def _key(self, args: tuple) -> tuple:
        signature = tuple((type(a), a.shape, a.dtype) if isinstance(a, (np.ndarray, Tensor)) else (type(a), a)
                          for a in args)
        return signature, get_backend().NAME, tuple(m.training for m in self.modules)

    def _record(self, args: tuple):
        rec = Recorder()
        with recording(rec):
            result = self.step(*args)
        self.modules += [m for m in rec.modules if not any(m is k for k in self.modules)]
        self.tree = ModuleTree(self.modules)
        now = edits()
        self.stamps = (now.modules, now.groups)
        key = self._key(args)
        try:
            plan = Plan(rec, args, result, self._groups)
        except Unsupported as e:
            self.plans[key] = str(e)
            self._say(str(e))
        else:
            self.plans[key] = plan
            self.plan, self.reason = plan, None
        return result

    def _groups(self, optimizer) -> list[FlatGroup]:
        """The optimizer's parameters re-homed into flat buffers (once per optimizer)."""
        groups = self.homes.get(id(optimizer))
        if groups is None or groups[0].optimizer is not optimizer or not _homed(groups):
            groups = [FlatGroup(optimizer, gi) for gi in range(len(optimizer.param_groups))]
            self.homes[id(optimizer)] = groups
        return groups

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
