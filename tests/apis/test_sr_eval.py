"""evaluate_sr_vs_bicubic on reference-frame and every-frame models (numbers checked against direct evaluation)."""
import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from vidtoolbox.apis.sr_eval import evaluate_sr_vs_bicubic
from vidtoolbox.evaluation.metrics.psnr import psnr
from vidtoolbox.models.heads import VideoSR


class Upsample(nn.Module):
    """Bilinear ×4 of every frame (``every=True``: ``(B, T, 3, H, W)``) or of the centre frame (``(B, 3, H, W)``)."""

    def __init__(self, every):
        super().__init__()
        self.every = every
        self.dummy = nn.Parameter(torch.zeros(()))

    def forward(self, x):
        b, t, c, h, w = x.shape
        up = F.interpolate(x.reshape(b * t, c, h, w), scale_factor=4, mode='bilinear', align_corners=False)
        up = up.view(b, t, c, 4 * h, 4 * w)
        return up if self.every else up[:, t // 2]


def batches(gt_frames):
    g = torch.Generator().manual_seed(0)
    lq = torch.rand(2, 3, 3, 16, 16, generator=g)
    gt = F.interpolate(lq.view(-1, 3, 16, 16), scale_factor=4, mode='bicubic', align_corners=False).view(2, 3, 3, 64, 64)
    gt = (gt + 0.02 * torch.randn(gt.shape, generator=g)).clamp(0, 1)
    gt = gt if gt_frames == 'all' else gt[:, 1:2]
    return [dict(inputs=lq[i:i + 1], data_samples=dict(gt=gt[i:i + 1], ref_index=[1])) for i in range(2)], lq, gt


def u8(x):
    return (x.clamp(0, 1).permute(1, 2, 0).numpy() * 255.0).round().astype(np.uint8)


def test_every_frame_model_is_compared_frame_by_frame():
    loader, lq, gt = batches('all')
    res = evaluate_sr_vs_bicubic(VideoSR(generator=Upsample(every=True)), loader)
    assert (res['num_samples'], res['num_frames']) == (2, 6)
    bil = F.interpolate(lq.view(-1, 3, 16, 16), scale_factor=4, mode='bilinear', align_corners=False).view(gt.shape)
    bic = F.interpolate(lq.view(-1, 3, 16, 16), scale_factor=4, mode='bicubic', align_corners=False).view(gt.shape)
    for name, pred in (('model', bil), ('bicubic', bic)):
        per_clip = [np.mean([psnr(u8(pred[i, t]), u8(gt[i, t]), input_order='HWC') for t in range(3)])
                    for i in range(2)]
        assert res[name]['PSNR'] == pytest.approx(np.mean(per_clip), abs=1e-9)
    assert res['model']['PSNR'] != pytest.approx(res['bicubic']['PSNR'], abs=1e-3)
    b8, o8, g8 = res['example']
    assert np.array_equal(g8, u8(gt[0, 1])) and np.array_equal(o8, u8(bil[0, 1]))


def test_reference_frame_model_unchanged():
    loader, lq, gt = batches('center')
    res = evaluate_sr_vs_bicubic(VideoSR(generator=Upsample(every=False)), loader)
    assert (res['num_samples'], res['num_frames']) == (2, 2)
    bic = F.interpolate(lq[:, 1], scale_factor=4, mode='bicubic', align_corners=False)
    expected = np.mean([psnr(u8(bic[i]), u8(gt[i, 0]), input_order='HWC') for i in range(2)])
    assert res['bicubic']['PSNR'] == pytest.approx(expected, abs=1e-9)
