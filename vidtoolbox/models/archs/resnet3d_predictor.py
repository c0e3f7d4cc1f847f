"""The 3D-ResNet next-frame predictor of "Comparing Correspondences: Video Prediction with Correspondence-wise
Losses" (Geng et al., CVPR 2022, Tab. A1).

A pix2pixHD/Johnson-style ResNet with space-time (3D) convolutions in the encoder:

==================  =====================  ===========  ==================
layer               output                 kernel       stride
==================  =====================  ===========  ==================
input               (3, K, H, W)
conv3D 1            (c, K, H, W)           (3, 7, 7)    (1, 1, 1)
conv3D 2            (2c, K, H/2, W/2)      (3, 3, 3)    (1, 2, 2)
conv3D 3            (4c, K, H/4, W/4)      (3, 3, 3)    (1, 2, 2)
conv3D 4            (8c, K, H/8, W/8)      (3, 3, 3)    (1, 2, 2)
res3D × 2           (8c, K, H/8, W/8)      (3, 3, 3)    (1, 1, 1)
slice last          (8c, H/8, W/8)         the last time step only
res2D × 4           (8c, H/8, W/8)         (3, 3)       1
[nn up ×2, conv]×3  (4c, 2c, c) at H/4, H/2, H     (3, 3)  1
conv 4              (3, H, W)              (7, 7)       1, then tanh
==================  =====================  ===========  ==================

with ``c = ngf``; every conv but the last is followed by BatchNorm and ReLU (residual blocks:
conv-BN-ReLU-conv-BN plus the identity). Weights are drawn from N(0, 0.02) (BatchNorm: weight N(1, 0.02),
bias 0), the paper's initialisation. The table of the paper lists stride 2 for the three upsampling convs;
with a ×2 nearest upsample before each of them the sizes only work out with stride 1, which is what is used.

Parameter count (measured with :func:`count_parameters`): ``ngf=32`` → 13,374,915 (≈ 13.4 M, the paper's
figure for its reference width); ``ngf=64`` (the table's 64/128/256/512 channels) → 53,439,363 (53.4 M).
"""
from typing import Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from vidtoolbox.registry import MODELS

__all__ = ['ResNet3DPredictor', 'count_parameters']


def count_parameters(module: nn.Module) -> int:
    """Number of elements of all parameters of ``module`` (trainable or not)."""
    return sum(p.numel() for p in module.parameters())


def _conv_bn_relu(conv: nn.Module, bn: nn.Module) -> nn.Sequential:
    return nn.Sequential(conv, bn, nn.ReLU(inplace=True))


class _ResBlock(nn.Module):
    """``x + BN(conv(ReLU(BN(conv(x)))))`` with 3×3 (2D) or 3×3×3 (3D) convolutions, zero padding 1."""

    def __init__(self, channels: int, dims: int):
        super().__init__()
        conv = nn.Conv3d if dims == 3 else nn.Conv2d
        bn = nn.BatchNorm3d if dims == 3 else nn.BatchNorm2d
        self.body = nn.Sequential(conv(channels, channels, 3, 1, 1), bn(channels), nn.ReLU(inplace=True),
                                  conv(channels, channels, 3, 1, 1), bn(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


@MODELS.register_module()
class ResNet3DPredictor(nn.Module):
    """Next-frame predictor: ``K`` context frames → the frame that follows them (Tab. A1, see module docstring).

    Args:
        num_context (int): K, the number of context frames the network expects (the temporal kernels work for any
            K >= 1; the value is checked so that a config mismatch fails loudly). ``None`` accepts any K.
        ngf (int): base width ``c`` (channels c, 2c, 4c, 8c). 32 → 13.4 M parameters (paper), 64 → 53.4 M.
        num_res3d (int): 3D residual blocks at 1/8 resolution (paper: 2).
        num_res2d (int): 2D residual blocks after the time slice (paper: 4).
        pad_mode (str): how a frame whose H or W is not a multiple of 8 is padded before the network and cropped
            after (``'replicate'`` or ``'reflect'``); ``None`` refuses such sizes.
        init_std (float): std of the N(0, std) weight initialisation (paper: 0.02).

    Shapes:
        input ``(B, K, 3, H, W)`` RGB in [0, 1] (mapped to [-1, 1] inside); output ``(B, 3, H, W)`` in [0, 1]
        (``(tanh + 1) / 2``).
    """

    def __init__(self, num_context: int = 4, ngf: int = 32, num_res3d: int = 2, num_res2d: int = 4,
                 pad_mode: str = 'replicate', init_std: float = 0.02):
        super().__init__()
        if num_context is not None and (isinstance(num_context, bool) or not isinstance(num_context, int)
                                        or num_context < 1):
            raise ValueError(f'ResNet3DPredictor: num_context must be an int >= 1 or None, got {num_context!r}')
        for name, v, lo in (('ngf', ngf, 1), ('num_res3d', num_res3d, 0), ('num_res2d', num_res2d, 0)):
            if isinstance(v, bool) or not isinstance(v, int) or v < lo:
                raise ValueError(f'ResNet3DPredictor: {name} must be an int >= {lo}, got {v!r}')
        if pad_mode not in ('replicate', 'reflect', None):
            raise ValueError(f"ResNet3DPredictor: pad_mode must be 'replicate', 'reflect' or None, got {pad_mode!r}")
        if not init_std > 0:
            raise ValueError(f'ResNet3DPredictor: init_std must be > 0, got {init_std!r}')
        self.num_context = num_context
        self.ngf = ngf
        self.pad_mode = pad_mode
        c = ngf
        self.stem = _conv_bn_relu(nn.Conv3d(3, c, (3, 7, 7), 1, (1, 3, 3)), nn.BatchNorm3d(c))
        self.down = nn.Sequential(*[
            _conv_bn_relu(nn.Conv3d(c * 2 ** i, c * 2 ** (i + 1), 3, (1, 2, 2), 1), nn.BatchNorm3d(c * 2 ** (i + 1)))
            for i in range(3)])
        self.res3d = nn.Sequential(*[_ResBlock(8 * c, 3) for _ in range(num_res3d)])
        self.res2d = nn.Sequential(*[_ResBlock(8 * c, 2) for _ in range(num_res2d)])
        self.up = nn.ModuleList(
            _conv_bn_relu(nn.Conv2d(c * 2 ** (3 - i), c * 2 ** (2 - i), 3, 1, 1), nn.BatchNorm2d(c * 2 ** (2 - i)))
            for i in range(3))
        self.head = nn.Conv2d(c, 3, 7, 1, 3)
        self.init_weights(init_std)

    def init_weights(self, std: float = 0.02) -> None:
        """Conv weights ~ N(0, std), biases 0; BatchNorm weights ~ N(1, std), biases 0 (paper / pix2pixHD)."""
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Conv3d)):
                nn.init.normal_(m.weight, 0.0, std)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, (nn.BatchNorm2d, nn.BatchNorm3d)):
                nn.init.normal_(m.weight, 1.0, std)
                nn.init.zeros_(m.bias)

    def _check(self, x) -> Tuple[int, int]:
        if not isinstance(x, torch.Tensor) or x.dim() != 5 or x.shape[2] != 3:
            shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
            raise ValueError(f'ResNet3DPredictor: input must be (B, K, 3, H, W) RGB frames in [0, 1], got {shape}')
        if self.num_context is not None and x.shape[1] != self.num_context:
            raise ValueError(f'ResNet3DPredictor: expected K={self.num_context} context frames (num_context), got '
                             f'{x.shape[1]} in input of shape {tuple(x.shape)}')
        h, w = x.shape[-2:]
        if (h % 8 or w % 8) and self.pad_mode is None:
            raise ValueError(f'ResNet3DPredictor: frame size {h}x{w} must be divisible by 8 (three stride-2 levels); '
                             "set pad_mode='replicate' to pad and crop automatically")
        return h, w

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        """Predict the next frame.

        Args:
            frames: ``(B, K, 3, H, W)`` context frames, oldest first, RGB in [0, 1].

        Returns:
            ``(B, 3, H, W)`` the predicted frame K (0-based; the one after the last context frame) in [0, 1].
        """
        h, w = self._check(frames)
        b, k = frames.shape[:2]
        x = frames * 2.0 - 1.0
        ph, pw = (-h) % 8, (-w) % 8
        if ph or pw:
            x = F.pad(x.reshape(b, k * 3, h, w), (0, pw, 0, ph), mode=self.pad_mode).reshape(b, k, 3, h + ph, w + pw)
        x = x.transpose(1, 2)  # (B, 3, K, H, W)
        x = self.res3d(self.down(self.stem(x)))
        x = self.res2d(x[:, :, -1])
        for up in self.up:
            x = up(F.interpolate(x, scale_factor=2.0, mode='nearest'))
        out = (torch.tanh(self.head(x)) + 1.0) * 0.5
        return out[..., :h, :w]
