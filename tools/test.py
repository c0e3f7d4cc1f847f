"""Evaluate a checkpoint on a config's test set; prints a metrics table and writes JSON.

    python tools/test.py CONFIG CKPT [--work-dir DIR] [--out metrics.json] [--cfg-options k=v ...] [--verbose]
    python tools/test.py CONFIG --no-checkpoint      # models without trained weights (e.g. VFIOptPredictor)

The checkpoint must fit the config's model exactly (an error names the mismatching keys otherwise).
"""
import argparse
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
    p.add_argument('--launcher', choices=['none', 'pytorch', 'slurm'], default='none')
    p.add_argument('--verbose', action='store_true', help="MMEngine's full console output")
    p.add_argument('--local_rank', '--local-rank', type=int, default=0, help=argparse.SUPPRESS)
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    from vidtoolbox.apis.cli import NewWorkDir, announce_run, format_metrics, run_tool
    from vidtoolbox.apis.loading import load_config
    from vidtoolbox.apis.runner import build_runner, release_distributed
    from vidtoolbox.utils.atomic import write_json
    from vidtoolbox.utils.errors import UserInputError
    work_dir = NewWorkDir()

    def work():
        if args.checkpoint is None and not args.no_checkpoint:
            raise UserInputError('give a checkpoint (CONFIG CKPT), or --no-checkpoint for models without trained '
                                 'weights')
        if args.checkpoint is not None and not osp.isfile(args.checkpoint):
            raise UserInputError(f'checkpoint not found: {args.checkpoint}')
        work_dir.set(load_config(args.config, args.cfg_options, args.work_dir).work_dir)
        try:
            runner = build_runner(args.config, work_dir=args.work_dir, cfg_options=args.cfg_options,
                                  launcher=args.launcher, load_from=args.checkpoint, verbose=args.verbose)
            announce_run(runner, args.config, what='testing')
            metrics = runner.test()
        finally:
            release_distributed()
        metrics = {k: (float(v) if hasattr(v, '__float__') else v) for k, v in metrics.items()}
        print(format_metrics(metrics))
        out = args.out or osp.join(runner.work_dir, 'test_metrics.json')
        write_json(out, dict(config=args.config, checkpoint=args.checkpoint, metrics=metrics))
        print(f'metrics written to {out}')
        return 0

    return run_tool(work, on_error=work_dir.discard)


if __name__ == '__main__':
    sys.exit(main())
