"""The one optimizer base class: parameter groups, per-parameter state, the update loop.

Conventions follow ``torch.optim``:

* ``Optimizer(params, defaults)``: ``params`` is an iterable of parameters or of dicts
  (parameter groups, ``{"params": [...], "lr": ...}``); a group's missing hyperparameters are
  filled from ``defaults``. ``param_groups[i]["lr"]`` may be changed between steps (that is what
  the LR schedulers do).
* ``step()`` checks every group and every gradient first, then walks every group and every
  parameter, skips parameters whose ``grad`` is None, and hands each remaining one to the
  subclass's single backend kernel. Subclasses only say how to create their state
  (:meth:`Optimizer._init_state`) and which kernel to call (:meth:`Optimizer._update`); the loop
  lives here once.
* ``flat=True`` (or :meth:`Optimizer.make_flat`) re-homes each group into flat buffers
  (:mod:`.flat`): the parameters become views of one array, and ``step()`` updates the whole
  group with one kernel call, bit for bit as it updates each parameter on its own.  A captured
  step (:func:`tinygrad_lab.capture`) runs this same ``step()`` over the same buffers.
* Parameters are updated **in place** (``p.data`` is written through a flat view, never
  rebound), so parameters that are views into one flat buffer stay views.

A parameter is anything with a floating ``.data`` ``numpy.ndarray`` and a ``.grad`` that is None or
has a ``.data`` array of the same shape (duck-typed: a ``Tensor`` / ``nn.Parameter``).

Non-finite gradients: before any parameter is touched, ``step()`` checks each gradient (the
backend's ``all_finite``, one pass without a temporary array) and raises ``FloatingPointError`` naming
the group, the parameter's index and its shape. No parameter or state changes in that case, so the
caller can skip the batch, lower the lr or clip (PyTorch instead lets NaN propagate silently into
the weights; we prefer the early, precise error).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from ..autograd import zero_grad
from .. import backend as backends
from ..mode import MODES, groups_edited
from .flat import FlatGroup

__all__ = ["Optimizer", "check_eps", "check_finite", "check_nonnegative", "check_unit_interval", "unused"]


def check_nonnegative(name: str, value: Any) -> None:
    """Raise ValueError unless ``value`` is a finite real number >= 0 (NaN and inf fail)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    if not 0 <= value < math.inf:
        raise ValueError(f"invalid {name}: {value!r} (must be finite and >= 0)")


_FLOAT32_TINY = float(np.finfo(np.float32).tiny)


def check_eps(group: dict[str, Any]) -> None:
    """Raise ValueError unless the group's ``eps`` is finite and > 0 in every parameter's dtype.

    ε keeps the adaptive optimizers' divisions (m / (√v + ε) and the like) away from 0/0: with ε = 0
    (or an ε that is 0 once cast to float32), a coordinate whose gradient and running averages are
    all 0 would get 0/0 = NaN written into its weight, from inputs that are all finite.  Refusing the
    setting costs nothing per step (see benchmarks/bench_optimizer_step.py for what checking every
    update would cost)."""
    eps = group["eps"]
    check_nonnegative("eps", eps)
    if eps >= _FLOAT32_TINY:  # nonzero in both dtypes: the check of every step stays cheap
        return
    tiny = [dt for dt in {p.data.dtype for p in group["params"]} if dt.type(eps) == 0]
    if tiny:
        shown = "0" if eps == 0 else f"0 in {tiny[0]}"
        raise ValueError(f"invalid eps: {eps!r} is {shown}, and a zero gradient with zero running averages "
                         "would then write 0/0 = NaN into the weights; use eps > 0 (the default is safe)")


def check_unit_interval(name: str, value: Any) -> None:
    """Raise ValueError unless 0 <= ``value`` < 1."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    if not 0 <= value < 1:
        raise ValueError(f"invalid {name}: {value!r} (must be in [0, 1))")


def _check_state_value(where: str, key: str, value: Any, shape: tuple[int, ...]) -> None:
    """One entry of a saved per-parameter state: a finite numeric array of the parameter's size,
    a non-negative integer ``step``, a finite number, or None (a buffer not created yet)."""
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "biuf":
            raise TypeError(f"{where}: state {key!r} has dtype {value.dtype}; expected numbers")
        if value.size != math.prod(shape):
            raise ValueError(f"{where}: state {key!r} of parameter {where.split()[-1]} has shape "
                             f"{value.shape}, parameter has shape {shape}")
        if not np.isfinite(value).all():
            raise ValueError(f"{where}: state {key!r} holds NaN or inf")
    elif key == "step":
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
            raise ValueError(f"{where}: state 'step' must be a non-negative integer, got {value!r}")
    elif value is not None:
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise TypeError(f"{where}: state {key!r} must be an array or a number, got {value!r}")
        if not math.isfinite(value):
            raise ValueError(f"{where}: state {key!r} is {value!r}")


def _is_param(p: Any) -> bool:
    data = getattr(p, "data", None)
    return isinstance(data, np.ndarray) and hasattr(p, "grad")


_UNUSED: dict[tuple[int, np.dtype], np.ndarray] = {}


def l2_decay(p, g, weight_decay):
    """The L2 penalty ½λ‖θ‖² folded into the gradient of one coordinate: d = g + λθ (PyTorch's
    ``weight_decay``); d = g when λ = 0."""
    if weight_decay != 0:
        return p * weight_decay + g
    return g


def unused(like: np.ndarray) -> np.ndarray:
    """A shared array of zeros shaped like the flat ``like``, passed for a state array the settings
    leave unused (an update rule hands such an array back unchanged, so it stays zeros)."""
    key = (like.size, like.dtype)
    if key not in _UNUSED:
        _UNUSED[key] = np.zeros(like.size, like.dtype)
    return _UNUSED[key]


def check_finite(grad: np.ndarray, gi: int, pi: int, shape: tuple[int, ...]) -> None:
    """Raise FloatingPointError if parameter ``pi`` of group ``gi`` has a NaN or inf in its gradient."""
    if not backends.active.all_finite(grad.reshape(-1)):
        raise FloatingPointError(
            f"non-finite gradient (nan or inf) for param_groups[{gi}] parameter {pi} "
            f"of shape {shape}; no parameter was updated"
        )


class Optimizer:
    """Base class: holds ``param_groups`` and ``state`` and runs the update loop.

    Subclasses define:

    * ``_validate(group)``: raise ValueError/TypeError for bad hyperparameters;
    * ``_init_state(param, group) -> dict``: fresh state for one parameter, given its flat view;
      state arrays are flat too (1-D, C-contiguous, the parameter's size), ready for the kernels;
    * ``_update(backend, param, grad, state, group)``: run the optimizer's update rule (written
      once, next to the class) through ``backend.update_unchecked`` on the flat (1-D,
      C-contiguous) ``param`` and ``grad`` arrays and the state: the arrays are the ones the step
      checked or made, so the backend does not check them again.  ``param`` is one parameter or,
      for a flat group, all of them (then the state holds the group's flat arrays).

    ``flat``: re-home each parameter group into flat buffers (:class:`~.flat.FlatGroup`) and
    update it with one kernel call per step, see :meth:`make_flat`.

    ``state`` maps ``id(param)`` to that parameter's state dict (ids, not the Tensors themselves,
    because a Tensor with elementwise ``==`` need not be hashable).
    """

    def __init__(self, params: Iterable[Any] | Iterable[dict], defaults: dict[str, Any], flat: bool = False):
        if _is_param(params) or isinstance(params, np.ndarray):
            raise TypeError(
                "params must be an iterable of parameters or of dicts, "
                f"got a single {type(params).__name__}; wrap it in a list"
            )
        if isinstance(params, (set, frozenset)):
            raise TypeError("params must be an ordered iterable (a set has no stable order)")
        self.defaults = dict(defaults)
        self.param_groups: list[dict[str, Any]] = []
        self.state: dict[int, dict[str, Any]] = {}
        self.flat = bool(flat)
        self._homes: list[FlatGroup | None] = []  # per group, with ``flat``: its flat buffers
        self._flat_data: dict[int, tuple] = {}  # id(p) -> (p.data, its 1-D view or None), see _adopt_data
        self._valid: dict[int, list] = {}  # group index -> its hyperparameters last found valid
        groups = list(params)
        if not groups:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    # ----------------------------------------------------------------------------- groups
    def add_param_group(self, group: dict[str, Any]) -> None:
        """Append a parameter group, filling unspecified hyperparameters from the defaults."""
        if not isinstance(group, dict):
            raise TypeError(f"a parameter group must be a dict, got {type(group).__name__}")
        if "params" not in group:
            raise ValueError("a parameter group needs a 'params' entry")
        params = group["params"]
        params = [params] if _is_param(params) else list(params)
        if not params:
            raise ValueError(f"parameter group {len(self.param_groups)} is empty")
        for i, p in enumerate(params):
            if not _is_param(p):
                raise TypeError(
                    f"parameter {i} of group {len(self.param_groups)} is a {type(p).__name__}, "
                    "not a Tensor (needs a .data ndarray and a .grad)"
                )
            if p.data.dtype not in (np.float32, np.float64):
                raise TypeError(f"parameter {i} has dtype {p.data.dtype}; need float32/float64")
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        ids = [id(p) for p in params]
        if len(set(ids)) != len(ids) or seen.intersection(ids):
            raise ValueError("a parameter appears more than once in the parameter groups")
        merged = {**copy.deepcopy(self.defaults), **group, "params": params}
        self._validate(merged)
        self.param_groups.append(merged)
        if self.flat:
            self._home(len(self.param_groups) - 1)
        groups_edited()  # a captured step re-records: it may step this group (or this new optimizer) now

    def make_flat(self) -> list[FlatGroup | None]:
        """Re-home every parameter group into flat buffers (:class:`~.flat.FlatGroup`), from now on
        (``flat = True``) and return them, one per group (None for a group that mixes dtypes, which
        is updated per parameter).  A group already re-homed, whose parameters still live in its
        buffers, keeps them; the values of the parameters and the state do not change."""
        self.flat = True
        return [self._home(gi) for gi in range(len(self.param_groups))]

    def _home(self, gi: int) -> FlatGroup | None:
        """Group ``gi``'s flat buffers, made anew if it has none or they are stale (a rebound
        ``p.data``, ``Module.to``, an edited parameter list): the state follows at the next step."""
        if gi >= len(self._homes):  # a group appended to param_groups directly
            self._homes += [None] * (gi + 1 - len(self._homes))
        params = self.param_groups[gi]["params"]
        home = self._homes[gi]
        if home is None or not home.holds(params):
            dtypes = {p.data.dtype for p in params}
            home = self._homes[gi] = FlatGroup(params) if len(dtypes) == 1 else None
            self._valid.pop(gi, None)  # eps may be 0 in a new dtype: check the group again
        return home

    def _validate(self, group: dict[str, Any]) -> None:
        check_nonnegative("lr", group["lr"])

    # ------------------------------------------------------------------------------ steps
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset gradients: ``p.grad = None`` (default, as PyTorch) or fill them with zeros
        (:func:`~tinygrad_lab.autograd.zero_grad`)."""
        zero_grad([p for group in self.param_groups for p in group["params"]], set_to_none)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient; return ``closure()`` if one is given.

        All or nothing: every group's hyperparameters (which may have been changed in
        ``param_groups`` since construction) and every gradient's shape and dtype are checked before
        any parameter is written; a gradient holding NaN or inf raises FloatingPointError.  Then
        each group is updated: a flat group (``flat=True``) whose parameters all have gradients and
        share their scalar state in one update over its flat buffers, any other group one parameter
        at a time (bit for bit the same values).
        """
        loss = closure() if closure is not None else None
        recorder = MODES.recorder
        if recorder is not None:
            recorder.optimizer_step(self, closure)
        work = [self._checked(gi, group) for gi, group in enumerate(self.param_groups)]
        backend = backends.active
        for group, home, items in work:
            if home is None or not self._update_flat(backend, home, items, group):
                for p, grad, flat in items:
                    self._update_param(backend, p, grad, flat, group)
        return loss

    def _checked(self, gi: int, group: dict[str, Any]) -> tuple[dict[str, Any], FlatGroup | None, list]:
        """Every check of one group before any update: its hyperparameters, each gradient's shape,
        dtype and finiteness.  Returns (group, its flat buffers with the gradients gathered, or None
        where the group is updated per parameter, [(parameter, gradient array, 1-D view of its data
        or None)])."""
        params = group["params"]
        home = self._home(gi) if self.flat else None
        if home is None:
            items = self._checked_grads(gi, params, finite=True)
        elif home.bound():  # a captured step's backward wrote the flat gradient buffer
            items = home.items
        elif any(p.grad is None for p in params):  # updated per parameter, on the views
            home.unsync()
            home, items = None, self._checked_grads(gi, params, finite=True)
        else:
            items = self._checked_grads(gi, params, finite=False)
            home.gather([grad for _, grad, _ in items])
        if home is not None and not backends.active.all_finite(home.grad):  # say which one
            for pi, (p, grad, _) in enumerate(items):
                check_finite(grad, gi, pi, p.data.shape)
        self.validate_group(gi)  # after _adopt_data, which may ask for it
        return group, home, items

    def _checked_grads(self, gi: int, params: list, finite: bool) -> list:
        """[(parameter, gradient array, 1-D view of its data or None)] for the parameters with a
        gradient, each gradient's shape and dtype checked (and its finiteness, with ``finite``)."""
        items = []
        for pi, p in enumerate(params):
            if p.grad is None:
                continue
            grad = np.asarray(p.grad.data)
            if grad.shape != p.data.shape:
                raise ValueError(
                    f"param_groups[{gi}] parameter {pi}: grad shape {grad.shape} "
                    f"!= parameter shape {p.data.shape}"
                )
            if grad.dtype.kind != "f":
                raise TypeError(
                    f"param_groups[{gi}] parameter {pi}: grad dtype {grad.dtype} is not a float "
                    "dtype; no parameter was updated"
                )
            known = self._flat_data.get(id(p))
            if known is None or known[0] is not p.data:
                known = self._adopt_data(gi, pi, p)
            if finite:
                check_finite(grad, gi, pi, p.data.shape)
            items.append((p, grad, known[1]))
        return items

    def _update_flat(self, backend, home: FlatGroup, items: list, group: dict[str, Any]) -> bool:
        """The update of a whole flat group: ``_update`` once on its flat buffers (the gradients
        gathered), if its parameters share their scalar state (a parameter without a state gets a
        fresh one only with all the others).  Returns whether it ran."""
        states = list(map(self.state.get, home.ids))
        if all(s is None for s in states):
            states = [self.state.setdefault(id(p), {}) for p, _, _ in items]
            home.state = self._init_state(home.data, group)
            home.share(states)
        state = home.shared_state(states)
        if state is None:
            home.unsync()  # the parameters are updated one by one
            return False
        self._update(backend, home.data, home.grad, state, group)
        home.share(states)
        for modified in home.marks:
            modified()
        return True

    def _update_param(self, backend, p: Any, grad: np.ndarray, flat: np.ndarray | None,
                      group: dict[str, Any]) -> None:
        """The update of one parameter: ``_update`` on its data (``flat``, its 1-D view, or a copy
        written back where it has none), gradient and state as flat arrays."""
        data = p.data
        work = flat if flat is not None else np.ascontiguousarray(data).reshape(-1)
        state = self.state.get(id(p))
        if state is None:
            state = self.state[id(p)] = self._init_state(work, group)
        self._update(backend, work, np.ascontiguousarray(grad, dtype=data.dtype).reshape(-1), state, group)
        if flat is None:  # the update went to a copy: write it back
            data[...] = work.reshape(data.shape)
        if hasattr(p, "mark_modified"):  # a graph that still holds p must not use the new value
            p.mark_modified()

    def _adopt_data(self, gi: int, pi: int, p: Any) -> tuple[np.ndarray, np.ndarray | None]:
        """Once per array ``p.data`` (a new parameter, a rebound ``p.data``, ``Module.to``): the checks
        of the array and (it, its 1-D view for the kernels, or None if it has none), the parameter's
        state cast to its dtype.  Raises ValueError if the array is read-only."""
        data = p.data
        if not data.flags.writeable:
            raise ValueError(f"param_groups[{gi}] parameter {pi} of shape {data.shape} is read-only; "
                             "no parameter was updated")
        self._valid.pop(gi, None)  # eps may be 0 in a new dtype: check the group again
        for key, value in self.state.get(id(p), {}).items():
            if type(value) is np.ndarray and value.dtype != data.dtype:
                self.state[id(p)][key] = value.astype(data.dtype)
        known = self._flat_data[id(p)] = (data, data.reshape(-1) if data.flags.c_contiguous else None)
        return known

    def validate_group(self, gi: int) -> None:
        """Check ``param_groups[gi]``'s hyperparameters (they may have changed since the last step):
        when its values (and their types) differ from the ones last found valid, or its parameters'
        dtypes may have (see :meth:`_adopt_data`)."""
        group = self.param_groups[gi]
        values = [(k, v, type(v)) for k, v in group.items() if k != "params"]
        if self._valid.get(gi) == values:
            return
        try:
            self._validate(group)
        except (TypeError, ValueError) as e:
            raise type(e)(f"param_groups[{gi}]: {e}; no parameter was updated") from None
        if all(type(v) in (int, float, bool, tuple) for _, v, _ in values):  # not a list changed in place
            self._valid[gi] = values

    def _init_state(self, param: np.ndarray, group: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def _update(self, backend, param: np.ndarray, grad: np.ndarray, state: dict[str, Any],
                group: dict[str, Any]) -> None:
        raise NotImplementedError

    @staticmethod
    def _buffer(state: dict[str, Any], key: str, like: np.ndarray) -> np.ndarray:
        """``state[key]``, created as zeros shaped like the flat ``like`` if missing."""
        buf = state.get(key)
        if buf is None:
            buf = state[key] = np.zeros_like(like)
        return buf

    # ------------------------------------------------------------------------ (de)serialise
    def state_dict(self) -> dict[str, Any]:
        """Deep copy of the state: ``{"state": {index: {...}}, "param_groups": [...]}``.

        Parameters are referred to by their running index over all groups (as PyTorch does).
        """
        index: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            ids = []
            for p in group["params"]:
                index.setdefault(id(p), len(index))
                ids.append(index[id(p)])
            saved = {k: copy.deepcopy(v) for k, v in group.items() if k != "params"}
            saved["params"] = ids
            groups.append(saved)
        state = {index[pid]: copy.deepcopy(s) for pid, s in self.state.items() if pid in index}
        return {"optimizer": type(self).__name__, "state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore from :meth:`state_dict` output (deep-copied; arrays cast to each param's dtype).

        All or nothing: everything is checked before anything changes.  Raises KeyError naming
        missing or unexpected top-level keys; TypeError if the state dict comes from another
        optimizer type (its ``"optimizer"`` entry, or its groups' hyperparameter names); ValueError
        if the number of groups or of parameters in a group, or the size of a state array does not
        match, or a hyperparameter or state value is out of range or not finite.
        """
        if not isinstance(state_dict, dict):
            raise TypeError(f"load_state_dict: expected a dict, got {type(state_dict).__name__}")
        missing = sorted({"state", "param_groups"} - set(state_dict))
        unexpected = sorted(set(state_dict) - {"state", "param_groups", "optimizer"})
        if missing or unexpected:
            raise KeyError(f"load_state_dict: missing keys {missing}, unexpected keys {unexpected}")
        name = type(self).__name__
        if state_dict.get("optimizer", name) != name:
            raise TypeError(f"load_state_dict: the state dict is from {state_dict['optimizer']}, "
                            f"this optimizer is {name}")
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(
                f"state dict has {len(saved_groups)} parameter groups, "
                f"optimizer has {len(self.param_groups)}"
            )
        params, new_groups = [], []
        for gi, (saved, group) in enumerate(zip(saved_groups, self.param_groups)):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(
                    f"parameter group {gi}: state dict has {len(saved['params'])} parameters, "
                    f"optimizer has {len(group['params'])}"
                )
            hyper = set(saved) - {"params", "initial_lr"}
            if hyper != set(self.defaults):
                raise TypeError(
                    f"load_state_dict: parameter group {gi} has hyperparameters {sorted(hyper)}, "
                    f"but {name} has {sorted(self.defaults)} (a state dict of another optimizer?)"
                )
            new_group = {k: copy.deepcopy(v) for k, v in saved.items() if k != "params"}
            new_group["params"] = group["params"]
            try:
                self._validate(new_group)
                if "initial_lr" in new_group:
                    check_nonnegative("initial_lr", new_group["initial_lr"])
            except (TypeError, ValueError) as e:
                raise type(e)(f"load_state_dict: parameter group {gi}: {e}") from None
            new_groups.append(new_group)
            params.extend((idx, p, new_group) for idx, p in zip(saved["params"], group["params"]))
        by_index = {idx: (p, group) for idx, p, group in params}
        new_state: dict[int, dict[str, Any]] = {}
        for idx, saved_state in state_dict["state"].items():
            if idx not in by_index:
                raise ValueError(f"state dict has state for unknown parameter index {idx}")
            p, group = by_index[idx]
            where = f"load_state_dict: parameter {idx}"
            if not isinstance(saved_state, dict):
                raise TypeError(f"{where}: state must be a dict, got {type(saved_state).__name__}")
            needed = set(self._init_state(np.zeros(p.data.size, p.data.dtype), group)) - set(saved_state)
            if needed:
                raise KeyError(f"{where}: state lacks {sorted(needed)}")
            restored = {}
            for key, value in saved_state.items():
                _check_state_value(where, key, value, p.data.shape)
                if isinstance(value, np.ndarray):
                    value = np.array(value, dtype=p.data.dtype, order="C").reshape(-1)
                else:
                    value = copy.deepcopy(value)
                restored[key] = value
            new_state[id(p)] = restored
        for group, new_group in zip(self.param_groups, new_groups):
            group.clear()
            group.update(new_group)
        self.state = new_state

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            hyper = ", ".join(f"{k}={v}" for k, v in group.items() if k != "params")
            lines.append(f"  group {i}: {len(group['params'])} params, {hyper}")
        return "\n".join(lines + [")"])
