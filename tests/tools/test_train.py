"""End-to-end tools: train / resume / test / custom_imports / 2-process CPU DDP."""
import json
import os.path as osp

import pytest
import torch

import vidtoolbox  # noqa: F401  (torch.load of MMEngine checkpoints under weights_only)

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CFG = osp.join(ROOT, 'tests', 'data', 'configs')


def test_train_resume_and_test(helpers, tmp_path):
    wd = str(tmp_path / 'wd')
    r = helpers.run(['tools/train.py', osp.join(CFG, 'tiny_edvr_builtin.py'), '--work-dir', wd])
    assert r.returncode == 0, r.stderr[-3000:]
    ckpt = helpers.latest_ckpt(wd)
    assert ckpt.endswith('iter_4.pth') and osp.isfile(ckpt)
    state = torch.load(ckpt, map_location='cpu')  # torch's default weights_only=True
    assert state['meta']['iter'] == 4
    assert any(k.startswith('generator.pcd_align') for k in state['state_dict'])

    # resume from the work dir's latest checkpoint (weights_only default) and train 2 more iterations
    r = helpers.run(['tools/train.py', osp.join(CFG, 'tiny_edvr_builtin.py'), '--work-dir', wd, '--resume',
                    '--cfg-options', 'train_cfg.max_iters=6', 'param_scheduler.periods=[6]'])
    assert r.returncode == 0, r.stderr[-3000:]
    assert 'resumed' in (r.stdout + r.stderr).lower()
    assert helpers.latest_ckpt(wd).endswith('iter_6.pth')

    out = str(tmp_path / 'metrics.json')
    r = helpers.run(['tools/test.py', osp.join(CFG, 'tiny_edvr_builtin.py'), helpers.latest_ckpt(wd), '--work-dir', wd,
                    '--out', out])
    assert r.returncode == 0, r.stderr[-3000:]
    metrics = json.load(open(out))['metrics']
    assert set(metrics) >= {'PSNR', 'SSIM'}
    assert 5.0 < metrics['PSNR'] < 60.0 and 0.0 < metrics['SSIM'] <= 1.0
    assert 'PSNR' in r.stdout


def test_custom_imports_plugin_trains(helpers, tmp_path):
    """A generator defined outside the toolbox, named in custom_imports, is trained by tools/train.py."""
    wd = str(tmp_path / 'wd')
    r = helpers.run(['tools/train.py', osp.join(CFG, 'custom_plugin.py'), '--work-dir', wd,
                    '--cfg-options', 'train_cfg.max_iters=2', 'train_cfg.val_interval=1000'])
    assert r.returncode == 0, r.stderr[-3000:]
    state = torch.load(helpers.latest_ckpt(wd), map_location='cpu')['state_dict']
    assert 'generator.conv.weight' in state
    # zero-initialised conv must have moved: the plugin was really trained
    assert state['generator.conv.weight'].abs().sum() > 0


def test_missing_config_and_resume_errors(helpers, tmp_path):
    r = helpers.run(['tools/train.py', 'configs/does_not_exist.py'])
    assert r.returncode == 1 and 'config file not found: configs/does_not_exist.py' in r.stderr
    r = helpers.run(['tools/train.py', osp.join(CFG, 'tiny_edvr_builtin.py'), '--work-dir', str(tmp_path),
                    '--resume', str(tmp_path / 'nope.pth')])
    assert r.returncode == 1 and 'nope.pth' in r.stderr


def test_dist_train_two_cpu_processes(helpers, tmp_path):
    """2 gloo processes on CPU: both ranks train and end with identical weights; each rank draws its own augmentation
    stream (deterministic given the seed)."""
    wd = str(tmp_path / 'wd')
    r = helpers.run(['-m', 'torch.distributed.run', '--nproc_per_node=2', '--master_port=29517', 'tools/train.py',
                     osp.join(CFG, 'tiny_ddp.py'), '--launcher', 'pytorch', '--work-dir', wd],
                    env_extra={'CUDA_VISIBLE_DEVICES': ''})
    assert r.returncode == 0, (r.stdout[-2000:], r.stderr[-4000:])
    r0 = torch.load(osp.join(wd, 'rank0.pth'))
    r1 = torch.load(osp.join(wd, 'rank1.pth'))
    assert r0['world_size'] == 2 and r1['world_size'] == 2
    assert r0['iter'] == r1['iter'] == 3
    assert r0['changed'] > 0 and r1['changed'] > 0
    for k, v in r0['state'].items():
        assert torch.equal(v, r1['state'][k]), k
    assert all(a != b for a, b in zip(r0['draws'], r1['draws']))  # python, numpy, torch: per-rank streams
    single = str(tmp_path / 'single')
    r = helpers.run(['tools/train.py', osp.join(CFG, 'tiny_ddp.py'), '--work-dir', single])
    assert r.returncode == 0, r.stderr[-3000:]
    assert torch.load(osp.join(single, 'rank0.pth'))['draws'] == r0['draws']  # rank 0 = the single process


def test_two_processes_with_batch_b_train_like_one_with_2b(helpers, tmp_path):
    """Augmentation off: DDP's gradient average over 2 × batch b equals one process's batch 2b (same samples: the
    sampler's shuffling is shared, rank r takes every other index), so the weights agree to rounding."""
    two, one = str(tmp_path / 'two'), str(tmp_path / 'one')
    r = helpers.run(['-m', 'torch.distributed.run', '--nproc_per_node=2', '--master_port=29519', 'tools/train.py',
                     osp.join(CFG, 'tiny_ddp_noaug.py'), '--launcher', 'pytorch', '--work-dir', two],
                    env_extra={'CUDA_VISIBLE_DEVICES': ''})
    assert r.returncode == 0, r.stderr[-3000:]
    r = helpers.run(['tools/train.py', osp.join(CFG, 'tiny_ddp_noaug.py'), '--work-dir', one,
                     '--cfg-options', 'train_dataloader.batch_size=4'])
    assert r.returncode == 0, r.stderr[-3000:]
    d2, d1 = torch.load(osp.join(two, 'rank0.pth')), torch.load(osp.join(one, 'rank0.pth'))
    assert d1['changed'] > 0 and d1['iter'] == d2['iter'] == 3
    for k, v in d1['state'].items():
        if v.is_floating_point():
            assert torch.allclose(d2['state'][k], v, rtol=1e-4, atol=1e-6), (k, float((d2['state'][k] - v).abs().max()))


def test_amp_and_load_from(helpers, tmp_path):
    """--amp trains in mixed precision (bfloat16 autocast on CPU) with finite losses; --load-from starts a new run
    from those weights (no optimizer state, iteration counter from 0)."""
    wd = str(tmp_path / 'amp')
    r = helpers.run(['tools/train.py', osp.join(CFG, 'tiny_edvr_builtin.py'), '--work-dir', wd, '--amp',
                     '--cfg-options', 'train_cfg.max_iters=2', 'train_cfg.val_interval=1000'])
    assert r.returncode == 0, r.stderr[-3000:]
    ckpt = helpers.latest_ckpt(wd)
    state = torch.load(ckpt, map_location='cpu')
    assert state['meta']['iter'] == 2
    assert 'CPUAutocastOptimWrapper' in state['meta']['cfg']  # bfloat16 autocast on the CPU
    losses = [float(l.split('loss: ')[1].split()[0]) for l in r.stdout.splitlines() if 'Iter(train)' in l]
    assert len(losses) == 2 and all(0.0 < v < 1.0 for v in losses)

    wd2 = str(tmp_path / 'loaded')
    r = helpers.run(['tools/train.py', osp.join(CFG, 'tiny_edvr_builtin.py'), '--work-dir', wd2, '--load-from', ckpt,
                     '--cfg-options', 'train_cfg.max_iters=1', 'train_cfg.val_interval=1000',
                     'optim_wrapper.optimizer.lr=0.0'])
    assert r.returncode == 0, r.stderr[-3000:]
    assert f'Load checkpoint from {ckpt}' in r.stdout
    # lr 0: the weights after one iteration are the loaded ones, the counter restarted
    after = torch.load(helpers.latest_ckpt(wd2), map_location='cpu')
    assert after['meta']['iter'] == 1
    for k, v in state['state_dict'].items():
        assert torch.equal(v, after['state_dict'][k]), k
