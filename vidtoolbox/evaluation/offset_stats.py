"""Statistics of learned alignment offsets (pure functions, no state).

Used by :class:`vidtoolbox.engine.hooks.OffsetMonitorHook` and ``tools/visualize_offsets.py``; they follow
*Understanding Deformable Alignment in Video Super-Resolution* (Chan et al., AAAI 2021), Sec. 4.1–4.2.

Layout (``docs/conventions.md``): an alignment record's ``offsets`` are ``(B, G·N·2, H, W)`` in pixels of that
record's resolution (``stride`` times coarser than the LR input), channel ``2·(g·N + n)`` is **dy** and
``2·(g·N + n) + 1`` is **dx** of offset ``n`` of group ``g``. A flow is ``(B, 2, H, W)`` with channel 0 = **dx**,
channel 1 = **dy**; the offset that aligns the neighbour onto the reference is ≈ ``flow(ref, nbr)`` with its two
channels swapped.

Definitions (all in pixels of the record's resolution):

* **magnitude** of one offset vector: ``sqrt(dy² + dx²)``; ``mean`` / ``max`` are over every offset vector
  (all batch items, groups, offsets and pixels).
* **diversity**: the paper measures offset diversity "by the pixelwise standard deviation of the offsets". Here,
  per pixel and per set of offsets, it is the (population, ``ddof=0``) standard deviation of the 2-D offset
  vectors, ``sqrt(var_n(dy) + var_n(dx))`` — the RMS Euclidean distance of the offsets from their mean. The sets
  are the N offsets of each group (``num_groups=G``; the default of the monitor) or all G·N offsets of a pixel
  (``num_groups=1``, the paper's "standard deviation of all offsets", Fig. 9). The scalar is the mean over
  sets, pixels and batch items. N = 1 gives 0.
* **fraction within t px** (Fig. 5, t = 1): the share of offset vectors whose Euclidean distance to the flow at
  their pixel is *smaller* than ``t``. For a DCN the raw offsets are the learned residuals Δp (the sampling
  position of kernel point k is ``p + p_k + Δp_k``); as in the paper's analysis, Δp itself is compared with the
  flow, so the comparison is meaningful for 1×1 kernels (G = N = 1, the paper's setting) and shows how far the
  other kernel points' Δp stray from the motion. For *residual* (cascading) records, whose input is already
  aligned, the offsets are corrections and no flow comparison is made.
"""
from collections import OrderedDict
from typing import Dict, Iterable, List, Optional, Sequence

import torch

from vidtoolbox.ops.flow_warp import resize_flow

__all__ = ['split_offsets', 'offset_magnitude', 'offset_diversity_map', 'offset_diversity', 'flow_distance',
           'fraction_within', 'record_offset_stats', 'merge_offset_stats', 'summarize_alignments',
           'within_key', 'offset_summary']


def within_key(threshold: float) -> str:
    """The stats-dict key of the fraction within ``threshold`` pixels, e.g. ``'within_1px'``."""
    return f'within_{float(threshold):g}px'


def _check_offsets(offsets: torch.Tensor, who: str) -> torch.Tensor:
    if not isinstance(offsets, torch.Tensor):
        raise TypeError(f'{who}: offsets must be a torch.Tensor (B, G*N*2, H, W), got {type(offsets).__name__}')
    if offsets.dim() != 4 or offsets.shape[1] == 0 or offsets.shape[1] % 2:
        raise ValueError(f'{who}: offsets must be (B, G*N*2, H, W) with an even, non-zero channel count '
                         f'(dy, dx pairs), got shape {tuple(offsets.shape)}')
    return offsets


def split_offsets(offsets: torch.Tensor, num_groups: int = 1) -> torch.Tensor:
    """View offsets ``(B, G·N·2, H, W)`` as ``(B, G, N, 2, H, W)`` (last-but-two axis: 0 = dy, 1 = dx).

    Args:
        offsets: ``(B, G·N·2, H, W)`` in the group-major / offset / (dy, dx) layout.
        num_groups: G; ``G·2`` must divide the channel count.

    Raises:
        ValueError: wrong rank, odd channel count, or a ``num_groups`` that does not divide it.
    """
    offsets = _check_offsets(offsets, 'split_offsets')
    if not isinstance(num_groups, int) or num_groups < 1:
        raise ValueError(f'split_offsets: num_groups must be a positive int, got {num_groups!r}')
    b, c, h, w = offsets.shape
    if c % (2 * num_groups):
        raise ValueError(f'split_offsets: {c} offset channels cannot be split into num_groups={num_groups} groups '
                         f'of (dy, dx) pairs; expected a multiple of {2 * num_groups}')
    return offsets.reshape(b, num_groups, c // (2 * num_groups), 2, h, w)


def offset_magnitude(offsets: torch.Tensor) -> torch.Tensor:
    """Length ``sqrt(dy² + dx²)`` of every offset vector: ``(B, G·N·2, H, W)`` → ``(B, G·N, H, W)``."""
    offsets = _check_offsets(offsets, 'offset_magnitude')
    b, c, h, w = offsets.shape
    v = offsets.reshape(b, c // 2, 2, h, w).float()
    # hypot of the two channel planes: ~100x faster on the CPU than norm(dim=2) over the size-2 middle axis (the
    # heads log this every iteration); equal to it up to float rounding
    return torch.hypot(v[:, :, 0], v[:, :, 1])


def offset_diversity_map(offsets: torch.Tensor, num_groups: int = 1) -> torch.Tensor:
    """Pixelwise offset diversity ``(B, G, H, W)``: std of the N offset vectors of each group (see module doc).

    Args:
        offsets: ``(B, G·N·2, H, W)``.
        num_groups: G; each group's N offsets form one set (``1`` pools all offsets of a pixel).

    Returns:
        ``(B, G, H, W)`` float tensor ``sqrt(var_n(dy) + var_n(dx))`` (population variance), ≥ 0, in pixels.
    """
    off = split_offsets(offsets, num_groups).float()
    var = off.var(dim=2, unbiased=False)  # (B, G, 2, H, W)
    return var.sum(dim=2).sqrt()


def offset_diversity(offsets: torch.Tensor, num_groups: int = 1) -> float:
    """Mean of :func:`offset_diversity_map` over batch, groups and pixels (a Python float, pixels)."""
    return float(offset_diversity_map(offsets, num_groups).mean())


def _check_flow(flow: torch.Tensor, offsets: torch.Tensor, who: str) -> torch.Tensor:
    if not isinstance(flow, torch.Tensor):
        raise TypeError(f'{who}: flow must be a torch.Tensor (B, 2, H, W), got {type(flow).__name__}')
    if flow.dim() != 4 or flow.shape[1] != 2:
        raise ValueError(f'{who}: flow must be (B, 2, H, W) with channels (dx, dy), got shape {tuple(flow.shape)}')
    if flow.shape[0] != offsets.shape[0] or flow.shape[2:] != offsets.shape[2:]:
        raise ValueError(f'{who}: flow {tuple(flow.shape)} must match the offsets {tuple(offsets.shape)} in batch '
                         'size and resolution; resize it to the record resolution first (ops.resize_flow)')
    return flow


def flow_distance(offsets: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """Euclidean distance of every offset vector to the flow at its pixel.

    Args:
        offsets: ``(B, G·N·2, H, W)`` in (dy, dx).
        flow: ``(B, 2, H, W)`` = ``flow(ref, nbr)`` in (dx, dy) at the offsets' resolution (it is swapped to
            (dy, dx) before the comparison).

    Returns:
        ``(B, G·N, H, W)`` distances in pixels.
    """
    offsets = _check_offsets(offsets, 'flow_distance')
    flow = _check_flow(flow, offsets, 'flow_distance')
    b, c, h, w = offsets.shape
    flow_yx = flow.flip(1).to(device=offsets.device, dtype=torch.float32).unsqueeze(1)  # (B, 1, 2, H, W)
    d = offsets.reshape(b, c // 2, 2, h, w).float() - flow_yx
    return torch.hypot(d[:, :, 0], d[:, :, 1])


def fraction_within(offsets: torch.Tensor, flow: torch.Tensor, threshold: float = 1.0,
                    mask: Optional[torch.Tensor] = None) -> float:
    """Share of offset vectors closer than ``threshold`` pixels (Euclidean, strict ``<``) to the flow.

    Args:
        offsets: ``(B, G·N·2, H, W)`` (dy, dx).
        flow: ``(B, 2, H, W)`` ``flow(ref, nbr)`` in (dx, dy), same resolution.
        threshold: distance in pixels (the paper's Fig. 5 uses 1).
        mask: optional ``(B, 1, H, W)`` (or ``(B, H, W)``) weights/booleans selecting the pixels counted
            (e.g. non-occluded ones).

    Returns:
        A float in [0, 1] (``nan`` when the mask selects nothing).
    """
    if not threshold > 0:
        raise ValueError(f'fraction_within: threshold must be > 0 pixels, got {threshold!r}')
    close = (flow_distance(offsets, flow) < threshold).float()  # (B, G·N, H, W)
    if mask is None:
        return float(close.mean())
    if mask.dim() == 3:
        mask = mask.unsqueeze(1)
    if mask.dim() != 4 or mask.shape[1] != 1 or mask.shape[0] != close.shape[0] or mask.shape[2:] != close.shape[2:]:
        raise ValueError(f'fraction_within: mask must be (B, 1, H, W) matching the offsets {tuple(offsets.shape)}, '
                         f'got {tuple(mask.shape)}')
    m = mask.to(device=close.device, dtype=torch.float32).expand_as(close)
    total = float(m.sum())
    return float((close * m).sum()) / total if total > 0 else float('nan')


def record_offset_stats(record: dict, flow: Optional[torch.Tensor] = None, num_groups: Optional[int] = None,
                        threshold: float = 1.0) -> Dict[str, float]:
    """Statistics of one alignment record.

    Args:
        record: ``dict(offsets=(B, G·N·2, H, W), stride=..., residual=..., ...)`` as produced by the archs
            (``docs/conventions.md``). ``deform_groups`` in the record, when present, gives G.
        flow: optional ``flow(ref, nbr)`` ``(B, 2, H, W)`` (dx, dy) in pixels *of the record's resolution*
            (for EDVR: the GT-resolution flow resized by ``1 / (scale · stride)``, see
            :func:`summarize_alignments`). Ignored for residual (cascade) records.
        num_groups: G for the diversity (default: ``record['deform_groups']``, else 1 = all offsets pooled).
        threshold: distance of the "within" fraction, pixels.

    Returns:
        ``dict(mean=, max=, diversity=, count=)`` (+ ``within_<t>px`` when a flow was compared); ``count`` is the
        number of offset vectors (used to merge records).
    """
    if not isinstance(record, dict) or 'offsets' not in record:
        raise KeyError('record_offset_stats: record must be a dict with an "offsets" tensor (B, G*N*2, H, W), got '
                       f'{sorted(record) if isinstance(record, dict) else type(record).__name__}')
    offsets = _check_offsets(record['offsets'], 'record_offset_stats').detach()
    if num_groups is None:
        num_groups = int(record.get('deform_groups', 1))
    mag = offset_magnitude(offsets)
    stats = dict(mean=float(mag.mean()), max=float(mag.max()),
                 diversity=offset_diversity(offsets, num_groups), count=int(mag.numel()))
    if flow is not None and not record.get('residual', False):
        stats[within_key(threshold)] = fraction_within(offsets, flow.detach(), threshold)
    return stats


def merge_offset_stats(stats: Sequence[Dict[str, float]]) -> Dict[str, float]:
    """Merge per-record stats into one (means weighted by ``count``, ``max`` of maxima).

    A ``within_*`` fraction is merged over the records that have it only.
    """
    stats = [s for s in stats if s]
    if not stats:
        raise ValueError('merge_offset_stats: nothing to merge (empty list of stats)')
    total = sum(s['count'] for s in stats)
    out = dict(mean=sum(s['mean'] * s['count'] for s in stats) / total,
               max=max(s['max'] for s in stats),
               diversity=sum(s['diversity'] * s['count'] for s in stats) / total,
               count=total)
    keys = sorted({k for s in stats for k in s if k.startswith('within_')})
    for k in keys:
        have = [s for s in stats if k in s]
        n = sum(s['count'] for s in have)
        out[k] = sum(s[k] * s['count'] for s in have) / n
    return out


def summarize_alignments(records: Iterable[dict], ref_flows: Optional[torch.Tensor] = None,
                         flows_ref_index: Optional[int] = None, num_groups=None, threshold: float = 1.0,
                         exclude_reference: bool = True) -> 'OrderedDict[str, Dict[str, float]]':
    """Per-level statistics of a generator's alignment records, grouped by record ``name``.

    Args:
        records: alignment records (``aux['alignments']``); records without ``offsets`` are skipped.
        ref_flows: optional ``(B, T, 2, Hf, Wf)``: ``flow(frame flows_ref_index, frame t)`` (dx, dy) in pixels
            at any resolution (the dataset's ``ref_flows`` at GT resolution); record ``r`` is compared with
            ``ref_flows[:, r['nbr_index']]`` resized to the record's ``(H, W)`` with
            :func:`vidtoolbox.ops.resize_flow` (area averaging when shrinking; for EDVR's ×``scale`` data this
            averages each LR pixel's ``scale·stride`` footprint and divides the vectors by ``scale · stride``).
        flows_ref_index: the frame ``ref_flows`` are relative to; records whose ``ref_index`` differs are not
            compared (default: assume they agree).
        num_groups: G for the diversity: an int, a dict ``{name: G}``, or a callable ``record -> G``
            (default: ``record['deform_groups']`` or 1).
        threshold: the "within" distance in pixels.
        exclude_reference: skip records aligning the reference frame onto itself (``nbr_index == ref_index``):
            they carry no motion.

    Returns:
        ``OrderedDict`` name → merged stats (see :func:`record_offset_stats`), in order of first appearance.
    """
    if ref_flows is not None and (not isinstance(ref_flows, torch.Tensor) or ref_flows.dim() != 5
                                  or ref_flows.shape[2] != 2):
        raise ValueError('summarize_alignments: ref_flows must be a (B, T, 2, H, W) tensor of flow(ref, frame t), '
                         f'got {getattr(ref_flows, "shape", type(ref_flows).__name__)}')
    per_name: 'OrderedDict[str, List[dict]]' = OrderedDict()
    for rec in records:
        if 'offsets' not in rec:
            continue
        if exclude_reference and rec.get('nbr_index') is not None and rec.get('nbr_index') == rec.get('ref_index'):
            continue
        name = str(rec.get('name', 'align'))
        if callable(num_groups):
            g = num_groups(rec)
        elif isinstance(num_groups, dict):
            g = num_groups.get(name)
        else:
            g = num_groups
        flow = None
        if ref_flows is not None and not rec.get('residual', False) and rec.get('nbr_index') is not None:
            same_ref = flows_ref_index is None or rec.get('ref_index') is None \
                or int(rec['ref_index']) == int(flows_ref_index)
            t = int(rec['nbr_index'])
            if same_ref and 0 <= t < ref_flows.shape[1]:
                off = rec['offsets']
                f = ref_flows[:, t].to(device=off.device, dtype=torch.float32)
                # area averaging when shrinking: the flow of an LR pixel is the mean over its GT footprint
                shrink = f.shape[-2] >= off.shape[-2] and f.shape[-1] >= off.shape[-1]
                flow = resize_flow(f, off.shape[-2:], mode='area' if shrink else 'bilinear')
        per_name.setdefault(name, []).append(record_offset_stats(rec, flow, g, threshold))
    return OrderedDict((k, merge_offset_stats(v)) for k, v in per_name.items())


def offset_summary(records: Iterable[dict], exclude_reference: bool = True) -> Dict[str, float]:
    """``dict(mean=, max=)`` offset-vector magnitude over all records (pixels of each record's resolution) — what
    the task heads log every iteration as ``offset_mean`` / ``offset_max`` (the same definition as the per-level
    ``mean`` / ``max`` of :func:`summarize_alignments`, pooled over levels). Empty dict when there are no offsets.
    """
    total, count, peak = 0.0, 0, 0.0
    for rec in records:
        if not isinstance(rec, dict) or 'offsets' not in rec:
            continue
        if exclude_reference and rec.get('nbr_index') is not None and rec.get('nbr_index') == rec.get('ref_index'):
            continue
        mag = offset_magnitude(rec['offsets'].detach())
        total += float(mag.sum())
        count += mag.numel()
        peak = max(peak, float(mag.max()))
    return dict(mean=total / count, max=peak) if count else {}
