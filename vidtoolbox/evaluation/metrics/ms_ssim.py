"""Multi-scale SSIM (Wang et al. 2003) through ``pytorch_msssim``, on rounded [0, 255] images."""
from typing import Optional, Sequence

import numpy as np
import torch
from pytorch_msssim import ms_ssim as _pm_ms_ssim

from vidtoolbox.registry import METRICS

from ._utils import ArrayLike, FrameMetric, prepare_pair, reduce_images

__all__ = ['ms_ssim', 'MSSSIM', 'MS_SSIM_WEIGHTS']

#: Per-scale exponents of Wang et al. 2003 (pytorch_msssim's defaults), finest scale first.
MS_SSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
WIN_SIZE = 11
WIN_SIGMA = 1.5


def _min_side() -> int:
    # pytorch_msssim asserts min(H, W) > (win_size - 1) * 2 ** 4, whatever the number of scales
    return (WIN_SIZE - 1) * 2 ** 4 + 1


def _ms_ssim_255(a: np.ndarray, b: np.ndarray, weights: Sequence[float] = MS_SSIM_WEIGHTS) -> float:
    h, w = a.shape[-2:]
    need = _min_side()
    if min(h, w) < need:
        raise ValueError(f'MS-SSIM (pytorch_msssim, {WIN_SIZE}x{WIN_SIZE} window) needs images of at least '
                         f'{need}x{need} pixels (after crop_border), got {h}x{w}; use SSIM for smaller images')
    val = _pm_ms_ssim(torch.from_numpy(a), torch.from_numpy(b), data_range=255.0, size_average=True,
                      win_size=WIN_SIZE, win_sigma=WIN_SIGMA, weights=list(weights), K=(0.01, 0.03))
    return float(val)


def ms_ssim(img1: ArrayLike, img2: ArrayLike, crop_border: int = 0, convert_to: Optional[str] = None,
            input_order: str = 'CHW', input_range: Optional[float] = None,
            weights: Sequence[float] = MS_SSIM_WEIGHTS) -> float:
    """Multi-scale SSIM in [0, 1] (1 for identical images).

    Images are clipped, scaled to [0, 255] and rounded, optionally cropped and converted to BT.601 Y, then
    ``pytorch_msssim.ms_ssim`` runs in float64 with ``data_range=255`` (so ``C1 = (0.01·255)²``,
    ``C2 = (0.03·255)²``, the same as on [0, 1] with ``data_range=1``), Gaussian window 11×11 σ 1.5 with valid
    filtering, 2×2 average pooling between scales, and per-scale exponents ``weights`` (Wang et al. 2003):
    ``MS-SSIM = Π_{j<L} relu(cs_j)^{w_j} · relu(ssim_L)^{w_L}`` per channel, averaged over channels. The relu
    (a pytorch_msssim convention) keeps the value in [0, 1]. The smaller image side must be at least
    161 px (pytorch_msssim's bound for 4 downsamplings, applied whatever the number of scales).

    Args:
        img1, img2: as :func:`~vidtoolbox.evaluation.metrics.psnr.psnr`.
        crop_border (int): pixels removed on each side.
        convert_to (str, optional): ``None`` (RGB) or ``'Y'``.
        input_order (str): ``'CHW'`` or ``'HWC'``.
        input_range (float, optional): full intensity; default 255 for uint8, else 1.0.
        weights (Sequence[float]): per-scale exponents (their count is the number of scales L).

    Returns:
        float: MS-SSIM (the mean over the N images of a batch).

    Raises:
        ValueError: shape mismatch, bad arguments, image too small for the number of scales.
    """
    a, b = prepare_pair(img1, img2, crop_border, convert_to, input_order, input_range)
    return reduce_images(lambda x, y: _ms_ssim_255(x, y, weights), a, b)


@METRICS.register_module()
class MSSSIM(FrameMetric):
    """MS-SSIM metric (key ``'MS-SSIM'``, plus ``'MS-SSIM_t+s'`` per prediction step when pred has M > 1 frames).

    Reads ``pred`` / ``gt`` of each data sample, ``(C, H, W)`` or ``(M, C, H, W)`` RGB in [0, 1]; computes
    :func:`ms_ssim` per frame; averages over frames, then samples. Range [0, 1] (the VFI-opt paper reports it
    ×1e-2). Arguments as :class:`~vidtoolbox.evaluation.metrics._utils.FrameMetric`, plus ``weights``.
    """

    metric_name = 'MS-SSIM'

    def __init__(self, *args, weights: Sequence[float] = MS_SSIM_WEIGHTS, **kwargs):
        super().__init__(*args, **kwargs)
        weights = [float(w) for w in weights]
        if not weights:
            raise ValueError('MSSSIM: weights must hold at least one per-scale exponent')
        self.weights = weights

    def frame_value(self, pred: np.ndarray, gt: np.ndarray) -> float:
        return _ms_ssim_255(pred, gt, self.weights)
