"""Flat buffers for one parameter group: its parameters, gradients and optimizer state each re-homed
into one array, so that an update rule runs once over the whole group (``Optimizer(..., flat=True)``,
:meth:`~tinygrad_lab.optim.optimizer.Optimizer.make_flat`).

The update rules are elementwise: coordinate i of the result depends on coordinate i of θ, g and the
state only.  Running a rule once over the concatenation of a group's parameters therefore gives every
parameter exactly the values (bit for bit) that one run per parameter gives, provided the scalars the
rule reads (the hyperparameters, the state's step count) are the same for every parameter.  The gaps
that align each parameter hold θ = 0, g = 0 and zero state, which every rule maps to θ = 0 again
(their ε > 0 keeps 0/0 out), so the gaps stay zeros.
"""
from __future__ import annotations

import operator
from typing import Any

import numpy as np

__all__ = ["ALIGN_BYTES", "FlatGroup"]

_GRAD = operator.attrgetter("grad")

#: each parameter starts on a 64-byte boundary of the flat buffers, as a freshly allocated array does
ALIGN_BYTES = 64


class FlatGroup:
    """One parameter group re-homed.

    * ``data`` holds every parameter: ``p.data`` becomes the view ``views[i]`` of ``data[slices[i]]``
      (the values copied in; the Tensor stays the same object);
    * ``grad`` holds their gradients the same way (``grad_views``; a step copies each ``p.grad`` in,
      unless it already is that view, as in a captured step whose backward writes there);
    * ``state`` is the group's optimizer state: an array entry as one flat array, with each
      parameter's own entry (``optimizer.state[id(p)][key]``) a view of its slice, so
      ``state_dict()``/``load_state_dict()`` keep working per parameter; a scalar entry (Adam's step
      count) as the value every parameter shares.

    Raises ValueError if the parameters do not share one dtype.
    """

    def __init__(self, params: list) -> None:
        self.params = list(params)
        dtype = self.params[0].data.dtype
        if any(p.data.dtype != dtype for p in self.params):
            raise ValueError(f"the parameters mix dtypes ({sorted({str(p.data.dtype) for p in self.params})}); "
                             "a flat buffer holds one")
        align = ALIGN_BYTES // dtype.itemsize
        self.slices, end = [], 0
        for p in self.params:
            self.slices.append(slice(end, end + p.data.size))
            end += -(-p.data.size // align) * align
        self.data, self.grad = np.zeros(end, dtype), np.zeros(end, dtype)
        self.views = [self.data[s].reshape(p.data.shape) for p, s in zip(self.params, self.slices)]
        self.grad_views = [self.grad[s].reshape(p.data.shape) for p, s in zip(self.params, self.slices)]
        #: ``p.data`` without a Tensor's property call (the checks of every step read it)
        self._data_of = operator.attrgetter("_data" if all(hasattr(p, "_data") for p in self.params) else "data")
        for p, view in zip(self.params, self.views):
            view[...] = p.data
            setattr(p, "_data" if hasattr(p, "_data") else "data", view)  # a Tensor's setter would copy
        self.ids = [id(p) for p in self.params]
        #: (parameter, gradient view, 1-D view of its data) for each parameter, as the step uses them
        self.items = [(p, g, self.data[s]) for p, g, s in zip(self.params, self.grad_views, self.slices)]
        #: each parameter's ``mark_modified`` (a Tensor's: a graph that holds it must not use new values)
        self.marks = [p.mark_modified for p in self.params if hasattr(p, "mark_modified")]
        self.state: dict[str, Any] = {}
        self._synced: list | None = None  # the parameters' state dicts as share() left them
        self._entries: list[tuple] = []  # the objects each of those dicts held then
        self._arrays: dict[str, np.ndarray] = {}  # the flat arrays those dicts hold views of

    def holds(self, params: list) -> bool:
        """Whether ``params`` are this group's parameters, each ``p.data`` still its view (a rebound
        ``p.data``, ``Module.to`` or an edited parameter list make it stale)."""
        return (len(params) == len(self.params) and all(map(operator.is_, params, self.params))
                and all(map(operator.is_, map(self._data_of, params), self.views)))

    def bound(self) -> bool:
        """Whether every parameter's ``.grad`` is its view of ``grad`` (a captured step's backward
        wrote there): then its shape and dtype are right and nothing needs gathering."""
        try:
            return all(map(operator.is_, map(self._data_of, map(_GRAD, self.params)), self.grad_views))
        except AttributeError:  # a .grad is None
            return False

    def gather(self, grads: list[np.ndarray]) -> None:
        """Copy each parameter's gradient into its view of ``grad`` (cast to the buffer's dtype),
        unless it is that view already."""
        for g, view in zip(grads, self.grad_views):
            if g is not view:
                np.copyto(view, g, casting="same_kind")

    def shared_state(self, states: list[dict[str, Any]]) -> dict[str, Any] | None:
        """The group's state (``state``), or None if the parameters' states (None where a parameter
        has none yet) do not share their keys and scalars (a parameter stepped without the others).
        ``states`` holding the very objects :meth:`share` left in them are taken as they are;
        otherwise (an entry set anew by the user, ``load_state_dict``, a step of one parameter, the
        parameters re-homed) ``state`` is rebuilt from them, an array entry that is not a view of
        its flat array copied into a new flat array first."""
        if (self._synced is not None and all(map(operator.is_, states, self._synced))
                and all(map(_holds, states, self._entries))):
            return self.state
        first = states[0]
        if None in states or any(s.keys() != first.keys() for s in states):
            return None
        state: dict[str, Any] = {}
        for key, value in first.items():
            if type(value) is not np.ndarray:
                if any(type(s[key]) is np.ndarray or s[key] != value for s in states):
                    return None
                state[key] = value
            elif not all(type(s[key]) is np.ndarray for s in states):
                return None
            else:
                flat = self.state.get(key)
                if type(flat) is not np.ndarray or any(s[key].base is not flat for s in states):
                    flat = np.zeros_like(self.data)
                    for s, sl in zip(states, self.slices):
                        flat[sl] = s[key].reshape(-1)
                        s[key] = flat[sl]
                state[key] = flat
        self.state = state
        self._synced, self._arrays = states, {k: v for k, v in state.items() if type(v) is np.ndarray}
        self._entries = [tuple(s.values()) for s in states]
        return state

    def share(self, states: list[dict[str, Any]]) -> None:
        """After an update over the group: each parameter's state entries set from ``state`` (the
        new scalars; views of a flat array the update created)."""
        for key, value in self.state.items():
            if type(value) is not np.ndarray:
                for s in states:
                    s[key] = value
            elif self._arrays.get(key) is not value:
                for s, sl in zip(states, self.slices):
                    s[key] = value[sl]
                self._arrays[key] = value
        self._synced = states
        self._entries = [tuple(s.values()) for s in states]

    def unsync(self) -> None:
        """The parameters' states were changed one by one (a step per parameter): check them again."""
        self._synced = None


def _holds(state: dict[str, Any], entries: tuple) -> bool:
    """Whether ``state`` still holds exactly the objects ``entries`` (an entry set anew, as
    ``opt.state[id(p)]["step"] = 0`` or a new array, is seen)."""
    return len(state) == len(entries) and all(map(operator.is_, state.values(), entries))
