"""configs/edvr_m_ofl.py (REDS) and configs/demo/edvr_m_ofl_builtin.py (built-in): build, train, error message."""
import glob
import json
import os
import os.path as osp

import pytest
from mmengine.config import Config

import vidtoolbox.models  # noqa: F401  (registers the plugins)
from vidtoolbox.models.losses import OffsetFidelityLoss
from vidtoolbox.registry import MODELS

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
REDS_CFG = osp.join(ROOT, 'configs', 'edvr_m_ofl.py')
DEMO_CFG = osp.join(ROOT, 'configs', 'demo', 'edvr_m_ofl_builtin.py')


def test_reds_config_builds_paper_setting():
    cfg = Config.fromfile(REDS_CFG)
    assert cfg.train_dataloader.dataset.type == 'REDSDataset'
    assert cfg.train_dataloader.batch_size == 16 and cfg.train_cfg.max_iters == 600000
    assert cfg.optim_wrapper.optimizer.lr == 4e-4
    names = [l['type'] for l in cfg.model.losses]
    assert names == ['CharbonnierLoss', 'OffsetFidelityLoss']
    model = MODELS.build(cfg.model)
    ofl = model.losses[1]
    assert isinstance(ofl, OffsetFidelityLoss) and ofl.loss_name == 'loss_ofl'
    assert ofl.loss_weight == 1.0 / 8192 and ofl.threshold == 10.0 and type(ofl.flow_source).__name__ == 'GTFlow'
    # paper-faithful: eq. 5 summed over pixels, the cascade's offsets not penalised
    assert ofl.normalization == 'sum' and not ofl.include_residual
    assert model.generator.pcd_align is not None
    # the flow is estimated by the DataLoader workers, after the crop and the flips (DIS 'medium' on the LR patch)
    pipe = [t['type'] for t in cfg.train_dataloader.dataset.pipeline]
    assert pipe == ['LoadFramesFromFiles', 'PairedRandomCrop', 'Flip', 'Flip', 'RandomTranspose', 'EstimateRefFlows',
                    'PackVideoInputs']
    assert cfg.train_dataloader.dataset.pipeline[5]['flow'] == dict(type='DISFlow', preset='medium')
    # switching the flow source by --cfg-options (list index keys): DIS inside the step again
    cfg.merge_from_dict({'model.losses.1.flow.type': 'DISFlow', 'model.losses.1.threshold': 5.0})
    assert cfg.model.losses[1] == dict(type='OffsetFidelityLoss', loss_weight=1.0 / 8192, threshold=5.0,
                                       normalization='sum', include_residual=False, flow=dict(type='DISFlow'))


def test_flowfiles_config_loads_flows_before_the_crop():
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'edvr_m_ofl_flowfiles.py'))
    pipe = cfg.train_dataloader.dataset.pipeline
    assert [t['type'] for t in pipe][:3] == ['LoadFramesFromFiles', 'LoadRefFlows', 'PairedRandomCrop']
    assert 'EstimateRefFlows' not in [t['type'] for t in pipe]
    assert cfg.model.losses[1]['flow'] == dict(type='GTFlow')


def test_demo_config_uses_ground_truth_flow():
    cfg = Config.fromfile(DEMO_CFG)
    assert cfg.train_dataloader.dataset.type == 'SyntheticMotionDataset'
    assert cfg.model.losses[1]['flow'] == dict(type='GTFlow')


TINY = """_base_ = [{base!r}]
model = dict(generator=dict(mid_channels=8, deform_groups=2, num_extract_block=1, num_reconstruct_block=1))
train_dataloader = dict(batch_size=2, dataset=dict(num_clips=4, gt_size=32))
val_dataloader = dict(dataset=dict(num_clips=1, gt_size=32))
test_dataloader = val_dataloader
max_iters = 2
param_scheduler = dict(_delete_=True, type='CosineAnnealingLR', by_epoch=False, T_max=2, eta_min=1e-5)
train_cfg = dict(max_iters=2, val_interval=1000)
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=1000))
"""


@pytest.mark.slow
def test_tiny_variant_trains_and_logs_loss_ofl(helpers, tmp_path):
    cfg_path = tmp_path / 'tiny_ofl.py'
    cfg_path.write_text(TINY.format(base=DEMO_CFG))
    wd = str(tmp_path / 'wd')
    r = helpers.run(['tools/train.py', str(cfg_path), '--work-dir', wd])
    assert r.returncode == 0, r.stderr[-3000:]
    scalars = glob.glob(osp.join(wd, '*', 'vis_data', 'scalars.json'))
    assert scalars, os.listdir(wd)
    rows = [json.loads(line) for line in open(scalars[0]) if line.strip()]
    rows = [row for row in rows if 'loss_ofl' in row]
    assert [row['iter'] for row in rows] == [1, 2]
    for row in rows:
        assert row['loss_ofl'] >= 0.0 and row['loss_pix'] > 0.0
        assert row['loss'] == pytest.approx(row['loss_pix'] + row['loss_ofl'], rel=1e-4, abs=1e-6)


@pytest.fixture(scope='module')
def missing_reds_run(helpers, tmp_path_factory):
    tmp = tmp_path_factory.mktemp('noreds')
    missing = str(tmp / 'no_reds')
    r = helpers.run(['tools/train.py', REDS_CFG, '--work-dir', str(tmp / 'wd'),
                    '--cfg-options', f'train_dataloader.dataset.data_root={missing}',
                    f'val_dataloader.dataset.data_root={missing}', 'train_dataloader.num_workers=0',
                    'train_dataloader.persistent_workers=False', 'model.generator.mid_channels=8',
                    'model.generator.num_extract_block=1', 'model.generator.num_reconstruct_block=1'])
    return missing, r


def test_missing_reds_says_where_it_goes(missing_reds_run):
    missing, r = missing_reds_run
    assert r.returncode == 1, (r.stdout[-2000:], r.stderr[-3000:])
    assert 'Traceback' not in r.stderr
    assert missing in r.stderr and 'train_sharp' in r.stderr and 'train_sharp_bicubic/X4' in r.stderr


def test_missing_reds_names_the_offline_demo(missing_reds_run):
    _, r = missing_reds_run
    assert 'configs/demo/edvr_m_ofl_builtin.py' in r.stderr
