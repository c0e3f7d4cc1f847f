"""The SLURM path without a cluster: --launcher slurm reads the variables srun sets, and tools/slurm_train.sh runs
2 tasks through a stand-in `srun` that starts them the way SLURM does (one process per task, SLURM_* set)."""
import os
import os.path as osp
import stat

import pytest
import torch

import vidtoolbox  # noqa: F401  (torch.load of MMEngine checkpoints under weights_only)
from vidtoolbox.apis.runner import slurm_environment
from vidtoolbox.utils.errors import UserInputError

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CFG = osp.join(ROOT, 'tests', 'data', 'configs')

FAKE_SRUN = r'''#!/usr/bin/env bash
# stand-in for srun: starts --ntasks copies of the command with the variables SLURM sets, waits for all
ntasks=1
args=()
for a in "$@"; do
  case "$a" in
    --ntasks=*) ntasks=${a#--ntasks=} ;;
    -p|--job-name=*|--gres=*|--ntasks-per-node=*|--cpus-per-task=*|--kill-on-bad-exit=*) ;;
    *) args+=("$a") ;;
  esac
done
echo "srun $*" > "$SRUN_LOG"
set -- "${args[@]}"
[ "$1" = "$PARTITION_SEEN" ] && shift   # the partition value that followed -p
pids=()
for ((i = 0; i < ntasks; i++)); do
  SLURM_PROCID=$i SLURM_LOCALID=$i SLURM_NTASKS=$ntasks SLURM_NODELIST=localhost "$@" &
  pids+=($!)
done
rc=0
for p in "${pids[@]}"; do wait "$p" || rc=$?; done
exit $rc
'''


def test_slurm_environment_from_the_variables_srun_sets(tmp_path):
    env = dict(SLURM_PROCID='3', SLURM_NTASKS='8', SLURM_LOCALID='1', SLURM_NODELIST='gpu-node7')
    assert slurm_environment(env) == dict(RANK='3', WORLD_SIZE='8', LOCAL_RANK='1', MASTER_ADDR='gpu-node7',
                                          MASTER_PORT='29500')
    # a node range is expanded with scontrol (here a stand-in on PATH); MASTER_PORT / MASTER_ADDR are kept when set
    fake = tmp_path / 'scontrol'
    fake.write_text('#!/bin/sh\necho node03\necho node04\n')
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    old = os.environ['PATH']
    os.environ['PATH'] = f'{tmp_path}{os.pathsep}{old}'
    try:
        out = slurm_environment(dict(env, SLURM_NODELIST='node[03-04]', MASTER_PORT='1234'))
    finally:
        os.environ['PATH'] = old
    assert out['MASTER_ADDR'] == 'node03' and out['MASTER_PORT'] == '1234'
    assert slurm_environment(dict(env, MASTER_ADDR='10.0.0.1'))['MASTER_ADDR'] == '10.0.0.1'
    with pytest.raises(UserInputError, match='SLURM_PROCID, SLURM_NTASKS missing'):
        slurm_environment(dict(SLURM_NODELIST='x'))


def test_slurm_train_sh_runs_two_tasks(helpers, tmp_path):
    """tools/slurm_train.sh → (stand-in) srun → 2 × tools/train.py --launcher slurm → gloo DDP, identical weights."""
    bindir = tmp_path / 'bin'
    bindir.mkdir()
    srun = bindir / 'srun'
    srun.write_text(FAKE_SRUN)
    srun.chmod(srun.stat().st_mode | stat.S_IEXEC)
    wd = str(tmp_path / 'wd')
    env = dict(PATH=f'{bindir}{os.pathsep}{os.environ["PATH"]}', PYTHON=helpers.python,
               SRUN_LOG=str(tmp_path / 'srun.log'), PARTITION_SEEN='debug', MASTER_PORT='29533',
               CUDA_VISIBLE_DEVICES='')
    r = helpers.run_shell(['tools/slurm_train.sh', 'debug', 'tiny', osp.join(CFG, 'tiny_ddp.py'), '2',
                           '--work-dir', wd], env_extra=env)
    assert r.returncode == 0, (r.stdout[-2000:], r.stderr[-3000:])
    log = open(tmp_path / 'srun.log').read()
    assert '--ntasks=2' in log and '--launcher slurm' in log and '--gres=gpu:2' in log
    r0, r1 = torch.load(osp.join(wd, 'rank0.pth')), torch.load(osp.join(wd, 'rank1.pth'))
    assert r0['world_size'] == r1['world_size'] == 2 and r0['iter'] == r1['iter'] == 3
    for k, v in r0['state'].items():
        assert torch.equal(v, r1['state'][k]), k
