"""EDVR (Wang et al., 2019) with a configurable alignment block inside PCD."""
from functools import partial

import torch
import torch.nn as nn
import torch.nn.functional as F

from vidtoolbox.ops.flow_warp import resize_flow
from vidtoolbox.registry import MODELS
from ..alignment.base import alignment_caps, alignment_record, build_network_flow_source, fill_alignment_cfg
from ..flow.base import reference_flows
from .arch_util import ResidualBlockNoBN, make_layer, check_sr_args, ResidualUpsamplerMixin
from .tsa import TSAFusion

__all__ = ['EDVRNet']


@MODELS.register_module()
class EDVRNet(ResidualUpsamplerMixin, nn.Module):
    """EDVR: feature extraction → PCD alignment (any alignment block) → TSA fusion → reconstruction → ×4.

    EDVR-M: ``mid_channels=64, num_extract_block=5, num_reconstruct_block=10, deform_groups=8, num_frames=5``;
    EDVR-L: ``mid_channels=128, num_reconstruct_block=40``.

    Args:
        in_channels / out_channels: image channels (3).
        mid_channels: feature width C.
        num_frames: T input frames; the reference is ``center_frame_idx`` (default ``T // 2``).
        deform_groups: G, filled into ``align_cfg`` for blocks that declare ``takes_deform_groups`` unless the
            config sets its own.
        num_extract_block / num_reconstruct_block: residual blocks before alignment / after fusion.
        with_tsa: TSA fusion (True) or a plain 1×1 conv over the T aligned feature maps (False).
        align_cfg: alignment block config used at every PCD level (default ``DCNv2Align``). A block that declares
            ``warp_level='image'`` (e.g. ``dict(type='FlowWarpAlign', level='image')``, the paper's image- vs
            feature-warping comparison, Tab. 4) keeps all of PCD — the coarse-to-fine offset features, the level
            fusion and the cascade — and only warps images instead of features: at level l it gets the
            full-resolution LR frames (ctx ``ref_img`` / ``nbr_img``) and the level's part of the feature extractor
            (ctx ``img_encoder`` = :meth:`extract_level` for l: ``conv_first`` + ``feature_extraction`` [+
            ``conv_l2_*``] [+ ``conv_l3_*``]), warps the LR neighbour with its level-l flow resized to the LR
            size and encodes the warped frame down to level l. Blocks that only *read* images
            (``needs_images``, feature level) get the image pyramid (LR frame average-pooled to each level).
        cascade_align_cfg: the cascading block's config (default: ``align_cfg`` when it warps features, else
            ``dict(type='DCNv2Align')``); the cascade refines fused features, so it must be feature-level.
        scale: upsampling factor, 4 (two pixel-shuffle ×2 stages) — or 1/2 for tests.
        hr_channels: width of the tail at the output resolution (EDVR: 64; narrow experiments shrink it).
        flow_cfg: flow source (any :class:`~vidtoolbox.models.flow.BaseFlowSource` config or module) for blocks that
            declare ``needs_flow`` (e.g. ``FlowGuidedDCNAlign`` without a flow source of its own); required for them,
            refused for the others. ``flow(ref, nbr)`` is computed once per neighbour at LR resolution
            (``flow_from_context``: estimators such as ``DISFlow`` / ``SPyNetFlow`` on the LR frames; ``GTFlow`` /
            ``FileFlow`` from the data sample, area-averaged to LR), then area-averaged to the PCD levels and passed
            as ctx ``flow`` (a per-level list that PCD slices; image-level blocks get it at every level). Sources that
            read the sample make the network declare their fields as :attr:`sample_keys`, so the task head passes
            them; a real video has none of them (the error says so).

    Attributes:
        sample_keys: data-sample fields the task head passes to :meth:`forward` (those of the flow source).

    Forward:
        x: ``(B, T, 3, h, w)`` LR frames in [0, 1]; h, w divisible by 4.
        **fields: the data-sample fields named by :attr:`sample_keys` (passed by the head).

    Returns:
        ``(out, aux)``: ``out`` ``(B, 3, h·scale, w·scale)`` = reconstruction + bicubic-upsampled centre
        frame; ``aux['alignments']``: one record per (neighbour frame, block call), see
        :func:`~vidtoolbox.models.alignment.base.alignment_record`; ``residual=True`` marks the cascading block,
        whose input is already aligned (its offsets are corrections, not ≈ flow).
    """

    def __init__(self, in_channels=3, out_channels=3, mid_channels=64, num_frames=5, deform_groups=8,
                 num_extract_block=5, num_reconstruct_block=10, center_frame_idx=None, with_tsa=True,
                 align_cfg=None, scale=4, cascade_align_cfg=None, hr_channels=64, flow_cfg=None):
        super().__init__()
        self.num_frames = num_frames
        self.center_frame_idx = check_sr_args('EDVRNet', scale, num_frames, center_frame_idx)
        self.scale = scale
        self.with_tsa = with_tsa
        C = mid_channels
        align_cfg = fill_alignment_cfg(align_cfg or dict(type='DCNv2Align'), C, deform_groups=deform_groups)
        self.align_cfg = align_cfg
        self.align_caps = alignment_caps(align_cfg)
        self.flow_source = build_network_flow_source('EDVRNet', flow_cfg, align_cfg)
        self.sample_keys = tuple(self.flow_source.sample_keys) if self.flow_source is not None else ()
        if cascade_align_cfg is None:
            cascade_align_cfg = align_cfg if self.align_caps.warp_level == 'feature' else dict(type='DCNv2Align')
        self.cascade_align_cfg = fill_alignment_cfg(cascade_align_cfg, C, deform_groups=deform_groups)

        self.conv_first = nn.Conv2d(in_channels, C, 3, 1, 1)
        self.feature_extraction = make_layer(ResidualBlockNoBN, num_extract_block, channels=C)
        self.conv_l2_1 = nn.Conv2d(C, C, 3, 2, 1)
        self.conv_l2_2 = nn.Conv2d(C, C, 3, 1, 1)
        self.conv_l3_1 = nn.Conv2d(C, C, 3, 2, 1)
        self.conv_l3_2 = nn.Conv2d(C, C, 3, 1, 1)
        self.pcd_align = MODELS.build(dict(type='PCDAlignment', mid_channels=C, align_cfg=align_cfg,
                                           cascade_cfg=self.cascade_align_cfg))
        if with_tsa:
            self.fusion = TSAFusion(C, num_frames, self.center_frame_idx)
        else:
            self.fusion = nn.Conv2d(num_frames * C, C, 1, 1)
        self.reconstruction = make_layer(ResidualBlockNoBN, num_reconstruct_block, channels=C)
        self.build_upsampler(C, out_channels, scale, hr_channels=hr_channels)

    def extract_level(self, img, level: int = 1):
        """``(N, 3, h, w)`` frames → features of pyramid level ``level`` (1, 2, 3): ``(N, C, h/2^(l−1), w/2^(l−1))``.

        The image encoder of level ``level`` for image-level alignment blocks (the same layers as
        :meth:`extract_pyramid`)."""
        feat = self.feature_extraction(self.lrelu(self.conv_first(img)))
        if level >= 2:
            feat = self.lrelu(self.conv_l2_2(self.lrelu(self.conv_l2_1(feat))))
        if level >= 3:
            feat = self.lrelu(self.conv_l3_2(self.lrelu(self.conv_l3_1(feat))))
        return feat

    def extract_pyramid(self, x):
        """``(N, 3, h, w)`` frames → list of 3 feature maps ``(N, C, h/2^l, w/2^l)``."""
        l1 = self.feature_extraction(self.lrelu(self.conv_first(x)))
        l2 = self.lrelu(self.conv_l2_2(self.lrelu(self.conv_l2_1(l1))))
        l3 = self.lrelu(self.conv_l3_2(self.lrelu(self.conv_l3_1(l2))))
        return [l1, l2, l3]

    def forward(self, x, **fields):
        if x.dim() != 5 or x.shape[2] != 3:
            raise ValueError(f'EDVRNet: input must be (B, T, 3, h, w), got {tuple(x.shape)}')
        b, t, c, h, w = x.shape
        if t != self.num_frames:
            raise ValueError(f'EDVRNet: built for num_frames={self.num_frames}, got {t} frames')
        if h % 4 or w % 4:
            raise ValueError(f'EDVRNet: LR height and width must be divisible by 4, got {h}x{w}')
        ci = self.center_frame_idx
        flows = None
        if self.flow_source is not None:  # flow(ref, t) at LR resolution, once per neighbour
            flows = reference_flows(self.flow_source, x, ci, fields, who='EDVRNet')
        feats = self.extract_pyramid(x.reshape(-1, c, h, w))
        feats = [f.view(b, t, *f.shape[1:]) for f in feats]
        ref_feats = [f[:, ci] for f in feats]
        image_level = self.align_caps.warp_level == 'image'
        needs_images = self.align_caps.needs_images or image_level
        if image_level:  # full-resolution frames and the level's encoder at every level
            encoders = [partial(self.extract_level, level=lvl) for lvl in (1, 2, 3)]
            ref_imgs = [x[:, ci]] * 3
        else:
            ref_imgs = self._image_pyramid(x[:, ci]) if needs_images else None
        # the reference halves of PCD's first offset convs, once for the T neighbours (see PCDAlignment)
        ref_terms = self.pcd_align.reference_terms(ref_feats) if self.pcd_align.share_reference else None
        aligned, records = [], []
        for i in range(t):
            nbr_feats = [f[:, i] for f in feats]
            ctx = {}
            if image_level:
                ctx = dict(ref_img=ref_imgs, nbr_img=[x[:, i]] * 3, img_encoder=encoders)
            elif needs_images:
                ctx = dict(ref_img=ref_imgs, nbr_img=self._image_pyramid(x[:, i]))
            if flows is not None:  # one flow per PCD level (PCD slices the list); image-level blocks: the LR flow
                ctx['flow'] = ([flows[i]] * 3 if image_level else
                               [resize_flow(flows[i], f.shape[-2:], mode='auto') for f in nbr_feats])
            feat, recs = self.pcd_align(nbr_feats, ref_feats, ref_terms=ref_terms, **ctx)
            aligned.append(feat)
            for rec in recs:
                rec.update(nbr_index=i, ref_index=ci)
            records += recs
        return self._reconstruct(x, torch.stack(aligned, 1), records)

    def _reconstruct(self, x, aligned, records):
        """Fusion of the aligned features ``(B, T, C, h, w)`` → reconstruction → ×scale + bicubic reference."""
        b, t, c, h, w = aligned.shape
        ci = self.center_frame_idx
        feat = self.fusion(aligned) if self.with_tsa else self.fusion(aligned.view(b, -1, h, w))
        out = self.reconstruction(feat)
        return self.upsample_residual(out, x[:, ci]), dict(alignments=records)

    @staticmethod
    def _image_pyramid(img):
        """Images at the three PCD resolutions (for image-level alignment blocks), ``(B, 3, h/2^l, w/2^l)``."""
        return [img, F.avg_pool2d(img, 2), F.avg_pool2d(img, 4)]
