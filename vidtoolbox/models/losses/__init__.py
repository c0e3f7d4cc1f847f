from .base import BaseLoss, reduce_loss
from .charbonnier import CharbonnierLoss

__all__ = ['BaseLoss', 'reduce_loss', 'CharbonnierLoss']
