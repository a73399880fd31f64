"""Module and Parameter: how layers own their weights and how a model lists, saves and loads them."""
from __future__ import annotations

from typing import Iterator

import numpy as np

from tinygrad_lab.tensor import Tensor


class Parameter(Tensor):
    """A leaf Tensor that a Module trains: ``requires_grad`` is True."""

    __slots__ = ()

    def __init__(self, data, dtype=None, name: str | None = None):
        super().__init__(data, requires_grad=True, dtype=dtype, name=name)


class Module:
    """Base class of layers and models.

    Parameters, sub-modules and buffers (non-trained state such as BatchNorm's running mean) are
    found by walking the attributes in the order they were set: a ``Parameter`` attribute is a
    parameter, a ``Module`` (or a list of them) a sub-module, and names in ``buffers`` are arrays
    saved in the state dict.
    """

    buffers: tuple[str, ...] = ()
    training = True

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    def forward(self, *args, **kwargs):
        raise NotImplementedError

    # ----- walking the tree -------------------------------------------------------------------
    def named_children(self) -> Iterator[tuple[str, "Module"]]:
        for name, value in vars(self).items():
            if isinstance(value, Module):
                yield name, value
            elif isinstance(value, (list, tuple)) and value and all(isinstance(m, Module) for m in value):
                for i, m in enumerate(value):
                    yield f"{name}.{i}", m

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, "Module"]]:
        yield prefix, self
        for name, child in self.named_children():
            yield from child.named_modules(f"{prefix}.{name}" if prefix else name)

    def modules(self) -> Iterator["Module"]:
        return (m for _, m in self.named_modules())

    def named_parameters(self) -> Iterator[tuple[str, Parameter]]:
        for prefix, module in self.named_modules():
            for name, value in vars(module).items():
                if isinstance(value, Parameter):
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

    def zero_grad(self) -> None:
        for p in self.parameters():
            p.grad = None

    # ----- saving and loading -----------------------------------------------------------------
    def state_dict(self) -> dict[str, np.ndarray]:
        """Copies of every parameter and buffer, by dotted name (``"0.weight"``, ``"1.running_mean"``)."""
        state = {name: p.data.copy() for name, p in self.named_parameters()}
        state.update((name, np.array(b, copy=True)) for name, b in self.named_buffers())
        return state

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        """Copy ``state`` into the parameters and buffers in place, all or nothing: missing,
        unexpected or mis-shaped entries raise a KeyError/ValueError naming them, before anything
        is written."""
        targets = dict(self.named_parameters())
        targets.update(self.named_buffers())
        missing = [k for k in targets if k not in state]
        unexpected = [k for k in state if k not in targets]
        if missing or unexpected:
            raise KeyError(f"load_state_dict: missing keys {missing}, unexpected keys {unexpected}")
        for name, target in targets.items():
            shape = np.shape(target.data if isinstance(target, Tensor) else target)
            if np.shape(state[name]) != shape:
                raise ValueError(f"load_state_dict: {name!r} has shape {np.shape(state[name])} in the "
                                 f"state dict but {shape} in the model")
        for name, target in targets.items():
            if isinstance(target, Tensor):
                target.data[...] = state[name]
                target.mark_modified()
            else:
                target[...] = state[name]

    def __repr__(self) -> str:
        children = list(self.named_children())
        if not children:
            return f"{type(self).__name__}({self.extra_repr()})"
        lines = [f"  ({name}): {child!r}".replace("\n", "\n  ") for name, child in children]
        return f"{type(self).__name__}(\n" + "\n".join(lines) + "\n)"

    def extra_repr(self) -> str:
        return ""


class Sequential(Module):
    """Modules applied one after the other: ``Sequential(Linear(2, 3), Sigmoid(), Linear(3, 1))``.

    Each layer is one call; to fuse a layer's activation into it, build the layer that way
    (``Linear(2, 3, activation="sigmoid")``, or ``MLP(..., fuse=True)``).
    """

    def __init__(self, *layers: Module):
        for i, layer in enumerate(layers):
            if not isinstance(layer, Module):
                raise TypeError(f"Sequential: item {i} is a {type(layer).__name__}, not a Module")
        self.layers = list(layers)

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
