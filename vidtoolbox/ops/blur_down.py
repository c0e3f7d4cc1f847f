"""The "BD" degradation of video super-resolution: Gaussian blur, then keep every ``scale``-th pixel.

This is the degradation the BD models of "BasicVSR: The Search for Essential Components in Video Super-Resolution
and Beyond" (CVPR 2021) were trained on: Vimeo-90K BDx4, made by the MATLAB script of BasicSR (the same operation
as MMagic's ``bd_downsample`` in its Vimeo-90K preparation). For ``sigma = 1.6`` and ``scale = 4``:

* the kernel is ``fspecial('gaussian', K, sigma)`` with ``K = 2·ceil(3·sigma) + 2 = 12`` taps per axis (an EVEN
  size: its taps sit at offsets ``−5.5, −4.5, …, +5.5`` from its centre), normalised to sum 1;
* it is applied by ``imfilter(img, kernel, 'replicate')`` (correlation, anchor at the 0-based tap
  ``(K − 1) // 2 = 5``, border pixels repeated), so the blurred pixel ``i`` is centred on ``i + 0.5``;
* the kept pixels are ``img(scale/2 : scale : end − scale/2)`` in MATLAB's 1-based indexing, i.e. the 0-based
  pixels ``scale·j + scale/2 − 1`` (1, 5, 9, … for ×4).

Together: LR pixel ``j`` is a Gaussian average centred on the HR coordinate ``scale·j + (scale − 1)/2`` — the centre
of its ``scale × scale`` block (4j + 1.5 for ×4), the same sampling phase as the bicubic "BI" degradation
(:mod:`vidtoolbox.ops.imresize`), so BD and BI LR frames are aligned with their GT in the same way. (Other
scripts — e.g. for Vid4 BD — use an odd 13-tap kernel and keep pixels ``0, 4, 8, …``: a phase shifted by 1.5 HR
pixels, which is not what these weights saw.)

Like :mod:`vidtoolbox.ops.imresize`, the operation is separable and linear: ``out = Wh @ X @ Wwᵀ`` with two
``(n // scale, n)`` matrices (:func:`blur_down_matrix`); input lengths need not be multiples of ``scale`` (the
output length is ``n // scale``; the scripts crop the GT to a multiple first).
"""
import math

import numpy as np
import torch

__all__ = ['bd_kernel_size', 'gaussian_taps', 'blur_down_matrix', 'blur_down', 'blur_down_torch']


def bd_kernel_size(sigma: float) -> int:
    """Taps per axis of the BD kernel, ``2·ceil(3·sigma) + 2`` (12 for ``sigma = 1.6``)."""
    return int(math.ceil(3.0 * sigma)) * 2 + 2


def gaussian_taps(sigma: float, size: int) -> np.ndarray:
    """1-D Gaussian weights at the offsets ``k − (size − 1)/2``, ``k = 0 … size−1``, normalised to sum 1 (float64).

    The outer product of this vector with itself is MATLAB's ``fspecial('gaussian', size, sigma)``.
    """
    d = np.arange(size, dtype=np.float64) - (size - 1) / 2.0
    w = np.exp(-(d * d) / (2.0 * sigma * sigma))
    return w / w.sum()


def _check(scale, sigma) -> None:
    if isinstance(scale, bool) or not isinstance(scale, (int, np.integer)) or scale < 2 or scale % 2:
        raise ValueError(f'blur_down: scale must be an even int >= 2 (the kept pixels are scale·j + scale/2 − 1), '
                         f'got {scale!r}')
    if isinstance(sigma, bool) or not isinstance(sigma, (int, float)) or not sigma > 0 or not math.isfinite(sigma):
        raise ValueError(f'blur_down: sigma must be a positive number, got {sigma!r}')


def blur_down_matrix(in_len: int, scale: int = 4, sigma: float = 1.6) -> np.ndarray:
    """The ``(in_len // scale, in_len)`` float64 matrix of the BD degradation along one axis.

    Row ``j`` holds the kernel taps of the kept pixel ``i = scale·j + scale/2 − 1``: weight ``g_k`` on input pixel
    ``clamp(i + k − (K − 1)//2, 0, in_len − 1)`` (replicated border), ``K = bd_kernel_size(sigma)``.

    Raises:
        ValueError: ``in_len < scale``, an odd or non-int ``scale``, a non-positive ``sigma``.
    """
    _check(scale, sigma)
    if isinstance(in_len, bool) or not isinstance(in_len, (int, np.integer)) or in_len < scale:
        raise ValueError(f'blur_down: the input length must be an int >= scale ({scale}), got {in_len!r}')
    size = bd_kernel_size(sigma)
    taps = gaussian_taps(sigma, size)
    anchor = (size - 1) // 2
    out_len = int(in_len) // scale
    kept = scale * np.arange(out_len) + scale // 2 - 1
    idx = np.clip(kept[:, None] + np.arange(size)[None, :] - anchor, 0, in_len - 1)
    mat = np.zeros((out_len, int(in_len)), dtype=np.float64)
    np.add.at(mat, (np.broadcast_to(np.arange(out_len)[:, None], idx.shape), idx), np.broadcast_to(taps, idx.shape))
    return mat


def blur_down(img: np.ndarray, scale: int = 4, sigma: float = 1.6) -> np.ndarray:
    """BD degradation of a float numpy image (see the module docstring).

    Args:
        img: ``(H, W)`` or ``(H, W, C)`` floating array, e.g. RGB in [0, 1]; ``H, W >= scale``.
        scale: even downscale factor (4 for the BD models).
        sigma: Gaussian standard deviation in HR pixels (1.6 for the BD models).

    Returns:
        ``(H // scale, W // scale[, C])`` array of ``img``'s dtype; a convex combination of input pixels, so it
        stays in the input's range (no clipping needed).

    Raises:
        TypeError: not a floating numpy array.
        ValueError: bad shape, ``scale`` or ``sigma``.
    """
    if not isinstance(img, np.ndarray) or not np.issubdtype(img.dtype, np.floating):
        raise TypeError(f'blur_down: img must be a floating numpy array (e.g. float32 in [0, 1]), got '
                        f'{getattr(img, "dtype", type(img).__name__)}')
    if img.ndim not in (2, 3):
        raise ValueError(f'blur_down: img must be (H, W) or (H, W, C), got shape {img.shape}')
    mh = blur_down_matrix(img.shape[0], scale, sigma)
    mw = blur_down_matrix(img.shape[1], scale, sigma)
    x = img.astype(np.float64, copy=False)
    out = np.tensordot(mh, x, axes=(1, 0))
    out = np.moveaxis(np.tensordot(mw, out, axes=(1, 1)), 0, 1)
    return np.ascontiguousarray(out, dtype=img.dtype)


def blur_down_torch(x: torch.Tensor, scale: int = 4, sigma: float = 1.6) -> torch.Tensor:
    """Torch version of :func:`blur_down` on the two last axes: ``(..., H, W)`` → ``(..., H // scale, W // scale)``
    (any device, differentiable, ``x``'s dtype)."""
    if not isinstance(x, torch.Tensor) or not x.is_floating_point():
        raise TypeError(f'blur_down_torch: x must be a floating torch.Tensor, got '
                        f'{getattr(x, "dtype", type(x).__name__)}')
    if x.dim() < 2:
        raise ValueError(f'blur_down_torch: x must be (..., H, W), got shape {tuple(x.shape)}')
    mh = torch.from_numpy(blur_down_matrix(x.shape[-2], scale, sigma)).to(x.device, x.dtype)
    mw = torch.from_numpy(blur_down_matrix(x.shape[-1], scale, sigma)).to(x.device, x.dtype)
    return mh @ x @ mw.transpose(0, 1)
