"""Geometric and temporal augmentations that keep images and flow fields consistent.

One random draw per call applies to every frame and every field of the results dict
(``docs/conventions.md``): images ``lq``/``gt``, flows ``flow_fw``/``flow_bw``/``ref_flows`` (channels
``dx, dy``), occlusion masks ``occ_fw``/``occ_bw``. How the flows change:

* horizontal flip ``I'(x, y) = I(W−1−x, y)``: flip the field and negate ``dx``;
* vertical flip ``I'(x, y) = I(x, H−1−y)``: flip the field and negate ``dy``;
* transpose ``I'(x, y) = I(y, x)``: transpose the field and swap ``dx ↔ dy``;
* temporal reverse (frame ``t' = T−1−t``): the new ``flow_fw`` is the old ``flow_bw`` reversed (and
  vice versa, the same for ``occ_fw``/``occ_bw``), ``ref_flows`` reversed, ``ref_index → T−1−ref_index``.

After any of them, ``flow_warp(frame b, flow(a, b)) ≈ frame a`` still holds.
"""
from typing import Callable

import numpy as np
from mmcv.transforms import BaseTransform

from vidtoolbox.registry import TRANSFORMS
from .crop import FLOW_KEYS, IMAGE_KEYS, MASK_KEYS, get_list

__all__ = ['Flip', 'RandomTranspose', 'TemporalReverse']


def _check_prob(prob, who: str) -> float:
    if isinstance(prob, bool) or not isinstance(prob, (int, float)) or not 0.0 <= prob <= 1.0:
        raise ValueError(f'{who}: prob must be a number in [0, 1], got {prob!r}')
    return float(prob)


def _apply_spatial(results: dict, who: str, img_fn: Callable, flow_fn: Callable) -> None:
    """Apply ``img_fn`` to images and masks and ``flow_fn`` to flow fields of every present key."""
    for key in IMAGE_KEYS + MASK_KEYS:
        if key in results:
            results[key] = [np.ascontiguousarray(img_fn(f)) for f in get_list(results, key, who)]
    for key in FLOW_KEYS:
        if key in results:
            fields = get_list(results, key, who)
            for i, f in enumerate(fields):
                if f.ndim != 3 or f.shape[2] != 2:
                    raise ValueError(f'{who}: {key}[{i}] must be (H, W, 2) (dx, dy), got shape {f.shape}')
            results[key] = [np.ascontiguousarray(flow_fn(f)) for f in fields]


def _hflip_flow(f: np.ndarray) -> np.ndarray:
    out = f[:, ::-1].copy()
    out[..., 0] *= -1
    return out


def _vflip_flow(f: np.ndarray) -> np.ndarray:
    out = f[::-1].copy()
    out[..., 1] *= -1
    return out


def _transpose_flow(f: np.ndarray) -> np.ndarray:
    return f.transpose(1, 0, 2)[..., ::-1]


@TRANSFORMS.register_module()
class Flip(BaseTransform):
    """Flip every frame and field horizontally or vertically with probability ``prob``.

    Args:
        direction: ``'horizontal'`` (mirror left↔right; negates flow ``dx``) or ``'vertical'``
            (mirror top↔bottom; negates flow ``dy``).
        prob: probability of flipping (one draw for the whole clip).

    Adds ``results['flip']`` (bool) and ``results['flip_direction']``.
    """

    def __init__(self, direction: str = 'horizontal', prob: float = 0.5):
        if direction not in ('horizontal', 'vertical'):
            raise ValueError(f"Flip: direction must be 'horizontal' or 'vertical', got {direction!r}")
        self.direction = direction
        self.prob = _check_prob(prob, 'Flip')

    def transform(self, results: dict) -> dict:
        do = bool(np.random.rand() < self.prob)
        if do:
            if self.direction == 'horizontal':
                _apply_spatial(results, 'Flip', lambda a: a[:, ::-1], _hflip_flow)
            else:
                _apply_spatial(results, 'Flip', lambda a: a[::-1], _vflip_flow)
        results['flip'] = do
        results['flip_direction'] = self.direction
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(direction={self.direction!r}, prob={self.prob})'


@TRANSFORMS.register_module()
class RandomTranspose(BaseTransform):
    """Swap the x and y axes of every frame and field with probability ``prob`` (flows: ``dx ↔ dy``).

    With :class:`Flip` horizontal + vertical this spans the 8 symmetries of the square (the 90°
    rotations and mirrors). Adds ``results['transpose']`` (bool).

    Args:
        prob: probability of transposing (one draw for the whole clip).
    """

    def __init__(self, prob: float = 0.5):
        self.prob = _check_prob(prob, 'RandomTranspose')

    def transform(self, results: dict) -> dict:
        do = bool(np.random.rand() < self.prob)
        if do:
            _apply_spatial(results, 'RandomTranspose', lambda a: np.swapaxes(a, 0, 1), _transpose_flow)
        results['transpose'] = do
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(prob={self.prob})'


@TRANSFORMS.register_module()
class TemporalReverse(BaseTransform):
    """Play the clip backwards with probability ``prob``.

    ``lq`` is reversed; ``gt`` is reversed when it has one frame per ``lq`` frame and left alone when it
    holds the single reference frame (``len(gt) == 1``); any other ``gt`` length (e.g. future frames of
    a prediction task) is an error, since reversing time changes what the target is. ``flow_fw`` and
    ``flow_bw`` swap and reverse (likewise ``occ_fw``/``occ_bw``), ``ref_flows`` reverses and
    ``ref_index`` becomes ``T − 1 − ref_index``. Adds ``results['reverse']`` (bool).

    Args:
        prob: probability of reversing (one draw per clip).
    """

    def __init__(self, prob: float = 0.5):
        self.prob = _check_prob(prob, 'TemporalReverse')

    def transform(self, results: dict) -> dict:
        if 'lq' not in results:
            raise KeyError(f'TemporalReverse: results has no "lq" (keys: {sorted(results)})')
        lq = get_list(results, 'lq', 'TemporalReverse')
        T = len(lq)
        gt = get_list(results, 'gt', 'TemporalReverse') if 'gt' in results else None
        if gt is not None and len(gt) not in (1, T):
            raise ValueError(f'TemporalReverse: gt has {len(gt)} frames for {T} lq frames; only gt with 1 (reference '
                             'frame) or T frames can be reversed (not future-frame targets)')
        for key, n in (('flow_fw', T - 1), ('flow_bw', T - 1), ('occ_fw', T - 1), ('occ_bw', T - 1),
                       ('ref_flows', T)):
            if key in results and len(get_list(results, key, 'TemporalReverse')) != n:
                raise ValueError(f'TemporalReverse: {key} has {len(results[key])} entries, expected {n} for '
                                 f'{T} frames')
        do = bool(np.random.rand() < self.prob)
        if do:
            results['lq'] = lq[::-1]
            if gt is not None and len(gt) == T:
                results['gt'] = gt[::-1]
            for a, b in (('flow_fw', 'flow_bw'), ('occ_fw', 'occ_bw')):
                va, vb = results.get(a), results.get(b)
                if (va is None) != (vb is None):
                    raise KeyError(f'TemporalReverse: {a!r} and {b!r} must both be present to reverse time, '
                                   f'got only {a if vb is None else b!r}')
                if va is not None:
                    results[a], results[b] = list(vb)[::-1], list(va)[::-1]
            if 'ref_flows' in results:
                results['ref_flows'] = list(results['ref_flows'])[::-1]
            if 'ref_index' in results:
                results['ref_index'] = T - 1 - int(results['ref_index'])
        results['reverse'] = do
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(prob={self.prob})'
