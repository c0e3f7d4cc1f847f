"""EDVR's Temporal and Spatial Attention (TSA) fusion."""
import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = ['TSAFusion']


class TSAFusion(nn.Module):
    """Temporal attention (per-frame sigmoid correlation with the reference embedding) followed by a
    1×1 fusion conv and a two-level spatial attention pyramid.

    Args:
        mid_channels: C. num_frames: T. center_frame_idx: reference index.
    Forward: aligned ``(B, T, C, H, W)`` → fused ``(B, C, H, W)``.
    """

    def __init__(self, mid_channels: int = 64, num_frames: int = 5, center_frame_idx: int = 2):
        super().__init__()
        C = mid_channels
        self.center_frame_idx = center_frame_idx
        self.temporal_attn1 = nn.Conv2d(C, C, 3, 1, 1)
        self.temporal_attn2 = nn.Conv2d(C, C, 3, 1, 1)
        self.feat_fusion = nn.Conv2d(num_frames * C, C, 1, 1)
        self.max_pool = nn.MaxPool2d(3, stride=2, padding=1)
        self.avg_pool = nn.AvgPool2d(3, stride=2, padding=1)
        self.spatial_attn1 = nn.Conv2d(num_frames * C, C, 1)
        self.spatial_attn2 = nn.Conv2d(2 * C, C, 1)
        self.spatial_attn3 = nn.Conv2d(C, C, 3, 1, 1)
        self.spatial_attn4 = nn.Conv2d(C, C, 1)
        self.spatial_attn5 = nn.Conv2d(C, C, 3, 1, 1)
        self.spatial_attn_l1 = nn.Conv2d(C, C, 1)
        self.spatial_attn_l2 = nn.Conv2d(2 * C, C, 3, 1, 1)
        self.spatial_attn_l3 = nn.Conv2d(C, C, 3, 1, 1)
        self.spatial_attn_add1 = nn.Conv2d(C, C, 1)
        self.spatial_attn_add2 = nn.Conv2d(C, C, 1)
        self.lrelu = nn.LeakyReLU(0.1, inplace=True)

    def forward(self, aligned):
        b, t, c, h, w = aligned.shape
        emb_ref = self.temporal_attn1(aligned[:, self.center_frame_idx])
        emb = self.temporal_attn2(aligned.reshape(-1, c, h, w)).view(b, t, c, h, w)
        corr = torch.sigmoid((emb * emb_ref.unsqueeze(1)).sum(2, keepdim=True))  # (B, T, 1, H, W)
        aligned = (aligned * corr).view(b, t * c, h, w)
        feat = self.lrelu(self.feat_fusion(aligned))

        attn = self.lrelu(self.spatial_attn1(aligned))
        attn = self.lrelu(self.spatial_attn2(torch.cat([self.max_pool(attn), self.avg_pool(attn)], 1)))
        attn_level = self.lrelu(self.spatial_attn_l1(attn))
        attn_level = self.lrelu(self.spatial_attn_l2(
            torch.cat([self.max_pool(attn_level), self.avg_pool(attn_level)], 1)))
        attn_level = self.lrelu(self.spatial_attn_l3(attn_level))
        attn_level = F.interpolate(attn_level, size=attn.shape[-2:], mode='bilinear', align_corners=False)
        attn = self.lrelu(self.spatial_attn3(attn)) + attn_level
        attn = self.lrelu(self.spatial_attn4(attn))
        attn = F.interpolate(attn, size=(h, w), mode='bilinear', align_corners=False)
        attn = self.spatial_attn5(attn)
        attn_add = self.spatial_attn_add2(self.lrelu(self.spatial_attn_add1(attn)))
        return feat * torch.sigmoid(attn) * 2 + attn_add
