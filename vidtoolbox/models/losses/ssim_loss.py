"""Structural-similarity loss ``1 − SSIM`` (differentiable, via pytorch-msssim)."""
import torch
from pytorch_msssim import ssim as _ssim

from vidtoolbox.registry import MODELS
from .base import BaseLoss
from .pixelwise import check_same_shape

__all__ = ['SSIMLoss']


@MODELS.register_module()
class SSIMLoss(BaseLoss):
    """``loss_weight · (1 − SSIM(pred, target))`` with SSIM from ``pytorch_msssim.ssim``.

    SSIM uses an 11×11 Gaussian window (σ = 1.5), K = (0.01, 0.03), computed per channel on images in
    ``[0, data_range]`` with 'valid' filtering (no padding) and averaged over channels, pixels and the batch.
    Unlike the evaluation metric (:mod:`vidtoolbox.evaluation.metrics`), no rounding to 8 bits and no colour
    conversion happen here, so the loss is differentiable.

    Args:
        loss_weight: multiplier of the result.
        data_range: value range of the images (1.0 for the toolbox's [0, 1] images).
        win_size: odd Gaussian window size; images must be at least this large in H and W.
        win_sigma: Gaussian σ.
        loss_name: log name (default ``'loss_ssim'``).
        inputs: context-key remapping (see :class:`BaseLoss`).

    Forward:
        pred, target: ``(B, C, H, W)`` or ``(B, T, C, H, W)`` (T is folded into the batch), same shape.

    Returns:
        scalar tensor in ``[0, 2]·loss_weight`` (0 for identical images).
    """

    default_name = 'loss_ssim'

    def __init__(self, loss_weight: float = 1.0, data_range: float = 1.0, win_size: int = 11,
                 win_sigma: float = 1.5, loss_name: str = None, inputs: dict = None):
        super().__init__(loss_weight, loss_name, inputs)
        if isinstance(win_size, bool) or not isinstance(win_size, int) or win_size < 1 or win_size % 2 == 0:
            raise ValueError(f'SSIMLoss: win_size must be an odd positive int, got {win_size!r}')
        if not data_range > 0:
            raise ValueError(f'SSIMLoss: data_range must be > 0, got {data_range!r}')
        if not win_sigma > 0:
            raise ValueError(f'SSIMLoss: win_sigma must be > 0, got {win_sigma!r}')
        self.data_range = float(data_range)
        self.win_size = win_size
        self.win_sigma = float(win_sigma)

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        check_same_shape('SSIMLoss', pred, target)
        if pred.dim() == 5:
            pred, target = pred.flatten(0, 1), target.flatten(0, 1)
        if pred.dim() != 4:
            raise ValueError(f'SSIMLoss: expected (B, C, H, W) or (B, T, C, H, W) images, got shape '
                             f'{tuple(pred.shape)}')
        if min(pred.shape[-2:]) < self.win_size:
            raise ValueError(f'SSIMLoss: images of size {tuple(pred.shape[-2:])} are smaller than the SSIM window '
                             f'({self.win_size}); use larger patches or a smaller win_size')
        value = _ssim(pred, target, data_range=self.data_range, size_average=True, win_size=self.win_size,
                      win_sigma=self.win_sigma)
        return self.loss_weight * (1.0 - value)

    def extra_repr(self) -> str:
        return f'loss_weight={self.loss_weight}, data_range={self.data_range}, win_size={self.win_size}'
