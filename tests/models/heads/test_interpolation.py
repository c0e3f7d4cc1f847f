"""VideoInterpolation: batch layouts, outputs, loss context, training from config."""
import os.path as osp

import pytest
import torch
import torch.nn as nn

from vidtoolbox.models.heads import VideoInterpolation

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))


class CentralMean(nn.Module):
    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.tensor(1.0))

    def forward(self, x):
        k = x.shape[1]
        return self.w * 0.5 * (x[:, k // 2 - 1] + x[:, k // 2]), dict(extra=torch.ones(1))


def test_clip_layout_drops_the_middle_frame():
    head = VideoInterpolation(CentralMean(), num_context=4, losses=[dict(type='L1Loss')])
    clip = torch.arange(5.).view(1, 5, 1, 1, 1).expand(2, 5, 3, 4, 4).contiguous()
    ctx, tgt = head.split_batch(clip, dict(gt=clip))
    assert ctx[0, :, 0, 0, 0].tolist() == [0, 1, 3, 4] and tgt[0, 0, 0, 0].item() == 2
    pred = head(clip, dict(gt=clip), mode='tensor')
    assert torch.allclose(pred, torch.full_like(pred, 2.0))  # (1 + 3) / 2
    # without gt a (K+1)-frame clip is still read as a clip
    assert torch.allclose(head(clip, mode='tensor'), pred)


def test_context_layout_loss_and_predict():
    head = VideoInterpolation(CentralMean(), num_context=2, losses=[dict(type='L1Loss')])
    x = torch.stack((torch.full((3, 4, 4), .2), torch.full((3, 4, 4), .6)), 0).expand(2, 2, 3, 4, 4)
    gt = torch.full((2, 1, 3, 4, 4), .5)
    losses = head(x, dict(gt=gt, key=['a', 'b']), mode='loss')
    assert torch.allclose(losses['loss_l1'], torch.tensor(0.1))  # |0.4 - 0.5|
    out = head(x, dict(gt=gt, key=['a', 'b']), mode='predict')
    assert out[0]['pred'].shape == (3, 4, 4) and out[0]['gt'].shape == (3, 4, 4) and out[1]['key'] == 'b'
    ctx = head.build_context(x, head(x, mode='tensor'), dict(extra=1), dict(gt=gt), gt[:, 0])
    assert ctx['pred'].shape == ctx['target'].shape == (2, 3, 4, 4) and ctx['extra'] == 1 and ctx['lq'] is x


def test_errors():
    with pytest.raises(ValueError, match='num_context must be an even int'):
        VideoInterpolation(CentralMean(), num_context=3)
    head = VideoInterpolation(CentralMean(), num_context=2, losses=[dict(type='L1Loss')])
    with pytest.raises(ValueError, match='expected K=2 context frames'):
        head(torch.rand(1, 4, 3, 4, 4), mode='tensor')
    with pytest.raises(ValueError, match='single middle frame'):
        head(torch.rand(1, 2, 3, 4, 4), dict(gt=torch.rand(1, 2, 3, 4, 4)), mode='loss')
    with pytest.raises(KeyError, match='needs data_samples'):
        head(torch.rand(1, 2, 3, 4, 4), mode='loss')
    with pytest.raises(ValueError, match='same frame size'):
        head(torch.rand(1, 3, 3, 4, 4), dict(gt=torch.rand(1, 3, 3, 8, 8)), mode='loss')


@pytest.mark.parametrize('cfg, loss_key', [('configs/interpolation/flow_interp_l1_builtin.py', 'loss_l1'),
                                           ('configs/interpolation/flow_interp_corr_l1_builtin.py', 'loss_corr')])
def test_trains_from_config(cfg, loss_key, tmp_path):
    from vidtoolbox.apis.runner import build_runner
    opts = {'model.generator.mid_channels': 2, 'model.generator.num_levels': 2, 'train_cfg.max_iters': 2,
            'train_cfg.val_interval': 2, 'param_scheduler.T_max': 2, 'train_dataloader.batch_size': 2,
            'train_dataloader.dataset.gt_size': 16, 'train_dataloader.dataset.num_clips': 4,
            'val_dataloader.dataset.num_clips': 1, 'val_dataloader.dataset.gt_size': 16,
            'val_evaluator': [dict(type='PSNR'), dict(type='SSIM')], 'default_hooks.logger.interval': 1,
            'default_hooks.checkpoint.interval': 2}
    runner = build_runner(osp.join(ROOT, cfg), work_dir=str(tmp_path), cfg_options=opts)
    before = runner.model.generator.fine_head.weight.detach().clone()
    runner.train()
    hub = runner.message_hub
    assert 0 < hub.get_scalar(f'train/{loss_key}').current() < 1
    # the zero-initialised head moved: gradients reached it through flow_warp and the blend
    assert not torch.equal(runner.model.generator.fine_head.weight, before)
    assert 5 < hub.get_scalar('val/PSNR').current() < 60
