"""N-offset alignment: N backward warps per deformable group + one 1×1 conv (Chan et al., AAAI 2021, Sec. 3.3).

A deformable convolution with an ``k × k`` kernel is ``N = k²`` backward warps of the neighbour feature (warp n
samples at ``p + p_n + Δp_n(p)``, ``p_n`` the n-th kernel tap) followed by a 1×1 convolution over the N stacked
warps. :class:`NOffsetAlign` implements that decomposition for *any* N: the "kernel taps" ``p_n`` become a fixed
set of N base positions (a centred grid by default, or all zero), and the learned part is the per-location
residual ``Δp_n`` (plus a modulation mask when ``modulated``).

The forward pass runs :func:`vidtoolbox.ops.n_offset_conv2d` (the chunked op that also computes
:func:`~vidtoolbox.ops.deform_conv2d`, with the base positions ``p_n`` in place of the kernel taps), so N = k² costs
what a DCN costs and memory does not hold the ``(B, C·N, H, W)`` stack of warps. :func:`warp_n_offsets` followed by
the 1×1 ``fusion`` conv is the same function written plainly (the tests' reference).

Weight mapping to :class:`~vidtoolbox.models.alignment.DCNv2Align` (``N = k²``, ``kernel_init='grid'``,
``dilation`` equal to the DCN's): the stacked warps are ordered input-channel-major, offset-minor (channel
``c·N + n``), so ``fusion.weight = dcn.weight.reshape(Cout, Cin·k·k, 1, 1)`` and ``fusion.bias = dcn.bias``;
``conv_offset`` has the same output layout as the DCN's offset/mask conv (first ``G·N·2`` channels the offsets
``2·(g·N + n) + {0: dy, 1: dx}``, then ``G·N`` mask logits), so it is copied unchanged. See
:meth:`NOffsetAlign.load_from_dcn`.
"""
import math
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from vidtoolbox.ops import n_offset_conv2d
from vidtoolbox.ops.flow_warp import pixel_to_grid
from vidtoolbox.registry import MODELS
from .base import BaseAlignment

__all__ = ['NOffsetAlign', 'base_offset_grid', 'warp_n_offsets']

_KERNEL_INITS = ('grid', 'zero')


def base_offset_grid(num_offsets: int, dilation: int = 1) -> torch.Tensor:
    """The N fixed base positions ``p_n`` of :class:`NOffsetAlign` with ``kernel_init='grid'``, ``(N, 2)`` as (dy, dx).

    For ``N = k²`` (k odd) these are the taps of a ``k × k`` kernel centred on 0 in row-major order — exactly the
    kernel grid of a DCN with padding ``dilation·(k−1)/2``. For any other N: the N taps of the smallest odd
    ``k × k`` grid with ``k² ≥ N`` that are closest to the centre (ties broken row-major), listed row-major.
    For N = k² with k even (4, 16, ...), the same rule applies (odd grid, nearest taps), so the result is
    centred too. Positions are multiplied by ``dilation``.
    """
    if not isinstance(num_offsets, int) or num_offsets < 1:
        raise ValueError(f'base_offset_grid: num_offsets must be a positive int, got {num_offsets!r}')
    k = int(math.ceil(math.sqrt(num_offsets)))
    if k % 2 == 0:
        k += 1
    r = k // 2
    taps = [(i - r, j - r) for i in range(k) for j in range(k)]  # row-major
    order = sorted(range(len(taps)), key=lambda t: (taps[t][0] ** 2 + taps[t][1] ** 2, t))
    chosen = sorted(order[:num_offsets])
    return torch.tensor([taps[t] for t in chosen], dtype=torch.float32) * dilation


def warp_n_offsets(x: torch.Tensor, offsets: torch.Tensor, groups: int,
                   mask: Optional[torch.Tensor] = None) -> torch.Tensor:
    """N bilinear backward warps per deformable group, stacked along channels.

    Args:
        x: ``(B, C, H, W)`` features; group g owns channels ``[g·C/G, (g+1)·C/G)``.
        offsets: ``(B, G·N·2, H, W)`` *total* displacements in pixels (base positions included), channel
            ``2·(g·N + n)`` = dy, ``2·(g·N + n) + 1`` = dx.
        groups: G.
        mask: optional ``(B, G·N, H, W)`` modulation multiplied onto warp n of group g.

    Returns:
        ``(B, C·N, H, W)``: channel ``c·N + n`` is channel c sampled at ``p + offset_{g(c), n}(p)`` (zero outside
        the map, bilinear per corner, like a DCN).
    """
    b, c, h, w = x.shape
    G = groups
    if offsets.dim() != 4 or offsets.shape[0] != b or offsets.shape[2:] != x.shape[2:] \
            or offsets.shape[1] % (2 * G):
        raise ValueError(f'warp_n_offsets: offsets must be (B, G*N*2, H, W) with B={b}, G={G}, H={h}, W={w}, '
                         f'got {tuple(offsets.shape)}')
    if c % G:
        raise ValueError(f'warp_n_offsets: channels {c} not divisible by groups {G}')
    n = offsets.shape[1] // (2 * G)
    off = offsets.view(b * G, n, 2, h, w)
    ys, xs = torch.meshgrid(torch.arange(h, device=x.device, dtype=offsets.dtype),
                            torch.arange(w, device=x.device, dtype=offsets.dtype), indexing='ij')
    # absolute (x, y) coordinates, the N warps stacked along rows: (B·G, 2, N·H, W)
    coords = torch.stack((xs + off[:, :, 1], ys + off[:, :, 0]), 1).reshape(b * G, 2, n * h, w)
    grid = pixel_to_grid(coords, h, w, align_corners=True)
    sampled = F.grid_sample(x.reshape(b * G, c // G, h, w), grid.to(x.dtype), mode='bilinear',
                            padding_mode='zeros', align_corners=True)  # (B·G, C/G, N·H, W)
    sampled = sampled.view(b, G, c // G, n, h, w)
    if mask is not None:
        if mask.shape != (b, G * n, h, w):
            raise ValueError(f'warp_n_offsets: mask must be (B, G*N, H, W) = {(b, G * n, h, w)}, '
                             f'got {tuple(mask.shape)}')
        sampled = sampled * mask.view(b, G, 1, n, h, w)
    return sampled.reshape(b, c * n, h, w)


@MODELS.register_module()
class NOffsetAlign(BaseAlignment):
    """Alignment by N offsets per deformable group: N warps of the neighbour + one 1×1 conv (the DCN decomposition).

    ``aligned(p) = bias + Σ_c Σ_n W[:, c, n] · m_{g(c),n}(p) · nbr_c(p + p_n + Δp_{g(c),n}(p))``

    Args:
        in_channels: C of ``ref_feat`` / ``nbr_feat``; divisible by ``deform_groups``.
        out_channels: channels of the aligned output (default ``in_channels``).
        cond_channels: channels of ``cond`` (default ``2·in_channels``, the width of ``cat(ref, nbr)`` used
            when ``cond`` is None).
        deform_groups: G.
        num_offsets: N ≥ 1 offsets per group (any N, not only k²).
        modulated: predict a sigmoid mask per offset (DCNv2-style) — else plain warps (DCNv1-style).
        kernel_init: ``'grid'`` — base positions ``p_n`` from :func:`base_offset_grid` (a DCN's kernel taps when
            N = k²), so at initialisation the block is an ordinary (k×k-like) convolution; ``'zero'`` — all
            ``p_n = 0``, so the N warps start identical (N flow-warps).
        dilation: spacing of the grid base positions.
        offset_kernel_size: kernel of ``conv_offset`` (3 like EDVR/DCNv2).
        kernel_size: optional DCN-style alternative to ``num_offsets``: odd k gives ``N = k²`` (so a config written
            for ``DCNv2Align(kernel_size=k)`` works after changing only the type).
        max_offset: if set, ``Δp`` is bounded to ``max_offset · tanh(Δ / max_offset)`` (as in ``DCNv2Align``).

    Parameters: ``conv_offset`` (cond → ``G·N·2`` offsets [+ ``G·N`` mask logits], zero-initialised, so
    ``Δp = 0`` and masks = 0.5 at start) and ``fusion`` (1×1, ``C·N → out``).

    Forward: see :mod:`.base`. ``aux['offsets']`` ``(B, G·N·2, H, W)`` are the learned residuals ``Δp`` in (dy, dx)
    (the DCN convention; the sampling positions are ``p + p_n + Δp_n``; ``p_n`` is the buffer
    :attr:`base_offsets`), ``aux['masks']`` ``(B, G·N, H, W)`` in [0, 1] when modulated.
    """

    takes_deform_groups = True

    def __init__(self, in_channels: int, out_channels: Optional[int] = None, cond_channels: Optional[int] = None,
                 deform_groups: int = 8, num_offsets: int = 9, modulated: bool = True, kernel_init: str = 'grid',
                 dilation: int = 1, offset_kernel_size: int = 3, kernel_size: Optional[int] = None,
                 max_offset: Optional[float] = None):
        super().__init__()
        name = type(self).__name__
        if kernel_size is not None:  # DCN-style spelling: a k×k kernel is N = k² offsets on the grid
            if not isinstance(kernel_size, int) or kernel_size < 1 or kernel_size % 2 == 0:
                raise ValueError(f'{name}: kernel_size must be a positive odd int, got {kernel_size!r}')
            if num_offsets not in (9, kernel_size ** 2):  # 9 is the default, i.e. "not given"
                raise ValueError(f'{name}: kernel_size={kernel_size} means num_offsets={kernel_size ** 2}, but '
                                 f'num_offsets={num_offsets} was given')
            num_offsets = kernel_size ** 2
        for key, val in (('in_channels', in_channels), ('deform_groups', deform_groups),
                         ('num_offsets', num_offsets), ('dilation', dilation)):
            if not isinstance(val, int) or val < 1:
                raise ValueError(f'{name}: {key} must be a positive int, got {val!r}')
        if in_channels % deform_groups:
            raise ValueError(f'{name}: in_channels ({in_channels}) must be divisible by deform_groups '
                             f'({deform_groups})')
        if kernel_init not in _KERNEL_INITS:
            raise ValueError(f'{name}: kernel_init must be one of {_KERNEL_INITS}, got {kernel_init!r}')
        if offset_kernel_size % 2 == 0:
            raise ValueError(f'{name}: offset_kernel_size must be odd, got {offset_kernel_size}')
        self.in_channels = in_channels
        self.out_channels = out_channels or in_channels
        self.cond_channels = cond_channels or 2 * in_channels
        self.deform_groups = deform_groups
        self.num_offsets = num_offsets
        self.modulated = bool(modulated)
        self.kernel_init = kernel_init
        if max_offset is not None and not max_offset > 0:
            raise ValueError(f'{name}: max_offset must be > 0 or None, got {max_offset!r}')
        self.max_offset = max_offset
        G, N = deform_groups, num_offsets
        self.conv_offset = nn.Conv2d(self.cond_channels, G * N * (3 if self.modulated else 2), offset_kernel_size,
                                     1, offset_kernel_size // 2)
        nn.init.zeros_(self.conv_offset.weight)
        nn.init.zeros_(self.conv_offset.bias)
        self.fusion = nn.Conv2d(in_channels * N, self.out_channels, 1)
        # default init like a k×k conv over C inputs (fan_in = C·N)
        bound = 1.0 / math.sqrt(in_channels * N)
        nn.init.uniform_(self.fusion.weight, -bound, bound)
        nn.init.zeros_(self.fusion.bias)
        if kernel_init == 'grid':
            base = base_offset_grid(N, dilation)
        else:
            base = torch.zeros(N, 2)
        # (1, G·N·2, 1, 1) in the offset layout
        self.register_buffer('base_offsets', base.repeat(G, 1).reshape(1, G * N * 2, 1, 1), persistent=False)

    def predict_offsets(self, ref_feat, nbr_feat, cond=None):
        """``(Δp (B, G·N·2, H, W), masks (B, G·N, H, W) or None)`` from ``cond`` (or ``cat(ref, nbr)``)."""
        if cond is None:
            cond = torch.cat([ref_feat, nbr_feat], 1)
        if cond.dim() != 4 or cond.shape[1] != self.cond_channels or cond.shape[2:] != ref_feat.shape[2:] \
                or cond.shape[0] != ref_feat.shape[0]:
            raise ValueError(f'{type(self).__name__}: cond must be (B, {self.cond_channels}, H, W) matching the '
                             f'features {tuple(ref_feat.shape)}, got {tuple(cond.shape)}')
        out = self.conv_offset(cond)
        k = self.deform_groups * self.num_offsets * 2
        offsets = out[:, :k]
        if self.max_offset is not None:
            offsets = self.max_offset * torch.tanh(offsets / self.max_offset)
        masks = torch.sigmoid(out[:, k:]) if self.modulated else None
        return offsets, masks

    def forward(self, ref_feat, nbr_feat, cond=None, **ctx):
        """Align ``nbr_feat`` onto ``ref_feat`` (``(B, C, H, W)`` each) → ``(aligned (B, out, H, W), aux)``."""
        self.check_inputs(type(self).__name__, ref_feat, nbr_feat, self.in_channels)
        offsets, masks = self.predict_offsets(ref_feat, nbr_feat, cond)
        # the N warps + 1×1 fusion through the chunked op (the same code as a DCN, see ops.deform_conv): no
        # (B, C·N, H, W) stack is materialised; `warp_n_offsets` + `fusion` is the plain reference of this
        base = self.base_offsets.view(self.deform_groups, self.num_offsets, 2)
        aligned = n_offset_conv2d(nbr_feat, offsets, self.fusion.weight, base, self.fusion.bias, mask=masks)
        aux = dict(offsets=offsets)
        if masks is not None:
            aux['masks'] = masks
        return aligned, aux

    @torch.no_grad()
    def load_from_dcn(self, dcn: nn.Module) -> None:
        """Copy the weights of a DCN block (``DCNv2Align``-style) so that this block computes the same function.

        Needs ``num_offsets = k²``, ``kernel_init='grid'``, the same G, channels and modulation. Reads
        ``dcn.conv_offset`` (copied unchanged), ``dcn.weight`` ``(Cout, Cin, k, k)`` (reshaped to the 1×1 fusion
        weight ``(Cout, Cin·k², 1, 1)``) and ``dcn.bias``.
        """
        name = type(self).__name__
        weight = getattr(dcn, 'weight', None)
        if weight is None or not hasattr(dcn, 'conv_offset'):
            raise TypeError(f'{name}.load_from_dcn: expected a DCN block with .weight and .conv_offset, '
                            f'got {type(dcn).__name__}')
        cout, cin, kh, kw = weight.shape
        if self.kernel_init != 'grid' or kh * kw != self.num_offsets or kh != kw:
            raise ValueError(f'{name}.load_from_dcn: needs kernel_init="grid" and num_offsets = k² for the DCN '
                             f'kernel {kh}x{kw}; this block has N={self.num_offsets}, kernel_init={self.kernel_init!r}')
        if (cout, cin) != (self.out_channels, self.in_channels):
            raise ValueError(f'{name}.load_from_dcn: DCN weight {tuple(weight.shape)} does not match '
                             f'out/in channels ({self.out_channels}, {self.in_channels})')
        if getattr(dcn, 'max_offset', None) != self.max_offset:
            raise ValueError(f'{name}.load_from_dcn: max_offset differs (DCN {getattr(dcn, "max_offset", None)}, '
                             f'this block {self.max_offset})')
        if self.conv_offset.weight.shape != dcn.conv_offset.weight.shape:
            raise ValueError(f'{name}.load_from_dcn: conv_offset shapes differ: DCN '
                             f'{tuple(dcn.conv_offset.weight.shape)} vs {tuple(self.conv_offset.weight.shape)} '
                             '(deform_groups, modulation or cond_channels disagree)')
        self.conv_offset.weight.copy_(dcn.conv_offset.weight)
        self.conv_offset.bias.copy_(dcn.conv_offset.bias)
        self.fusion.weight.copy_(weight.reshape(cout, cin * kh * kw, 1, 1))
        if getattr(dcn, 'bias', None) is not None:
            self.fusion.bias.copy_(dcn.bias)
        else:
            self.fusion.bias.zero_()
