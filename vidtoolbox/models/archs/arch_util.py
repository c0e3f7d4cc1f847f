"""Small building blocks shared by the networks (pure nn.Modules, no registry)."""
import torch.nn as nn
import torch.nn.functional as F


def default_init(module: nn.Module, scale: float = 1.0) -> None:
    """Kaiming-normal init of every conv/linear inside ``module`` with the weights scaled by ``scale``, zero bias."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.Conv3d, nn.Linear)):
            nn.init.kaiming_normal_(m.weight, a=0, mode='fan_in')
            m.weight.data.mul_(scale)
            if m.bias is not None:
                m.bias.data.zero_()


class ResidualBlockNoBN(nn.Module):
    """``x + scale · conv(relu(conv(x)))`` with two 3×3 convs, no batch norm (EDVR / BasicSR style).

    Args:
        channels: feature channels C; input and output ``(B, C, H, W)``.
        res_scale: residual scaling.
    """

    def __init__(self, channels: int = 64, res_scale: float = 1.0):
        super().__init__()
        self.res_scale = res_scale
        self.conv1 = nn.Conv2d(channels, channels, 3, 1, 1)
        self.conv2 = nn.Conv2d(channels, channels, 3, 1, 1)
        default_init(self, 0.1)

    def forward(self, x):
        return x + self.res_scale * self.conv2(F.relu(self.conv1(x), inplace=True))


def make_layer(block, num_blocks: int, **kwargs) -> nn.Sequential:
    """``num_blocks`` instances of ``block(**kwargs)`` in an ``nn.Sequential``."""
    return nn.Sequential(*[block(**kwargs) for _ in range(num_blocks)])


def conv_residual_trunk(in_channels: int, channels: int, num_blocks: int) -> nn.Sequential:
    """3×3 conv ``in→C`` + LeakyReLU(0.1) + ``num_blocks`` residual blocks: ``(N, in, H, W)`` → ``(N, C, H, W)``.

    The propagation / extraction trunks of BasicVSR and BasicVSR++ (module indices 0, 1, 2.<i>, the names of their
    released checkpoints)."""
    return nn.Sequential(nn.Conv2d(in_channels, channels, 3, 1, 1), nn.LeakyReLU(0.1, inplace=True),
                         make_layer(ResidualBlockNoBN, num_blocks, channels=channels))


class PixelShufflePack(nn.Module):
    """3×3 conv to ``out_channels · s²`` channels followed by pixel shuffle ×s."""

    def __init__(self, in_channels: int, out_channels: int, scale: int):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels * scale * scale, 3, 1, 1)
        self.shuffle = nn.PixelShuffle(scale)
        default_init(self)

    def forward(self, x):
        return self.shuffle(self.conv(x))


def check_sr_args(name: str, scale: int, num_frames: int, center_frame_idx=None) -> int:
    """Validate the arguments shared by the multi-frame SR networks; return the reference index
    (``num_frames // 2`` when ``center_frame_idx`` is None)."""
    if scale not in (1, 2, 4):
        raise ValueError(f'{name}: scale must be 1, 2 or 4, got {scale}')
    if num_frames < 1:
        raise ValueError(f'{name}: num_frames must be >= 1, got {num_frames}')
    center = num_frames // 2 if center_frame_idx is None else center_frame_idx
    if not 0 <= center < num_frames:
        raise ValueError(f'{name}: center_frame_idx {center} outside [0, {num_frames})')
    return center


class ResidualUpsamplerMixin:
    """The ×scale reconstruction tail shared by the multi-frame SR networks (EDVR, TDAN, FlowSR, BasicVSR).

    ``build_upsampler`` adds ``upsample`` (pixel-shuffle ×2 stages: none for ×1, one for ×2, two for ×4), ``conv_hr``,
    ``conv_last`` and ``lrelu`` to the module; ``upsample_residual(feat, ref_lr)`` maps ``(B, C, h, w)`` features to
    ``(B, out_channels, h·scale, w·scale)`` and adds the upsampled reference frame ``ref_lr`` ``(B, 3, h, w)``
    (``base_mode``: ``'bicubic'`` for EDVR/TDAN/FlowSR, ``'bilinear'`` for BasicVSR; ``align_corners=False``).
    ``hr_channels`` (default 64, the published networks' value) is the width of the tail at the output resolution
    (the last pixel-shuffle stage, ``conv_hr``); at ×4 it costs as much as a narrow network's whole LR part.
    """

    def build_upsampler(self, channels: int, out_channels: int, scale: int, base_mode: str = 'bicubic',
                        hr_channels: int = 64) -> None:
        if base_mode not in ('bicubic', 'bilinear'):
            raise ValueError(f"{type(self).__name__}: base_mode must be 'bicubic' or 'bilinear', got {base_mode!r}")
        if isinstance(hr_channels, bool) or not isinstance(hr_channels, int) or hr_channels < 1:
            raise ValueError(f'{type(self).__name__}: hr_channels must be a positive int, got {hr_channels!r}')
        ups = {1: [], 2: [PixelShufflePack(channels, channels, 2)],
               4: [PixelShufflePack(channels, channels, 2), PixelShufflePack(channels, hr_channels, 2)]}
        self.scale = scale
        self.base_mode = base_mode
        self.upsample = nn.ModuleList(ups[scale])
        self.conv_hr = nn.Conv2d(hr_channels if scale == 4 else channels, hr_channels, 3, 1, 1)
        self.conv_last = nn.Conv2d(hr_channels, out_channels, 3, 1, 1)
        self.lrelu = nn.LeakyReLU(0.1, inplace=True)

    def upsample_residual(self, feat, ref_lr):
        out = feat
        for up in self.upsample:
            out = self.lrelu(up(out))
        out = self.conv_last(self.lrelu(self.conv_hr(out)))
        if self.scale > 1:
            ref_lr = F.interpolate(ref_lr, scale_factor=self.scale, mode=self.base_mode, align_corners=False)
        return out + ref_lr
