"""Pixel-wise base losses: L1 (mean absolute error) and MSE (mean squared error)."""
import torch

from vidtoolbox.registry import MODELS
from .base import BaseLoss, reduce_loss

__all__ = ['L1Loss', 'MSELoss', 'check_same_shape']

_REDUCTIONS = ('mean', 'sum')


def check_same_shape(name: str, pred: torch.Tensor, target: torch.Tensor) -> None:
    """Raise a clear error unless ``pred`` and ``target`` are tensors of the same shape."""
    for arg, t in (('pred', pred), ('target', target)):
        if not isinstance(t, torch.Tensor):
            raise TypeError(f'{name}: {arg} must be a torch.Tensor, got {type(t).__name__}')
    if pred.shape != target.shape:
        raise ValueError(f'{name}: pred {tuple(pred.shape)} and target {tuple(target.shape)} must have '
                         'the same shape')


class _PixelwiseLoss(BaseLoss):
    """Shared constructor of the element-wise losses (``reduction`` check)."""

    def __init__(self, loss_weight: float = 1.0, reduction: str = 'mean', loss_name: str = None,
                 inputs: dict = None):
        super().__init__(loss_weight, loss_name, inputs)
        if reduction not in _REDUCTIONS:
            raise ValueError(f'{type(self).__name__}: reduction must be one of {_REDUCTIONS}, got {reduction!r}')
        self.reduction = reduction

    def extra_repr(self) -> str:
        return f'loss_weight={self.loss_weight}, reduction={self.reduction!r}, loss_name={self.loss_name!r}'


@MODELS.register_module()
class L1Loss(_PixelwiseLoss):
    """``loss_weight · reduce(|pred − target|)``.

    Args:
        loss_weight: multiplier of the result.
        reduction: ``'mean'`` (default, over every element) | ``'sum'``.
        loss_name: log name (default ``'loss_l1'``).
        inputs: context-key remapping (see :class:`BaseLoss`).

    Forward:
        pred, target: tensors of the same shape (any layout, e.g. ``(B, 3, H, W)`` or ``(B, T, 3, H, W)``
        images in [0, 1]).

    Returns:
        scalar tensor.
    """

    default_name = 'loss_l1'

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        check_same_shape('L1Loss', pred, target)
        return self.loss_weight * reduce_loss((pred - target).abs(), self.reduction)


@MODELS.register_module()
class MSELoss(_PixelwiseLoss):
    """``loss_weight · reduce((pred − target)²)``.

    Args:
        loss_weight: multiplier of the result.
        reduction: ``'mean'`` (default) | ``'sum'``.
        loss_name: log name (default ``'loss_mse'``).
        inputs: context-key remapping (see :class:`BaseLoss`).

    Forward:
        pred, target: tensors of the same shape (any layout).

    Returns:
        scalar tensor.
    """

    default_name = 'loss_mse'

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        check_same_shape('MSELoss', pred, target)
        return self.loss_weight * reduce_loss((pred - target) ** 2, self.reduction)
