"""A user's own generator, outside the toolbox, registered through vidtoolbox's registry."""
import torch.nn as nn
import torch.nn.functional as F

from vidtoolbox.registry import MODELS


@MODELS.register_module()
class MyTinySRNet(nn.Module):
    """Centre frame → conv → pixel shuffle ×4, plus bicubic upsampling of the centre frame."""

    def __init__(self, channels=4):
        super().__init__()
        self.conv = nn.Conv2d(3, 3 * 16, 3, 1, 1)
        nn.init.zeros_(self.conv.weight)
        nn.init.zeros_(self.conv.bias)
        self.trained_marker = nn.Parameter(F.pad(self.conv.bias.new_zeros(1), (0, channels - 1)))

    def forward(self, x):
        c = x[:, x.shape[1] // 2]
        base = F.interpolate(c, scale_factor=4, mode='bicubic', align_corners=False)
        return F.pixel_shuffle(self.conv(c), 4) + base + 0 * self.trained_marker.sum()
