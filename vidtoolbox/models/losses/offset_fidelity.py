"""Offset-fidelity loss (Understanding Deformable Alignment in Video SR, §3.4, eq. 4–5).

The data-fitting loss is augmented as ``L̂ = L + λ Σ_n L_n`` with

    ``L_n = Σ_ij H(|x_n,ij − y_ij| − t) · |x_n,ij − y_ij|``

where ``x_n`` is the n-th learned offset field of a deformable alignment, ``y`` the optical flow between the
reference and the neighbour frame, ``H`` the Heaviside step and ``t`` a threshold: offsets may deviate freely from
the flow by up to ``t`` pixels (offset diversity) and are pulled back towards it beyond.

Normalisation (``normalization='mean'``, the default, follows the public loss-only reference of the paper; its
λ = 1.0, t = 10.0 are the defaults here — the paper's own values are not published). For one alignment record
with offsets ``(B, G·N·2, h, w)`` and flow ``y`` resized to ``(h, w)``:

* the offsets are viewed as ``(B, G·N, 2, h, w)`` in ``(dy, dx)`` order (the layout of
  :func:`vidtoolbox.ops.deform_conv2d` and of every alignment block's ``aux['offsets']``); the flow ``(dx, dy)`` is
  flipped to ``(dy, dx)`` and repeated over the G·N offsets;
* ``d = |x − y|`` element-wise (per component), masked by ``d > t`` (strict: ``d == t`` costs nothing);
* each of the ``B·G·N`` offset fields gets the **mean over its (2, h, w) elements** of the masked ``d``
  (``normalization='mean'``) or, literally as eq. 5 writes ``L_n = Σ_ij …``, their **sum**
  (``normalization='sum'``);
* these are **summed** over offsets and groups and (``batch_reduction='sum'``, the reference behaviour, which views
  the offsets as ``(−1, 2, h, w)`` with the batch folded in) over the batch — or averaged over the batch with
  ``batch_reduction='mean'``;
* the loss sums this over every alignment record the arch reports (every PCD level and every neighbour,
  including the reference frame aligned to itself, where the flow is zero), times λ.

How λ maps between the two: a record's ``'sum'`` term is exactly ``2·h·w`` times its ``'mean'`` term, so
``λ_sum = λ_mean / (2·h·w)`` gives the same loss for offsets of size ``(h, w)``. Across the PCD levels (``h, w``
halved per level) no single λ maps: relative to ``'mean'``, ``'sum'`` weighs level l by ``4^−(l−1)`` and grows
with the patch size (e.g. LR patches 64×64: ``2·h·w`` = 8192 at level 1, 2048 at level 2, 512 at level 3).

Records flagged ``residual=True`` (EDVR's cascading block, whose input is already aligned so its offsets are
corrections, not ≈ flow) are skipped by default; with ``include_residual=True`` they are compared with a zero flow
(their corrections may move freely up to ``t`` pixels).

Flow: ``flow(ref, nbr)`` between the record's ``ref_index`` and ``nbr_index`` frames, from any flow source through
``flow_from_context`` (``GTFlow`` reads the dataset's exact ``ref_flows``; ``DISFlow`` / ``SPyNetFlow`` estimate it
on the ``lq`` frames; ``FileFlow`` reads precomputed files). It is computed once per (ref, nbr) pair per call,
without gradient, at the source's native resolution (GT size for ``GTFlow``, LR size for estimators on ``lq``),
and resized with values scaled (:func:`vidtoolbox.ops.resize_flow`, bilinear) to each record's offset resolution
(LR size / stride) — so one flow serves all PCD levels.
"""
from typing import Dict, List, Optional, Tuple

import torch

from vidtoolbox.models.flow.base import BaseFlowSource
from vidtoolbox.ops.flow_warp import resize_flow
from vidtoolbox.registry import MODELS
from .base import BaseLoss

__all__ = ['OffsetFidelityLoss', 'offset_fidelity', 'flow_to_offset_order']

_BATCH_REDUCTIONS = ('sum', 'mean')
_NORMALIZATIONS = ('mean', 'sum')


def flow_to_offset_order(flow: torch.Tensor, num_offsets: int) -> torch.Tensor:
    """Flow ``(B, 2, h, w)`` ``(dx, dy)`` → offset layout ``(B, 2·num_offsets, h, w)`` ``(dy, dx)`` repeated.

    Channel ``2k`` is dy and ``2k + 1`` is dx for every offset k (group-major, then offset: all the same here).
    """
    return flow.flip(1).repeat(1, num_offsets, 1, 1)


def offset_fidelity(offsets: torch.Tensor, flow: torch.Tensor, threshold: float = 10.0,
                    batch_reduction: str = 'sum', normalization: str = 'mean') -> torch.Tensor:
    """Offset-fidelity term of one offset tensor (without λ); see the module docstring for the normalisation.

    Args:
        offsets: ``(B, G·N·2, h, w)`` in pixels of this resolution, channel ``2·(g·N + n) + {0: dy, 1: dx}``.
        flow: ``(B, 2, h, w)`` ``flow(ref, nbr)`` in pixels of the same resolution, channels ``(dx, dy)``;
            or ``None`` for a zero flow.
        threshold: t, in pixels.
        batch_reduction: ``'sum'`` (reference) | ``'mean'`` over the batch.
        normalization: ``'mean'`` (reference) | ``'sum'`` (eq. 5 literally) over each offset field's ``(2, h, w)``
            elements.

    Returns:
        scalar: ``reduce_b Σ_k mean_{c,i,j} H(d − t)·d`` (``'sum'``: ``Σ_{c,i,j}``) with ``d = |offsets − flow|``.
    """
    if not isinstance(offsets, torch.Tensor) or offsets.dim() != 4 or offsets.shape[1] % 2:
        shape = tuple(offsets.shape) if isinstance(offsets, torch.Tensor) else type(offsets).__name__
        raise ValueError(f'offset_fidelity: offsets must be (B, G*N*2, h, w) with an even channel count, got {shape}')
    if batch_reduction not in _BATCH_REDUCTIONS:
        raise ValueError(f'offset_fidelity: batch_reduction must be one of {_BATCH_REDUCTIONS}, '
                         f'got {batch_reduction!r}')
    if normalization not in _NORMALIZATIONS:
        raise ValueError(f'offset_fidelity: normalization must be one of {_NORMALIZATIONS}, got {normalization!r}')
    b, c, h, w = offsets.shape
    if flow is None:
        diff = offsets.abs()
    else:
        if not isinstance(flow, torch.Tensor) or flow.dim() != 4 or flow.shape[1] != 2:
            shape = tuple(flow.shape) if isinstance(flow, torch.Tensor) else type(flow).__name__
            raise ValueError(f'offset_fidelity: flow must be (B, 2, h, w) (dx, dy), got {shape}')
        if flow.shape[0] != b or flow.shape[-2:] != offsets.shape[-2:]:
            raise ValueError(f'offset_fidelity: flow {tuple(flow.shape)} does not match offsets '
                             f'{tuple(offsets.shape)} in batch or size')
        diff = (offsets - flow_to_offset_order(flow.to(offsets.dtype), c // 2)).abs()
    masked = diff * (diff > threshold).to(diff.dtype)
    per_offset = masked.reshape(b, c // 2, 2 * h * w)
    per_offset = per_offset.mean(-1) if normalization == 'mean' else per_offset.sum(-1)  # (B, G·N)
    per_sample = per_offset.sum(1)
    return per_sample.sum() if batch_reduction == 'sum' else per_sample.mean()


def _index(value, what: str, i: int) -> int:
    if isinstance(value, torch.Tensor):
        if value.numel() != 1:
            flat = value.flatten()
            if not bool((flat == flat[0]).all()):
                raise ValueError(f'OffsetFidelityLoss: alignment record {i} has a different {what} per batch element '
                                 f'({flat.tolist()}); one index per record is expected')
            value = flat[0]
        value = int(value.item())
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f'OffsetFidelityLoss: alignment record {i} {what} must be an int, got {value!r}')
    return value


@MODELS.register_module()
class OffsetFidelityLoss(BaseLoss):
    """λ · Σ over alignment records of :func:`offset_fidelity` against the flow between their frames.

    Args:
        loss_weight: λ (default 1.0, the public reference's default).
        threshold: t in pixels (default 10.0): offsets within t of the flow cost nothing.
        flow: flow-source config (default ``dict(type='GTFlow')``) or module; any
            :class:`~vidtoolbox.models.flow.BaseFlowSource`.
        include_residual: compare records marked ``residual=True`` with a zero flow (default: skip them).
        batch_reduction: ``'sum'`` (default, the reference's normalisation) | ``'mean'`` (batch-size independent).
        normalization: ``'mean'`` (default, the reference: mean over each offset field's ``2·h·w`` elements) |
            ``'sum'`` (eq. 5 literally: their sum; ``λ_sum = λ_mean / (2·h·w)`` at offset size ``(h, w)``, see the
            module docstring).
        loss_name: log name (default ``'loss_ofl'``).
        inputs: context-key remapping; the loss reads ``alignments`` (list of records, see
            :mod:`vidtoolbox.models.archs.edvr`), and the flow source reads what it needs from the whole context
            (``ref_flows``/``ref_index`` for GTFlow, ``lq`` for estimators, ``key`` for FileFlow).

    Call:
        ``loss(ctx)`` with the head's context, or ``loss(alignments=[...], ctx={...})``.

    Returns:
        scalar tensor (connected to every offset used, zero when all are within ``t`` of the flow).

    Raises:
        ValueError / KeyError: no alignment records (the arch reports no offsets), a record without offsets or
        frame indices, a flow that does not match the offsets.
    """

    default_inputs = dict(alignments='alignments')
    default_name = 'loss_ofl'

    def __init__(self, loss_weight: float = 1.0, threshold: float = 10.0, flow=None,
                 include_residual: bool = False, batch_reduction: str = 'sum', loss_name: str = None,
                 inputs: dict = None, normalization: str = 'mean'):
        super().__init__(loss_weight, loss_name, inputs)
        if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or threshold < 0:
            raise ValueError(f'OffsetFidelityLoss: threshold must be a number >= 0 (pixels), got {threshold!r}')
        if batch_reduction not in _BATCH_REDUCTIONS:
            raise ValueError(f'OffsetFidelityLoss: batch_reduction must be one of {_BATCH_REDUCTIONS}, '
                             f'got {batch_reduction!r}')
        if normalization not in _NORMALIZATIONS:
            raise ValueError(f'OffsetFidelityLoss: normalization must be one of {_NORMALIZATIONS}, '
                             f'got {normalization!r}')
        flow = dict(type='GTFlow') if flow is None else flow
        source = MODELS.build(flow) if isinstance(flow, dict) else flow
        if not isinstance(source, BaseFlowSource):
            raise TypeError(f'OffsetFidelityLoss: flow must be a flow-source config or BaseFlowSource, got '
                            f'{type(source).__name__}')
        self.threshold = float(threshold)
        self.flow_source = source
        self.include_residual = bool(include_residual)
        self.batch_reduction = batch_reduction
        self.normalization = normalization

    def __call__(self, *args, **kwargs):
        if len(args) == 1 and not kwargs and isinstance(args[0], dict):
            ctx = args[0]
            return super().__call__(ctx=ctx, **self.gather(ctx))
        return super().__call__(*args, **kwargs)

    def forward(self, alignments: List[dict], ctx: Optional[dict] = None) -> torch.Tensor:
        if not isinstance(alignments, (list, tuple)) or len(alignments) == 0:
            raise ValueError('OffsetFidelityLoss: no alignment records — the generator must report its offsets in '
                             "aux['alignments'] (list of dict(offsets, nbr_index, ref_index, stride, ...)), as "
                             'EDVRNet does; got ' + repr(type(alignments).__name__ if not isinstance(
                                 alignments, (list, tuple)) else alignments))
        ctx = {} if ctx is None else ctx
        native: Dict[Tuple[int, int], torch.Tensor] = {}
        resized: Dict[Tuple[int, int, int, int], torch.Tensor] = {}
        total = None
        for i, rec in enumerate(alignments):
            if not isinstance(rec, dict) or 'offsets' not in rec:
                raise KeyError(f'OffsetFidelityLoss: alignment record {i} has no "offsets" '
                               f'(keys: {sorted(rec) if isinstance(rec, dict) else type(rec).__name__})')
            offsets = rec['offsets']
            if not isinstance(offsets, torch.Tensor) or offsets.dim() != 4 or offsets.shape[1] % 2:
                shape = tuple(offsets.shape) if isinstance(offsets, torch.Tensor) else type(offsets).__name__
                raise ValueError(f'OffsetFidelityLoss: record {i} ({rec.get("name", "?")}) offsets must be '
                                 f'(B, G*N*2, h, w), got {shape}')
            if rec.get('residual', False):
                if not self.include_residual:
                    continue
                term = offset_fidelity(offsets, None, self.threshold, self.batch_reduction, self.normalization)
            else:
                for k in ('ref_index', 'nbr_index'):
                    if k not in rec:
                        raise KeyError(f'OffsetFidelityLoss: alignment record {i} ({rec.get("name", "?")}) has no '
                                       f'{k!r}; records need ref_index and nbr_index to find the flow')
                ref, nbr = _index(rec['ref_index'], 'ref_index', i), _index(rec['nbr_index'], 'nbr_index', i)
                h, w = offsets.shape[-2:]
                if ref == nbr:
                    flow = None  # a frame aligned to itself: zero flow, no estimation needed
                else:
                    key = (ref, nbr, h, w)
                    if key not in resized:
                        if (ref, nbr) not in native:
                            with torch.no_grad():
                                f = self.flow_source.flow_from_context(ctx, ref, nbr)
                            native[(ref, nbr)] = f.detach().to(device=offsets.device, dtype=offsets.dtype)
                        resized[key] = resize_flow(native[(ref, nbr)], (h, w))
                    flow = resized[key]
                term = offset_fidelity(offsets, flow, self.threshold, self.batch_reduction, self.normalization)
            total = term if total is None else total + term
        if total is None:  # only residual records, all skipped
            total = sum(r['offsets'].sum() * 0.0 for r in alignments)
        return self.loss_weight * total

    def extra_repr(self) -> str:
        return (f'loss_weight={self.loss_weight}, threshold={self.threshold}, include_residual='
                f'{self.include_residual}, batch_reduction={self.batch_reduction!r}, '
                f'normalization={self.normalization!r}')
