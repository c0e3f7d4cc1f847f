"""Train a model from a config.

    python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]] [--load-from CKPT [--partial]] [--amp]
                                 [--cfg-options k=v ...] [--launcher none|pytorch|slurm] [--verbose]

Distributed: ``tools/dist_train.sh CONFIG NPROC`` (torchrun; gloo on CPU, NCCL on GPU), ``tools/slurm_train.sh``
(srun, ``--launcher slurm``); see docs/distributed.md. The console shows the config, the work dir, one progress
line per logging interval and the results; the full MMEngine log is in the work dir (``--verbose`` prints it too).
"""
import argparse
import sys

from mmengine.config import DictAction


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='Train a vidtoolbox model')
    p.add_argument('config', help='config file, e.g. configs/edvr_m_ofl.py')
    p.add_argument('--work-dir', help='where logs and checkpoints go (default work_dirs/<config name>)')
    p.add_argument('--resume', nargs='?', const='auto', default=None, metavar='CKPT',
                   help='resume from CKPT, or from the latest checkpoint in the work dir when CKPT is omitted')
    p.add_argument('--load-from', help='initialise the model from this checkpoint (no optimizer state); it must fit '
                   'the model exactly unless --partial is given')
    p.add_argument('--partial', action='store_true',
                   help='with --load-from: load the tensors that fit and print how many did not')
    p.add_argument('--amp', action='store_true', help='automatic mixed precision')
    p.add_argument('--cfg-options', nargs='+', action=DictAction, help='override config entries: key=value')
    p.add_argument('--launcher', choices=['none', 'pytorch', 'slurm'], default='none', help='job launcher')
    p.add_argument('--verbose', action='store_true',
                   help="MMEngine's full console output (environment, config, hook table); always in the log file")
    p.add_argument('--local_rank', '--local-rank', type=int, default=0, help=argparse.SUPPRESS)
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    from vidtoolbox.apis.cli import NewWorkDir, announce_run, run_tool
    from vidtoolbox.apis.loading import load_config
    from vidtoolbox.apis.runner import build_runner, release_distributed
    work_dir = NewWorkDir()

    def work():
        work_dir.set(load_config(args.config, args.cfg_options, args.work_dir).work_dir)
        try:
            runner = build_runner(args.config, work_dir=args.work_dir, resume=args.resume, amp=args.amp,
                                  cfg_options=args.cfg_options, launcher=args.launcher, load_from=args.load_from,
                                  verbose=args.verbose, partial=args.partial)
            announce_run(runner, args.config)
            runner.train()
        finally:
            release_distributed()
        return 0

    return run_tool(work, on_error=work_dir.discard)


if __name__ == '__main__':
    sys.exit(main())
