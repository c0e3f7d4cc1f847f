"""OpenCV DIS optical flow (Kroeger et al., 2016) as a flow source (CPU, not differentiable)."""
import hashlib
from collections import OrderedDict

import cv2
import numpy as np
import torch

from ...registry import MODELS
from .base import BaseFlowSource

__all__ = ['DISFlow', 'dis_flow_numpy', 'DIS_PRESETS']

#: preset name -> OpenCV constant
DIS_PRESETS = {
    'ultrafast': cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST,
    'fast': cv2.DISOPTICAL_FLOW_PRESET_FAST,
    'medium': cv2.DISOPTICAL_FLOW_PRESET_MEDIUM,
}
#: OpenCV's DIS refuses images whose width and height are both below this
_DIS_MIN_SIDE = 12


def _to_gray_uint8(img: np.ndarray, name: str) -> np.ndarray:
    """``(H, W, 3)`` RGB float in [0, 1] or uint8, or ``(H, W)`` gray → ``(H, W)`` uint8 gray."""
    if img.ndim == 3 and img.shape[2] == 3:
        if img.dtype != np.uint8:
            img = np.clip(np.rint(img.astype(np.float32) * 255.0), 0, 255).astype(np.uint8)
        return cv2.cvtColor(np.ascontiguousarray(img), cv2.COLOR_RGB2GRAY)
    if img.ndim == 2:
        if img.dtype != np.uint8:
            img = np.clip(np.rint(img.astype(np.float32) * 255.0), 0, 255).astype(np.uint8)
        return np.ascontiguousarray(img)
    raise ValueError(f'dis_flow_numpy: {name} must be (H, W, 3) RGB or (H, W) gray, got shape {img.shape}')


def dis_flow_numpy(src: np.ndarray, dst: np.ndarray, preset: str = 'medium') -> np.ndarray:
    """DIS flow between two numpy images, in the toolbox convention.

    Args:
        src, dst: ``(H, W, 3)`` RGB (float in [0, 1] or uint8) or ``(H, W)`` gray images of the same size;
            both are converted to uint8 gray (BT.601 weights, ``cv2.COLOR_RGB2GRAY``).
        preset: ``'medium'`` | ``'fast'`` | ``'ultrafast'``.

    Returns:
        ``(H, W, 2)`` float32 ``flow(src, dst)`` in pixels, ``(dx, dy)``: ``src(p) ≈ dst(p + flow(p))``.
        OpenCV's ``calc(prev, next)`` already returns this direction (``prev(p) ≈ next(p + flow(p))``).
    """
    if preset not in DIS_PRESETS:
        raise ValueError(f'DIS preset must be one of {sorted(DIS_PRESETS)}, got {preset!r}')
    a = _to_gray_uint8(np.asarray(src), 'src')
    b = _to_gray_uint8(np.asarray(dst), 'dst')
    if a.shape != b.shape:
        raise ValueError(f'dis_flow_numpy: src {a.shape} and dst {b.shape} must have the same size')
    if max(a.shape) < _DIS_MIN_SIDE:
        raise ValueError(f'dis_flow_numpy: OpenCV DIS needs the width or height to be >= {_DIS_MIN_SIDE} pixels, '
                         f'got an image of size {a.shape}')
    dis = cv2.DISOpticalFlow_create(DIS_PRESETS[preset])  # cheap; a fresh one keeps the source deep-copyable
    return dis.calc(a, b, None).astype(np.float32, copy=False)


@MODELS.register_module()
class DISFlow(BaseFlowSource):
    """OpenCV DIS optical flow on the grayscale uint8 version of each image pair.

    Runs on CPU with numpy, one batch element at a time, without gradient (``differentiable = False``); the
    result is returned on the device and in the dtype of ``src``.

    Args:
        preset: ``'medium'`` (default) | ``'fast'`` | ``'ultrafast'`` (OpenCV's DIS presets).
        cache: keep an in-memory LRU cache of flows keyed by a hash of the two uint8 images (useful when the same
            pairs recur, e.g. ground-truth frames across epochs).
        cache_size: maximum number of cached pairs.
        frames_key: see :class:`BaseFlowSource`.
    """

    differentiable = False

    def __init__(self, preset: str = 'medium', cache: bool = False, cache_size: int = 1024, frames_key: str = 'lq'):
        super().__init__(frames_key=frames_key)
        if preset not in DIS_PRESETS:
            raise ValueError(f'DISFlow: preset must be one of {sorted(DIS_PRESETS)}, got {preset!r}')
        if not isinstance(cache_size, int) or cache_size < 1:
            raise ValueError(f'DISFlow: cache_size must be a positive int, got {cache_size!r}')
        self.preset = preset
        self.cache = bool(cache)
        self.cache_size = cache_size
        self._cache = OrderedDict()
        self.cache_hits = 0
        self.cache_misses = 0

    def clear_cache(self) -> None:
        """Empty the LRU cache and reset the hit/miss counters."""
        self._cache.clear()
        self.cache_hits = self.cache_misses = 0

    def _pair_flow(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        if not self.cache:
            return dis_flow_numpy(a, b, self.preset)
        h = hashlib.blake2b(digest_size=20)
        h.update(np.asarray(a.shape, np.int64).tobytes())
        h.update(a.tobytes())
        h.update(b.tobytes())
        key = (self.preset, h.hexdigest())
        hit = self._cache.get(key)
        if hit is not None:
            self._cache.move_to_end(key)
            self.cache_hits += 1
            return hit
        self.cache_misses += 1
        flow = dis_flow_numpy(a, b, self.preset)
        self._cache[key] = flow
        if len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return flow

    @torch.no_grad()
    def flow(self, src: torch.Tensor, dst: torch.Tensor) -> torch.Tensor:
        """``flow(src, dst)`` for ``(B, 3, H, W)`` RGB images in [0, 1]; returns ``(B, 2, H, W)`` pixels (detached)."""
        self.check_pair(src, dst)
        if max(src.shape[-2:]) < _DIS_MIN_SIDE:
            raise ValueError(f'DISFlow: OpenCV DIS needs the width or height to be >= {_DIS_MIN_SIDE} pixels, '
                             f'got images of size {tuple(src.shape[-2:])}')

        def gray(x):
            rgb = (x.detach().float().clamp(0, 1) * 255.0).round().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()
            return [cv2.cvtColor(np.ascontiguousarray(im), cv2.COLOR_RGB2GRAY) for im in rgb]

        flows = [self._pair_flow(a, b) for a, b in zip(gray(src), gray(dst))]
        out = torch.from_numpy(np.stack(flows, 0)).permute(0, 3, 1, 2).contiguous()
        return out.to(device=src.device, dtype=src.dtype if src.is_floating_point() else torch.float32)

    def extra_repr(self) -> str:
        return f'preset={self.preset!r}, cache={self.cache}, cache_size={self.cache_size}'
