"""Evaluate a checkpoint on a config's test set; prints a metrics table and writes JSON.

    python tools/test.py CONFIG CKPT [--work-dir DIR] [--out metrics.json] [--cfg-options k=v ...]
    python tools/test.py CONFIG --no-checkpoint      # models without trained weights (e.g. VFIOptPredictor)
"""
import argparse
import json
import os
import os.path as osp
import sys

from mmengine.config import DictAction


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='Test a vidtoolbox model')
    p.add_argument('config')
    p.add_argument('checkpoint', nargs='?', help='checkpoint file (.pth) written by tools/train.py')
    p.add_argument('--no-checkpoint', action='store_true',
                   help='evaluate without loading weights (optimisation-based models such as VFIOptPredictor, '
                        'whose frozen parts load their own pretrained weights)')
    p.add_argument('--work-dir')
    p.add_argument('--out', help='JSON file for the metrics (default <work-dir>/test_metrics.json)')
    p.add_argument('--cfg-options', nargs='+', action=DictAction)
    p.add_argument('--launcher', choices=['none', 'pytorch'], default='none')
    p.add_argument('--local_rank', '--local-rank', type=int, default=0, help=argparse.SUPPRESS)
    return p.parse_args(argv)


def format_table(metrics: dict) -> str:
    """A two-column text table of ``metrics``."""
    if not metrics:
        return '(no metrics)'
    w = max(len(str(k)) for k in metrics)
    lines = [f'{"metric":<{w}}  value', f'{"-" * w}  ----------']
    for k, v in metrics.items():
        lines.append(f'{k:<{w}}  {v:.4f}' if isinstance(v, float) else f'{k:<{w}}  {v}')
    return '\n'.join(lines)


def main(argv=None):
    args = parse_args(argv)
    from vidtoolbox.apis.runner import build_runner
    from vidtoolbox.utils.errors import UserInputError
    if args.checkpoint is None and not args.no_checkpoint:
        print('error: give a checkpoint (CONFIG CKPT), or --no-checkpoint for models without trained weights',
              file=sys.stderr)
        return 2
    if args.checkpoint is not None and not osp.isfile(args.checkpoint):
        print(f'error: checkpoint not found: {args.checkpoint}', file=sys.stderr)
        return 1
    try:
        runner = build_runner(args.config, work_dir=args.work_dir, cfg_options=args.cfg_options,
                              launcher=args.launcher, load_from=args.checkpoint)
        metrics = runner.test()
    except (UserInputError, FileNotFoundError) as e:
        print(f'error: {e}', file=sys.stderr)
        return 1
    metrics = {k: (float(v) if hasattr(v, '__float__') else v) for k, v in metrics.items()}
    print(format_table(metrics))
    out = args.out or osp.join(runner.work_dir, 'test_metrics.json')
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    tmp = out + '.tmp'
    with open(tmp, 'w') as f:
        json.dump(dict(config=args.config, checkpoint=args.checkpoint, metrics=metrics), f, indent=2)
    os.replace(tmp, out)
    print(f'metrics written to {out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
