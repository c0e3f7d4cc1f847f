"""PSNR on the [0, 255] scale after rounding, as MMagic / BasicSR ``calculate_psnr`` compute it."""
from typing import Optional

import numpy as np

from vidtoolbox.registry import METRICS

from ._utils import ArrayLike, FrameMetric, prepare_pair, reduce_images, rgb2y

__all__ = ['psnr', 'rgb2y', 'PSNR']


def _psnr_255(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a - b) ** 2))
    return float('inf') if mse == 0 else 10.0 * np.log10(255.0 ** 2 / mse)


def psnr(img1: ArrayLike, img2: ArrayLike, crop_border: int = 0, convert_to: Optional[str] = None,
         input_order: str = 'CHW', input_range: Optional[float] = None) -> float:
    """Peak signal-to-noise ratio in dB, ``10·log10(255² / MSE)`` on rounded [0, 255] images.

    Both images are clipped to ``[0, input_range]``, scaled to [0, 255] and rounded (the saved 8-bit image), then
    optionally cropped and converted to BT.601 Y (see :func:`rgb2y`); the MSE is over all channels and pixels.
    Two identical images give ``inf``. A pair differing by a constant ``d`` (on [0, 255]) gives ``20·log10(255/d)``.

    Args:
        img1, img2 (np.ndarray | torch.Tensor): RGB (or 1-channel) images of the same shape, ``(C, H, W)`` /
            ``(N, C, H, W)`` for ``'CHW'`` or ``(H, W, C)`` / ``(N, H, W, C)`` for ``'HWC'``, values in
            ``[0, input_range]``.
        crop_border (int): pixels removed on each side (TDAN tables: 8; REDS4: 0).
        convert_to (str, optional): ``None`` (RGB) or ``'Y'``.
        input_order (str): ``'CHW'`` or ``'HWC'``.
        input_range (float, optional): full intensity; default 255 for uint8, else 1.0.

    Returns:
        float: PSNR in dB (the mean over the N images of a batch).

    Raises:
        ValueError: shape mismatch, bad ``convert_to`` / ``crop_border`` / ``input_order``, wrong channel count.
    """
    a, b = prepare_pair(img1, img2, crop_border, convert_to, input_order, input_range)
    return reduce_images(_psnr_255, a, b)


@METRICS.register_module()
class PSNR(FrameMetric):
    """PSNR metric (key ``'PSNR'``, plus ``'PSNR_t+s'`` per prediction step when pred has M > 1 frames).

    Reads ``pred`` / ``gt`` of each data sample, ``(C, H, W)`` or ``(M, C, H, W)`` RGB in [0, 1]; computes
    :func:`psnr` per frame on rounded [0, 255] values; averages over frames, then samples (an exact match gives
    ``inf``). See :class:`~vidtoolbox.evaluation.metrics._utils.FrameMetric` for the arguments
    (``crop_border=0, convert_to=None|'Y', steps=(1, 3, 5), prefix=None``).
    """

    metric_name = 'PSNR'

    def frame_value(self, pred: np.ndarray, gt: np.ndarray) -> float:
        return _psnr_255(pred, gt)
