"""Consecutive 2-process CPU DDP runs (gloo, torchrun): does every run exit 0?

    python benchmarks/ddp_reliability.py [--runs 20] [--nproc 2]

Each run trains ``tests/data/configs/tiny_ddp.py`` (a tiny EDVR, 3 iterations, every rank saving its weights) with
``torch.distributed.run`` and a fresh port; the table shows the exit code, the wall time, whether the ranks ended
with identical weights, and whether the process printed ``terminate called`` (the abort at exit that an unreleased
process group can cause). Exit status 1 if any run failed.
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


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--runs', type=int, default=20)
    p.add_argument('--nproc', type=int, default=2)
    args = p.parse_args(argv)
    import torch
    env = dict(os.environ, OMP_NUM_THREADS='1', CUDA_VISIBLE_DEVICES='', PYTHONPATH=os.pathsep.join(
        q for q in (ROOT, osp.join(ROOT, 'tests', 'data', 'plugins'), os.environ.get('PYTHONPATH')) if q))
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
