"""SSIM as MMagic / BasicSR ``calculate_ssim`` compute it (Gaussian 11×11, σ 1.5, rounded [0, 255], float64)."""
from typing import Optional

import numpy as np
import torch
from pytorch_msssim import ssim as _pm_ssim

from vidtoolbox.registry import METRICS

from ._utils import ArrayLike, FrameMetric, prepare_pair, reduce_images, rgb2y

__all__ = ['ssim', 'rgb2y', 'SSIM']

WIN_SIZE = 11
WIN_SIGMA = 1.5


def _ssim_255(a: np.ndarray, b: np.ndarray) -> float:
    h, w = a.shape[-2:]
    if min(h, w) < WIN_SIZE:
        raise ValueError(f'SSIM needs images of at least {WIN_SIZE}x{WIN_SIZE} pixels (after crop_border), '
                         f'got {h}x{w}')
    x, y = torch.from_numpy(a), torch.from_numpy(b)
    val = _pm_ssim(x, y, data_range=255.0, size_average=True, win_size=WIN_SIZE, win_sigma=WIN_SIGMA,
                   K=(0.01, 0.03), nonnegative_ssim=False)
    return float(val)


def ssim(img1: ArrayLike, img2: ArrayLike, crop_border: int = 0, convert_to: Optional[str] = None,
         input_order: str = 'CHW', input_range: Optional[float] = None) -> float:
    """Structural similarity, the field's definition (Wang et al. 2004 as in MMagic / BasicSR).

    Images are clipped, scaled to [0, 255] and rounded, optionally cropped and converted to BT.601 Y; then, per
    channel, in float64: Gaussian window 11×11, σ = 1.5, "valid" filtering (no padding: the map covers the
    ``(H-10) × (W-10)`` interior), ``C1 = (0.01·255)²``, ``C2 = (0.03·255)²``,
    ``SSIM = mean[(2μxμy + C1)(2σxy + C2) / ((μx² + μy² + C1)(σx² + σy² + C2))]``, averaged over channels.
    Computed with ``pytorch_msssim.ssim`` (identical definition; checked against a direct evaluation in the tests).
    Range [-1, 1], 1 for identical images.

    Args:
        img1, img2: as :func:`~vidtoolbox.evaluation.metrics.psnr.psnr`; at least 11×11 after cropping.
        crop_border (int): pixels removed on each side.
        convert_to (str, optional): ``None`` (RGB) or ``'Y'``.
        input_order (str): ``'CHW'`` or ``'HWC'``.
        input_range (float, optional): full intensity; default 255 for uint8, else 1.0.

    Returns:
        float: SSIM (the mean over the N images of a batch).

    Raises:
        ValueError: shape mismatch, bad arguments, image smaller than the 11×11 window.
    """
    a, b = prepare_pair(img1, img2, crop_border, convert_to, input_order, input_range)
    return reduce_images(_ssim_255, a, b)


@METRICS.register_module()
class SSIM(FrameMetric):
    """SSIM metric (key ``'SSIM'``, plus ``'SSIM_t+s'`` per prediction step when pred has M > 1 frames).

    Reads ``pred`` / ``gt`` of each data sample, ``(C, H, W)`` or ``(M, C, H, W)`` RGB in [0, 1]; computes
    :func:`ssim` per frame; averages over frames, then samples. Arguments as
    :class:`~vidtoolbox.evaluation.metrics._utils.FrameMetric` (``crop_border, convert_to, steps, prefix``).
    """

    metric_name = 'SSIM'

    def frame_value(self, pred: np.ndarray, gt: np.ndarray) -> float:
        return _ssim_255(pred, gt)
