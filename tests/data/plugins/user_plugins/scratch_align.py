"""(b) A user's block written from scratch on ``BaseAlignment``.

It follows the alignment interface (``forward(ref_feat, nbr_feat, cond=None, **ctx) -> (aligned, aux)`` with
``aux['offsets']`` ``(B, G·N·2, H, W)`` in (dy, dx) order) and declares its capabilities as class attributes:
one flow per deformable group (N = 1), so it takes the network's ``deform_groups``; it needs only features, so it
can also run on TDAN's offset features; it reads ``cond`` when a network gives one.
"""
import torch
import torch.nn as nn

from vidtoolbox.models.alignment import BaseAlignment
from vidtoolbox.ops import flow_warp
from vidtoolbox.registry import MODELS


@MODELS.register_module()
class ScratchFlowAlign(BaseAlignment):
    """G flows predicted from ``cond`` (or ``cat(ref, nbr)``), each warping its group of channels, then a 1×1 conv."""

    takes_deform_groups = True   # the network's G fills `deform_groups` unless the config sets it
    warp_level = 'feature'       # it resamples features (networks keep their feature pyramid)
    needs_images = False         # no ctx ref_img / nbr_img needed
    cond_capable = True          # runs on offset features alone (TDAN's conditioning blocks)
    needs_flow = False
    reads_cond = True

    def __init__(self, in_channels, out_channels=None, cond_channels=None, deform_groups=1):
        super().__init__()
        if in_channels % deform_groups:
            raise ValueError(f'ScratchFlowAlign: in_channels {in_channels} not divisible by {deform_groups} groups')
        self.in_channels = in_channels
        self.deform_groups = deform_groups
        self.num_offsets = 1
        cond_channels = cond_channels or 2 * in_channels
        self.to_flow = nn.Conv2d(cond_channels, 2 * deform_groups, 3, 1, 1)
        nn.init.zeros_(self.to_flow.weight)
        nn.init.zeros_(self.to_flow.bias)
        self.fuse = nn.Conv2d(in_channels, out_channels or in_channels, 1)

    def forward(self, ref_feat, nbr_feat, cond=None, **ctx):
        self.check_inputs('ScratchFlowAlign', ref_feat, nbr_feat, self.in_channels)
        cond = torch.cat([ref_feat, nbr_feat], 1) if cond is None else cond
        offsets = self.to_flow(cond)                                # (B, G·2, H, W), (dy, dx) per group
        b, c, h, w = nbr_feat.shape
        g = self.deform_groups
        flow = offsets.view(b * g, 2, h, w).flip(1)                 # (dx, dy): the flow_warp convention
        warped = flow_warp(nbr_feat.reshape(b * g, c // g, h, w), flow, padding_mode='zeros')
        return self.fuse(warped.view(b, c, h, w)), dict(offsets=offsets)
