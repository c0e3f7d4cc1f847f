"""Consecutive 2-process CPU DDP runs (gloo, torchrun): does every run exit 0?

    python benchmarks/ddp_reliability.py [--runs 20] [--nproc 2]

Each run trains ``tests/data/configs/tiny_ddp.py`` (a tiny EDVR, 3 iterations, every rank saving its weights) with
``torch.distributed.run`` and a fresh port; the table shows the exit code, the wall time, whether the ranks ended
with identical weights, and whether the process printed ``terminate called`` (the abort at exit that an unreleased
process group can cause). Exit status 1 if any run failed.

    python benchmarks/ddp_reliability.py --batch-gap

instead compares ``nproc`` processes × batch b with one process × batch ``nproc``·b (b = the config's 2), 3
iterations from the same initial weights, with augmentation off (``tiny_ddp_noaug.py``: the two must agree to
rounding — the sampler's shuffling is shared, rank r takes every r-th index) and on (``tiny_ddp.py``: each rank
draws its own flips/transposes, so the samples differ): the gap ``|w_ddp − w_single| / |w_single − w_0|`` over all
float parameters, i.e. the difference in units of the update itself.
"""
import argparse
import os
import os.path as osp
import subprocess
import sys
import tempfile
import time

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CFG = osp.join(ROOT, 'tests', 'data', 'configs', 'tiny_ddp.py')
CFG_NOAUG = osp.join(ROOT, 'tests', 'data', 'configs', 'tiny_ddp_noaug.py')


def batch_gap(env, nproc: int) -> int:
    """The table of ``--batch-gap`` (see the module docstring)."""
    import torch
    print(f'{nproc} processes x batch 2 vs 1 process x batch {2 * nproc}, 3 iterations; load average '
          f'{os.getloadavg()[0]:.2f}')
    print(f'{"augmentation":<14}{"gap / update":>14}')
    for name, cfg in (('off', CFG_NOAUG), ('on', CFG)):
        with tempfile.TemporaryDirectory() as wd:
            multi, single = osp.join(wd, 'multi'), osp.join(wd, 'single')
            r = subprocess.run([sys.executable, '-m', 'torch.distributed.run', f'--nproc_per_node={nproc}',
                                '--master_port=29590', 'tools/train.py', cfg, '--launcher', 'pytorch',
                                '--work-dir', multi], cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
            r2 = subprocess.run([sys.executable, 'tools/train.py', cfg, '--work-dir', single, '--cfg-options',
                                 f'train_dataloader.batch_size={2 * nproc}'], cwd=ROOT, env=env, capture_output=True,
                                text=True, timeout=900)
            if r.returncode or r2.returncode:
                print(f'{name:<14}{"run failed":>14}')
                return 1
            m, s = torch.load(osp.join(multi, 'rank0.pth')), torch.load(osp.join(single, 'rank0.pth'))
            keys = [k for k, v in s['state'].items() if v.is_floating_point()]
            diff = sum(float((m['state'][k] - s['state'][k]).double().pow(2).sum()) for k in keys) ** 0.5
            upd = sum(float((s['state'][k] - s['start'][k]).double().pow(2).sum()) for k in keys) ** 0.5
            print(f'{name:<14}{diff / upd:>14.2e}', flush=True)
    return 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--runs', type=int, default=20)
    p.add_argument('--nproc', type=int, default=2)
    p.add_argument('--batch-gap', action='store_true',
                   help='compare nproc x batch b with 1 x nproc*b, augmentation off and on (see above)')
    args = p.parse_args(argv)
    import torch
    env = dict(os.environ, OMP_NUM_THREADS='1', CUDA_VISIBLE_DEVICES='', PYTHONPATH=os.pathsep.join(
        q for q in (ROOT, osp.join(ROOT, 'tests', 'data', 'plugins'), os.environ.get('PYTHONPATH')) if q))
    if args.batch_gap:
        return batch_gap(env, args.nproc)
    print(f'{args.runs} runs of {args.nproc} gloo processes (torchrun), {osp.relpath(CFG, ROOT)}; load average '
          f'{os.getloadavg()[0]:.2f}')
    print(f'{"run":>4} {"exit":>5} {"seconds":>8} {"ranks equal":>12} {"terminate called":>17}')
    failures = 0
    for i in range(args.runs):
        with tempfile.TemporaryDirectory() as wd:
            t0 = time.time()
            r = subprocess.run([sys.executable, '-m', 'torch.distributed.run', f'--nproc_per_node={args.nproc}',
                                f'--master_port={29600 + i}', 'tools/train.py', CFG, '--launcher', 'pytorch',
                                '--work-dir', wd], cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
            secs = time.time() - t0
            equal = False
            try:
                states = [torch.load(osp.join(wd, f'rank{k}.pth'))['state'] for k in range(args.nproc)]
                equal = all(torch.equal(v, s[k]) for s in states[1:] for k, v in states[0].items())
            except (OSError, RuntimeError, KeyError):
                pass
            aborted = 'terminate called' in (r.stdout + r.stderr)
            ok = r.returncode == 0 and equal and not aborted
            failures += not ok
            print(f'{i + 1:>4} {r.returncode:>5} {secs:>8.1f} {"yes" if equal else "NO":>12} '
                  f'{"YES" if aborted else "no":>17}', flush=True)
    print(f'\n{args.runs - failures}/{args.runs} runs exited 0 with identical weights on every rank and no abort')
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
