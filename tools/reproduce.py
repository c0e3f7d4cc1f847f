"""Reproduce one finding of the papers the toolbox implements: train/evaluate, print the table, write
``docs/results/CLAIM.md`` and a PNG plot.

    python tools/reproduce.py CLAIM [--quick] [--device cpu|cuda] [--seeds 0 1] [--work-dir DIR]
    python tools/reproduce.py --list

``--quick`` is the smoke version (tiny models, <= 1 min; results go to the work dir, not to docs/). Finished runs
are reused from the work dir (delete it to rerun). See docs/experiments.md.
"""
import argparse
import sys
import time


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='Reproduce a finding of the papers implemented by vidtoolbox')
    p.add_argument('claim', nargs='?', help='claim name (see --list)')
    p.add_argument('--quick', action='store_true', help='smoke version: tiny models, a few iterations')
    p.add_argument('--device', choices=['cpu', 'cuda'], default='cpu')
    p.add_argument('--seeds', type=int, nargs='+', default=None, help='seeds of the runs (default: the claim\'s)')
    p.add_argument('--work-dir', default=None, help='default work_dirs/reproduce/<claim>[_quick]')
    p.add_argument('--list', action='store_true', help='list the claims')
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    from vidtoolbox.apis.cli import run_tool
    from vidtoolbox.apis.reproduce import CLAIMS, ClaimContext, get_claim, write_result
    from vidtoolbox.utils.errors import UserInputError

    def work():
        if args.list:
            for name, (_, desc) in sorted(CLAIMS.items()):
                print(f'{name:<8} {desc}')
            return 0
        if not args.claim:
            raise UserInputError('give a claim (tools/reproduce.py --list shows them)')
        run = get_claim(args.claim)
        work_dir = args.work_dir or f'work_dirs/reproduce/{args.claim}' + ('_quick' if args.quick else '')
        ctx = ClaimContext(quick=args.quick, device=args.device, work_dir=work_dir)
        if args.seeds:
            ctx.seeds = tuple(args.seeds)
        t0 = time.time()
        result = run(ctx)
        seconds = time.time() - t0
        command = 'python tools/reproduce.py ' + ' '.join(argv if argv is not None else sys.argv[1:])
        paths = write_result(args.claim, result, ctx, seconds, command)
        print(f'\n{result.title}\n\n{result.table}\n\n{result.verdict}\n')
        print(f'seeds {", ".join(map(str, ctx.seeds))}; wall time {seconds / 60:.1f} min; written: '
              + ', '.join(paths.values()))
        return 0

    return run_tool(work)


if __name__ == '__main__':
    sys.exit(main())
