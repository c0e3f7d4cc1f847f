"""DCNv2 alignment block (modulated deformable convolution, offsets and masks predicted by a conv)."""
import math

import torch
import torch.nn as nn

from vidtoolbox.ops import deform_conv2d
from vidtoolbox.registry import MODELS
from .base import BaseAlignment

__all__ = ['DCNv2Align']


@MODELS.register_module()
class DCNv2Align(BaseAlignment):
    """Align ``nbr_feat`` to ``ref_feat`` with a modulated deformable conv (EDVR's ``DCNv2Pack``).

    A conv on ``cond`` (or on ``cat(ref_feat, nbr_feat)``) predicts ``3·G·k²`` channels: offsets ``(2·G·k²)`` in
    the (dy, dx) layout of :func:`vidtoolbox.ops.deform_conv2d` and masks ``sigmoid(·)`` ``(G·k²)``; that conv is
    zero-initialised (EDVR convention: training starts from a plain convolution of the neighbour with all masks
    0.5). The deformable conv then samples ``nbr_feat`` at ``p + p_k + Δp_k``: ``N = k²`` warps + a 1×1 conv.

    Args:
        in_channels: C of ``ref_feat``/``nbr_feat``.
        out_channels: output channels (default ``in_channels``).
        cond_channels: channels of ``cond`` (default ``2 · in_channels`` = ``cat(ref, nbr)``).
        kernel_size: k (odd); N = k² offsets per group.
        deform_groups: G; ``in_channels`` must be divisible by G.
        max_offset: if set, offsets are bounded to ``max_offset · tanh(Δ / max_offset)`` (BasicVSR++-style guard).

    Returns (forward): ``aligned (B, out_channels, H, W)`` and ``aux`` with ``offsets (B, G·k²·2, H, W)`` (the
    learned Δp, pixels) and ``masks (B, G·k², H, W)`` in (0, 1).
    """

    def __init__(self, in_channels, out_channels=None, cond_channels=None, kernel_size=3, deform_groups=8,
                 max_offset=None):
        super().__init__()
        if kernel_size < 1 or kernel_size % 2 == 0:
            raise ValueError(f'DCNv2Align: kernel_size must be a positive odd int, got {kernel_size}')
        if deform_groups < 1 or in_channels % deform_groups:
            raise ValueError(f'DCNv2Align: in_channels ({in_channels}) must be divisible by deform_groups '
                             f'({deform_groups})')
        self.in_channels = in_channels
        self.out_channels = out_channels or in_channels
        self.cond_channels = cond_channels or 2 * in_channels
        self.kernel_size = kernel_size
        self.deform_groups = deform_groups
        self.num_offsets = kernel_size * kernel_size
        self.max_offset = max_offset
        n = deform_groups * self.num_offsets
        self.conv_offset = nn.Conv2d(self.cond_channels, 3 * n, 3, 1, 1)
        nn.init.zeros_(self.conv_offset.weight)
        nn.init.zeros_(self.conv_offset.bias)
        self.weight = nn.Parameter(torch.empty(self.out_channels, in_channels, kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.empty(self.out_channels))
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        bound = 1 / math.sqrt(in_channels * kernel_size * kernel_size)
        nn.init.uniform_(self.bias, -bound, bound)

    def forward(self, ref_feat, nbr_feat, cond=None, **ctx):
        self.check_inputs('DCNv2Align', ref_feat, nbr_feat, self.in_channels)
        if cond is None:
            cond = torch.cat([ref_feat, nbr_feat], dim=1)
        if cond.shape[1] != self.cond_channels or cond.shape[-2:] != ref_feat.shape[-2:]:
            raise ValueError(f'DCNv2Align: cond must be (B, {self.cond_channels}, {ref_feat.shape[-2]}, '
                             f'{ref_feat.shape[-1]}), got {tuple(cond.shape)}')
        n = self.deform_groups * self.num_offsets
        out = self.conv_offset(cond)
        offsets, masks = out[:, :2 * n], torch.sigmoid(out[:, 2 * n:])
        if self.max_offset is not None:
            offsets = self.max_offset * torch.tanh(offsets / self.max_offset)
        pad = self.kernel_size // 2
        aligned = deform_conv2d(nbr_feat, offsets, self.weight, self.bias, stride=1, padding=pad, dilation=1,
                                mask=masks)
        return aligned, dict(offsets=offsets, masks=masks)
