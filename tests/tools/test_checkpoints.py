"""Checkpoints that cannot lose everything: a kill during a save with max_keep_ckpts=1 resumes from the previous
checkpoint and ends with the weights of an uninterrupted run; auto-resume skips damaged files; strict loading."""
import os
import os.path as osp

import pytest
import torch

import vidtoolbox  # noqa: F401  (torch.load of MMEngine checkpoints under weights_only)

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TINY = osp.join(ROOT, 'tests', 'data', 'configs', 'tiny_edvr_builtin.py')
OPTS = ['train_cfg.max_iters=6', 'train_cfg.val_interval=1000', 'default_hooks.checkpoint.interval=2',
        'default_hooks.checkpoint.max_keep_ckpts=1', 'param_scheduler.periods=[6]']


def train(helpers, wd, *extra, opts=(), config=TINY):
    return helpers.run(['tools/train.py', config, '--work-dir', wd, *extra, '--cfg-options', *OPTS, *opts])


@pytest.fixture(scope='module')
def uninterrupted(helpers, tmp_path_factory):
    wd = str(tmp_path_factory.mktemp('full'))
    r = train(helpers, wd)
    assert r.returncode == 0, r.stderr[-3000:]
    return torch.load(osp.join(wd, 'iter_6.pth'), map_location='cpu')


def test_kill_during_save_resumes_from_the_previous_checkpoint(helpers, tmp_path, uninterrupted):
    wd = str(tmp_path / 'killed')
    r = train(helpers, wd, config=osp.join(ROOT, 'tests', 'data', 'configs', 'tiny_kill_during_save.py'))
    assert r.returncode == -9, (r.returncode, r.stderr[-2000:])  # SIGKILL while iter_4.pth was being saved
    names = sorted(os.listdir(wd))
    assert 'iter_2.pth' in names and 'iter_4.pth' not in names  # the previous checkpoint was kept
    assert open(osp.join(wd, 'last_checkpoint')).read().endswith('iter_2.pth')
    r = train(helpers, wd, '--resume')
    assert r.returncode == 0, r.stderr[-3000:]
    assert 'resumed epoch: 0, iter: 2' in r.stdout
    got = torch.load(osp.join(wd, 'iter_6.pth'), map_location='cpu')
    for k, v in uninterrupted['state_dict'].items():
        assert torch.equal(v, got['state_dict'][k]), k
    assert not [n for n in os.listdir(wd) if '.partial' in n and n.startswith('.iter_6')]


def test_auto_resume_skips_damaged_and_stale_checkpoints(helpers, tmp_path, uninterrupted):
    wd = str(tmp_path / 'damaged')
    r = train(helpers, wd, opts=['train_cfg.max_iters=4', 'default_hooks.checkpoint.max_keep_ckpts=2'])
    assert r.returncode == 0, r.stderr[-3000:]
    with open(osp.join(wd, 'iter_4.pth'), 'r+b') as f:  # truncate the newest checkpoint
        f.truncate(1000)
    open(osp.join(wd, 'last_checkpoint'), 'w').close()  # and empty the pointer
    r = train(helpers, wd, '--resume')
    assert r.returncode == 0, r.stderr[-3000:]
    assert 'not resuming from' in r.stdout and 'iter_4.pth' in r.stdout and 'not a readable torch file' in r.stdout
    assert 'Auto resumed from the newest loadable checkpoint' in r.stdout and 'iter: 2' in r.stdout


def test_resume_from_an_empty_file_is_one_line(helpers, tmp_path):
    empty = tmp_path / 'empty.pth'
    empty.write_bytes(b'')
    r = helpers.run(['tools/train.py', TINY, '--work-dir', str(tmp_path / 'wd'), '--resume', str(empty)])
    assert r.returncode == 1 and 'Traceback' not in r.stderr
    assert r.stderr.strip().splitlines()[-1] == f"error: checkpoint '{empty}' is empty (0 bytes): an interrupted save? " \
                                                'Use another checkpoint'
    assert not osp.exists(tmp_path / 'wd')  # the failed run left no work dir


def test_checkpoints_are_strict_and_say_what_they_are(helpers, tmp_path, uninterrupted):
    assert uninterrupted['meta']['model_type'] == 'VideoSR' and uninterrupted['meta']['generator_type'] == 'EDVRNet'
    other = tmp_path / 'other.pth'
    torch.save(dict(state_dict={'generator.conv_cond.weight': torch.zeros(1)},
                    meta=dict(model_type='VideoSR', generator_type='TDANNet')), other)
    r = helpers.run(['tools/test.py', TINY, str(other), '--work-dir', str(tmp_path / 'wd')])
    assert r.returncode == 1 and 'Traceback' not in r.stderr
    assert "(a VideoSR (TDANNet) checkpoint) does not fit the VideoSR (EDVRNet) model" in r.stderr
    assert 'unexpected keys (first: generator.conv_cond.weight)' in r.stderr
    assert not osp.exists(tmp_path / 'wd')
    # --partial loads what fits and says how much did not
    r = helpers.run(['tools/train.py', TINY, '--work-dir', str(tmp_path / 'p'), '--load-from', str(other), '--partial',
                     '--cfg-options', 'train_cfg.max_iters=1', 'train_cfg.val_interval=1000'])
    assert r.returncode == 0, r.stderr[-2000:]
    assert 'Partial load of' in r.stdout and '0 tensors loaded' in r.stdout and '1 unexpected' in r.stdout
