"""Module and Parameter: how layers own their weights and how a model lists, saves and loads them."""
from __future__ import annotations

from typing import Iterator

import numpy as np

from tinygrad_lab.autograd import zero_grad
from tinygrad_lab.mode import module_edited
from tinygrad_lab.tensor import FLOAT_DTYPES, Tensor


class Parameter(Tensor):
    """A leaf Tensor that a Module trains: ``requires_grad`` is True."""

    __slots__ = ()

    def __init__(self, data, dtype=None, name: str | None = None):
        super().__init__(data, requires_grad=True, dtype=dtype, name=name)


_UNSET = object()


class Module:
    """Base class of layers and models.

    Parameters, sub-modules and buffers (non-trained state such as BatchNorm's running mean) are
    found by walking the attributes in the order they were set: a ``Parameter`` attribute is a
    parameter, a ``Module`` (or a list of them) a sub-module, and names in ``buffers`` are arrays
    saved in the state dict.

    Setting (to another object) or deleting an attribute, ``training`` included, and casting with
    :meth:`to` are noted as edits of the module tree (:func:`~tinygrad_lab.mode.module_edited`), and a
    list of modules is kept as a :class:`LayerList`, whose edits are noted too: a captured step
    replays only a plan recorded since the last edit.
    """

    buffers: tuple[str, ...] = ()
    training = True

    def __setattr__(self, name: str, value) -> None:
        if type(value) is list and all(isinstance(m, Module) for m in value):
            value = LayerList(value)
        # the object it already reads (`self.running_mean *= …` wrote in place, `training` as it was): no edit
        same = getattr(self, name, _UNSET) is value
        object.__setattr__(self, name, value)
        if not same:
            module_edited()

    def __delattr__(self, name: str) -> None:
        object.__delattr__(self, name)
        module_edited()

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    def forward(self, *args, **kwargs):
        raise NotImplementedError

    @staticmethod
    def layer_input(x, dtype, layer: str) -> Tensor:
        """``x`` as the input of ``layer``, whose parameters hold ``dtype``, by the one dtype rule:
        plain data (a numpy batch, a list) takes the parameters' dtype, as ``Tensor(x, dtype=...)``;
        a Tensor of the other float dtype is refused, never cast silently (as PyTorch)."""
        if not isinstance(x, Tensor):
            return Tensor(x, dtype=dtype)
        if x.dtype != dtype:
            casts = ("x.double()", ".float()") if dtype == np.float64 else ("x.float()", ".double()")
            raise TypeError(f"{layer} holds {dtype} weights but got a {x.dtype} input of shape {x.shape}; "
                            f"cast one of them: {casts[0]}, or the model with {casts[1]}")
        return x

    # ----- walking the tree -------------------------------------------------------------------
    def named_children(self) -> Iterator[tuple[str, "Module"]]:
        for name, value in vars(self).items():
            if isinstance(value, Module):
                yield name, value
            elif isinstance(value, (list, tuple)) and value and all(isinstance(m, Module) for m in value):
                for i, m in enumerate(value):
                    yield f"{name}.{i}", m

    def named_modules(self, prefix: str = "", _seen: set[int] | None = None) -> Iterator[tuple[str, "Module"]]:
        """Every module of the tree, each once (a layer used twice is listed under its first name)."""
        seen = set() if _seen is None else _seen
        if id(self) in seen:
            return
        seen.add(id(self))
        yield prefix, self
        for name, child in self.named_children():
            yield from child.named_modules(f"{prefix}.{name}" if prefix else name, seen)

    def modules(self) -> Iterator["Module"]:
        return (m for _, m in self.named_modules())

    def named_parameters(self) -> Iterator[tuple[str, Parameter]]:
        """Every parameter, each once (as PyTorch): a shared one is listed under its first name, so an
        optimizer steps it once per step."""
        seen: set[int] = set()
        for prefix, module in self.named_modules():
            for name, value in vars(module).items():
                if isinstance(value, Parameter) and id(value) not in seen:
                    seen.add(id(value))
                    yield (f"{prefix}.{name}" if prefix else name), value

    def parameters(self) -> Iterator[Parameter]:
        return (p for _, p in self.named_parameters())

    def named_buffers(self) -> Iterator[tuple[str, np.ndarray]]:
        for prefix, module in self.named_modules():
            for name in module.buffers:
                yield (f"{prefix}.{name}" if prefix else name), getattr(module, name)

    # ----- modes and gradients ----------------------------------------------------------------
    def train(self, mode: bool = True) -> "Module":
        """Training mode (BatchNorm uses batch statistics) or, with ``mode=False``, evaluation."""
        for m in self.modules():
            m.training = bool(mode)
        return self

    def eval(self) -> "Module":
        return self.train(False)

    def to(self, dtype) -> "Module":
        """Cast every parameter (and its gradient) and every buffer to ``dtype`` (float32 or
        float64), in place, and return the module, as PyTorch's ``module.to(dtype)``.

        Each parameter stays the same Tensor, holding a new array of the new dtype (its version is
        bumped: a graph built from the old weights refuses to backpropagate), so an optimizer built
        before the cast keeps stepping it; a captured step sees the rebound data and records again.
        """
        try:
            dtype = np.dtype(dtype)
        except TypeError:
            raise TypeError(f"{type(self).__name__}.to: {dtype!r} is not a dtype; parameters hold float32 "
                            "or float64") from None
        if dtype not in FLOAT_DTYPES:
            raise TypeError(f"{type(self).__name__}.to: parameters hold float32 or float64, got dtype {dtype}")
        cast = False
        for p in self.parameters():
            if p.dtype != dtype:
                p._data = p._data.astype(dtype)  # a new array, as PyTorch's param.data = param.data.to(dtype)
                p.mark_modified()
                cast = True
            if p.grad is not None and p.grad.dtype != dtype:
                p.grad = Tensor.wrap(p.grad.data.astype(dtype))
        for module in self.modules():  # a buffer cast is an edit of its module
            for name in module.buffers:
                setattr(module, name, np.asarray(getattr(module, name)).astype(dtype, copy=False))
        if cast:
            module_edited()  # the parameters hold new arrays: a captured step records again
        return self

    def float(self) -> "Module":
        """``to(float32)``."""
        return self.to(np.float32)

    def double(self) -> "Module":
        """``to(float64)``."""
        return self.to(np.float64)

    def zero_grad(self) -> None:
        """Every parameter's ``grad`` set to None (:func:`~tinygrad_lab.autograd.zero_grad`)."""
        zero_grad(list(self.parameters()))

    # ----- saving and loading -----------------------------------------------------------------
    def state_dict(self) -> dict[str, np.ndarray]:
        """Copies of every parameter and buffer, by dotted name (``"0.weight"``, ``"1.running_mean"``)."""
        state = {name: p.data.copy() for name, p in self.named_parameters()}
        state.update((name, np.array(b, copy=True)) for name, b in self.named_buffers())
        return state

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        """Copy ``state`` into the parameters and buffers in place, all or nothing: missing or
        unexpected keys (KeyError), and entries of the wrong shape, of non-numeric dtype or holding
        NaN/inf (ValueError/TypeError) are refused, naming them, before anything is written."""
        if not isinstance(state, dict):
            raise TypeError(f"load_state_dict: expected a dict of arrays, got {type(state).__name__}")
        targets = dict(self.named_parameters())
        targets.update(self.named_buffers())
        missing = [k for k in targets if k not in state]
        unexpected = [k for k in state if k not in targets]
        if missing or unexpected:
            raise KeyError(f"load_state_dict: missing keys {missing}, unexpected keys {unexpected}")
        values = {}
        for name, target in targets.items():
            value = state[name]
            value = np.asarray(value.data if isinstance(value, Tensor) else value)
            shape = np.shape(target.data if isinstance(target, Tensor) else target)
            if value.shape != shape:
                raise ValueError(f"load_state_dict: {name!r} has shape {value.shape} in the "
                                 f"state dict but {shape} in the model")
            if value.dtype.kind not in "biuf":
                raise TypeError(f"load_state_dict: {name!r} has dtype {value.dtype}; expected numbers")
            if value.dtype.kind == "f" and not np.isfinite(value).all():
                raise ValueError(f"load_state_dict: {name!r} holds NaN or inf")
            values[name] = value
        for name, target in targets.items():
            if isinstance(target, Tensor):
                target.copy_(values[name])
            else:
                target[...] = values[name]

    def __repr__(self) -> str:
        children = list(self.named_children())
        if not children:
            return f"{type(self).__name__}({self.extra_repr()})"
        lines = [f"  ({name}): {child!r}".replace("\n", "\n  ") for name, child in children]
        return f"{type(self).__name__}(\n" + "\n".join(lines) + "\n)"

    def extra_repr(self) -> str:
        """The layer's settings shown inside its parentheses by ``print(model)``."""
        return ""

    def num_parameters(self) -> int:
        """The number of trained values (elements of all parameters)."""
        return int(sum(p.size for p in self.parameters()))


class LayerList(list):
    """A module's list of sub-modules (``Sequential.layers``): a list whose every change in place
    (``append``, ``insert``, ``layers[i] = …``, ``del layers[i]``, …) is noted as an edit of the
    module tree."""

    __slots__ = ()


def _noting(method):
    def edit(self, *args, **kwargs):
        result = method(self, *args, **kwargs)
        module_edited()
        return result
    edit.__name__ = method.__name__
    return edit


for _name in ("append", "extend", "insert", "pop", "remove", "clear", "sort", "reverse",
              "__setitem__", "__delitem__", "__iadd__", "__imul__"):
    setattr(LayerList, _name, _noting(getattr(list, _name)))


class Sequential(Module):
    """Modules applied one after the other: ``Sequential(Linear(2, 3), Sigmoid(), Linear(3, 1))``.

    Each layer is one call; to fuse a layer's activation into it, build the layer that way
    (``Linear(2, 3, activation="sigmoid")``, or ``MLP(..., fuse=True)``).
    """

    def __init__(self, *layers: Module):
        for i, layer in enumerate(layers):
            if not isinstance(layer, Module):
                raise TypeError(f"Sequential: item {i} is a {type(layer).__name__}, not a Module")
        self.layers = LayerList(layers)

    def named_children(self):
        return ((str(i), m) for i, m in enumerate(self.layers))

    def __iter__(self):
        return iter(self.layers)

    def __len__(self) -> int:
        return len(self.layers)

    def __getitem__(self, i):
        return self.layers[i]

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x


def summary(model: Module, input_shape) -> None:
    """Print each layer of ``model`` with its output shape for an input of ``input_shape`` (batch
    dimension included) and its parameter count, then the totals (like torchinfo's ``summary``).

    The forward pass runs on zeros in eval mode without recording a graph; the model's mode is
    restored afterwards.  A Linear built with its activation inside is one row (one layer)."""
    from tinygrad_lab.tensor import no_grad

    rows: list[tuple[str, str, str, int]] = []
    leaves = [(name, m) for name, m in model.named_modules() if not list(m.named_children())]
    saved = [m.training for m in model.modules()]

    def recording(name, module):
        def forward(*args, **kwargs):
            y = type(module).forward(module, *args, **kwargs)
            rows.append((name or type(module).__name__, type(module).__name__, str(tuple(np.shape(y))),
                         module.num_parameters()))
            return y
        return forward

    dtype = next(model.parameters()).dtype if model.num_parameters() else np.float64
    try:
        model.eval()
        for name, m in leaves:
            m.forward = recording(name, m)
        with no_grad():
            model(Tensor(np.zeros(tuple(input_shape), dtype=dtype)))
    finally:
        for name, m in leaves:
            del m.forward
        for m, training in zip(model.modules(), saved):
            m.training = training
    header = ("Layer", "Type", "Output shape", "Param #")
    table = [header] + [(n, t, s, f"{c:,}") for n, t, s, c in rows]
    widths = [max(len(r[i]) for r in table) for i in range(4)]
    lines = ["  ".join(c.ljust(w) if i < 3 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))
             for r in table]
    rule = "-" * len(lines[0])
    total = model.num_parameters()
    print("\n".join([lines[0], rule, *lines[1:], rule, f"Total params: {total:,}", f"Input shape: {tuple(input_shape)}"]))
