"""Flow-guided deformable alignment (FGDA): a DCN whose offsets are the optical flow plus a bounded residue.

From "BasicVSR++: Improving Video Super-Resolution with Enhanced Propagation and Alignment" (Chan et al., CVPR 2022),
Sec. 3.2. The flow ``flow(ref, nbr)`` pre-aligns the neighbour; a small conv stack looks at the flow-warped neighbour,
the reference and the flow, and predicts a *residue* to the flow (and modulation masks) per kernel tap and group::

    warped   = flow_warp(nbr_feat, flow)                                   # the neighbour seen from the reference
    r, m     = head(cat(warped, ref_feat, flow [, cond]))                  # 3 × (conv3×3 + LeakyReLU(0.1)) + conv3×3
    offsets  = flow (as (dy, dx), repeated over the G·k² taps) + max_residue · tanh(r)
    aligned  = deform_conv2d(nbr_feat, offsets, weight, bias, mask=sigmoid(m))

The last conv of the head is zero-initialised, so a fresh block samples every tap at ``p + p_k + flow(p)`` with
masks 0.5: a k×k convolution of the flow-warped neighbour (exactly so for a constant flow, away from the border). The
offsets never move further than ``max_residue`` pixels from the flow — the structural form of the offset-fidelity
loss of "Understanding Deformable Alignment in Video Super-Resolution" (Chan et al., AAAI 2021): training can only
refine the flow, never lose it, which is why the block aligns from the first iteration.

Several neighbours at once (BasicVSR++'s second-order propagation, ``num_flows = F``): ``nbr_feat`` holds F
neighbour feature maps stacked along channels ``(B, F·C, H, W)`` and the flow F flows ``(B, 2·F, H, W)`` (flow f in
channels ``2f, 2f+1``, (dx, dy), warping neighbour f). The deformable conv runs on all ``F·C`` channels with G groups;
groups ``f·G/F … (f+1)·G/F − 1`` (which own neighbour f's channels) take flow f as their base offset.

Where the flow comes from (:meth:`FlowGuidedDCNAlign.capabilities` declares it):

* ``flow=None`` (default): ctx ``flow`` — the container passes ``flow(ref, nbr)`` at the block's resolution
  (BasicVSR++ its SPyNet flows; EDVR / TDAN the flow of their ``flow_cfg`` source, EDVR as a per-level list that PCD
  slices). The block declares ``needs_flow``.
* ``flow=dict(type='DISFlow' | 'SPyNetFlow', ...)``: the block's own flow source, run on ctx ``ref_img`` / ``nbr_img``
  (resized to the features' resolution, values scaled). The block declares ``needs_images``. Sources that read the
  data sample (``GTFlow``, ``FileFlow``) cannot be used here — a block never sees the sample — and belong to the
  network (``EDVRNet(flow_cfg=...)``).
"""
import math
from typing import Optional, Union

import torch
import torch.nn as nn

from vidtoolbox.ops import deform_conv2d
from vidtoolbox.ops.flow_warp import flow_warp, resize_flow
from vidtoolbox.registry import MODELS

from ..flow.base import BaseFlowSource
from .base import BaseAlignment

__all__ = ['FlowGuidedDCNAlign']


def _flow_source_class(flow) -> type:
    if isinstance(flow, nn.Module):
        return type(flow)
    if not isinstance(flow, dict) or 'type' not in flow:
        raise TypeError(f'FlowGuidedDCNAlign: flow must be None, a flow-source config dict with a "type" key or a '
                        f'BaseFlowSource module, got {flow!r}')
    typ = flow['type']
    cls = typ if isinstance(typ, type) else MODELS.get(typ)
    if cls is None:
        raise KeyError(f'FlowGuidedDCNAlign: flow source type {typ!r} is not registered in vidtoolbox.registry.MODELS')
    return cls


@MODELS.register_module()
class FlowGuidedDCNAlign(BaseAlignment):
    """Flow-guided modulated deformable alignment (BasicVSR++); see the module docstring for the computation.

    Args:
        in_channels: C, the channels of ``ref_feat`` and of each neighbour feature map.
        out_channels: channels of the aligned output (default C).
        cond_channels: channels of extra conditioning ``cond`` that the container passes (EDVR's PCD: its offset
            features; TDAN: its deformed offset features); they are concatenated to the head's input. ``None`` / 0
            (default): the block reads no ``cond``.
        deform_groups: G (default 16, BasicVSR++'s); ``F·C`` must be divisible by G and G by F.
        kernel_size: odd k of the deformable conv (3).
        num_flows: F neighbours / flows per call (1; BasicVSR++ uses 2).
        max_residue: bound (pixels) of the offsets' distance to the flow, per component (10, BasicVSR++'s).
        mid_channels: width of the head's hidden convs (default C).
        num_head_convs: hidden 3×3 conv + LeakyReLU(0.1) layers of the head before its zero-initialised output conv
            (3, BasicVSR++'s).
        flow: ``None`` (the flow comes from ctx ``flow``) or the config / module of an own flow source that
            estimates on images (``can_estimate``): DISFlow, SPyNetFlow.

    Forward:
        ref_feat: ``(B, C, H, W)`` reference features.
        nbr_feat: ``(B, F·C, H, W)`` neighbour features (F stacked maps).
        cond: ``(B, cond_channels, H, W)`` when ``cond_channels > 0`` (required then), else must be ``None``.
        ctx ``flow``: ``(B, 2·F, H, W)`` ``flow(ref, nbr_f)`` in pixels of this resolution, (dx, dy) per flow,
            without an own flow source; ctx ``ref_img`` ``(B, 3, H', W')`` and ``nbr_img`` ``(B, 3·F, H', W')`` in
            [0, 1] with one (any resolution; the flows are resized to (H, W)).

    Returns:
        ``(aligned, aux)``: aligned ``(B, out_channels, H, W)``; ``aux['offsets']`` ``(B, G·k²·2, H, W)`` the FULL
        sampling displacements (flow + residue, pixels, channel ``2·(g·k² + n) + {0: dy, 1: dx}``, the layout of
        :func:`vidtoolbox.ops.deform_conv2d`; the kernel grid ``p_n`` is not included, as for DCNv2Align's Δp),
        ``aux['masks']`` ``(B, G·k², H, W)`` in (0, 1), ``aux['flow']`` the ``(B, 2·F, H, W)`` flow used.
    """

    takes_deform_groups = True
    cond_capable = False  # needs a flow (or images to estimate one), not only offset features
    needs_flow = True
    reads_cond = True

    @classmethod
    def capabilities(cls, cfg=None):
        """``needs_flow`` without an own flow source; ``needs_images`` with one (it estimates on ctx images)."""
        own = (cfg or {}).get('flow') is not None
        return super().capabilities(cfg)._replace(needs_flow=not own, needs_images=own)

    def __init__(self, in_channels: int, out_channels: Optional[int] = None, cond_channels: Optional[int] = None,
                 deform_groups: int = 16, kernel_size: int = 3, num_flows: int = 1, max_residue: float = 10.0,
                 mid_channels: Optional[int] = None, num_head_convs: int = 3,
                 flow: Optional[Union[dict, BaseFlowSource]] = None):
        super().__init__()
        name = type(self).__name__
        out_channels = in_channels if out_channels is None else out_channels
        mid_channels = in_channels if mid_channels is None else mid_channels
        cond_channels = 0 if cond_channels is None else cond_channels
        for arg, val, low in (('in_channels', in_channels, 1), ('out_channels', out_channels, 1),
                              ('mid_channels', mid_channels, 1), ('deform_groups', deform_groups, 1),
                              ('kernel_size', kernel_size, 1), ('num_flows', num_flows, 1),
                              ('cond_channels', cond_channels, 0), ('num_head_convs', num_head_convs, 0)):
            if isinstance(val, bool) or not isinstance(val, int) or val < low:
                raise ValueError(f'{name}: {arg} must be an int >= {low}, got {val!r}')
        if kernel_size % 2 == 0:
            raise ValueError(f'{name}: kernel_size must be odd (padding k//2 keeps the size), got {kernel_size}')
        if deform_groups % num_flows:
            raise ValueError(f'{name}: deform_groups={deform_groups} must be divisible by num_flows={num_flows} '
                             '(each flow guides the same number of groups)')
        if in_channels % (deform_groups // num_flows):
            raise ValueError(f'{name}: in_channels={in_channels} must be divisible by deform_groups / num_flows = '
                             f'{deform_groups // num_flows} (the groups of one neighbour split its channels)')
        if isinstance(max_residue, bool) or not isinstance(max_residue, (int, float)) or not max_residue > 0:
            raise ValueError(f'{name}: max_residue must be a number of pixels > 0, got {max_residue!r}')
        self.in_channels, self.out_channels, self.cond_channels = in_channels, out_channels, cond_channels
        self.mid_channels = mid_channels
        self.kernel_size = kernel_size
        self.num_offsets = kernel_size * kernel_size
        self.deform_groups = deform_groups
        self.num_flows = num_flows
        self.max_residue = float(max_residue)

        self.flow_source = None
        if flow is not None:
            cls = _flow_source_class(flow)
            if not (isinstance(cls, type) and issubclass(cls, BaseFlowSource)):
                raise TypeError(f'{name}: flow must configure a flow source (BaseFlowSource), got '
                                f'{getattr(cls, "__name__", cls)!r}')
            if not cls.can_estimate:
                raise ValueError(f'{name}: flow source {cls.__name__} cannot estimate flow between two images (it '
                                 'reads the data sample, which an alignment block never sees); give it to the network '
                                 "instead (e.g. EDVRNet(flow_cfg=dict(type='GTFlow'))) or use an estimator "
                                 "(flow=dict(type='DISFlow') or dict(type='SPyNetFlow'))")
            self.flow_source = MODELS.build(flow) if isinstance(flow, dict) else flow
        for key, val in self.capabilities(dict(flow=flow))._asdict().items():
            setattr(self, key, val)

        F_, G, K = num_flows, deform_groups, self.num_offsets
        layers, ch = [], F_ * in_channels + in_channels + 2 * F_ + cond_channels
        for _ in range(num_head_convs):
            layers += [nn.Conv2d(ch, mid_channels, 3, 1, 1), nn.LeakyReLU(0.1, inplace=True)]
            ch = mid_channels
        out_conv = nn.Conv2d(ch, 3 * G * K, 3, 1, 1)
        nn.init.zeros_(out_conv.weight)
        nn.init.zeros_(out_conv.bias)
        self.conv_offset = nn.Sequential(*layers, out_conv)
        self.weight = nn.Parameter(torch.empty(out_channels, F_ * in_channels, kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.empty(out_channels))
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))  # like nn.Conv2d
        bound = 1 / math.sqrt(F_ * in_channels * K)
        nn.init.uniform_(self.bias, -bound, bound)

    # -- flow ----------------------------------------------------------------------------------------------------
    def get_flow(self, ref_feat: torch.Tensor, ctx: dict) -> torch.Tensor:
        """The ``(B, 2·F, H, W)`` flows ``flow(ref, nbr_f)`` at the features' resolution (ctx or own source)."""
        name = type(self).__name__
        b, _, h, w = ref_feat.shape
        F_ = self.num_flows
        if self.flow_source is None:
            flow = ctx.get('flow')
            if flow is None:
                raise ValueError(
                    f'{name}: needs ctx "flow" = flow(ref, nbr) (B, {2 * F_}, H, W) in pixels of the features, '
                    '(dx, dy): the network must pass it (EDVRNet / TDANNet with flow_cfg=dict(type=...), '
                    "BasicVSRPlusPlusNet), or give the block its own flow source, e.g. flow=dict(type='DISFlow')")
            if not isinstance(flow, torch.Tensor) or flow.shape != (b, 2 * F_, h, w):
                shape = tuple(flow.shape) if isinstance(flow, torch.Tensor) else type(flow).__name__
                raise ValueError(f'{name}: ctx "flow" must be (B, 2*num_flows, H, W) = {(b, 2 * F_, h, w)} '
                                 f'(flow(ref, nbr) at the features\' resolution), got {shape}')
            return flow.to(ref_feat.dtype)
        imgs = {}
        for key, ch in (('ref_img', 3), ('nbr_img', 3 * F_)):
            img = ctx.get(key)
            if img is None:
                raise ValueError(f'{name}: its flow source {type(self.flow_source).__name__} estimates on images and '
                                 f'needs ctx {key!r} (B, {ch}, H, W) RGB in [0, 1]; the network must pass it')
            if not isinstance(img, torch.Tensor) or img.dim() != 4 or img.shape[:2] != (b, ch):
                shape = tuple(img.shape) if isinstance(img, torch.Tensor) else type(img).__name__
                raise ValueError(f'{name}: ctx {key!r} must be (B, {ch}, H, W) with B={b}, got {shape}')
            imgs[key] = img
        if imgs['ref_img'].shape[-2:] != imgs['nbr_img'].shape[-2:]:
            raise ValueError(f'{name}: ref_img {tuple(imgs["ref_img"].shape)} and nbr_img '
                             f'{tuple(imgs["nbr_img"].shape)} must have the same size')
        flows = [self.flow_source.flow(imgs['ref_img'], nbr) for nbr in imgs['nbr_img'].split(3, dim=1)]
        return torch.cat([resize_flow(f, (h, w), mode='auto') for f in flows], 1).to(ref_feat.dtype)

    # -- forward -------------------------------------------------------------------------------------------------
    def forward(self, ref_feat, nbr_feat, cond=None, **ctx):
        """Align the F neighbours in ``nbr_feat`` onto ``ref_feat``; see the class docstring for shapes."""
        name = type(self).__name__
        C, F_ = self.in_channels, self.num_flows
        if ref_feat.dim() != 4 or nbr_feat.dim() != 4:
            raise ValueError(f'{name}: ref_feat and nbr_feat must be (B, C, H, W) and (B, F*C, H, W), got '
                             f'{tuple(ref_feat.shape)} and {tuple(nbr_feat.shape)}')
        b, _, h, w = ref_feat.shape
        if ref_feat.shape[1] != C or nbr_feat.shape != (b, F_ * C, h, w):
            raise ValueError(f'{name}: expected ref_feat (B, {C}, H, W) and nbr_feat (B, num_flows*{C}, H, W) = '
                             f'{(b, F_ * C, h, w)}, got {tuple(ref_feat.shape)} and {tuple(nbr_feat.shape)}')
        extra = []
        if self.cond_channels:
            if cond is None or cond.shape != (b, self.cond_channels, h, w):
                got = None if cond is None else tuple(cond.shape)
                raise ValueError(f'{name}: built with cond_channels={self.cond_channels}, so cond must be '
                                 f'{(b, self.cond_channels, h, w)}, got {got}')
            extra = [cond]
        elif cond is not None:
            raise ValueError(f'{name}: got cond {tuple(cond.shape)} but was built with cond_channels=0; set '
                             'cond_channels to its channel count so that the head reads it')
        flow = self.get_flow(ref_feat, ctx)  # (B, 2F, H, W), (dx, dy) per flow
        warped = flow_warp(nbr_feat.reshape(b * F_, C, h, w), flow.reshape(b * F_, 2, h, w), padding_mode='zeros')
        out = self.conv_offset(torch.cat([warped.view(b, F_ * C, h, w), ref_feat, flow] + extra, 1))
        G, K = self.deform_groups, self.num_offsets
        residue = self.max_residue * torch.tanh(out[:, :2 * G * K])
        masks = torch.sigmoid(out[:, 2 * G * K:])
        # flow f (dx, dy) → (dy, dx), repeated over the k² taps of its G/F groups (group-major layout)
        base = flow.view(b, F_, 1, 2, h, w).flip(3).expand(b, F_, G // F_ * K, 2, h, w).reshape(b, 2 * G * K, h, w)
        offsets = base + residue
        aligned = deform_conv2d(nbr_feat, offsets, self.weight, self.bias, stride=1, padding=self.kernel_size // 2,
                                mask=masks)
        return aligned, dict(offsets=offsets, masks=masks, flow=flow)

    def split_aux(self, aux: dict) -> list:
        """The aux of one call split per neighbour: F dicts with ``offsets`` ``(B, (G/F)·k²·2, H, W)``, ``masks``
        ``(B, (G/F)·k², H, W)`` and ``flow`` ``(B, 2, H, W)`` of neighbour f (groups f·G/F … of the call); report
        them with ``alignment_record(..., deform_groups=block.deform_groups // block.num_flows)``."""
        F_ = self.num_flows
        parts = [aux['offsets'].chunk(F_, 1), aux['masks'].chunk(F_, 1), aux['flow'].chunk(F_, 1)]
        return [dict(offsets=o, masks=m, flow=f) for o, m, f in zip(*parts)]

    def extra_repr(self) -> str:
        return (f'in_channels={self.in_channels}, out_channels={self.out_channels}, cond_channels={self.cond_channels}, '
                f'kernel_size={self.kernel_size}, deform_groups={self.deform_groups}, num_flows={self.num_flows}, '
                f'max_residue={self.max_residue}')
