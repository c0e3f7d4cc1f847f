"""The prediction / interpolation configs: they load, build, and name the right parts."""
import glob
import os.path as osp
import re

import pytest
from mmengine.config import Config
from mmengine.registry import DefaultScope

from vidtoolbox.registry import DATASETS, MODELS

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
# trained heads only: configs/prediction/vfi_opt_*.py (no training) are covered by tests/models/heads/test_vfi_opt.py
CONFIGS = sorted([p for p in glob.glob(osp.join(ROOT, 'configs', 'prediction', '*.py'))
                  if not osp.basename(p).startswith('vfi_opt')] +
                 glob.glob(osp.join(ROOT, 'configs', 'interpolation', '*.py')))


def test_all_present():
    names = {osp.basename(c) for c in CONFIGS}
    assert {'resnet3d_l1_builtin.py', 'resnet3d_mse_builtin.py', 'resnet3d_corr_l1_builtin.py',
            'resnet3d_corr_mse_builtin.py', 'resnet3d_corr_l1_kitti.py', 'flow_interp_l1_builtin.py',
            'flow_interp_corr_l1_builtin.py', 'flow_interp_l1_vimeo_triplet.py',
            'flow_interp_corr_l1_vimeo_septuplet.py'} <= names


@pytest.mark.parametrize('path', CONFIGS, ids=osp.basename)
def test_config_builds(path):
    cfg = Config.fromfile(path)
    assert cfg.default_scope == 'vidtoolbox'
    with DefaultScope.overwrite_default_scope('vidtoolbox'):
        model = MODELS.build(cfg.model)
    task = 'prediction' if '/prediction/' in path else 'interpolation'
    assert type(model).__name__ == {'prediction': 'VideoPrediction', 'interpolation': 'VideoInterpolation'}[task]
    losses = [type(l).__name__ for l in model.losses]
    base = osp.basename(path)
    if '_corr_' in base:
        assert losses == ['CorrespondenceWiseLoss']
        expected_base = 'MSELoss' if '_mse_' in base else 'L1Loss'
        assert type(model.losses[0].base).__name__ == expected_base
    else:
        assert losses == ['MSELoss' if '_mse_' in base else 'L1Loss']
    gen_k = model.generator.num_context if task == 'prediction' else model.generator.num_frames
    assert gen_k == model.num_context
    if 'kitti' in base:
        from vidtoolbox.models.archs.resnet3d_predictor import count_parameters
        assert (model.num_context, model.num_future, model.generator.ngf) == (4, 5, 32)
        assert abs(count_parameters(model.generator) / 1e6 - 13.4) < 0.05
    ds = cfg.train_dataloader.dataset
    if ds.type == 'SyntheticMotionDataset':
        assert ds.scale == 1 and ds.gt_mode == 'all'
        val = cfg.val_dataloader.dataset
        k = model.num_context
        need = k + (model.eval_num_future or model.num_future) if task == 'prediction' else k + 1
        assert val.num_frames == need and min(val.gt_size if isinstance(val.gt_size, (list, tuple))
                                               else (val.gt_size,)) >= 161  # MS-SSIM size
        built = DATASETS.build(dict(val, num_clips=1, gt_size=32))
        sample = built[0]
        assert sample['inputs'].shape == (need, 3, 32, 32) and sample['data_samples']['gt'].shape[0] == need
    else:  # real datasets: a clear error names the missing folder (the config's data_root, not just any path)
        root = ds.get('data_root') or ds.get('folder')
        assert root and not osp.exists(root)
        with pytest.raises(FileNotFoundError, match=re.escape(str(root))):
            DATASETS.build(ds)
