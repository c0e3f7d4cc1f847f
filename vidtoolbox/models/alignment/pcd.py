"""Pyramid, Cascading and Deformable (PCD) alignment of EDVR, with the per-level block taken from config."""
import torch
import torch.nn as nn
import torch.nn.functional as F

from vidtoolbox.registry import MODELS
from .base import alignment_caps, alignment_record, fill_alignment_cfg

__all__ = ['PCDAlignment']


@MODELS.register_module()
class PCDAlignment(nn.Module):
    """EDVR's PCD module with any alignment block (see :mod:`.base`) at every level.

    Offset *features* are computed coarse-to-fine (level 3 = 1/4, level 2 = 1/2, level 1 = full LR
    resolution), each level conditioned on the ×2-upsampled (and doubled) offset features of the coarser one,
    and handed to the level's alignment block as ``cond``; aligned features are fused with the upsampled
    coarser aligned features; a final *cascading* block refines the level-1 result against the reference.

    Two convolutions see the reference features concatenated with others: each level's first offset conv,
    ``offset_conv1(cat(nbr, ref))``, and the cascade's ``cas_offset_conv1(cat(feat, ref))``. A convolution of a
    concatenation is the sum of the convolutions of its halves, and the reference half is the same for every
    neighbour of a clip: with ``share_reference=True`` (default) it is computed once per clip
    (:meth:`reference_terms`, which EDVR calls before its loop over the frames) and only the neighbour half per
    frame — the same function and parameters, equal up to float rounding, with about 10 % fewer multiply-adds in the
    offset convs of a 5-frame clip. ``share_reference=False`` convolves the concatenation (kept for the comparison in
    ``benchmarks/bench_train_step.py``).

    The level blocks may warp features or, declaring ``warp_level='image'``, images (ctx ``nbr_img`` and
    ``img_encoder`` per level, given by the network — see :class:`~vidtoolbox.models.archs.EDVRNet`). The cascade
    refines the fused level-1 *features*, which have no image counterpart, so its block must warp features.

    Args:
        mid_channels: feature channels C.
        align_cfg: config of the alignment block of every level, e.g. ``dict(type='DCNv2Align', deform_groups=8)``;
            ``in_channels``/``out_channels``/``cond_channels`` are filled in (C, C, C).
        num_levels: pyramid levels (EDVR: 3).
        share_reference: see above (speed only).
        cascade_cfg: config of the cascading block (default ``align_cfg``); must declare ``warp_level='feature'``.

    Forward:
        nbr_feats / ref_feats: lists of ``num_levels`` tensors, level l is ``(B, C, H/2^l, W/2^l)``.
        ref_terms: optional, :meth:`reference_terms` of ``ref_feats`` (computed here when omitted).
        ctx: passed to every block; lists are sliced per level (index 0 = level 1): ``ref_img``/``nbr_img``
            images, ``img_encoder`` and ``flow`` (``flow(ref, nbr)`` ``(B, 2, H/2^l, W/2^l)`` per level, for blocks
            that declare ``needs_flow``). The cascading block gets level 1's, with ``nbr_img = ref_img`` and a zero
            ``flow`` (its input is already aligned).

    Returns:
        aligned ``(B, C, H, W)`` and one alignment record per block call
        (:func:`~vidtoolbox.models.alignment.base.alignment_record`, levels coarse→fine named ``'pcd.l3'`` …
        ``'pcd.l1'``, then ``'pcd.cascade'`` with ``residual=True``; ``stride`` is the downsampling of that level
        relative to the LR input; frame indices are left to the caller).
    """

    def __init__(self, mid_channels: int = 64, align_cfg: dict = None, num_levels: int = 3,
                 share_reference: bool = True, cascade_cfg: dict = None):
        super().__init__()
        if num_levels < 1:
            raise ValueError(f'PCDAlignment: num_levels must be >= 1, got {num_levels}')
        align_cfg = dict(align_cfg or dict(type='DCNv2Align', deform_groups=8))
        cascade_cfg = dict(cascade_cfg or align_cfg)
        if alignment_caps(cascade_cfg).warp_level != 'feature':
            raise ValueError(f'PCDAlignment: the cascading block refines already aligned features and must warp '
                             f'features; {cascade_cfg.get("type")!r} declares warp_level='
                             f'{alignment_caps(cascade_cfg).warp_level!r} (give a feature-level cascade_cfg)')
        self.num_levels = num_levels
        self.mid_channels = mid_channels
        self.share_reference = bool(share_reference)
        C = mid_channels
        self.offset_conv1 = nn.ModuleDict()
        self.offset_conv2 = nn.ModuleDict()
        self.offset_conv3 = nn.ModuleDict()
        self.blocks = nn.ModuleDict()
        self.feat_conv = nn.ModuleDict()
        for i in range(num_levels, 0, -1):
            lvl = f'l{i}'
            self.offset_conv1[lvl] = nn.Conv2d(2 * C, C, 3, 1, 1)
            if i == num_levels:
                self.offset_conv2[lvl] = nn.Conv2d(C, C, 3, 1, 1)
            else:
                self.offset_conv2[lvl] = nn.Conv2d(2 * C, C, 3, 1, 1)
                self.offset_conv3[lvl] = nn.Conv2d(C, C, 3, 1, 1)
                self.feat_conv[lvl] = nn.Conv2d(2 * C, C, 3, 1, 1)
            self.blocks[lvl] = self._build_block(align_cfg, C)
        self.cas_offset_conv1 = nn.Conv2d(2 * C, C, 3, 1, 1)
        self.cas_offset_conv2 = nn.Conv2d(C, C, 3, 1, 1)
        self.cas_block = self._build_block(cascade_cfg, C)
        self.lrelu = nn.LeakyReLU(0.1, inplace=True)

    @staticmethod
    def _build_block(cfg, channels):
        return MODELS.build(fill_alignment_cfg(cfg, channels, cond_channels=channels))

    @staticmethod
    def _level_ctx(ctx, idx):
        return {k: (v[idx] if isinstance(v, (list, tuple)) else v) for k, v in ctx.items()}

    def reference_terms(self, ref_feats):
        """The reference halves of ``offset_conv1[l](cat(·, ref))`` (bias included) for every level ``'l<i>'`` and of
        ``cas_offset_conv1(cat(·, ref))`` (``'cascade'``): ``(B, C, H/2^l, W/2^l)`` each, to pass to :meth:`forward`
        as ``ref_terms`` for every neighbour of the clip."""
        if len(ref_feats) != self.num_levels:
            raise ValueError(f'PCDAlignment: expected {self.num_levels} reference levels, got {len(ref_feats)}')
        C = self.mid_channels
        terms = {}
        for i in range(self.num_levels, 0, -1):
            conv = self.offset_conv1[f'l{i}']
            terms[f'l{i}'] = F.conv2d(ref_feats[i - 1], conv.weight[:, C:], conv.bias, conv.stride, conv.padding)
        conv = self.cas_offset_conv1
        terms['cascade'] = F.conv2d(ref_feats[0], conv.weight[:, C:], conv.bias, conv.stride, conv.padding)
        return terms

    def conv_with_reference(self, conv: nn.Conv2d, x, ref, term):
        """``conv(cat(x, ref))``: from the precomputed reference half ``term`` when given, else directly."""
        if term is None:
            return conv(torch.cat([x, ref], 1))
        return F.conv2d(x, conv.weight[:, :self.mid_channels], None, conv.stride, conv.padding) + term

    def forward(self, nbr_feats, ref_feats, ref_terms=None, **ctx):
        if len(nbr_feats) != self.num_levels or len(ref_feats) != self.num_levels:
            raise ValueError(f'PCDAlignment: expected {self.num_levels} pyramid levels, got '
                             f'{len(nbr_feats)} neighbour and {len(ref_feats)} reference levels')
        if not self.share_reference:
            ref_terms = None
        elif ref_terms is None:
            ref_terms = self.reference_terms(ref_feats)
        terms = ref_terms or {}
        records = []
        up_offset, up_feat = None, None
        for i in range(self.num_levels, 0, -1):
            lvl = f'l{i}'
            offset = self.lrelu(self.conv_with_reference(self.offset_conv1[lvl], nbr_feats[i - 1], ref_feats[i - 1],
                                                         terms.get(lvl)))
            if i == self.num_levels:
                offset = self.lrelu(self.offset_conv2[lvl](offset))
            else:
                offset = self.lrelu(self.offset_conv2[lvl](torch.cat([offset, up_offset], 1)))
                offset = self.lrelu(self.offset_conv3[lvl](offset))
            feat, aux = self.blocks[lvl](ref_feats[i - 1], nbr_feats[i - 1], cond=offset,
                                         **self._level_ctx(ctx, i - 1))
            records.append(alignment_record(self.blocks[lvl], aux, name=f'pcd.{lvl}', stride=2 ** (i - 1)))
            if i < self.num_levels:
                feat = self.feat_conv[lvl](torch.cat([feat, up_feat], 1))
            if i > 1:
                feat = self.lrelu(feat)
                size = nbr_feats[i - 2].shape[-2:]
                up_offset = F.interpolate(offset, size=size, mode='bilinear', align_corners=False) * 2
                up_feat = F.interpolate(feat, size=size, mode='bilinear', align_corners=False)
        offset = self.lrelu(self.conv_with_reference(self.cas_offset_conv1, feat, ref_feats[0], terms.get('cascade')))
        offset = self.lrelu(self.cas_offset_conv2(offset))
        # the cascade refines features that are already aligned: image-based blocks must not re-apply the full
        # ref→nbr motion, so their neighbour image is the reference image here, and a given flow is zero
        cas_ctx = self._level_ctx(ctx, 0)
        if 'ref_img' in cas_ctx:
            cas_ctx['nbr_img'] = cas_ctx['ref_img']
        if isinstance(cas_ctx.get('flow'), torch.Tensor):
            cas_ctx['flow'] = torch.zeros_like(cas_ctx['flow'])
        feat, aux = self.cas_block(ref_feats[0], feat, cond=offset, **cas_ctx)
        records.append(alignment_record(self.cas_block, aux, name='pcd.cascade', stride=1, residual=True))
        return self.lrelu(feat), records
