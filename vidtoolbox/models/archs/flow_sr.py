"""FlowSRNet: a TOFlow-like flow-based video SR network whose alignment block comes from config.

Chan et al. (AAAI 2021, Tab. 2) use "an architecture similar to TOFlow except that spatial warping is done on LR
space": per-frame features, alignment of every frame to the reference with optical flow (N SPyNets for N offsets),
fusion, reconstruction and ×4 upsampling, added to the bicubic-upsampled reference.
"""
import torch
import torch.nn as nn

from vidtoolbox.registry import MODELS
from ..alignment.base import alignment_record, fill_alignment_cfg
from .arch_util import ResidualBlockNoBN, make_layer, check_sr_args, ResidualUpsamplerMixin

__all__ = ['FlowSRNet']


@MODELS.register_module()
class FlowSRNet(ResidualUpsamplerMixin, nn.Module):
    """Features → alignment (any block, default :class:`MultiSPyNetAlign`) → fusion → reconstruction → ×scale.

    Args:
        in_channels / out_channels: image channels (3).
        mid_channels: feature width C.
        num_frames: T input frames; the reference is ``center_frame_idx`` (default ``T // 2``).
        num_extract_block: residual blocks of the per-frame feature extractor (after a 3×3 conv + LeakyReLU).
        num_reconstruct_block: residual blocks after fusion.
        align_cfg: alignment block config (``in_channels``/``out_channels`` = C filled in; ``cond_channels``
            left to the block's default ``2C`` = ``cat(ref, nbr)``). Default
            ``dict(type='MultiSPyNetAlign', num_flows=1, level='image')``. The block gets ctx ``ref_img`` /
            ``nbr_img`` (the LR frames) and ``img_encoder`` (this net's feature extractor), so
            ``FlowWarpAlign(level='image')`` realises "estimate flow → warp the LR neighbour image → extract
            features" with the same extractor the feature-level variants use.
        scale: upsampling factor 1, 2 or 4.

    Forward:
        x: ``(B, T, 3, h, w)`` LR frames in [0, 1].

    Returns:
        ``(out, aux)``: ``out`` ``(B, 3, h·scale, w·scale)`` = reconstruction + bicubic-upsampled reference;
        ``aux['alignments']``: one record per frame ``dict(offsets, masks?, nbr_index, ref_index, stride=1,
        name='flow_sr.align', residual=False)`` (the reference is aligned to itself too).
    """

    def __init__(self, in_channels=3, out_channels=3, mid_channels=64, num_frames=7, center_frame_idx=None,
                 num_extract_block=3, num_reconstruct_block=10, align_cfg=None, scale=4):
        super().__init__()
        self.num_frames = num_frames
        self.center_frame_idx = check_sr_args('FlowSRNet', scale, num_frames, center_frame_idx)
        self.scale = scale
        C = mid_channels
        self.align = MODELS.build(fill_alignment_cfg(align_cfg or dict(type='MultiSPyNetAlign', num_flows=1,
                                                                       level='image'), C))
        self.extractor = nn.Sequential(nn.Conv2d(in_channels, C, 3, 1, 1), nn.LeakyReLU(0.1, inplace=True),
                                       *make_layer(ResidualBlockNoBN, num_extract_block, channels=C))
        self.fusion = nn.Conv2d(num_frames * C, C, 1)
        self.reconstruction = make_layer(ResidualBlockNoBN, num_reconstruct_block, channels=C)
        self.build_upsampler(C, out_channels, scale)

    def forward(self, x):
        if x.dim() != 5 or x.shape[2] != 3:
            raise ValueError(f'FlowSRNet: input must be (B, T, 3, h, w), got {tuple(x.shape)}')
        b, t, c, h, w = x.shape
        if t != self.num_frames:
            raise ValueError(f'FlowSRNet: built for num_frames={self.num_frames}, got {t} frames')
        ci = self.center_frame_idx
        feats = self.extractor(x.reshape(-1, c, h, w)).view(b, t, -1, h, w)
        aligned, records = [], []
        for i in range(t):
            feat, aux = self.align(feats[:, ci], feats[:, i], ref_img=x[:, ci], nbr_img=x[:, i],
                                   img_encoder=self.extractor)
            aligned.append(feat)
            records.append(alignment_record(self.align, aux, name='flow_sr.align', nbr_index=i, ref_index=ci))
        feat = self.lrelu(self.fusion(torch.cat(aligned, 1)))
        out = self.reconstruction(feat)
        return self.upsample_residual(out, x[:, ci]), dict(alignments=records)
