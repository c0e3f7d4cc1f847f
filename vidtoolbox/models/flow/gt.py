"""The flow carried by the data sample: ground truth (datasets that provide flow, e.g. the built-in synthetic one) or
flow estimated / loaded in the data pipeline (``EstimateRefFlows``, ``LoadRefFlows``)."""
from typing import Optional, Sequence

import torch

from ...registry import MODELS
from .base import BaseFlowSource, context_get, normalize_frame_index

__all__ = ['GTFlow']

_FLOW_KEYS = ('ref_flows', 'flow_fw', 'flow_bw')


def _per_sample_ints(value, batch: int, name: str):
    """``ref_index`` as collated by MMEngine (int, list, or tensor ``(B,)``) → list of B ints."""
    if isinstance(value, torch.Tensor):
        value = value.flatten().tolist()
    if isinstance(value, int) and not isinstance(value, bool):
        return [value] * batch
    if isinstance(value, (list, tuple)) and len(value) == batch:
        out = []
        for v in value:
            if isinstance(v, torch.Tensor):
                v = v.item()
            if isinstance(v, bool) or not isinstance(v, int):
                raise TypeError(f'GTFlow: {name} must hold ints, got {type(v).__name__}')
            out.append(v)
        return out
    raise ValueError(f'GTFlow: {name} must be an int or one int per batch element ({batch}), got {value!r}')


@MODELS.register_module()
class GTFlow(BaseFlowSource):
    """The flow carried by the sample (no estimation here, ``differentiable = False``).

    "Carried by the sample" means whatever the data pipeline put there: a dataset's exact ground truth (the built-in
    dataset), or flow estimated in the DataLoader workers by
    :class:`~vidtoolbox.datasets.transforms.EstimateRefFlows` (e.g. DIS on the LR frames, off the training step), or
    read from precomputed files by :class:`~vidtoolbox.datasets.transforms.LoadRefFlows`.

    Only :meth:`flow_from_context` is available (the images alone do not determine the flow). It looks the
    fields up in the context, then in ``ctx['data_samples']`` (see ``docs/conventions.md``):

    * ``ref_flows`` ``(B, T, 2, H, W)`` with ``ref_index``: ``flow(ref, t)`` — answers pairs whose ``src_index`` is
      the reference frame;
    * ``flow_fw`` ``(B, T-1, 2, H, W)``: ``flow(t, t+1)`` — answers ``dst_index == src_index + 1``;
    * ``flow_bw`` ``(B, T-1, 2, H, W)``: ``flow(t+1, t)`` — answers ``dst_index == src_index - 1``;
    * ``src_index == dst_index``: zero flow.

    ``ref_flows`` answers first when it can (all batch elements have ``ref_index == src_index``), then
    ``flow_fw`` / ``flow_bw``: flow estimated into ``ref_flows`` by the pipeline takes precedence over a dataset's
    adjacent-frame flows (for the built-in dataset both are the same exact flow).

    Each batch element is answered independently (elements may have different ``ref_index``). The flows are returned
    at the resolution they are stored at (GT for datasets' ground truth, LR for flows estimated on the LR frames);
    ``size`` resizes them with values scaled.

    Args:
        frames_key: unused by this source (kept for the common signature).
    """

    differentiable = False
    can_estimate = False
    reads_sample = True
    #: the fields :meth:`flow_from_context` reads from the sample
    sample_keys = _FLOW_KEYS + ('ref_index',)

    def flow(self, src: torch.Tensor, dst: torch.Tensor) -> torch.Tensor:
        raise RuntimeError('GTFlow cannot compute flow from two images: it reads the ground-truth flow of the sample. '
                           'Call flow_from_context(ctx, src_index, dst_index) with the task head context, or use an '
                           'estimator (DISFlow, SPyNetFlow) for flow between arbitrary images.')

    def flow_from_context(self, ctx: dict, src_index: int, dst_index: int,
                          size: Optional[Sequence[int]] = None) -> torch.Tensor:
        """The sample's ``flow(frame src_index, frame dst_index)`` ``(B, 2, H, W)`` (stored resolution, or ``size``)."""
        fields = {k: context_get(ctx, k) for k in _FLOW_KEYS}
        fields = {k: v for k, v in fields.items() if v is not None}
        if not fields:
            raise KeyError('GTFlow: the sample has no ground-truth flow (none of the keys '
                           f'{list(_FLOW_KEYS)} in the context or its data_samples; context keys: {sorted(ctx)}). '
                           'Use a dataset that provides flow (e.g. the built-in synthetic dataset), estimate it in the '
                           "data pipeline (dict(type='EstimateRefFlows') after the crop and flips), or an estimator "
                           'such as DISFlow / SPyNetFlow.')
        for k, v in fields.items():
            if not isinstance(v, torch.Tensor) or v.dim() != 5 or v.shape[2] != 2:
                shape = tuple(v.shape) if isinstance(v, torch.Tensor) else type(v).__name__
                raise ValueError(f'GTFlow: {k} must be a batched tensor (B, T, 2, H, W), got {shape}')
        any_flow = next(iter(fields.values()))
        batch = any_flow.shape[0]
        if 'ref_flows' in fields:
            num_frames = fields['ref_flows'].shape[1]
        else:
            num_frames = any_flow.shape[1] + 1
        s = normalize_frame_index(src_index, num_frames, 'src_index', 'GTFlow')
        d = normalize_frame_index(dst_index, num_frames, 'dst_index', 'GTFlow')

        if s == d:
            return self.resize(torch.zeros_like(any_flow[:, 0]), size)
        # ref_flows first: when the pipeline estimated them (EstimateRefFlows) they are the flow the config asked for,
        # even where the dataset also carries its own adjacent-frame flows
        refs = None
        ref_index = context_get(ctx, 'ref_index')
        if 'ref_flows' in fields and ref_index is not None:
            refs = [normalize_frame_index(r, num_frames, 'ref_index', 'GTFlow')
                    for r in _per_sample_ints(ref_index, batch, 'ref_index')]
            if all(r == s for r in refs):
                return self.resize(fields['ref_flows'][:, d], size)
        if d == s + 1 and 'flow_fw' in fields:
            return self.resize(fields['flow_fw'][:, s], size)
        if d == s - 1 and 'flow_bw' in fields:
            return self.resize(fields['flow_bw'][:, d], size)
        if 'ref_flows' in fields and ref_index is None:
            raise KeyError('GTFlow: the sample has ref_flows but no ref_index telling which frame they start from')
        bad = [b for b in range(batch) if refs is None or refs[b] != s]
        raise ValueError(
            f'GTFlow: no ground-truth flow for the pair ({s} -> {d}) in batch element(s) {bad}: the sample provides '
            f'{sorted(fields)}; ref_flows gives flow(ref_index, t) only (ref_index = {refs}), flow_fw gives '
            '(t -> t+1) and flow_bw gives (t+1 -> t) only.')
