"""VideoPrediction: batch layouts, recursive rollout, backprop through the chain, training from config."""
import os.path as osp

import pytest
import torch
import torch.nn as nn

from vidtoolbox.models.heads import VideoPrediction

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))


class Scale(nn.Module):
    """next = a * last frame + b (a scalar parameter a, constant b)."""

    def __init__(self, a=0.9, b=0.0):
        super().__init__()
        self.a = nn.Parameter(torch.tensor(float(a)))
        self.b = b

    def forward(self, x):
        return self.a * x[:, -1] + self.b


class MeanOfWindow(nn.Module):
    def forward(self, x):
        return x.mean(1)


def l1():
    return [dict(type='L1Loss')]


def test_rollout_feeds_outputs_back():
    head = VideoPrediction(MeanOfWindow(), num_context=2, num_future=3, losses=l1())
    x = torch.zeros(1, 2, 3, 4, 4)
    x[:, 1] = 1.0
    pred = head(x, mode='tensor')
    # window (0, 1) -> 0.5; (1, 0.5) -> 0.75; (0.5, 0.75) -> 0.625
    assert torch.allclose(pred[0, :, 0, 0, 0], torch.tensor([0.5, 0.75, 0.625]))


def test_clip_and_context_layouts():
    head = VideoPrediction(MeanOfWindow(), num_context=2, num_future=2, losses=l1())
    clip = torch.rand(2, 5, 3, 8, 8)
    ctx_c, tgt_c = head.split_batch(clip, dict(gt=clip.clone()), 'loss')  # SyntheticMotionDataset gt_mode='all'
    assert torch.equal(ctx_c, clip[:, :2]) and torch.equal(tgt_c, clip[:, 2:4])
    fut = torch.rand(2, 3, 3, 8, 8)
    ctx_f, tgt_f = head.split_batch(clip[:, :2], dict(gt=fut), 'loss')  # FramesFolderDataset mode='prediction'
    assert torch.equal(ctx_f, clip[:, :2]) and torch.equal(tgt_f, fut[:, :2])
    # pseudo_collate's lists of per-sample tensors are stacked
    ctx_l, tgt_l = head.split_batch(list(clip), dict(gt=list(clip)), 'loss')
    assert torch.equal(ctx_l, ctx_c) and torch.equal(tgt_l, tgt_c)


def test_loss_predict_and_per_sample_outputs():
    head = VideoPrediction(Scale(1.0, 0.1), num_context=2, num_future=2, eval_num_future=3, losses=l1())
    x = torch.full((2, 2, 3, 4, 4), 0.2)
    gt = torch.full((2, 4, 3, 4, 4), 0.5)
    losses = head(x, dict(gt=gt, key=['a', 'b']), mode='loss')
    # steps 0.3, 0.4 against 0.5 -> mean |.| = 0.15
    assert torch.allclose(losses['loss_l1'], torch.tensor(0.15))
    out = head(x, dict(gt=gt, key=['a', 'b']), mode='predict')
    assert len(out) == 2 and out[0]['pred'].shape == (3, 3, 4, 4) and out[0]['gt'].shape == (3, 3, 4, 4)
    assert torch.allclose(out[1]['pred'][:, 0, 0, 0], torch.tensor([0.3, 0.4, 0.5])) and out[1]['key'] == 'b'


def test_backprop_reaches_the_first_step():
    """Loss on step M only: d/da (a^M x) = M a^(M-1) x through the chain; with detached feedback only x."""
    x = torch.full((1, 1, 3, 2, 2), 0.5)
    gt = torch.zeros(1, 3, 3, 2, 2)
    for detach, expected in ((False, 3 * 0.9 ** 2 * 0.5), (True, 0.9 ** 2 * 0.5)):
        gen = Scale(0.9)
        head = VideoPrediction(gen, num_context=1, num_future=3, detach_feedback=detach,
                               losses=[dict(type='L1Loss', inputs=dict(pred='pred', target='target'))])
        pred = head(x, mode='tensor')
        pred[:, -1].mean().backward()
        assert torch.allclose(gen.a.grad, torch.tensor(expected), atol=1e-6)


def test_loss_context_layout():
    seen = {}
    from vidtoolbox.models.losses import L1Loss

    class Spy(L1Loss):
        def forward(self, pred, target):
            seen.update(pred=pred.shape, target=target.shape)
            return super().forward(pred, target)

    head = VideoPrediction(Scale(), num_context=2, num_future=3, losses=[Spy()])
    head(torch.rand(2, 2, 3, 4, 4), dict(gt=torch.rand(2, 3, 3, 4, 4)), mode='loss')
    assert seen == dict(pred=(6, 3, 4, 4), target=(6, 3, 4, 4))  # steps folded into the batch


def test_errors():
    head = VideoPrediction(Scale(), num_context=2, num_future=3, losses=l1())
    with pytest.raises(ValueError, match='needs K=2 context frames'):
        head(torch.rand(1, 1, 3, 4, 4), mode='tensor')
    with pytest.raises(ValueError, match='has only 2 future frames'):
        head(torch.rand(1, 2, 3, 4, 4), dict(gt=torch.rand(1, 2, 3, 4, 4)), mode='loss')
    with pytest.raises(ValueError, match='too short'):
        head(torch.rand(1, 4, 3, 4, 4), dict(gt=torch.rand(1, 4, 3, 4, 4)), mode='loss')
    with pytest.raises(KeyError, match='needs data_samples'):
        head(torch.rand(1, 2, 3, 4, 4), None, mode='loss')
    with pytest.raises(ValueError, match='input_mode'):
        VideoPrediction(Scale(), input_mode='frames')
    with pytest.raises(ValueError, match='num_future must be an int >= 1'):
        VideoPrediction(Scale(), num_future=0)


def _train(cfg, tmp_path, with_val):
    from vidtoolbox.apis.runner import build_runner
    opts = {'model.generator.ngf': 2, 'train_cfg.max_iters': 2, 'train_cfg.val_interval': 2 if with_val else 100,
            'param_scheduler.T_max': 2, 'train_dataloader.batch_size': 2, 'train_dataloader.dataset.gt_size': 16,
            'train_dataloader.dataset.num_clips': 4, 'val_dataloader.dataset.num_clips': 1,
            'val_dataloader.dataset.gt_size': 16, 'val_evaluator': [dict(type='PSNR'), dict(type='SSIM')],
            'default_hooks.logger.interval': 1, 'default_hooks.checkpoint.interval': 2}
    runner = build_runner(osp.join(ROOT, cfg), work_dir=str(tmp_path), cfg_options=opts)
    before = {k: v.clone() for k, v in runner.model.state_dict().items()} if hasattr(runner.model, 'state_dict') else {}
    runner.train()
    return runner, before


@pytest.mark.parametrize('cfg, loss_key', [('configs/prediction/resnet3d_l1_builtin.py', 'loss_l1'),
                                           ('configs/prediction/resnet3d_corr_l1_builtin.py', 'loss_corr')])
def test_trains_from_config(cfg, loss_key, tmp_path):
    runner, before = _train(cfg, tmp_path, with_val=loss_key == 'loss_l1')
    hub = runner.message_hub
    loss = hub.get_scalar(f'train/{loss_key}').current()
    assert 0 < loss < 1
    after = runner.model.state_dict()
    assert not torch.equal(after['generator.head.weight'], before['generator.head.weight'])
    if loss_key == 'loss_l1':
        # per-step metrics of the 5-step evaluation (t+1, t+3, t+5)
        keys = set(hub.log_scalars)
        assert {'val/PSNR', 'val/PSNR_t+1', 'val/PSNR_t+3', 'val/PSNR_t+5', 'val/SSIM_t+5'} <= keys
