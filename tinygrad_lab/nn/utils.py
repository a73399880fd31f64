"""``torch.nn.utils``'s names for the gradient clipping of :mod:`tinygrad_lab.optim.clip`."""
from tinygrad_lab.optim.clip import clip_grad_norm_, clip_grad_value_

__all__ = ["clip_grad_norm_", "clip_grad_value_"]
