"""TDAN (Tian et al., CVPR 2020): temporally deformable alignment with the alignment blocks taken from config."""
import torch
import torch.nn as nn

from vidtoolbox.registry import MODELS
from ..alignment.base import alignment_caps, alignment_record, build_network_flow_source, fill_alignment_cfg
from ..flow.base import reference_flows
from .arch_util import ResidualBlockNoBN, make_layer, check_sr_args, ResidualUpsamplerMixin

__all__ = ['TDANNet']

_RECON_FROM = ('image', 'feature')


@MODELS.register_module()
class TDANNet(ResidualUpsamplerMixin, nn.Module):
    """TDAN: feature extraction → cascaded deformable alignment → reconstruction → ×scale.

    Alignment of frame i to the reference (TDAN's four deformable convolutions)::

        cond = conv3x3(cat(nbr_feat, ref_feat))                        # 2C -> C
        cond = cond_block_k(cond, cond, cond=cond)   for k = 1..3        # deformable convs on the offset features
        aligned, aux = align_block(ref_feat, nbr_feat, cond=cond)       # the alignment itself
        aligned_lr = conv3x3(aligned)                                   # C -> 3, the aligned LR frame

    Reconstruction (``reconstruct_from='image'``, TDAN's): the T aligned LR frames ``(3·T channels)`` → 3×3 conv
    → residual blocks → ×scale → + bicubic-upsampled reference. ``'feature'`` fuses the T aligned feature maps
    (``C·T`` channels) instead.

    Args:
        in_channels / out_channels: image channels (3).
        mid_channels: feature width C (TDAN: 64).
        num_frames: T (TDAN: 5); the reference is ``center_frame_idx`` (default ``T // 2``).
        deform_groups: G, filled into the configs of blocks that declare ``takes_deform_groups`` and do not set
            their own (TDAN: 8).
        num_extract_block: residual blocks of the feature extractor (TDAN: 5).
        num_reconstruct_block: residual blocks of the reconstruction (TDAN: 10).
        align_cfg: config of the final alignment block (default ``dict(type='DCNv2Align', kernel_size=3)``);
            ``in_channels``/``out_channels``/``cond_channels`` = C are filled in.
        cond_align_cfg: config of the three blocks on the offset features (default: ``align_cfg`` when its block
            declares ``cond_capable`` — it runs on features alone —, else ``DCNv2Align``: blocks that need images,
            flow nets or a flow make no sense on offset features).
        num_cond_aligns: number of those blocks (TDAN: 3).
        reconstruct_from: ``'image'`` (TDAN) or ``'feature'``.
        scale: 1, 2 or 4.
        flow_cfg: flow source for an alignment block that declares ``needs_flow`` (e.g. ``FlowGuidedDCNAlign``
            without its own): ``flow(ref, t)`` at LR resolution is passed as ctx ``flow`` (see ``EDVRNet``); required
            for such blocks, refused for the others. Sources that read the data sample (``GTFlow``, ``FileFlow``)
            become :attr:`sample_keys`.

    Attributes:
        sample_keys: data-sample fields the task head passes to :meth:`forward` (those of the flow source).

    Forward:
        x: ``(B, T, 3, h, w)`` LR frames in [0, 1].
        **fields: the data-sample fields named by :attr:`sample_keys`.

    Returns:
        ``(out, aux)``: ``out`` ``(B, 3, h·scale, w·scale)``; ``aux['aligned_lr']`` ``(B, T, 3, h, w)`` the aligned
        LR frames (TDAN's alignment loss compares them with the reference frame); ``aux['alignments']``: per
        frame (the reference is aligned to itself too) the records of the cond blocks (``name='tdan.cond{k}'``,
        ``residual=True``: they deform offset features, their offsets are not ≈ flow) and of the alignment block
        (``name='tdan.align'``, ``residual=False``), all ``stride=1``.
    """

    def __init__(self, in_channels=3, out_channels=3, mid_channels=64, num_frames=5, center_frame_idx=None,
                 deform_groups=8, num_extract_block=5, num_reconstruct_block=10, align_cfg=None,
                 cond_align_cfg=None, num_cond_aligns=3, reconstruct_from='image', scale=4, flow_cfg=None):
        super().__init__()
        if reconstruct_from not in _RECON_FROM:
            raise ValueError(f'TDANNet: reconstruct_from must be one of {_RECON_FROM}, got {reconstruct_from!r}')
        if not isinstance(num_cond_aligns, int) or num_cond_aligns < 0:
            raise ValueError(f'TDANNet: num_cond_aligns must be an int >= 0, got {num_cond_aligns!r}')
        self.num_frames = num_frames
        self.center_frame_idx = check_sr_args('TDANNet', scale, num_frames, center_frame_idx)
        self.scale = scale
        self.reconstruct_from = reconstruct_from
        C = mid_channels
        align_cfg = dict(align_cfg or dict(type='DCNv2Align', kernel_size=3))
        if cond_align_cfg is None:
            cond_capable = alignment_caps(align_cfg).cond_capable
            cond_align_cfg = dict(align_cfg) if cond_capable else dict(type='DCNv2Align', kernel_size=3)
        elif not alignment_caps(cond_align_cfg).cond_capable:
            raise ValueError(f'TDANNet: cond_align_cfg {cond_align_cfg.get("type")!r} does not declare cond_capable: '
                             'it needs images or a flow, but the blocks on the offset features only get features')
        self.align_cfg = fill_alignment_cfg(align_cfg, C, cond_channels=C, deform_groups=deform_groups)
        self.cond_align_cfg = fill_alignment_cfg(cond_align_cfg, C, cond_channels=C, deform_groups=deform_groups)
        self.flow_source = build_network_flow_source('TDANNet', flow_cfg, self.align_cfg)
        self.sample_keys = tuple(self.flow_source.sample_keys) if self.flow_source is not None else ()

        self.conv_first = nn.Conv2d(in_channels, C, 3, 1, 1)
        self.feature_extraction = make_layer(ResidualBlockNoBN, num_extract_block, channels=C)
        self.conv_cond = nn.Conv2d(2 * C, C, 3, 1, 1)
        self.cond_blocks = nn.ModuleList([MODELS.build(self.cond_align_cfg) for _ in range(num_cond_aligns)])
        self.align_block = MODELS.build(self.align_cfg)
        self.recon_lr = nn.Conv2d(C, in_channels, 3, 1, 1)
        fuse_in = num_frames * (in_channels if reconstruct_from == 'image' else C)
        self.conv_fuse = nn.Conv2d(fuse_in, C, 3, 1, 1)
        self.reconstruction = make_layer(ResidualBlockNoBN, num_reconstruct_block, channels=C)
        self.build_upsampler(C, out_channels, scale)
        self.relu = nn.ReLU(inplace=True)

    def extract(self, img):
        """``(N, 3, h, w)`` frames → ``(N, C, h, w)`` features (also the ``img_encoder`` of image-level blocks)."""
        return self.feature_extraction(self.relu(self.conv_first(img)))

    def forward(self, x, **fields):
        if x.dim() != 5 or x.shape[2] != 3:
            raise ValueError(f'TDANNet: input must be (B, T, 3, h, w), got {tuple(x.shape)}')
        b, t, c, h, w = x.shape
        if t != self.num_frames:
            raise ValueError(f'TDANNet: built for num_frames={self.num_frames}, got {t} frames')
        ci = self.center_frame_idx
        flows = None
        if self.flow_source is not None:
            flows = reference_flows(self.flow_source, x, ci, fields, who='TDANNet')
        feats = self.extract(x.reshape(-1, c, h, w)).view(b, t, -1, h, w)
        ref = feats[:, ci]
        aligned_feats, aligned_lr, records = [], [], []
        for i in range(t):
            nbr = feats[:, i]
            cond = self.conv_cond(torch.cat([nbr, ref], 1))
            for k, block in enumerate(self.cond_blocks, 1):
                cond, aux = block(cond, cond, cond=cond)
                records.append(alignment_record(block, aux, name=f'tdan.cond{k}', residual=True, nbr_index=i,
                                                ref_index=ci))
            ctx = {} if flows is None else dict(flow=flows[i])
            feat, aux = self.align_block(ref, nbr, cond=cond, ref_img=x[:, ci], nbr_img=x[:, i],
                                         img_encoder=self.extract, **ctx)
            records.append(alignment_record(self.align_block, aux, name='tdan.align', nbr_index=i, ref_index=ci))
            aligned_feats.append(feat)
            aligned_lr.append(self.recon_lr(feat))
        aligned_lr = torch.stack(aligned_lr, 1)  # (B, T, 3, h, w)
        if self.reconstruct_from == 'image':
            fuse_in = aligned_lr.reshape(b, -1, h, w)
        else:
            fuse_in = torch.cat(aligned_feats, 1)
        out = self.reconstruction(self.relu(self.conv_fuse(fuse_in)))
        return self.upsample_residual(out, x[:, ci]), dict(alignments=records, aligned_lr=aligned_lr)
