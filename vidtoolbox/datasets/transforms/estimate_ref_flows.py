"""Optical flow from the reference frame to every frame, estimated in the data pipeline (DataLoader workers)."""
from typing import Union

import numpy as np
import torch
from mmcv.transforms import BaseTransform

from vidtoolbox.registry import TRANSFORMS
from .crop import get_list

__all__ = ['EstimateRefFlows']

_FRAME_KEYS = ('lq', 'gt')


@TRANSFORMS.register_module()
class EstimateRefFlows(BaseTransform):
    """Estimate ``ref_flows`` = ``flow(ref, t)`` for every frame ``t`` of the clip with an image-based flow source.

    Placed after the crop and the flips, it computes the flow on exactly the frames the network will see, inside the
    DataLoader workers — off the training step. The loss then reads it with ``flow=dict(type='GTFlow')`` (the flow
    carried by the sample). With the same source (e.g. ``DISFlow``, deterministic) this gives the numbers that the
    source would give inside the step on the same frames: ``OffsetFidelityLoss(flow=dict(type='DISFlow'))`` estimates
    ``flow(lq[ref], lq[t])`` on the packed ``(B, T, 3, h, w)`` float32 batch, this transform on the same float32
    frames before packing.

    Required keys: ``frames_key`` (default ``lq``: a list of T ``(h, w, 3)`` RGB frames in [0, 1]) and
    ``ref_index`` (int in ``[0, T)``). Added: ``ref_flows``, a list of T ``(h, w, 2)`` float32 arrays, channels
    ``(dx, dy)`` in pixels of those frames, ``flow(ref, t)`` in the convention of :mod:`vidtoolbox.ops.flow_warp`
    (``flow_warp(frame t, flow(ref, t)) ≈ frame ref``); ``ref_flows[ref_index]`` is exactly zero. The flows of one
    clip are estimated in one call of the source (``T − 1`` pairs), without gradient.

    Args:
        flow: config (or module) of a flow source that estimates flow between two images (``can_estimate``), e.g.
            ``dict(type='DISFlow')`` (default; OpenCV DIS 'medium', CPU) or ``dict(type='SPyNetFlow')`` (runs on
            the worker's CPU).
        frames_key: ``'lq'`` (default; flows at LR resolution) or ``'gt'`` (needs one GT frame per input frame; flows
            at GT resolution).
        overwrite: replace a ``ref_flows`` the sample already carries (e.g. the built-in dataset's exact flow);
            default False: that is an error.

    Raises:
        KeyError: a required key is missing, or ``ref_flows`` is present and ``overwrite`` is False.
        ValueError / TypeError: a source that cannot estimate, frames of different sizes, a bad ``ref_index``.
    """

    def __init__(self, flow: Union[dict, torch.nn.Module] = None, frames_key: str = 'lq', overwrite: bool = False):
        from vidtoolbox.models.flow.base import build_estimator  # registers the flow sources
        source = build_estimator(flow, 'EstimateRefFlows')
        if frames_key not in _FRAME_KEYS:
            raise ValueError(f'EstimateRefFlows: frames_key must be one of {_FRAME_KEYS}, got {frames_key!r}')
        self.source = source.eval()
        self.frames_key = frames_key
        self.overwrite = bool(overwrite)

    def transform(self, results: dict) -> dict:
        who = 'EstimateRefFlows'
        for k in (self.frames_key, 'ref_index'):
            if k not in results:
                raise KeyError(f'{who}: results has no {k!r} (keys: {sorted(results)})')
        if 'ref_flows' in results and not self.overwrite:
            raise KeyError(f'{who}: the sample already carries ref_flows (e.g. the dataset\'s ground truth); pass '
                           'overwrite=True to replace them with the estimated flow, or drop this transform')
        frames = get_list(results, self.frames_key, who)
        T = len(frames)
        if 'lq' in results and len(results['lq']) != T:
            raise ValueError(f"{who}: frames_key={self.frames_key!r} has {T} frames but lq has {len(results['lq'])}; "
                             'ref_flows needs one flow per input frame')
        ref = results['ref_index']
        if isinstance(ref, bool) or not isinstance(ref, (int, np.integer)) or not 0 <= ref < T:
            raise ValueError(f'{who}: ref_index must be an int in [0, {T}), got {ref!r}')
        ref = int(ref)
        size = frames[0].shape[:2]
        for i, f in enumerate(frames):
            if f.ndim != 3 or f.shape[2] != 3 or f.shape[:2] != size:
                raise ValueError(f'{who}: {self.frames_key}[{i}] must be (H, W, 3) of the size of '
                                 f'{self.frames_key}[0] {size}, got {f.shape}')
        others = [t for t in range(T) if t != ref]
        flows = [np.zeros((*size, 2), np.float32) for _ in range(T)]
        if others:
            # float32 like PackVideoInputs, so the source sees the values the training step would
            clip = torch.from_numpy(np.stack([np.asarray(f, np.float32) for f in frames])).permute(0, 3, 1, 2)
            with torch.no_grad():
                est = self.source.flow(clip[[ref] * len(others)], clip[others])
            est = est.float().permute(0, 2, 3, 1).cpu().numpy()
            for i, t in enumerate(others):
                flows[t] = np.ascontiguousarray(est[i])
        results['ref_flows'] = flows
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(flow={type(self.source).__name__}, frames_key={self.frames_key!r}, '
                f'overwrite={self.overwrite})')
