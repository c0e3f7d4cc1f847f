"""The last transform of every pipeline: numpy lists → ``{'inputs': Tensor, 'data_samples': dict}``."""
from typing import Sequence

import numpy as np
import torch
from mmcv.transforms import BaseTransform

from vidtoolbox.registry import TRANSFORMS

__all__ = ['PackVideoInputs']

# key → (expected channels, name of the stacked layout in messages)
_TENSOR_KEYS = {'gt': 3, 'flow_fw': 2, 'flow_bw': 2, 'ref_flows': 2, 'occ_fw': 1, 'occ_bw': 1}


def _stack(key: str, frames, channels: int) -> torch.Tensor:
    """List of ``(H, W[, C])`` arrays → ``(N, C, H, W)`` float32 tensor, checking shapes."""
    if isinstance(frames, np.ndarray):
        raise TypeError(f'PackVideoInputs: results[{key!r}] must be a list of (H, W, {channels}) arrays, '
                        f'got a single array of shape {frames.shape}')
    if not isinstance(frames, (list, tuple)) or len(frames) == 0:
        what = f'an empty {type(frames).__name__}' if isinstance(frames, (list, tuple)) else type(frames).__name__
        raise ValueError(f'PackVideoInputs: results[{key!r}] must be a non-empty list of (H, W, {channels}) '
                         f'arrays, got {what}')
    arrs = []
    for i, f in enumerate(frames):
        f = np.asarray(f)
        if f.ndim == 2 and channels == 1:
            f = f[..., None]
        if f.ndim != 3 or f.shape[2] != channels:
            raise ValueError(f'PackVideoInputs: {key}[{i}] must be (H, W, {channels}), got shape {f.shape}')
        if arrs and f.shape[:2] != arrs[0].shape[:2]:
            raise ValueError(f'PackVideoInputs: {key}[{i}] is {f.shape[:2]} but {key}[0] is {arrs[0].shape[:2]}')
        arrs.append(f)
    out = np.stack(arrs, 0).astype(np.float32, copy=False).transpose(0, 3, 1, 2)
    return torch.from_numpy(np.ascontiguousarray(out))


@TRANSFORMS.register_module()
class PackVideoInputs(BaseTransform):
    """Pack a video results dict (``docs/conventions.md``) into model inputs and a data-sample dict.

    Output:
        ``inputs``: ``(T, 3, h, w)`` float32 tensor from ``lq`` (values unchanged, [0, 1]).
        ``data_samples``: dict with, when present in ``results``: ``gt`` ``(Tg, 3, H, W)``,
        ``flow_fw``/``flow_bw`` ``(T−1, 2, H, W)`` (channels dx, dy), ``occ_fw``/``occ_bw``
        ``(T−1, 1, H, W)``, ``ref_flows`` ``(T, 2, H, W)``; and the meta keys (default ``key``,
        ``scale``, ``ref_index``) copied as they are.

    Args:
        meta_keys: non-tensor keys copied into ``data_samples`` when present (e.g. add ``'lq_paths'``).

    Raises:
        KeyError: ``lq`` is missing.
        ValueError / TypeError: a field is not a list of arrays of the documented shape.
    """

    def __init__(self, meta_keys: Sequence[str] = ('key', 'scale', 'ref_index')):
        if isinstance(meta_keys, str) or not all(isinstance(k, str) for k in meta_keys):
            raise TypeError(f'PackVideoInputs: meta_keys must be a sequence of str, got {meta_keys!r}')
        self.meta_keys = tuple(meta_keys)

    def transform(self, results: dict) -> dict:
        if 'lq' not in results:
            raise KeyError('PackVideoInputs: results has no "lq" (the network input frames); '
                           f'keys present: {sorted(results)}')
        inputs = _stack('lq', results['lq'], 3)
        T = inputs.shape[0]
        samples = {}
        for key, c in _TENSOR_KEYS.items():
            if key in results and not (isinstance(results[key], (list, tuple)) and len(results[key]) == 0
                                       and key != 'gt'):
                samples[key] = _stack(key, results[key], c)
        for key, n in (('flow_fw', T - 1), ('flow_bw', T - 1), ('occ_fw', T - 1), ('occ_bw', T - 1),
                       ('ref_flows', T)):
            if key in samples and samples[key].shape[0] != n:
                raise ValueError(f'PackVideoInputs: {key} has {samples[key].shape[0]} entries, expected {n} '
                                 f'for {T} lq frames')
        for key in self.meta_keys:
            if key in results:
                samples[key] = results[key]
        return dict(inputs=inputs, data_samples=samples)

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(meta_keys={self.meta_keys})'
