"""Optimizers, learning-rate schedules, gradient clipping and an in-place Newton step.

All optimizers share :class:`Optimizer` (param groups, state, ``step``/``zero_grad``,
``state_dict``) and follow ``torch.optim``'s update rules exactly; each writes its update rule once,
for one coordinate, and the active backend (:mod:`tinygrad_lab.backend`) runs it over the
parameter in place.
"""

from . import lr_scheduler
from .adadelta import Adadelta
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .clip import clip_grad_norm_, clip_grad_value_
from .nadam import NAdam
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD

#: optimizer by its lower-case name (``tinygrad-lab train --optimizer`` offers each)
REGISTRY = {cls.__name__.lower(): cls for cls in (SGD, Adagrad, RMSprop, Adam, AdamW, NAdam, Adadelta)}

__all__ = ["REGISTRY", "Optimizer", "SGD", "Adagrad", "RMSprop", "Adam", "AdamW", "NAdam", "Adadelta", "lr_scheduler",
           "clip_grad_norm_", "clip_grad_value_", "newton_step_"]


def __getattr__(name):
    """``newton_step_`` is imported on first use: it needs the Hessian tools (functional, forward_ad),
    which importing an optimizer does not load."""
    if name == "newton_step_":
        from .newton import newton_step_
        return newton_step_
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
