"""Flow-based alignment: one offset (a flow) per location and group, a backward warp, then a 1×1 conv (N = 1).

This is the N = 1 case of the DCN decomposition (Chan et al., AAAI 2021): a DCN with G = 1 and a 1×1 kernel is a
flow warp followed by a 1×1 convolution. Two variants (the paper's image- vs feature-warping comparison, Tab. 4),
which differ only in what is warped — the same parameters (``head``, ``conv_offset``, ``fusion``), the same flow:

* ``level='feature'``: ``aligned = fusion(warp(nbr_feat, flow))`` — warp the neighbour *features* (G groups of
  channels, one flow each).
* ``level='image'``: ``aligned = fusion(encode(warp(nbr_img, flow)))`` — warp the neighbour *image* (ctx
  ``nbr_img``, G must be 1) and turn the warped image into features with an *image encoder*: the arch's own feature
  extractor passed as ctx ``img_encoder`` (a callable ``(B, 3, H', W') → (B, in_channels, H, W)``), so the pipeline
  is "estimate flow → warp the LR neighbour image → extract features"; or, with ``own_encoder=True``, the block's own
  small encoder (3×3 conv → LeakyReLU → 1×1 conv). The image may be larger than the features (``(H', W')`` an
  integer multiple of ``(H, W)``, e.g. the full-resolution LR frame at a coarser PCD level): the flow, predicted at
  the features' resolution, is resized to the image with :func:`vidtoolbox.ops.resize_flow` (values scaled), and
  the encoder brings the warped image back to ``(H, W)``. Where the encoder commutes with the warp (zero flow;
  integer shifts away from the borders) the two levels give the same output from the same parameters.

The flow is predicted from features (``cond`` or ``cat(ref_feat, nbr_feat)``, default) or, with
``flow_input='image'``, from ``cat(ref_img, nbr_img)`` (area-downscaled to the features' size when larger).
"""
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from vidtoolbox.ops.flow_warp import flow_warp, resize_flow
from vidtoolbox.registry import MODELS
from .base import BaseAlignment

__all__ = ['FlowWarpAlign']

_LEVELS = ('feature', 'image')
_FLOW_INPUTS = ('feature', 'image')


@MODELS.register_module()
class FlowWarpAlign(BaseAlignment):
    """Predict a flow per location (per group), backward-warp the neighbour with :func:`ops.flow_warp`, 1×1 conv.

    Args:
        in_channels: C of ``ref_feat`` / ``nbr_feat``.
        out_channels: channels of the aligned output (default ``in_channels``).
        cond_channels: channels of ``cond`` (default ``2·in_channels`` = ``cat(ref, nbr)``); with
            ``flow_input='image'`` the flow head reads ``cat(ref_img, nbr_img)`` (``2·img_channels``) instead.
        deform_groups: G flows, one per group of C/G channels (``level='feature'``); must be 1 at image level.
        level: ``'feature'`` or ``'image'`` — what is warped (see the module docstring).
        flow_input: ``'feature'`` (from ``cond`` / ``cat(ref_feat, nbr_feat)``) or ``'image'``.
        num_head_convs: 3×3 conv + LeakyReLU layers (width ``head_channels``) before the zero-initialised
            offset conv; 0 (default) = a single offset conv, like a DCN's ``conv_offset`` inside PCD.
        head_channels: width of those layers (default ``in_channels``).
        modulated: also predict a sigmoid mask per group (multiplied onto the warped map).
        img_channels: image channels at image level (3).
        padding_mode: ``flow_warp`` padding (``'zeros'`` like a DCN, ``'border'``, ``'reflection'``).
        own_encoder: at image level, build the block's own image encoder (``encoder``: 3×3 conv → LeakyReLU → 1×1
            conv, ``img_channels → in_channels``) used when the arch passes no ctx ``img_encoder``; default False
            (the arch's extractor encodes, and the block has exactly the feature level's parameters).

    The offset conv is zero-initialised: at start the flow is 0, the warp is the identity and the output is the
    1×1 conv of ``nbr_feat`` (feature level) / of the encoding of ``nbr_img`` (image level).

    Forward: ``(ref_feat, nbr_feat, cond=None, **ctx)`` (see :mod:`.base`); at image level ctx ``nbr_img``
    ``(B, 3, s·H, s·W)`` in [0, 1] (integer s ≥ 1) and ``img_encoder`` (unless ``own_encoder``) are required;
    ``flow_input='image'`` needs ctx ``ref_img`` and ``nbr_img`` of one such size.

    Returns:
        ``aligned`` ``(B, out_channels, H, W)``, ``aux`` with ``offsets`` ``(B, G·2, H, W)`` in pixels, channel
        ``2g`` = dy, ``2g + 1`` = dx (the flow ``flow(ref, nbr)`` with channels swapped), ``masks`` ``(B, G, H, W)``
        when modulated, and ``warped_img`` ``(B, 3, s·H, s·W)`` at image level.
    """

    num_offsets = 1

    @classmethod
    def capabilities(cls, cfg=None):
        """Capabilities by ``level`` / ``flow_input``: image level warps images (needs them and an image encoder);
        a flow predicted from images needs them too; only the feature/feature variant runs on offset features."""
        cfg = cfg or {}
        level, flow_input = cfg.get('level', 'feature'), cfg.get('flow_input', 'feature')
        return super().capabilities(cfg)._replace(
            warp_level=level, needs_images=level == 'image' or flow_input == 'image',
            cond_capable=level == 'feature' and flow_input == 'feature', reads_cond=flow_input == 'feature')

    def __init__(self, in_channels: int, out_channels: Optional[int] = None, cond_channels: Optional[int] = None,
                 deform_groups: int = 1, level: str = 'feature', flow_input: str = 'feature',
                 num_head_convs: int = 0, head_channels: Optional[int] = None, modulated: bool = False,
                 img_channels: int = 3, padding_mode: str = 'zeros', own_encoder: bool = False):
        super().__init__()
        name = type(self).__name__
        for key, val in (('in_channels', in_channels), ('deform_groups', deform_groups),
                         ('img_channels', img_channels)):
            if not isinstance(val, int) or val < 1:
                raise ValueError(f'{name}: {key} must be a positive int, got {val!r}')
        if level not in _LEVELS:
            raise ValueError(f'{name}: level must be one of {_LEVELS}, got {level!r}')
        if flow_input not in _FLOW_INPUTS:
            raise ValueError(f'{name}: flow_input must be one of {_FLOW_INPUTS}, got {flow_input!r}')
        if level == 'feature' and in_channels % deform_groups:
            raise ValueError(f'{name}: in_channels ({in_channels}) must be divisible by deform_groups '
                             f'({deform_groups})')
        if level == 'image' and deform_groups != 1:
            raise ValueError(f'{name}: level="image" warps the whole image with one flow; deform_groups must be 1, '
                             f'got {deform_groups}')
        if not isinstance(num_head_convs, int) or num_head_convs < 0:
            raise ValueError(f'{name}: num_head_convs must be an int >= 0, got {num_head_convs!r}')
        self.in_channels = in_channels
        self.out_channels = out_channels or in_channels
        self.level = level
        for key, val in self.capabilities(dict(level=level, flow_input=flow_input))._asdict().items():
            setattr(self, key, val)
        self.flow_input = flow_input
        self.deform_groups = deform_groups
        self.modulated = bool(modulated)
        self.img_channels = img_channels
        self.padding_mode = padding_mode
        if flow_input == 'image':
            self.cond_channels = 2 * img_channels
        else:
            self.cond_channels = cond_channels or 2 * in_channels
        width = head_channels or in_channels
        layers, ch = [], self.cond_channels
        for _ in range(num_head_convs):
            layers += [nn.Conv2d(ch, width, 3, 1, 1), nn.LeakyReLU(0.1, inplace=True)]
            ch = width
        self.head = nn.Sequential(*layers)
        G = deform_groups
        self.conv_offset = nn.Conv2d(ch, G * (3 if self.modulated else 2), 3, 1, 1)
        nn.init.zeros_(self.conv_offset.weight)
        nn.init.zeros_(self.conv_offset.bias)
        # the 1×1 conv after the warp (feature level) / after the encoding of the warped image (image level): one
        # parameter set for both levels, so the Tab. 4 pair differs only in what is warped
        self.fusion = nn.Conv2d(in_channels, self.out_channels, 1)
        self.own_encoder = bool(own_encoder) and level == 'image'
        if self.own_encoder:
            self.encoder = nn.Sequential(nn.Conv2d(img_channels, in_channels, 3, 1, 1),
                                         nn.LeakyReLU(0.1, inplace=True),
                                         nn.Conv2d(in_channels, in_channels, 1))

    def _img(self, ctx, key, like):
        """ctx image ``key``: ``(B, img_channels, s·H, s·W)`` for an integer s >= 1 (H, W of ``like``)."""
        img = ctx.get(key)
        name = type(self).__name__
        if img is None:
            raise ValueError(f'{name}: level={self.level!r}, flow_input={self.flow_input!r} needs ctx {key!r}, '
                             f'a (B, {self.img_channels}, H, W) image at (an integer multiple of) the features\' '
                             'resolution; the arch must pass it')
        b, _, h, w = like.shape
        ok = img.dim() == 4 and img.shape[0] == b and img.shape[1] == self.img_channels
        if ok:
            ih, iw = img.shape[2:]
            ok = ih >= h and ih % h == 0 and iw % w == 0 and ih // h == iw // w
        if not ok:
            raise ValueError(f'{name}: ctx {key!r} must be (B, {self.img_channels}, s*H, s*W) with B={b}, H={h}, '
                             f'W={w} and an integer s >= 1, got {tuple(img.shape)}')
        return img

    def predict_offsets(self, ref_feat, nbr_feat, cond=None, **ctx):
        """``(offsets (B, G·2, H, W) as (dy, dx), masks (B, G, H, W) or None)``."""
        if self.flow_input == 'image':
            imgs = [self._img(ctx, k, ref_feat) for k in ('ref_img', 'nbr_img')]
            if imgs[0].shape != imgs[1].shape:
                raise ValueError(f'{type(self).__name__}: ref_img {tuple(imgs[0].shape)} and nbr_img '
                                 f'{tuple(imgs[1].shape)} differ')
            cond = torch.cat(imgs, 1)
            if cond.shape[2:] != ref_feat.shape[2:]:
                cond = F.interpolate(cond, size=ref_feat.shape[2:], mode='area')
        elif cond is None:
            cond = torch.cat([ref_feat, nbr_feat], 1)
        if cond.dim() != 4 or cond.shape[1] != self.cond_channels or cond.shape[0] != ref_feat.shape[0] \
                or cond.shape[2:] != ref_feat.shape[2:]:
            raise ValueError(f'{type(self).__name__}: cond must be (B, {self.cond_channels}, H, W) matching the '
                             f'features {tuple(ref_feat.shape)}, got {tuple(cond.shape)}')
        out = self.conv_offset(self.head(cond))
        G = self.deform_groups
        masks = torch.sigmoid(out[:, 2 * G:]) if self.modulated else None
        return out[:, :2 * G], masks

    def forward(self, ref_feat, nbr_feat, cond=None, **ctx):
        """Align ``nbr_feat`` (or ctx ``nbr_img``) onto the reference; see the class docstring."""
        self.check_inputs(type(self).__name__, ref_feat, nbr_feat, self.in_channels)
        offsets, masks = self.predict_offsets(ref_feat, nbr_feat, cond, **ctx)
        b, _, h, w = offsets.shape
        G = self.deform_groups
        flow = offsets.view(b * G, 2, h, w).flip(1)  # (dy, dx) -> (dx, dy)
        aux = dict(offsets=offsets)
        if masks is not None:
            aux['masks'] = masks
        if self.level == 'feature':
            c = nbr_feat.shape[1]
            warped = flow_warp(nbr_feat.reshape(b * G, c // G, h, w), flow, padding_mode=self.padding_mode)
            if masks is not None:
                warped = warped * masks.reshape(b * G, 1, h, w)
            return self.fusion(warped.view(b, c, h, w)), aux
        img = self._img(ctx, 'nbr_img', ref_feat)
        warped = flow_warp(img, resize_flow(flow, img.shape[2:]), padding_mode=self.padding_mode)
        if masks is not None:
            warped = warped * F.interpolate(masks, size=img.shape[2:], mode='nearest')
        aux['warped_img'] = warped
        encoder = ctx.get('img_encoder')
        if encoder is None:
            if not self.own_encoder:
                raise ValueError(f'{type(self).__name__}: level="image" needs ctx img_encoder (the network\'s '
                                 'feature extractor, (B, 3, H\', W\') -> (B, in_channels, H, W)) or own_encoder=True')
            encoder = self.encoder
        encoded = encoder(warped)
        if encoded.shape != (b, self.in_channels, h, w):
            raise ValueError(f'{type(self).__name__}: img_encoder returned {tuple(encoded.shape)}, expected '
                             f'{(b, self.in_channels, h, w)}')
        return self.fusion(encoded), aux
