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

    The level blocks may warp features or, declaring ``warp_level='image'``, images (ctx ``nbr_img`` and
    ``img_encoder`` per level, given by the network — see :class:`~vidtoolbox.models.archs.EDVRNet`). The cascade
    refines the fused level-1 *features*, which have no image counterpart, so its block must warp features.

    Args:
        mid_channels: feature channels C.
        align_cfg: config of the alignment block of every level, e.g. ``dict(type='DCNv2Align', deform_groups=8)``;
            ``in_channels``/``out_channels``/``cond_channels`` are filled in (C, C, C).
        num_levels: pyramid levels (EDVR: 3).
        cascade_cfg: config of the cascading block (default ``align_cfg``); must declare ``warp_level='feature'``.

    Forward:
        nbr_feats / ref_feats: lists of ``num_levels`` tensors, level l is ``(B, C, H/2^l, W/2^l)``.
        ctx: passed to every block (a list or tuple value is indexed by level, 0 = finest; the cascade gets the
            finest level's values).

    Returns:
        aligned ``(B, C, H, W)`` and one alignment record per block call
        (:func:`~vidtoolbox.models.alignment.base.alignment_record`, levels coarse→fine named ``'pcd.l3'`` …
        ``'pcd.l1'``, then ``'pcd.cascade'`` with ``residual=True``; ``stride`` is the downsampling of that level
        relative to the LR input; frame indices are left to the caller).
    """

    def __init__(self, mid_channels: int = 64, align_cfg: dict = None, num_levels: int = 3,
                 cascade_cfg: dict = None):
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

    def forward(self, nbr_feats, ref_feats, **ctx):
        if len(nbr_feats) != self.num_levels or len(ref_feats) != self.num_levels:
            raise ValueError(f'PCDAlignment: expected {self.num_levels} pyramid levels, got '
                             f'{len(nbr_feats)} neighbour and {len(ref_feats)} reference levels')
        records = []
        up_offset, up_feat = None, None
        for i in range(self.num_levels, 0, -1):
            lvl = f'l{i}'
            offset = self.lrelu(self.offset_conv1[lvl](torch.cat([nbr_feats[i - 1], ref_feats[i - 1]], 1)))
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
        offset = self.lrelu(self.cas_offset_conv1(torch.cat([feat, ref_feats[0]], 1)))
        offset = self.lrelu(self.cas_offset_conv2(offset))
        # the cascade refines features that are already aligned: image-based blocks must not re-apply the full
        # ref→nbr motion, so their neighbour image is the reference image here
        cas_ctx = self._level_ctx(ctx, 0)
        if 'ref_img' in cas_ctx:
            cas_ctx['nbr_img'] = cas_ctx['ref_img']
        feat, aux = self.cas_block(ref_feats[0], feat, cond=offset, **cas_ctx)
        records.append(alignment_record(self.cas_block, aux, name='pcd.cascade', stride=1, residual=True))
        return self.lrelu(feat), records
