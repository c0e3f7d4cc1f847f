"""Shared parts of the image-quality metrics: input normalisation, BT.601 luma, and the per-step metric base.

Conventions (those of MMagic / BasicSR ``calculate_psnr`` / ``calculate_ssim``):

* images are RGB; a float image in ``[0, input_range]`` (``input_range`` 1.0 by default, 255 for ``uint8``) is
  clipped to that range, scaled to ``[0, 255]`` and **rounded** (the 8-bit image that would be saved), then
  computed in float64;
* ``convert_to='Y'`` replaces RGB by the BT.601 "MATLAB ``rgb2ycbcr``" luma of the rounded image, on the [0, 255]
  scale and *not* rounded: ``Y = 16 + (65.481 R + 128.553 G + 24.966 B)`` with ``R, G, B`` in ``[0, 1]``
  (so Y is in ``[16, 235]``);
* ``crop_border`` pixels are removed on every side before computing.
"""
from collections.abc import Mapping
from typing import Callable, Dict, List, Optional, Sequence, Union

import numpy as np
import torch
from mmengine.evaluator import BaseMetric

__all__ = ['rgb2y', 'to_nchw_255', 'prepare_pair', 'reduce_images', 'FrameMetric', 'Y_WEIGHTS']

#: BT.601 luma weights (R, G, B) of MATLAB's ``rgb2ycbcr``, for inputs in [0, 1] and Y on [0, 255] (plus 16).
Y_WEIGHTS = (65.481, 128.553, 24.966)

ArrayLike = Union[np.ndarray, torch.Tensor]


def _check_order(input_order: str) -> None:
    if input_order not in ('CHW', 'HWC'):
        raise ValueError(f"input_order must be 'CHW' or 'HWC', got {input_order!r}")


def _check_convert_to(convert_to: Optional[str]) -> Optional[str]:
    if convert_to is None:
        return None
    if isinstance(convert_to, str) and convert_to.upper() == 'Y':
        return 'Y'
    raise ValueError(f"convert_to must be None (RGB) or 'Y' (BT.601 luma), got {convert_to!r}")


def rgb2y(img: ArrayLike, input_order: str = 'CHW', input_range: float = 1.0) -> ArrayLike:
    """BT.601 luma of an RGB image, as MATLAB's ``rgb2ycbcr`` computes it (no rounding).

    ``Y = 16 + (65.481 R + 128.553 G + 24.966 B)`` for ``R, G, B`` in [0, 1] and Y in [16, 235], returned on the
    input's scale: ``Y · input_range / 255`` (white 1.0 → 235/255; pure red → (16 + 65.481)/255).

    Args:
        img (np.ndarray | torch.Tensor): RGB image(s) in ``[0, input_range]``, ``(3, H, W)`` / ``(N, 3, H, W)``
            (``'CHW'``) or ``(H, W, 3)`` / ``(N, H, W, 3)`` (``'HWC'``). Tensors stay tensors (differentiable).
        input_order (str): ``'CHW'`` or ``'HWC'``.
        input_range (float): value of full intensity (1.0 or 255).

    Returns:
        Same type as ``img`` (float), the colour axis reduced to size 1: ``(1, H, W)``, ``(N, 1, H, W)``,
        ``(H, W, 1)`` or ``(N, H, W, 1)``.

    Raises:
        ValueError: bad ``input_order`` or the colour axis is not of size 3.
    """
    _check_order(input_order)
    axis = -3 if input_order == 'CHW' else -1
    if img.ndim not in (3, 4) or img.shape[axis] != 3:
        raise ValueError(f'rgb2y expects an RGB image with 3 channels ({input_order}, 3 or 4 dims), got shape '
                         f'{tuple(img.shape)}')
    if isinstance(img, torch.Tensor):
        x = img if img.is_floating_point() else img.double()
        w = torch.tensor(Y_WEIGHTS, dtype=x.dtype, device=x.device)
        r, g, b = x.unbind(axis)
        y = (16.0 * input_range + w[0] * r + w[1] * g + w[2] * b) / 255.0
        return y.unsqueeze(axis)
    x = np.asarray(img)
    x = x.astype(np.float64) if not np.issubdtype(x.dtype, np.floating) else x
    r, g, b = (np.take(x, i, axis=axis) for i in range(3))
    y = (16.0 * input_range + Y_WEIGHTS[0] * r + Y_WEIGHTS[1] * g + Y_WEIGHTS[2] * b) / 255.0
    return np.expand_dims(y, axis)


def to_nchw_255(img: ArrayLike, input_order: str = 'CHW', input_range: Optional[float] = None,
                name: str = 'img') -> np.ndarray:
    """An image (or batch) as float64 ``(N, C, H, W)`` on [0, 255], clipped and rounded like an 8-bit image.

    Args:
        img: ``(H, W)``, ``(C, H, W)`` / ``(N, C, H, W)`` (``'CHW'``) or ``(H, W, C)`` / ``(N, H, W, C)``
            (``'HWC'``), C = 1 or 3; numpy array or tensor.
        input_order (str): ``'CHW'`` or ``'HWC'``.
        input_range (float, optional): full intensity; default 255 for uint8 input, 1.0 otherwise.
        name (str): name used in error messages.

    Raises:
        TypeError: not an array/tensor or not a real numeric dtype.
        ValueError: bad ``input_order``, number of dims, or channel count.
    """
    _check_order(input_order)
    if isinstance(img, torch.Tensor):
        arr = img.detach().cpu().numpy()
    elif isinstance(img, np.ndarray):
        arr = img
    else:
        raise TypeError(f'{name} must be a numpy array or a torch tensor, got {type(img).__name__}')
    if arr.dtype == bool or not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
        raise TypeError(f'{name} must have a real numeric dtype, got {arr.dtype}')
    if input_range is None:
        input_range = 255.0 if arr.dtype == np.uint8 else 1.0
    if arr.ndim == 2:
        arr = arr[None, None]
    elif arr.ndim == 3:
        arr = arr[None] if input_order == 'CHW' else arr.transpose(2, 0, 1)[None]
    elif arr.ndim == 4:
        arr = arr if input_order == 'CHW' else arr.transpose(0, 3, 1, 2)
    else:
        raise ValueError(f'{name} must have 2, 3 or 4 dims ({input_order} order), got shape {arr.shape}')
    if arr.shape[1] not in (1, 3):
        raise ValueError(f'{name} must have 1 or 3 channels, got shape {tuple(img.shape)} read as {input_order} '
                         f'(channels = {arr.shape[1]})')
    arr = np.clip(arr.astype(np.float64) / float(input_range), 0.0, 1.0) * 255.0
    return np.round(arr)


def prepare_pair(img1: ArrayLike, img2: ArrayLike, crop_border: int = 0, convert_to: Optional[str] = None,
                 input_order: str = 'CHW', input_range: Optional[float] = None) -> tuple:
    """Both images as rounded float64 ``(N, C, H, W)`` on [0, 255], cropped and optionally converted to Y.

    Raises:
        ValueError: shape mismatch, bad ``crop_border`` / ``convert_to``, RGB needed for Y, nothing left after crop.
    """
    convert_to = _check_convert_to(convert_to)
    if isinstance(crop_border, bool) or not isinstance(crop_border, (int, np.integer)) or crop_border < 0:
        raise ValueError(f'crop_border must be an int >= 0, got {crop_border!r}')
    for name, img in (('img1', img1), ('img2', img2)):
        if not isinstance(img, (np.ndarray, torch.Tensor)):
            raise TypeError(f'{name} must be a numpy array or a torch tensor, got {type(img).__name__}')
    if tuple(img1.shape) != tuple(img2.shape):
        raise ValueError(f'image shapes differ: {tuple(img1.shape)} vs {tuple(img2.shape)}; the metric compares '
                         'images of the same shape')
    a = to_nchw_255(img1, input_order, input_range, 'img1')
    b = to_nchw_255(img2, input_order, input_range, 'img2')
    if crop_border:
        h, w = a.shape[-2:]
        if 2 * crop_border >= min(h, w):
            raise ValueError(f'crop_border {crop_border} leaves nothing of a {h}x{w} image')
        a = a[..., crop_border:-crop_border, crop_border:-crop_border]
        b = b[..., crop_border:-crop_border, crop_border:-crop_border]
    if convert_to == 'Y':
        if a.shape[1] != 3:
            raise ValueError(f"convert_to='Y' needs RGB images (3 channels), got {a.shape[1]} channel(s)")
        a, b = rgb2y(a, 'CHW', 255.0), rgb2y(b, 'CHW', 255.0)
    return a, b


def _get(sample, key: str):
    if isinstance(sample, Mapping):
        return sample.get(key)
    return getattr(sample, key, None)


class FrameMetric(BaseMetric):
    """Base of the frame metrics: averages a per-frame function over frames, steps and samples.

    ``process`` reads, for every element of ``data_samples`` (a dict, or an object with attributes), ``pred`` and
    ``gt`` tensors/arrays in [0, 1] RGB, shaped ``(C, H, W)`` or ``(M, C, H, W)`` (M frames: prediction steps
    t+1 … t+M, or Tg target frames). The per-sample value is the mean over its M frames; the reported ``name`` is
    the mean over samples. When a sample has M > 1, per-step values are also reported as ``f'{name}_t+{s}'`` for
    every ``s`` in ``steps`` with ``s <= M`` (step s = frame index s - 1), averaged over the samples that have it.

    Args:
        crop_border (int): pixels removed on each side before computing.
        convert_to (str, optional): ``None`` (RGB) or ``'Y'`` (BT.601 luma).
        steps (Sequence[int]): 1-based prediction steps reported separately when M > 1. ``()`` reports only the
            average over frames: the setting for video SR with every frame restored (``BasicVSRNet``), whose M
            frames are the clip's frames, not prediction steps.
        pred_key (str): key of the prediction in a data sample.
        gt_key (str): key of the target in a data sample.
        collect_device (str): MMEngine ``BaseMetric`` argument.
        prefix (str, optional): MMEngine ``BaseMetric`` argument (``'prefix/NAME'`` keys).
    """

    metric_name = ''
    default_prefix = ''  # plain metric names ('PSNR'); MMEngine warns when no prefix is set at all

    def __init__(self, crop_border: int = 0, convert_to: Optional[str] = None, steps: Sequence[int] = (1, 3, 5),
                 pred_key: str = 'pred', gt_key: str = 'gt', collect_device: str = 'cpu',
                 prefix: Optional[str] = None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        if isinstance(crop_border, bool) or not isinstance(crop_border, int) or crop_border < 0:
            raise ValueError(f'{type(self).__name__}: crop_border must be an int >= 0, got {crop_border!r}')
        self.crop_border = crop_border
        self.convert_to = _check_convert_to(convert_to)
        steps = list(steps)
        if any(isinstance(s, bool) or not isinstance(s, int) or s < 1 for s in steps):
            raise ValueError(f'{type(self).__name__}: steps must be ints >= 1 (1 = t+1), got {steps!r}')
        self.steps = steps
        self.pred_key, self.gt_key = pred_key, gt_key

    def frame_value(self, pred: np.ndarray, gt: np.ndarray) -> float:
        """Metric of one frame pair, each ``(1, C, H, W)`` float64 on [0, 255] (already rounded/cropped/converted)."""
        raise NotImplementedError

    def process(self, data_batch, data_samples: Sequence) -> None:
        """Compute the per-frame values of every sample and store them in ``self.results``."""
        name = type(self).__name__
        for i, sample in enumerate(data_samples):
            pred, gt = _get(sample, self.pred_key), _get(sample, self.gt_key)
            if pred is None or gt is None:
                keys = list(sample) if isinstance(sample, Mapping) else type(sample).__name__
                raise KeyError(f'{name}: data sample {i} lacks {self.pred_key!r} or {self.gt_key!r} '
                               f'(has {keys}); the head\'s predict output must carry both')
            if tuple(pred.shape) != tuple(gt.shape):
                raise ValueError(f'{name}: pred shape {tuple(pred.shape)} differs from gt shape {tuple(gt.shape)} '
                                 f'in data sample {i}')
            if pred.ndim == 3:
                pred, gt, multi = pred[None], gt[None], False
            elif pred.ndim == 4:
                multi = pred.shape[0] > 1
            else:
                raise ValueError(f'{name}: pred/gt must be (C, H, W) or (M, C, H, W), got shape {tuple(pred.shape)}')
            values = []
            for m in range(pred.shape[0]):
                a, b = prepare_pair(pred[m], gt[m], self.crop_border, self.convert_to, 'CHW', 1.0)
                values.append(float(self.frame_value(a, b)))
            self.results.append(dict(value=float(np.mean(values)), steps=values if multi else None))

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        """Mean over samples, plus ``name_t+s`` per-step means (see the class docstring)."""
        if not results:
            raise ValueError(f'{type(self).__name__}: no sample was processed')
        out = {self.metric_name: float(np.mean([r['value'] for r in results]))}
        for s in self.steps:
            vals = [r['steps'][s - 1] for r in results if r['steps'] is not None and len(r['steps']) >= s]
            if vals:
                out[f'{self.metric_name}_t+{s}'] = float(np.mean(vals))
        return out


def reduce_images(fn: Callable[[np.ndarray, np.ndarray], float], a: np.ndarray, b: np.ndarray) -> float:
    """Mean of ``fn`` over the N images of two ``(N, C, H, W)`` batches (each passed as ``(1, C, H, W)``)."""
    return float(np.mean([fn(a[i:i + 1], b[i:i + 1]) for i in range(a.shape[0])]))
