"""MATLAB-compatible bicubic resize (``imresize(..., 'bicubic')``): the field's "BI" degradation.

The result equals MATLAB's ``imresize(img, scale)`` on **float** images (MATLAB rounds and clips
only for integer classes; neither is done here):

* cubic convolution kernel with ``a = -0.5`` (Keys):
  ``k(x) = 1.5|x|³ − 2.5|x|² + 1`` for ``|x| ≤ 1``, ``−0.5|x|³ + 2.5|x|² − 4|x| + 2`` for
  ``1 < |x| ≤ 2``, 0 otherwise;
* on downscale (``s < 1``) with antialiasing the kernel is stretched: ``h(x) = s·k(s·x)``, width
  ``4 / s``;
* output pixel ``j`` (1-based) is centred at input coordinate ``u = j / s + 0.5·(1 − 1/s)``; it takes
  the ``ceil(width) + 2`` input pixels from ``floor(u − width/2)`` on, weights normalised to sum 1;
* indices outside the image are mirrored *symmetrically* (the border pixel repeated:
  ``0 → 1``, ``−1 → 2``, ``n + 1 → n`` in 1-based terms);
* the output length is ``ceil(n·s)`` (with a 1e-9 tolerance so that e.g. ``129 · (1/3)`` gives 43).

The resize is separable and linear, so it is computed as ``Wh @ X @ Wwᵀ`` with two weight matrices
(:func:`resize_matrix`); the order of the two passes therefore does not matter.
"""
import math
from typing import Optional, Sequence, Tuple, Union

import numpy as np
import torch

__all__ = ['imresize', 'imresize_torch', 'resize_matrix', 'cubic_kernel']

_Size = Union[int, Sequence[int]]


def cubic_kernel(x: np.ndarray) -> np.ndarray:
    """Keys cubic convolution kernel with ``a = -0.5`` evaluated at ``x`` (any shape, float64 out)."""
    ax = np.abs(np.asarray(x, dtype=np.float64))
    ax2, ax3 = ax * ax, ax * ax * ax
    return ((1.5 * ax3 - 2.5 * ax2 + 1.0) * (ax <= 1)
            + (-0.5 * ax3 + 2.5 * ax2 - 4.0 * ax + 2.0) * ((ax > 1) & (ax <= 2)))


def resize_matrix(in_len: int, out_len: int, scale: Optional[float] = None,
                  antialias: bool = True) -> np.ndarray:
    """The ``(out_len, in_len)`` float64 matrix of MATLAB's bicubic resize along one axis.

    Args:
        in_len: input length (>= 1).
        out_len: output length (>= 1).
        scale: the factor used for the kernel; ``out_len / in_len`` when None (MATLAB derives it
            from the output size that way when a size is given).
        antialias: widen the kernel by ``1/scale`` when downscaling (MATLAB's default).

    Returns:
        ``W`` with ``out = W @ in`` along that axis; every row sums to 1.
    """
    if in_len < 1 or out_len < 1:
        raise ValueError(f'resize_matrix: lengths must be >= 1, got in_len={in_len}, out_len={out_len}')
    s = float(out_len) / in_len if scale is None else float(scale)
    if not s > 0:
        raise ValueError(f'resize_matrix: scale must be > 0, got {scale}')
    shrink = s < 1 and antialias
    width = 4.0 / s if shrink else 4.0
    j = np.arange(1, out_len + 1, dtype=np.float64)
    u = j / s + 0.5 * (1.0 - 1.0 / s)
    left = np.floor(u - width / 2.0)
    taps = int(math.ceil(width)) + 2
    idx = left[:, None] + np.arange(taps, dtype=np.float64)[None, :]  # 1-based input indices
    dist = u[:, None] - idx
    w = s * cubic_kernel(s * dist) if shrink else cubic_kernel(dist)
    w = w / w.sum(axis=1, keepdims=True)
    # symmetric mirroring of 0-based indices: period 2n, second half reversed
    i0 = np.mod(idx.astype(np.int64) - 1, 2 * in_len)
    i0 = np.where(i0 < in_len, i0, 2 * in_len - 1 - i0)
    mat = np.zeros((out_len, in_len), dtype=np.float64)
    rows = np.broadcast_to(np.arange(out_len)[:, None], i0.shape)
    np.add.at(mat, (rows, i0), w)
    return mat


def _out_sizes(in_hw: Tuple[int, int], scale, size) -> Tuple[Tuple[int, int], Tuple[Optional[float], ...]]:
    """Output (h, w) and the per-axis kernel scales (None → derived from the sizes)."""
    if (scale is None) == (size is None):
        raise ValueError('imresize: give exactly one of scale (e.g. 0.25 for ×4 down) and size (out_h, out_w); '
                         f'got scale={scale!r}, size={size!r}')
    if scale is not None:
        if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not scale > 0 \
                or not math.isfinite(scale):
            raise ValueError(f'imresize: scale must be a positive number, got {scale!r}')
        out = tuple(max(1, int(math.ceil(n * scale - 1e-9))) for n in in_hw)
        return out, (float(scale), float(scale))
    if isinstance(size, int):
        size = (size, size)
    if (not isinstance(size, Sequence) or len(size) != 2
            or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= 1 for v in size)):
        raise ValueError(f'imresize: size must be (out_h, out_w) positive ints, got {size!r}')
    return (int(size[0]), int(size[1])), (None, None)


def imresize(img: np.ndarray, scale: Optional[float] = None, size: Optional[_Size] = None,
             antialias: bool = True) -> np.ndarray:
    """MATLAB-compatible bicubic resize of a float numpy image.

    Args:
        img: ``(H, W)`` or ``(H, W, C)`` floating array, any value range (e.g. [0, 1]).
        scale: multiplicative factor (``0.25`` = ×4 downscale, ``2`` = ×2 upscale); output size
            ``ceil(H·scale) × ceil(W·scale)``.
        size: ``(out_h, out_w)`` (or an int for both) instead of ``scale``; the kernel scale of each
            axis is then ``out / in``.
        antialias: widen the kernel when downscaling (MATLAB default True).

    Returns:
        ``(h, w[, C])`` array of ``img``'s dtype. **Not clipped**: bicubic overshoot can leave the
        input range (e.g. slightly below 0 or above 1); clip yourself where a range is required.

    Raises:
        TypeError: ``img`` not a floating numpy array.
        ValueError: wrong number of dimensions, empty image, both/neither of scale and size, bad values.
    """
    if not isinstance(img, np.ndarray):
        raise TypeError(f'imresize: img must be a numpy array, got {type(img).__name__}')
    if not np.issubdtype(img.dtype, np.floating):
        raise TypeError(f'imresize: img must be floating (e.g. float32 in [0, 1]), got dtype {img.dtype}; '
                        'convert integer images with img.astype(np.float32) / 255 first')
    if img.ndim not in (2, 3):
        raise ValueError(f'imresize: img must be (H, W) or (H, W, C), got shape {img.shape}')
    h, w = img.shape[:2]
    if h < 1 or w < 1:
        raise ValueError(f'imresize: empty image of shape {img.shape}')
    (oh, ow), (sh, sw) = _out_sizes((h, w), scale, size)
    mh = resize_matrix(h, oh, sh, antialias)
    mw = resize_matrix(w, ow, sw, antialias)
    x = img.astype(np.float64, copy=False)
    out = np.tensordot(mh, x, axes=(1, 0))                    # (oh, W[, C])
    out = np.moveaxis(np.tensordot(mw, out, axes=(1, 1)), 0, 1)  # (oh, ow[, C])
    return np.ascontiguousarray(out, dtype=img.dtype)


def imresize_torch(x: torch.Tensor, scale: Optional[float] = None, size: Optional[_Size] = None,
                   antialias: bool = True) -> torch.Tensor:
    """Torch version of :func:`imresize` on the two last axes (differentiable, any device).

    Args:
        x: ``(..., H, W)`` floating tensor, e.g. ``(B, C, H, W)`` or ``(T, C, H, W)``, any range.
        scale / size / antialias: as in :func:`imresize`.

    Returns:
        ``(..., h, w)`` tensor of ``x``'s dtype and device, not clipped.
    """
    if not isinstance(x, torch.Tensor):
        raise TypeError(f'imresize_torch: x must be a torch.Tensor, got {type(x).__name__}')
    if not x.is_floating_point():
        raise TypeError(f'imresize_torch: x must be floating, got dtype {x.dtype}')
    if x.dim() < 2 or x.shape[-1] < 1 or x.shape[-2] < 1:
        raise ValueError(f'imresize_torch: x must be (..., H, W) with H, W >= 1, got shape {tuple(x.shape)}')
    h, w = x.shape[-2:]
    (oh, ow), (sh, sw) = _out_sizes((h, w), scale, size)
    mh = torch.from_numpy(resize_matrix(h, oh, sh, antialias)).to(x.device, x.dtype)
    mw = torch.from_numpy(resize_matrix(w, ow, sw, antialias)).to(x.device, x.dtype)
    return mh @ x @ mw.transpose(0, 1)
