"""``FlowInterpNet``: a small flow-based frame interpolator, trainable on a CPU in minutes.

Design (chosen over a FLAVR-like 3D U-Net because warping with explicit flows needs far fewer parameters
and iterations to beat frame averaging, and the flows are interpretable — the same output as RIFE's IFNet):

1. A U-Net encoder reads all ``K`` context frames (``K`` = 2 or 4, concatenated, shifted to [-0.5, 0.5]) down to
   ``1/2**num_levels`` resolution.
2. A *coarse head* at the bottleneck predicts the two flows ``flow(t, I0)``, ``flow(t, I1)`` on the coarse grid;
   they are upsampled to full resolution (:func:`~vidtoolbox.ops.resize_flow`, values scaled), which gives the
   net a large motion range at little cost.
3. The decoder (bilinear ×2 + skip connections) ends in a *fine head* predicting a full-resolution flow
   residual for both flows, a blend-mask logit and (optionally) an RGB residual.
4. ``I0`` and ``I1`` — the two context frames around the target, ``frames[:, K//2 - 1]`` and
   ``frames[:, K//2]`` — are backward-warped to time t with :func:`~vidtoolbox.ops.flow_warp`
   (``warped0 = flow_warp(I0, flow_t0)``, border padding) and blended:
   ``out = m · warped0 + (1 − m) · warped1 (+ residual)``, ``m = sigmoid(mask logit)``.

Both heads are zero-initialised, so an untrained net returns the average of ``I0`` and ``I1`` (zero flows,
``m = 0.5``) and training starts from that baseline.

Flow convention (``docs/conventions.md``): ``flow_t0 = flow(frame_t, I0)``: pixel ``p`` of the target is found at
``p + flow_t0(p)`` in ``I0``, so ``flow_warp(I0, flow_t0) ≈ frame_t``.
"""
from typing import Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from vidtoolbox.ops.flow_warp import flow_warp, resize_flow
from vidtoolbox.registry import MODELS

__all__ = ['FlowInterpNet']


def _block(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1), nn.LeakyReLU(0.1, inplace=True),
                         nn.Conv2d(cout, cout, 3, 1, 1), nn.LeakyReLU(0.1, inplace=True))


@MODELS.register_module()
class FlowInterpNet(nn.Module):
    """Middle-frame interpolator: ``K`` context frames → the frame halfway between the two central ones.

    Args:
        num_frames (int): K context frames, 2 (``I0, I1``) or 4 (``I-1, I0, I1, I2``); even.
        mid_channels (int): channels at full resolution; level ``l`` has ``mid_channels · 2**l`` (capped at
            ``8 · mid_channels``).
        num_levels (int): stride-2 levels of the U-Net (>= 1); the coarse flow lives at ``1/2**num_levels``.
        residual (bool): also predict an RGB residual added to the blend (zero-initialised).
        pad_mode (str): inputs whose H or W is not a multiple of ``2**num_levels`` are padded with this mode
            (``'replicate'`` | ``'reflect'``) and the outputs cropped back.

    Shapes:
        input ``(B, K, 3, H, W)`` RGB in [0, 1]; output ``(B, 3, H, W)`` (not clamped in training; in [0, 1] up to
        the residual) and an aux dict (all at ``H × W``): ``flow_t0``, ``flow_t1`` ``(B, 2, H, W)`` pixels (dx, dy),
        ``mask`` ``(B, 1, H, W)`` in [0, 1] (weight of ``warped0``), ``warped0``, ``warped1`` ``(B, 3, H, W)``.
    """

    def __init__(self, num_frames: int = 2, mid_channels: int = 32, num_levels: int = 3, residual: bool = True,
                 pad_mode: str = 'replicate'):
        super().__init__()
        if isinstance(num_frames, bool) or not isinstance(num_frames, int) or num_frames < 2 or num_frames % 2:
            raise ValueError(f'FlowInterpNet: num_frames must be an even int >= 2 (context frames around the '
                             f'target), got {num_frames!r}')
        for name, v in (('mid_channels', mid_channels), ('num_levels', num_levels)):
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f'FlowInterpNet: {name} must be an int >= 1, got {v!r}')
        if pad_mode not in ('replicate', 'reflect'):
            raise ValueError(f"FlowInterpNet: pad_mode must be 'replicate' or 'reflect', got {pad_mode!r}")
        self.num_frames = num_frames
        self.num_levels = num_levels
        self.residual = bool(residual)
        self.pad_mode = pad_mode
        ch = [min(mid_channels * 2 ** i, 8 * mid_channels) for i in range(num_levels + 1)]
        self.enc = nn.ModuleList([_block(3 * num_frames, ch[0])] +
                                 [_block(ch[i - 1], ch[i], stride=2) for i in range(1, num_levels + 1)])
        self.dec = nn.ModuleList(_block(ch[i + 1] + ch[i], ch[i]) for i in reversed(range(num_levels)))
        self.coarse_head = nn.Conv2d(ch[-1], 4, 3, 1, 1)
        self.fine_head = nn.Conv2d(ch[0], 5 + (3 if self.residual else 0), 3, 1, 1)
        for head in (self.coarse_head, self.fine_head):
            nn.init.zeros_(head.weight)
            nn.init.zeros_(head.bias)

    @property
    def multiple(self) -> int:
        """H and W are padded to a multiple of this (``2**num_levels``)."""
        return 2 ** self.num_levels

    def _check(self, frames) -> Tuple[int, int]:
        if not isinstance(frames, torch.Tensor) or frames.dim() != 5 or frames.shape[2] != 3:
            shape = tuple(frames.shape) if isinstance(frames, torch.Tensor) else type(frames).__name__
            raise ValueError(f'FlowInterpNet: input must be (B, K, 3, H, W) RGB frames in [0, 1], got {shape}')
        if frames.shape[1] != self.num_frames:
            raise ValueError(f'FlowInterpNet: expected K={self.num_frames} context frames (num_frames), got '
                             f'{frames.shape[1]} in input of shape {tuple(frames.shape)}')
        return tuple(frames.shape[-2:])

    def forward(self, frames: torch.Tensor):
        """Interpolate the middle frame.

        Args:
            frames: ``(B, K, 3, H, W)`` context frames in temporal order, RGB in [0, 1]; the target lies halfway
                between ``frames[:, K//2 - 1]`` and ``frames[:, K//2]``.

        Returns:
            tuple: ``(out, aux)``, see the class docstring.
        """
        h, w = self._check(frames)
        b, k = frames.shape[:2]
        m = self.multiple
        ph, pw = (-h) % m, (-w) % m
        x = frames.reshape(b, k * 3, h, w)
        if ph or pw:
            x = F.pad(x, (0, pw, 0, ph), mode=self.pad_mode)
        H, W = x.shape[-2:]
        i0 = x[:, 3 * (k // 2 - 1):3 * (k // 2)]
        i1 = x[:, 3 * (k // 2):3 * (k // 2 + 1)]
        feats = []
        f = x - 0.5
        for enc in self.enc:
            f = enc(f)
            feats.append(f)
        coarse = self.coarse_head(f)
        coarse = torch.cat((resize_flow(coarse[:, :2], (H, W)), resize_flow(coarse[:, 2:], (H, W))), 1)
        for dec, skip in zip(self.dec, reversed(feats[:-1])):
            f = F.interpolate(f, size=skip.shape[-2:], mode='bilinear', align_corners=False)
            f = dec(torch.cat((f, skip), 1))
        fine = self.fine_head(f)
        flow_t0 = coarse[:, :2] + fine[:, 0:2]
        flow_t1 = coarse[:, 2:4] + fine[:, 2:4]
        mask = torch.sigmoid(fine[:, 4:5])
        warped0 = flow_warp(i0, flow_t0, padding_mode='border')
        warped1 = flow_warp(i1, flow_t1, padding_mode='border')
        out = mask * warped0 + (1.0 - mask) * warped1
        if self.residual:
            out = out + fine[:, 5:8]
        aux = dict(flow_t0=flow_t0, flow_t1=flow_t1, mask=mask, warped0=warped0, warped1=warped1)
        if ph or pw:
            out = out[..., :h, :w]
            aux = {key: v[..., :h, :w] for key, v in aux.items()}
        return out, aux
