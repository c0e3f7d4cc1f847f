"""The ``pred`` claim (Correspondence-wise losses, Tab. 1): the overrides reach the configs, both losses start from
the same weights, the copy-last reference equals a direct computation, and the one-command smoke run."""
import json
import os.path as osp

import numpy as np
import pytest
import torch

from vidtoolbox.apis.reproduce import CLAIMS, pred
from vidtoolbox.apis.reproduce.common import REPO_ROOT


def _cfg(name, opts):
    from vidtoolbox.apis.loading import load_config
    return load_config(osp.join(REPO_ROOT, pred.CONFIGS[name]), opts)


def test_options_reach_both_configs_and_only_the_loss_differs():
    s = pred.SETTINGS['full']
    opts = pred.run_options(s)
    a, b = _cfg('L1', opts), _cfg('corr-L1', opts)
    for c in (a, b):
        assert c.model.generator.ngf == s['ngf'] and c.train_cfg.max_iters == s['iters']
        assert c.param_scheduler.T_max == s['iters'] and c.optim_wrapper.optimizer.lr == s['lr']
        assert c.train_dataloader.dataset.gt_size == s['crop'] and c.val_dataloader.dataset.gt_size == s['val_size']
        assert [e['type'] for e in c.val_evaluator] == ['PSNR', 'SSIM', 'Sharpness']
        assert all(tuple(e['steps']) == (1, 2, 3, 4, 5) for e in c.val_evaluator)
        assert c.train_cfg.val_begin > c.train_cfg.max_iters   # evaluated once, after training
    assert a.model.losses[0]['type'] == 'L1Loss' and b.model.losses[0]['type'] == 'CorrespondenceWiseLoss'
    da, db = a.to_dict(), b.to_dict()
    da['model'].pop('losses'), db['model'].pop('losses')
    assert da['model'] == db['model'] and da['train_dataloader'] == db['train_dataloader']


def test_same_seed_same_initial_weights(tmp_path):
    from vidtoolbox.apis.runner import build_runner
    opts = dict(pred.run_options(pred.SETTINGS['quick']), **{'randomness.seed': 3})
    states = []
    for name in pred.CONFIGS:
        runner = build_runner(osp.join(REPO_ROOT, pred.CONFIGS[name]), work_dir=str(tmp_path / name),
                              cfg_options=dict(opts, experiment_name=f'init_{name}'))
        states.append({k: v.clone() for k, v in runner.model.state_dict().items()})
    assert states[0].keys() == states[1].keys()
    assert all(torch.equal(states[0][k], states[1][k]) for k in states[0])


def test_copy_last_matches_direct_psnr():
    from vidtoolbox.evaluation.metrics.psnr import psnr
    from vidtoolbox.evaluation.metrics.sharpness import sharpness
    opts = dict(pred.run_options(pred.SETTINGS['quick']), **{'val_dataloader.dataset.num_clips': 1})
    out = pred.copy_last_metrics(pred.CONFIGS['L1'], opts, num_context=2)
    ds, _ = pred._val_dataset(pred.CONFIGS['L1'], opts)
    clip = pred._clip_tensor(ds, 0)
    assert out['PSNR_t+1'] == pytest.approx(psnr(clip[1], clip[2]), rel=1e-12)
    assert out['PSNR_t+5'] == pytest.approx(psnr(clip[1], clip[6]), rel=1e-12)
    assert out['Sharpness_t+3'] == pytest.approx(sharpness(clip[1], clip[4]), rel=1e-12)
    assert out['PSNR_t+1'] > out['PSNR_t+5']   # the scene moves: copying gets worse with the horizon


def test_quick_run_writes_the_page(helpers, tmp_path):
    assert 'pred' in CLAIMS
    tool = helpers.load_tool('reproduce')
    page = osp.join(helpers.ROOT, 'docs', 'results', 'pred.md')
    before = osp.getmtime(page) if osp.exists(page) else None
    assert tool.main(['pred', '--quick', '--work-dir', str(tmp_path)]) == 0
    md = (tmp_path / 'results' / 'pred.md').read_text()
    assert 'Quick (smoke) run' in md and '| corr-L1 |' in md and '| copy last frame |' in md
    assert 'seeds 0, wall time' in md
    data = json.loads((tmp_path / 'results' / 'pred.json').read_text())['data']
    for name in pred.CONFIGS:
        (run,) = data['runs'][name]
        assert {f'{m}_t+{t}' for m in ('PSNR', 'SSIM', 'Sharpness') for t in range(1, 6)} <= set(run['metrics'])
        assert np.isfinite(list(run['metrics'].values())).all()
    assert (tmp_path / 'results' / 'pred.png').stat().st_size > 1000
    assert (osp.getmtime(page) if osp.exists(page) else None) == before
    # a second call reuses the finished runs (nothing is retrained)
    stamp = osp.getmtime(next(tmp_path.glob('L1_*_seed0')) / 'reproduce_run.json')
    assert tool.main(['pred', '--quick', '--work-dir', str(tmp_path)]) == 0
    assert osp.getmtime(next(tmp_path.glob('L1_*_seed0')) / 'reproduce_run.json') == stamp
