"""BasicVSR configs: the paper's REDS setting, the REDS sequence datasets they build, and the built-in fine-tuning
config through MMEngine's Runner (shrunk generator, no weights needed)."""
import os
import os.path as osp

import cv2
import numpy as np
import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

from vidtoolbox.registry import DATASETS

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def cfg(path):
    return Config.fromfile(osp.join(ROOT, 'configs', path))


def test_reds_config_has_the_paper_setting():
    c = cfg('basicvsr/basicvsr_x4_reds.py')
    g = c.model.generator
    assert (g.type, g.mid_channels, g.num_blocks) == ('BasicVSRNet', 64, 30)
    assert [l.type for l in c.model.losses] == ['CharbonnierLoss']
    assert c.optim_wrapper.optimizer == dict(type='Adam', lr=2e-4, betas=(0.9, 0.99))
    assert c.optim_wrapper.paramwise_cfg.custom_keys == {'spynet': dict(lr_mult=0.125)}
    assert c.custom_hooks == [dict(type='FreezeModuleHook', modules='generator.spynet', until_iter=5000)]
    assert c.param_scheduler.type == 'CosineRestartLR' and c.param_scheduler.periods == [300000]
    assert c.train_cfg.max_iters == 300000 and c.model_wrapper_cfg.find_unused_parameters
    train, val = c.train_dataloader, c.val_dataloader
    assert train.batch_size == 8 and (train.dataset.num_frames, train.dataset.gt_mode) == (15, 'all')
    crop = [t for t in train.dataset.pipeline if t.type == 'PairedRandomCrop'][0]
    assert crop.gt_patch_size == 256  # LR patches 64x64
    assert (val.dataset.split, val.dataset.num_frames, val.dataset.gt_mode) == ('val', 100, 'all')
    assert all(e.crop_border == 0 and e.get('convert_to') is None and tuple(e.steps) == () for e in c.val_evaluator)


def _write(path, value, h, w):
    os.makedirs(osp.dirname(path), exist_ok=True)
    assert cv2.imwrite(path, np.full((h, w, 3), value, np.uint8))


def test_reds_config_datasets_give_sequences_and_whole_clips(tmp_path):
    for clip in ('000', '001', '011', '015', '020'):
        for f in range(20):
            _write(str(tmp_path / 'train_sharp' / clip / f'{f:08d}.png'), f, 8, 8)
            _write(str(tmp_path / 'train_sharp_bicubic' / 'X4' / clip / f'{f:08d}.png'), f, 2, 2)
    c = cfg('basicvsr/basicvsr_x4_reds.py')
    init_default_scope('vidtoolbox')
    train = DATASETS.build(dict(c.train_dataloader.dataset, data_root=str(tmp_path), pipeline=[]))
    info = train.get_data_info(0)
    assert len(info['lq_paths']) == len(info['gt_paths']) == 15 and info['clip'] == '001'
    val = DATASETS.build(dict(c.val_dataloader.dataset, data_root=str(tmp_path),
                              pipeline=[dict(type='LoadFramesFromFiles'), dict(type='PackVideoInputs')]))
    assert len(val) == 4
    sample = val[0]
    assert tuple(sample['inputs'].shape) == (20, 3, 2, 2) and tuple(sample['data_samples']['gt'].shape) == (20, 3, 8, 8)


@pytest.mark.slow
def test_builtin_finetune_config_runs_through_the_runner(tmp_path):
    """1 iteration + validation with the config as written except a shrunk, randomly initialised generator and
    fewer/shorter clips: the freeze hook, paramwise lr, every-frame head and metrics work together."""
    c = cfg('basicvsr/basicvsr_builtin_finetune.py')
    assert c.model.generator.pretrained == 'reds' and c.train_dataloader.dataset.gt_mode == 'all'
    assert c.train_dataloader.dataset.gt_size == 256 and c.custom_hooks[0].until_iter == c.train_cfg.max_iters
    c.model.generator.update(mid_channels=8, num_blocks=1, pretrained=None)
    c.train_dataloader.dataset.update(num_clips=2, num_frames=2)
    c.val_dataloader.dataset.update(num_clips=1, num_frames=2)
    c.test_dataloader = c.val_dataloader
    c.train_cfg.update(max_iters=1, val_interval=1)
    c.work_dir = str(tmp_path)
    runner = Runner.from_cfg(c)
    runner.train()
    assert runner.iter == 1
    metrics = runner.val_loop.run()
    assert set(metrics) == {'PSNR', 'SSIM'} and 5.0 < metrics['PSNR'] < 60.0
