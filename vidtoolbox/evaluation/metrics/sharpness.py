"""Sharpness: gradient energy of a prediction relative to its ground truth (blur < 1 ≈ sharp < noise).

PSNR and SSIM reward a blurry average when the future is uncertain (the mean of many plausible frames is closer
to each of them than any one of them is); they cannot tell "blurry but on average right" from "sharp". This
measure looks at the prediction's detail only::

    G(I)              = mean over channels and interior pixels of sqrt(∂x I² + ∂y I²)
                        (central differences (I[j+1] − I[j−1]) / 2, on the rounded [0, 255] image)
    Sharpness(x̂, x)   = G(x̂) / G(x)

* ``1``: as much edge/texture energy as the ground truth (the ground truth itself, or a sharp copy at a wrong
  position: sharpness is not fidelity — read it beside PSNR/SSIM);
* ``< 1``: detail lost — blur (a Gaussian blur with σ = 2 px gives 0.38–0.67 on the built-in photos
  ``coffee``, ``chelsea``, ``astronaut`` at 96×96: strong step edges keep more of their gradient);
* ``> 1``: more high-frequency energy than the ground truth — noise, ringing, checkerboard artefacts.

A linear ramp ``I(i, j) = a·j + b·i`` has ``G = sqrt(a² + b²)`` exactly (used as the known value in the tests).
A flat ground truth has ``G(x) = 0``: the ratio is then ``1.0`` when the prediction is flat too and ``inf``
otherwise.
"""
from typing import Optional

import numpy as np

from vidtoolbox.registry import METRICS

from ._utils import ArrayLike, FrameMetric, prepare_pair, reduce_images, to_nchw_255

__all__ = ['gradient_energy', 'sharpness', 'Sharpness']


def _gradient_energy_255(a: np.ndarray) -> float:
    """``G`` of one ``(1, C, H, W)`` float64 image (see the module docstring)."""
    h, w = a.shape[-2:]
    if h < 3 or w < 3:
        raise ValueError(f'sharpness needs images of at least 3x3 pixels (central differences), got {h}x{w}')
    gx = (a[..., 1:-1, 2:] - a[..., 1:-1, :-2]) * 0.5
    gy = (a[..., 2:, 1:-1] - a[..., :-2, 1:-1]) * 0.5
    return float(np.sqrt(gx * gx + gy * gy).mean())


def _ratio(gp: float, gt: float) -> float:
    if gt == 0.0:
        return 1.0 if gp == 0.0 else float('inf')
    return gp / gt


def _sharpness_255(a: np.ndarray, b: np.ndarray) -> float:
    return _ratio(_gradient_energy_255(a), _gradient_energy_255(b))


def gradient_energy(img: ArrayLike, input_order: str = 'CHW', input_range: Optional[float] = None) -> float:
    """Mean gradient magnitude ``G`` of an image on the rounded [0, 255] scale (see the module docstring).

    Args:
        img: ``(H, W)``, ``(C, H, W)`` / ``(N, C, H, W)`` (``'CHW'``) or ``(H, W, C)`` / ``(N, H, W, C)``
            (``'HWC'``), C = 1 or 3, values in ``[0, input_range]``; numpy array or tensor.
        input_order: ``'CHW'`` or ``'HWC'``.
        input_range: full intensity; default 255 for uint8, else 1.0.

    Returns:
        float: ``G`` in grey levels per pixel (the mean over the N images of a batch).

    Raises:
        ValueError: bad layout, or an image smaller than 3×3.
    """
    a = to_nchw_255(img, input_order, input_range, 'img')
    return float(np.mean([_gradient_energy_255(a[i:i + 1]) for i in range(a.shape[0])]))


def sharpness(pred: ArrayLike, gt: ArrayLike, crop_border: int = 0, convert_to: Optional[str] = None,
              input_order: str = 'CHW', input_range: Optional[float] = None) -> float:
    """``G(pred) / G(gt)``: 1 = as sharp as the ground truth, < 1 blurrier, > 1 noisier (module docstring).

    Args:
        pred, gt: images of the same shape, layouts as :func:`gradient_energy`, values in ``[0, input_range]``
            (RGB [0, 1] for float input).
        crop_border: pixels removed on each side first.
        convert_to: ``None`` (every channel) or ``'Y'`` (BT.601 luma).
        input_order: ``'CHW'`` or ``'HWC'``.
        input_range: full intensity; default 255 for uint8, else 1.0.

    Returns:
        float: the ratio (the mean over the N images of a batch); ``1.0`` for two flat images, ``inf`` for a
        textured prediction of a flat ground truth.

    Raises:
        ValueError: shape mismatch, bad arguments, images smaller than 3×3 after cropping.
    """
    a, b = prepare_pair(pred, gt, crop_border, convert_to, input_order, input_range)
    return reduce_images(_sharpness_255, a, b)


@METRICS.register_module()
class Sharpness(FrameMetric):
    """Sharpness metric (key ``'Sharpness'``, plus ``'Sharpness_t+s'`` per prediction step): :func:`sharpness`
    of each ``pred`` frame against its ``gt`` frame, averaged over frames, then samples.

    Reads ``pred`` / ``gt`` ``(C, H, W)`` or ``(M, C, H, W)`` RGB in [0, 1]. Arguments as
    :class:`~vidtoolbox.evaluation.metrics._utils.FrameMetric` (``crop_border=0, convert_to=None|'Y',
    steps=(1, 3, 5), prefix=None``).
    """

    metric_name = 'Sharpness'

    def frame_value(self, pred: np.ndarray, gt: np.ndarray) -> float:
        return _sharpness_255(pred, gt)
