"""Optimizers, learning-rate schedules, gradient clipping and a Newton step.

All optimizers share :class:`Optimizer` (param groups, state, ``step``/``zero_grad``,
``state_dict``) and follow ``torch.optim``'s update rules exactly; each runs one fused in-place
kernel per parameter from the active backend (:mod:`tinygrad_lab.backend`).
"""

from . import lr_scheduler
from .adadelta import Adadelta
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .clip import clip_grad_norm_, clip_grad_value_
from .nadam import NAdam
from .newton import newton_step
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD

#: optimizer by its lower-case name (``tinygrad-lab train --optimizer`` offers each)
REGISTRY = {cls.__name__.lower(): cls for cls in (SGD, Adagrad, RMSprop, Adam, AdamW, NAdam, Adadelta)}

__all__ = ["REGISTRY", "Optimizer", "SGD", "Adagrad", "RMSprop", "Adam", "AdamW", "NAdam", "Adadelta", "lr_scheduler",
           "clip_grad_norm_", "clip_grad_value_", "newton_step"]
