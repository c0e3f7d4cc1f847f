"""Charbonnier (robust L1) loss."""
import torch

from vidtoolbox.registry import MODELS
from .base import BaseLoss, reduce_loss


def check_pair(name, pred, target):
    if pred.shape != target.shape:
        raise ValueError(f'{name}: pred {tuple(pred.shape)} and target {tuple(target.shape)} must have '
                         'the same shape')


@MODELS.register_module()
class CharbonnierLoss(BaseLoss):
    """``loss_weight · reduce(sqrt((pred − target)² + eps))``.

    Args:
        eps: inside the square root; 1e-12 as in MMagic and BasicSR.
        reduction: ``'mean'`` | ``'sum'``.
        pred, target (forward): tensors of the same shape (any layout), [0, 1] images in practice.
    """

    default_name = 'loss_pix'

    def __init__(self, loss_weight=1.0, eps=1e-12, reduction='mean', loss_name=None, inputs=None):
        super().__init__(loss_weight, loss_name, inputs)
        if reduction not in ('mean', 'sum'):
            raise ValueError(f'CharbonnierLoss: reduction must be "mean" or "sum", got {reduction!r}')
        self.eps = float(eps)
        self.reduction = reduction

    def forward(self, pred, target):
        check_pair('CharbonnierLoss', pred, target)
        return self.loss_weight * reduce_loss(torch.sqrt((pred - target) ** 2 + self.eps), self.reduction)
