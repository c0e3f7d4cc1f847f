"""The flow-source interface shared by every flow estimator of the toolbox.

A flow source turns two images into the optical flow between them::

    flow = source.flow(src, dst)          # == source(src, dst)

Args:
    src, dst: ``(B, 3, H, W)`` RGB images in [0, 1] (same shape).

Returns:
    ``(B, 2, H, W)`` flow in pixels, channel 0 = dx (right), 1 = dy (down), ``flow = flow(src, dst)`` in the
    convention of :mod:`vidtoolbox.ops.flow_warp`: ``src(p) ≈ dst(p + flow(p))``, so
    ``flow_warp(dst, flow) ≈ src``.

Losses and alignment blocks that work on the task head's *context* (see :mod:`vidtoolbox.models.losses.base`)
call :meth:`BaseFlowSource.flow_from_context` instead, which lets sources that do not look at images (ground
truth in the sample, precomputed files) answer the same question::

    flow = source.flow_from_context(ctx, src_index, dst_index, size=(H, W))

Capabilities (class attributes; losses, alignment blocks and tools read these, never a source's type name, so a
user's own source registered under any name is treated like a built-in one):

* ``differentiable``: ``True`` when gradients flow from the returned flow back to ``src`` / ``dst`` (SPyNet),
  ``False`` otherwise (OpenCV DIS, ground truth, files).
* ``can_estimate``: ``True`` when :meth:`BaseFlowSource.flow` computes the flow between any two images (DIS,
  SPyNet); ``False`` when the source only answers :meth:`BaseFlowSource.flow_from_context` for frames of a sample
  (ground truth, precomputed files) — such a source cannot compare a prediction with its target.
* ``reads_sample``: ``True`` when the flow comes from the data sample (its fields or its ``key``) rather than from
  the pixels; such flows do not exist for a user's real video.
* ``sample_keys``: the data-sample fields :meth:`BaseFlowSource.flow_from_context` reads. A network that owns a flow
  source declares them as its own ``sample_keys`` so that the task head passes those fields to it (see
  :class:`vidtoolbox.models.heads.base_head.BaseTaskHead`). Estimators read the network input ``lq`` and need none
  (``()``; their ``frames_key`` when it names another field, e.g. ``('gt',)``).
"""
from typing import Optional, Sequence

import torch
import torch.nn as nn

from ...ops.flow_warp import resize_flow

__all__ = ['BaseFlowSource', 'context_get', 'normalize_frame_index', 'reference_flows', 'neighbour_flows', 'build_estimator']


def context_get(ctx: dict, key: str, default=None):
    """Look ``key`` up in the context, then in ``ctx['data_samples']`` (heads put sample fields in both)."""
    if key in ctx:
        return ctx[key]
    samples = ctx.get('data_samples')
    if isinstance(samples, dict) and key in samples:
        return samples[key]
    return default


def normalize_frame_index(index, num_frames: int, name: str, owner: str) -> int:
    """Check a frame index against ``num_frames`` (negative indices count from the end); return it in ``[0, T)``."""
    if isinstance(index, torch.Tensor):
        if index.numel() != 1:
            raise ValueError(f'{owner}: {name} must be a single frame index, got a tensor of shape '
                             f'{tuple(index.shape)}')
        index = index.item()
    if isinstance(index, bool) or not isinstance(index, int):
        raise TypeError(f'{owner}: {name} must be an int frame index, got {type(index).__name__}')
    if not -num_frames <= index < num_frames:
        raise IndexError(f'{owner}: {name}={index} is out of range for {num_frames} frames')
    return index % num_frames


class BaseFlowSource(nn.Module):
    """Base class of flow sources (see the module docstring for the contract).

    Args:
        frames_key: context key of the ``(B, T, 3, h, w)`` clip that :meth:`flow_from_context` reads frames from
            (default ``'lq'``, the network input; ``'gt'`` for ground-truth frames).
    """

    #: whether gradients reach ``src`` / ``dst`` through the returned flow
    differentiable: bool = False
    #: whether :meth:`flow` estimates the flow between any two images
    can_estimate: bool = True
    #: whether the flow is read from the data sample (ground truth, files) instead of estimated from pixels
    reads_sample: bool = False

    @property
    def sample_keys(self) -> tuple:
        """Data-sample fields :meth:`flow_from_context` reads: ``()`` for estimators on the network input
        (``frames_key='lq'``), else ``(frames_key,)``; sources that read the sample override it."""
        return () if self.frames_key == 'lq' else (self.frames_key,)

    def __init__(self, frames_key: str = 'lq'):
        super().__init__()
        if not isinstance(frames_key, str):
            raise TypeError(f'{type(self).__name__}: frames_key must be a str, got {type(frames_key).__name__}')
        self.frames_key = frames_key

    # --- the image interface ---------------------------------------------------------------------------
    def flow(self, src: torch.Tensor, dst: torch.Tensor) -> torch.Tensor:  # pragma: no cover - interface
        """``flow(src, dst)`` ``(B, 2, H, W)`` in pixels for images ``(B, 3, H, W)`` in [0, 1]."""
        raise NotImplementedError

    def forward(self, src: torch.Tensor, dst: torch.Tensor) -> torch.Tensor:
        return self.flow(src, dst)

    def check_pair(self, src: torch.Tensor, dst: torch.Tensor) -> None:
        """Raise a clear error unless ``src`` and ``dst`` are two ``(B, 3, H, W)`` images of the same shape."""
        name = type(self).__name__
        for arg, t in (('src', src), ('dst', dst)):
            if not isinstance(t, torch.Tensor):
                raise TypeError(f'{name}: {arg} must be a torch.Tensor (B, 3, H, W), got {type(t).__name__}')
            if t.dim() != 4 or t.shape[1] != 3:
                raise ValueError(f'{name}: {arg} must be (B, 3, H, W) RGB in [0, 1], got shape {tuple(t.shape)}')
        if src.shape != dst.shape:
            raise ValueError(f'{name}: src {tuple(src.shape)} and dst {tuple(dst.shape)} must have the same shape')

    # --- the context interface -------------------------------------------------------------------------
    def flow_from_context(self, ctx: dict, src_index: int, dst_index: int,
                          size: Optional[Sequence[int]] = None) -> torch.Tensor:
        """``flow(frame src_index, frame dst_index)`` of the clip in the head's context.

        The default reads ``ctx[frames_key]`` ``(B, T, 3, h, w)`` and calls :meth:`flow` on the two frames.

        Args:
            ctx: the task head's context dict (see :mod:`vidtoolbox.models.losses.base`).
            src_index, dst_index: frame indices in ``[-T, T)``.
            size: optional ``(H, W)``; the flow is resized to it with values scaled
                (:func:`vidtoolbox.ops.resize_flow`).

        Returns:
            ``(B, 2, H, W)`` flow in pixels of the returned resolution.
        """
        frames = context_get(ctx, self.frames_key)
        name = type(self).__name__
        if frames is None:
            raise KeyError(f'{name}: the context has no {self.frames_key!r} clip to compute flow on; '
                           f'keys available: {sorted(ctx)}')
        if not isinstance(frames, torch.Tensor) or frames.dim() != 5:
            shape = tuple(frames.shape) if isinstance(frames, torch.Tensor) else type(frames).__name__
            raise ValueError(f'{name}: ctx[{self.frames_key!r}] must be a (B, T, 3, h, w) clip, got {shape}')
        t = frames.shape[1]
        s = normalize_frame_index(src_index, t, 'src_index', name)
        d = normalize_frame_index(dst_index, t, 'dst_index', name)
        return self.resize(self.flow(frames[:, s], frames[:, d]), size)

    @staticmethod
    def resize(flow: torch.Tensor, size: Optional[Sequence[int]]) -> torch.Tensor:
        """Resize a ``(B, 2, H, W)`` pixel flow to ``size`` (values scaled); ``None`` keeps it."""
        if size is None:
            return flow
        if len(size) != 2:
            raise ValueError(f'flow size must be (H, W), got {size!r}')
        return resize_flow(flow, (int(size[0]), int(size[1])))


def reference_flows(source: BaseFlowSource, lq: torch.Tensor, ref_index: int, fields: Optional[dict] = None,
                    size: Optional[Sequence[int]] = None, who: str = 'network') -> list:
    """``flow(ref, t)`` for every frame t of a clip, from a network's flow source (the flow a flow-guided block needs).

    Args:
        source: any :class:`BaseFlowSource`; estimators read ``lq``, sources with ``reads_sample`` read ``fields``.
        lq: ``(B, T, 3, h, w)`` the network input in [0, 1].
        ref_index: the reference frame.
        fields: the data-sample fields the head passed to the network (the source's ``sample_keys``).
        size: ``(H, W)`` of the returned flows (default ``(h, w)``); resized with :func:`ops.resize_flow`
            (``mode='auto'``: area averaging when shrinking, e.g. ground truth at GT resolution to LR).
        who: the network's name, for error messages.

    Returns:
        T tensors ``(B, 2, H, W)``, ``flow(ref, t)`` in pixels of ``size``, channels (dx, dy); zeros for ``t = ref``.

    Raises:
        ValueError: the source reads the data sample and the input carries none of its fields (a real video has no
            ground-truth flow), or the source's own errors.
    """
    fields = dict(fields or {})
    if source.reads_sample and not any(k in fields for k in source.sample_keys):
        raise ValueError(f'{who}: its flow source {type(source).__name__} reads the flow from the data sample (fields '
                         f'{list(source.sample_keys)}), but this input carries none of them. A real video has no '
                         "ground-truth flow: use a flow estimator instead, e.g. flow_cfg=dict(type='DISFlow') or "
                         "dict(type='SPyNetFlow').")
    b, t, _, h, w = lq.shape
    size = (h, w) if size is None else (int(size[0]), int(size[1]))
    ctx = dict(fields, lq=lq)
    out = []
    for i in range(t):
        if i == ref_index:
            out.append(lq.new_zeros(b, 2, *size))
            continue
        flow = source.flow_from_context(ctx, ref_index, i)
        out.append(resize_flow(flow.to(device=lq.device, dtype=lq.dtype), size, mode='auto'))
    return out


def neighbour_flows(flow_fn, x: torch.Tensor):
    """Flows between neighbouring frames of a clip, both ways, batched into two calls of ``flow_fn``.

    Args:
        flow_fn: ``flow_fn(src, dst) -> (N, 2, h, w)``, ``flow(src, dst)`` in pixels (e.g. a :class:`SPyNet`).
        x: ``(B, T, C, h, w)`` frames.

    Returns:
        ``(flow_fw, flow_bw)``, each ``(B, T−1, 2, h, w)``: ``flow(t, t+1)`` and ``flow(t+1, t)``; empty
        ``(B, 0, 2, h, w)`` tensors for T < 2.
    """
    b, t, c, h, w = x.shape
    if t < 2:
        empty = x.new_zeros(b, 0, 2, h, w)
        return empty, empty
    cur = x[:, :-1].reshape(-1, c, h, w)
    nxt = x[:, 1:].reshape(-1, c, h, w)
    return flow_fn(cur, nxt).view(b, t - 1, 2, h, w), flow_fn(nxt, cur).view(b, t - 1, 2, h, w)


def build_estimator(flow, who: str, between: str = ''):
    """A flow source that estimates flow between any two images, built from a config (default OpenCV DIS) or given.

    Args:
        flow: a flow-source config dict, a :class:`BaseFlowSource`, or ``None`` (``dict(type='DISFlow')``).
        who: the caller's name, for error messages.
        between: what the two images are, for the error message (e.g. ``' (the prediction and its target)'``).

    Raises:
        TypeError: ``flow`` is not a flow source. ValueError: the source cannot estimate (``can_estimate`` is False
            or it does not implement ``flow``), e.g. ``GTFlow`` / ``FileFlow``.
    """
    from vidtoolbox.registry import MODELS
    flow = dict(type='DISFlow') if flow is None else flow
    source = MODELS.build(flow) if isinstance(flow, dict) else flow
    if not isinstance(source, BaseFlowSource):
        raise TypeError(f'{who}: flow must be a flow-source config or BaseFlowSource, got {type(source).__name__}')
    if not source.can_estimate or type(source).flow is BaseFlowSource.flow:
        raise ValueError(f'{who}: flow source {type(source).__name__} cannot estimate flow between two images{between}; '
                         "use an estimator such as dict(type='DISFlow') or dict(type='SPyNetFlow')")
    return source
