"""DCNv2 alignment block (EDVR's modulated deformable alignment; DCNv1 with ``modulated=False``), see :mod:`.base`."""
import math
from typing import Optional

import torch
import torch.nn as nn

from vidtoolbox.ops import deform_conv2d
from vidtoolbox.registry import MODELS

from .base import BaseAlignment

__all__ = ['DCNv2Align']


@MODELS.register_module()
class DCNv2Align(BaseAlignment):
    """Modulated deformable convolution (DCNv2) aligning ``nbr_feat`` onto ``ref_feat``'s grid.

    An ``offset_kernel_size``-square conv (default ``k×k``) on ``cond`` (or on ``cat(ref_feat, nbr_feat)`` when
    ``cond`` is None) predicts ``3·G·k²`` channels: the first ``2·G·k²`` are the offsets Δp (pixels, ``(dy, dx)``
    per kernel tap, layout of :func:`vidtoolbox.ops.deform_conv2d`), the last ``G·k²`` go through a sigmoid to
    masks in (0, 1). That conv is zero-initialised (EDVR convention), so a fresh block has Δp = 0, masks = 0.5
    and computes ``conv2d(nbr_feat, 0.5·weight) + bias``. With ``modulated=False`` (DCNv1, the deformable convs of
    the analyses in Sec. 4.1–4.2 of "Understanding Deformable Alignment in Video Super-Resolution" and of TDAN)
    the conv predicts only the ``2·G·k²`` offsets, there are no masks, and a fresh block is
    ``conv2d(nbr_feat, weight) + bias``. The deformable conv (stride 1, padding ``k // 2``) has its own
    ``weight``/``bias``, initialised like :class:`torch.nn.Conv2d`. Viewed as in Chan et al. (2021), it is
    ``N = k²`` backward warps of ``nbr_feat`` per group by ``p_k + Δp_k`` followed by a 1×1 conv.

    Args:
        in_channels: channels C of ``ref_feat`` / ``nbr_feat``.
        out_channels: channels of the aligned output (default ``in_channels``).
        cond_channels: channels of ``cond``; default ``2·in_channels`` (the width of ``cat(ref, nbr)``).
        kernel_size: odd kernel size k of the deformable conv (and of the offset conv).
        deform_groups: G; ``in_channels`` must be divisible by it.
        max_offset: if set, offsets are soft-clamped to ``max_offset·tanh(Δp / max_offset)`` (≈ Δp when
            ``|Δp| ≪ max_offset``, never beyond ``max_offset`` pixels) — a guard against offset overflow.
        modulated: predict a sigmoid mask per tap (DCNv2, default) — ``False``: plain deformable conv (DCNv1).
        offset_kernel_size: odd kernel of the offset conv; default ``kernel_size`` (mmcv's DCN packs). Set it to
            :class:`NOffsetAlign`'s ``offset_kernel_size`` to predict offsets with the same conv as the
            decomposition (the k = 1 rows of the paper's Tab. 1).

    Forward:
        ref_feat, nbr_feat: ``(B, C, H, W)``; cond: optional ``(B, cond_channels, H, W)``; other keywords ignored.

    Returns:
        ``(aligned, aux)``: aligned ``(B, out_channels, H, W)``; ``aux['offsets']`` ``(B, G·k²·2, H, W)``
        (channel ``2·(g·k² + n) + {0: dy, 1: dx}``), ``aux['masks']`` ``(B, G·k², H, W)`` in (0, 1) when modulated.
    """

    takes_deform_groups = True

    def __init__(self, in_channels: int, out_channels: Optional[int] = None, cond_channels: Optional[int] = None,
                 kernel_size: int = 3, deform_groups: int = 8, max_offset: Optional[float] = None,
                 modulated: bool = True, offset_kernel_size: Optional[int] = None):
        super().__init__()
        name = type(self).__name__
        for arg, val in (('in_channels', in_channels), ('kernel_size', kernel_size),
                         ('deform_groups', deform_groups)):
            if not isinstance(val, int) or isinstance(val, bool) or val < 1:
                raise ValueError(f'{name}: {arg} must be a positive int, got {val!r}')
        if kernel_size % 2 == 0:
            raise ValueError(f'{name}: kernel_size must be odd (padding k//2 keeps the size), got {kernel_size}')
        offset_kernel_size = kernel_size if offset_kernel_size is None else offset_kernel_size
        if (not isinstance(offset_kernel_size, int) or isinstance(offset_kernel_size, bool) or offset_kernel_size < 1
                or offset_kernel_size % 2 == 0):
            raise ValueError(f'{name}: offset_kernel_size must be a positive odd int, got {offset_kernel_size!r}')
        if in_channels % deform_groups:
            raise ValueError(f'{name}: in_channels={in_channels} must be divisible by deform_groups={deform_groups}')
        out_channels = in_channels if out_channels is None else out_channels
        cond_channels = 2 * in_channels if cond_channels is None else cond_channels
        for arg, val in (('out_channels', out_channels), ('cond_channels', cond_channels)):
            if not isinstance(val, int) or isinstance(val, bool) or val < 1:
                raise ValueError(f'{name}: {arg} must be a positive int, got {val!r}')
        if max_offset is not None and not max_offset > 0:
            raise ValueError(f'{name}: max_offset must be None or > 0, got {max_offset!r}')
        self.in_channels, self.out_channels, self.cond_channels = in_channels, out_channels, cond_channels
        self.kernel_size = kernel_size
        self.offset_kernel_size = offset_kernel_size
        self.modulated = bool(modulated)
        self.num_offsets = kernel_size * kernel_size
        self.deform_groups = deform_groups
        self.max_offset = None if max_offset is None else float(max_offset)
        K = self.num_offsets
        self.conv_offset = nn.Conv2d(cond_channels, (3 if self.modulated else 2) * deform_groups * K,
                                     offset_kernel_size, padding=offset_kernel_size // 2)
        nn.init.zeros_(self.conv_offset.weight)
        nn.init.zeros_(self.conv_offset.bias)
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels, kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.empty(out_channels))
        self.reset_dcn_parameters()

    def reset_dcn_parameters(self):
        """Initialise the deformable conv's weight and bias exactly like :class:`torch.nn.Conv2d` does."""
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        fan_in = self.in_channels * self.num_offsets
        bound = 1 / math.sqrt(fan_in)
        nn.init.uniform_(self.bias, -bound, bound)

    def forward(self, ref_feat, nbr_feat, cond=None, **ctx):
        name = type(self).__name__
        self.check_inputs(name, ref_feat, nbr_feat, self.in_channels)
        if cond is None:
            cond = torch.cat([ref_feat, nbr_feat], dim=1)
        if cond.dim() != 4 or cond.shape[1] != self.cond_channels or cond.shape[0] != ref_feat.shape[0] \
                or cond.shape[2:] != ref_feat.shape[2:]:
            raise ValueError(f'{name}: cond must be (B, cond_channels, H, W) = '
                             f'{(ref_feat.shape[0], self.cond_channels, *ref_feat.shape[2:])}, got {tuple(cond.shape)}')
        n_off = 2 * self.deform_groups * self.num_offsets
        out = self.conv_offset(cond)
        offsets = out[:, :n_off]
        masks = torch.sigmoid(out[:, n_off:]) if self.modulated else None
        if self.max_offset is not None:
            offsets = self.max_offset * torch.tanh(offsets / self.max_offset)
        aligned = deform_conv2d(nbr_feat, offsets, self.weight, self.bias, stride=1,
                                padding=self.kernel_size // 2, mask=masks)
        aux = dict(offsets=offsets)
        if masks is not None:
            aux['masks'] = masks
        return aligned, aux

    def extra_repr(self) -> str:
        return (f'in_channels={self.in_channels}, out_channels={self.out_channels}, '
                f'cond_channels={self.cond_channels}, kernel_size={self.kernel_size}, '
                f'deform_groups={self.deform_groups}, max_offset={self.max_offset}, modulated={self.modulated}, '
                f'offset_kernel_size={self.offset_kernel_size}')
