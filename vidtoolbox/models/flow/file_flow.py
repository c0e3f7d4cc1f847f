"""Precomputed optical flow read from Middlebury ``.flo`` files (``cv2.readOpticalFlow``)."""
import os
import os.path as osp
import string
from typing import Optional, Sequence

import cv2
import numpy as np
import torch

from ...registry import MODELS
from .base import BaseFlowSource, context_get, normalize_frame_index

__all__ = ['FileFlow']

_FIELDS = ('key', 'src', 'dst', 'ref_index')


@MODELS.register_module()
class FileFlow(BaseFlowSource):
    """Flow source reading precomputed ``.flo`` files (``differentiable = False``).

    Files are found from the sample's ``key`` and the two frame indices: the path of ``flow(src, dst)`` for a sample
    is ``osp.join(root, pattern.format(key=key, src=src, dst=dst, ref_index=ref_index))`` where

    * ``key``: the sample's ``key`` field (a clip / frame identifier set by the dataset, e.g. ``'000/00000010'``);
      looked up in the context, then in ``ctx['data_samples']`` (collated to a list of B strings);
    * ``src``, ``dst``: the frame indices passed to :meth:`flow_from_context`, i.e. positions inside the
      sample's clip (``0 … T-1``, negative indices are normalised first);
    * ``ref_index``: the sample's reference index (only if the pattern uses it).

    Format specs work as usual, e.g. ``pattern='{key}/flow_{src:02d}_{dst:02d}.flo'``. Each file must hold
    ``flow(frame src, frame dst)`` in the toolbox convention (``(H, W, 2)`` float32 ``(dx, dy)`` pixels with
    ``src(p) ≈ dst(p + flow(p))``), as written by ``cv2.writeOpticalFlow``.

    Args:
        root: directory the patterns are relative to.
        pattern: format string, fields from ``key``, ``src``, ``dst``, ``ref_index``.
        frames_key: unused (kept for the common signature).
    """

    differentiable = False
    can_estimate = False
    reads_sample = True

    def __init__(self, root: str, pattern: str = '{key}/flow_{src}_{dst}.flo', frames_key: str = 'lq'):
        super().__init__(frames_key=frames_key)
        if not isinstance(root, (str, os.PathLike)):
            raise TypeError(f'FileFlow: root must be a directory path, got {type(root).__name__}')
        if not isinstance(pattern, str) or not pattern:
            raise TypeError(f'FileFlow: pattern must be a non-empty format string, got {pattern!r}')
        try:
            used = {name for _, name, _, _ in string.Formatter().parse(pattern) if name is not None}
        except ValueError as err:
            raise ValueError(f'FileFlow: pattern {pattern!r} is not a valid format string ({err})') from err
        unknown = sorted(n for n in used if n.split('.')[0].split('[')[0] not in _FIELDS)
        if unknown or '' in used:
            raise ValueError(f'FileFlow: pattern {pattern!r} uses unknown fields {unknown or ["{}"]}; '
                             f'allowed fields: {list(_FIELDS)}')
        self.root = os.fspath(root)
        self.pattern = pattern
        self._uses = used

    @property
    def sample_keys(self) -> tuple:
        """The sample fields this source reads: ``('key',)``, plus ``'ref_index'`` when the pattern uses it."""
        return ('key', 'ref_index') if 'ref_index' in self._uses else ('key',)

    def path_for(self, key: str, src: int, dst: int, ref_index: Optional[int] = None) -> str:
        """Path of the file holding ``flow(src, dst)`` of the sample ``key``."""
        if 'ref_index' in self._uses and ref_index is None:
            raise KeyError(f'FileFlow: pattern {self.pattern!r} uses ref_index but the sample has none')
        return osp.join(self.root, self.pattern.format(key=key, src=src, dst=dst, ref_index=ref_index))

    def read(self, key: str, src: int, dst: int, ref_index: Optional[int] = None) -> np.ndarray:
        """Read ``flow(src, dst)`` of the sample ``key`` as ``(H, W, 2)`` float32."""
        path = self.path_for(key, src, dst, ref_index)
        if not osp.isfile(path):
            raise FileNotFoundError(f'FileFlow: no flow file {path!r} for sample key={key!r}, src={src}, dst={dst} '
                                    f'(root={self.root!r}, pattern={self.pattern!r})')
        flow = cv2.readOpticalFlow(path)
        if flow is None or flow.size == 0 or flow.ndim != 3 or flow.shape[2] != 2:
            raise ValueError(f'FileFlow: {path!r} is not a readable .flo file (cv2.readOpticalFlow failed)')
        return flow.astype(np.float32, copy=False)

    def flow(self, src: torch.Tensor, dst: torch.Tensor) -> torch.Tensor:
        raise RuntimeError('FileFlow cannot compute flow from two images: it reads precomputed files located by the '
                           "sample's key. Call flow_from_context(ctx, src_index, dst_index) with the task head "
                           'context, or use an estimator (DISFlow, SPyNetFlow).')

    def flow_from_context(self, ctx: dict, src_index: int, dst_index: int,
                          size: Optional[Sequence[int]] = None) -> torch.Tensor:
        """Read ``flow(frame src_index, frame dst_index)`` for every sample of the batch.

        Returns:
            ``(B, 2, H, W)`` float32 flow (resized with values scaled when ``size`` is given; without ``size`` all
            files of the batch must have the same size). Placed on the device of ``ctx[frames_key]`` if present.
        """
        keys = context_get(ctx, 'key')
        if keys is None:
            raise KeyError(f"FileFlow: the context has no sample 'key' to locate flow files with; context keys: "
                           f'{sorted(ctx)}')
        if isinstance(keys, str):
            keys = [keys]
        keys = list(keys)
        frames = context_get(ctx, self.frames_key)
        num_frames = None
        if isinstance(frames, torch.Tensor) and frames.dim() == 5:
            num_frames = frames.shape[1]
            if frames.shape[0] != len(keys):
                raise ValueError(f'FileFlow: {len(keys)} sample keys for a batch of {frames.shape[0]} clips')
        if num_frames is not None:
            src_index = normalize_frame_index(src_index, num_frames, 'src_index', 'FileFlow')
            dst_index = normalize_frame_index(dst_index, num_frames, 'dst_index', 'FileFlow')
        else:
            for name, v in (('src_index', src_index), ('dst_index', dst_index)):
                if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                    raise ValueError(f'FileFlow: without a clip in the context {name} must be a non-negative int, '
                                     f'got {v!r}')
        refs = [None] * len(keys)
        if 'ref_index' in self._uses:
            r = context_get(ctx, 'ref_index')
            if r is None:
                raise KeyError(f'FileFlow: pattern {self.pattern!r} uses ref_index but the context has none')
            r = r.flatten().tolist() if isinstance(r, torch.Tensor) else r
            refs = [int(r)] * len(keys) if isinstance(r, int) else [int(x) for x in r]
        flows = [torch.from_numpy(self.read(k, src_index, dst_index, ri)).permute(2, 0, 1)[None]
                 for k, ri in zip(keys, refs)]
        if size is not None:
            flows = [self.resize(f, size) for f in flows]
        shapes = {tuple(f.shape) for f in flows}
        if len(shapes) != 1:
            raise ValueError(f'FileFlow: flow files of one batch have different sizes {sorted(shapes)}; '
                             'pass size=(H, W)')
        out = torch.cat(flows, 0)
        if isinstance(frames, torch.Tensor):
            out = out.to(frames.device)
        return out

    def extra_repr(self) -> str:
        return f'root={self.root!r}, pattern={self.pattern!r}'
