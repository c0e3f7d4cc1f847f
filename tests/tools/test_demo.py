"""tools/demo.py (what `make demo` runs) on a 2-iteration config, and apis/sr_eval's numbers."""
import json
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TINY = osp.join(ROOT, 'tests', 'data', 'configs', 'tiny_edvr_builtin.py')


def test_demo_two_iterations(helpers, tmp_path, capsys):
    wd = str(tmp_path / 'demo')
    code = helpers.load_tool('demo').main([TINY, '--work-dir', wd, '--cfg-options', 'train_cfg.max_iters=2',
                                           'val_dataloader.dataset.num_clips=3'])
    out = capsys.readouterr().out
    res = json.load(open(osp.join(wd, 'demo_result.json')))
    gain = res['model']['PSNR'] - res['bicubic']['PSNR']
    assert code == (0 if gain > 0 else 3)  # the exit status says whether the model beat bicubic
    assert res['iters'] == 2 and res['num_samples'] == 3
    assert f'model - bicubic: {gain:+.2f} dB' in out and 'work dir: ' in out
    assert 'Iter(train) [2/2]' in out
    assert 'Hooks will be executed' not in out and 'System environment' not in out  # those stay in the log file
    img = cv2.imread(osp.join(wd, 'demo_comparison.png'))
    assert img is not None and img.shape[1] >= 3 * 256


class Bicubic(nn.Module):
    """A "model" that returns the bicubic upsampling of the centre LR frame (plus ``offset``)."""

    def __init__(self, offset=0.0):
        super().__init__()
        self.offset = offset

    def forward(self, x):
        return F.interpolate(x[:, x.shape[1] // 2], scale_factor=4, mode='bicubic', align_corners=False) + self.offset


def sr_eval_on(generator):
    from mmengine.dataset import default_collate

    from vidtoolbox.apis.sr_eval import evaluate_sr_vs_bicubic
    from vidtoolbox.datasets import SyntheticMotionDataset
    from vidtoolbox.models.heads import VideoSR
    ds = SyntheticMotionDataset(num_clips=2, num_frames=3, gt_size=32, scale=4, split='val', seed=1,
                                pipeline=[dict(type='PackVideoInputs')], test_mode=True)
    model = VideoSR(generator, losses=[dict(type='L1Loss')]).eval()
    return evaluate_sr_vs_bicubic(model, [default_collate([ds[0]]), default_collate([ds[1]])])


def test_sr_eval_equals_bicubic_for_a_bicubic_model_and_drops_with_an_offset():
    same = sr_eval_on(Bicubic())
    assert same['num_samples'] == 2
    assert same['model']['PSNR'] == pytest.approx(same['bicubic']['PSNR'], abs=1e-9)
    worse = sr_eval_on(Bicubic(offset=0.1))  # +25.5 on [0, 255] everywhere (before clipping): a clear loss
    assert worse['model']['PSNR'] < worse['bicubic']['PSNR'] - 5
    b8, o8, g8 = worse['example']
    assert b8.dtype == np.uint8 and b8.shape == g8.shape == (32, 32, 3)
    assert torch.tensor(o8.astype(np.int16) - b8.astype(np.int16)).float().mean() > 20
