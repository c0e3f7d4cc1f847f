"""VFI-opt vs copy-last, vs its own initialisation, vs zero init, per iteration count (held-out built-in clips).

A command line over :mod:`vidtoolbox.apis.vfi_opt_compare` (the rows, the clips and the metrics are described
there; the same comparison is the reproduction claim ``tools/reproduce.py vfiopt``). Prints the table: mean PSNR
(dB, RGB, rounded [0, 255]) per step, SSIM at t+1, ``Δ init`` (mean PSNR difference to the ``init`` row at t+1),
``≥ init`` (clips where the row is at least as good as ``init``), ``worst Δ`` (its worst clip), seconds per
predicted frame (wall time of the run that produced the row; for snapshot rows the run to the largest count).

Usage::

    OMP_NUM_THREADS=1 python benchmarks/bench_vfi_opt.py --size 128 --clips 4
    OMP_NUM_THREADS=1 python benchmarks/bench_vfi_opt.py --size 128 --clips 6 --steps 1 3
    OMP_NUM_THREADS=1 python benchmarks/bench_vfi_opt.py --quick                      # < 1 min: 1 clip/motion, 64 px
    OMP_NUM_THREADS=1 python benchmarks/bench_vfi_opt.py --size 128 --clips 4 --iters 10 25 50 --steps 1 3 --ablations
    OMP_NUM_THREADS=1 python benchmarks/bench_vfi_opt.py --diagnose --size 256 --clips 6 --motions constant_velocity
"""
import argparse
import json
import sys

import torch

from vidtoolbox.apis.vfi_opt_compare import (ABLATIONS, CONTEXT, QUICK, diagnose, format_table,  # noqa: F401
                                             load_clips, run_comparison)

__all__ = ['run_comparison', 'format_table', 'diagnose', 'QUICK', 'ABLATIONS', 'main']


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--size', type=int, default=256, help='frame size (square, pixels)')
    p.add_argument('--clips', type=int, default=4, help='clips per motion kind')
    p.add_argument('--motions', nargs='+', default=['smooth', 'constant_velocity'],
                   choices=['smooth', 'constant_velocity'])
    p.add_argument('--iters', type=int, nargs='+', default=[10, 25, 50, 100], help='iteration counts')
    p.add_argument('--steps', type=int, nargs='+', default=[1], help='prediction steps to report, e.g. 1 3')
    p.add_argument('--quick', action='store_true', help=f'smoke setting {QUICK} (< 1 min on one core)')
    p.add_argument('--ablations', action='store_true', help='also the rows of ABLATIONS (variants that were tried)')
    p.add_argument('--diagnose', action='store_true',
                   help='only evaluate the objective at the initialisation and at an oracle flow (no optimisation)')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--threads', type=int, default=1)
    p.add_argument('--device', default='cpu')
    p.add_argument('--json', default=None, help='also write the result to this JSON file')
    args = p.parse_args(argv)
    if args.quick:
        args.size, args.clips, args.iters, args.steps = QUICK['size'], QUICK['clips'], list(QUICK['iters']), \
            list(QUICK['steps'])
    if args.clips < 1 or args.size < 32 or any(k < 1 for k in args.iters) or any(s < 1 for s in args.steps):
        p.error('--clips >= 1, --size >= 32 and positive --iters/--steps are required')
    return args


def main(argv=None):
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.diagnose:
        for motion in args.motions:
            diagnose(size=args.size, clips=args.clips, motion=motion, seed=args.seed)
        return 0
    try:
        result = run_comparison(size=args.size, clips=args.clips, motions=args.motions, iters=args.iters,
                                steps=args.steps, seed=args.seed, device=args.device, ablations=args.ablations)
    except RuntimeError as err:
        print(f'error: {err}', file=sys.stderr)
        return 1
    print(f'\n{json.dumps(result["setting"])}')
    print(format_table(result))
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(result, f, indent=1)
    return 0


if __name__ == '__main__':
    sys.exit(main())
