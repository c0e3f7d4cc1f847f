"""Iteration time of ``configs/edvr_m_ofl.py`` training with the offset-fidelity flow (OpenCV DIS on the LR patch)
inside the training step vs estimated in the data pipeline, with 0 and 2 DataLoader workers.

What runs is ``tools/train.py``'s runner (:func:`vidtoolbox.apis.runner.build_runner`) on a small REDS-layout tree
written once from the built-in dataset's renderer (``--clips`` clips of ``--frames`` frames, GT 1280×720, LR 320×180
MATLAB-bicubic: the REDS frame sizes, so each sample decodes five 320×180 and one 1280×720 PNG as on REDS), with

* ``step``: ``model.losses.1.flow.type=DISFlow`` and no ``EstimateRefFlows`` in the pipeline (DIS on the packed
  batch inside the step, the config's default before this change);
* ``pipeline``: the shipped config (``EstimateRefFlows`` after the flips; the loss reads ``ref_flows`` with
  ``GTFlow``);

each with ``train_dataloader.num_workers`` 0 and 2 (``--cfg-options train_dataloader.num_workers=2``). A hook records
per iteration the time waiting for the batch (``data``: from the end of one iteration to the start of the next) and
the time of the step itself (``step``: ``model.train_step``); ``iter`` is their sum. The first ``--skip`` iterations
of every run (worker start, first batches) are not counted. Runs are interleaved (all variants once per round,
``--rounds`` rounds) and the medians over all counted iterations of all rounds are printed, with the load average.

The network is EDVR-M unless ``--small`` (``mid_channels=16``, 1 extraction and 1 reconstruction block: a step as
short as a GPU's, where the data pipeline and the flow are a large share). ``--batch`` (default 4; the paper's 16 is
too slow on a small CPU) and the LR patch of the config (64×64) are used.

    OMP_NUM_THREADS=1 python benchmarks/bench_flow_pipeline.py --small --iters 12 --rounds 2
"""
import argparse
import os
import os.path as osp
import shutil
import statistics
import tempfile
import time

import cv2
import numpy as np

__all__ = ['write_mini_reds', 'run_variant', 'main', 'VARIANTS']

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
#: variant → (flow inside the step?, workers)
VARIANTS = [('step', 0), ('pipeline', 0), ('step', 2), ('pipeline', 2)]


def write_mini_reds(root: str, clips: int = 2, frames: int = 8, gt_size=(720, 1280)) -> str:
    """A REDS-layout tree (``train_sharp`` / ``train_sharp_bicubic/X4``, clips ``'100'``, ``'101'``, ...) rendered by
    the built-in dataset; returns ``root``."""
    from vidtoolbox.datasets.synthetic import SyntheticMotionDataset
    ds = SyntheticMotionDataset(num_clips=clips, num_frames=frames, gt_size=gt_size, scale=4, gt_mode='all',
                                seed=7)
    for c in range(clips):
        info = ds.get_data_info(c)
        name = f'{100 + c:03d}'
        for folder, imgs in (('train_sharp', info['gt']), ('train_sharp_bicubic/X4', info['lq'])):
            d = osp.join(root, folder, name)
            os.makedirs(d, exist_ok=True)
            for f, img in enumerate(imgs):
                ok = cv2.imwrite(osp.join(d, f'{f:08d}.png'), np.rint(np.clip(img, 0, 1)[..., ::-1] * 255)
                                 .astype(np.uint8))
                if not ok:
                    raise OSError(f'could not write a frame into {d}')
    return root


def _timing_hook():
    from mmengine.hooks import Hook

    class IterTimes(Hook):
        priority = 'VERY_LOW'

        def __init__(self):
            self.records = []  # (data wait, step)
            self._end = None
            self._start = None

        def before_train(self, runner):
            self._end = time.perf_counter()

        def before_train_iter(self, runner, batch_idx, data_batch=None):
            self._start = time.perf_counter()

        def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
            now = time.perf_counter()
            self.records.append((self._start - self._end, now - self._start))
            self._end = now

    return IterTimes()


def run_variant(flow_in: str, workers: int, data_root: str, work_dir: str, iters: int, batch: int, small: bool):
    """Train ``iters`` iterations of one variant; return the per-iteration ``(data, step)`` seconds."""
    from mmengine.config import Config

    from vidtoolbox.apis.runner import build_runner
    config = osp.join(ROOT, 'configs', 'edvr_m_ofl.py')
    opts = {'train_dataloader.dataset.data_root': data_root, 'train_dataloader.batch_size': batch,
            'train_dataloader.num_workers': workers, 'train_dataloader.persistent_workers': workers > 0,
            'train_cfg.max_iters': iters, 'train_cfg.val_interval': 10 ** 9, 'val_cfg': None,
            'val_dataloader': None, 'val_evaluator': None, 'test_cfg': None, 'test_dataloader': None,
            'test_evaluator': None, 'default_hooks.logger.interval': 10 ** 6,
            'default_hooks.checkpoint.interval': 10 ** 9}
    if flow_in == 'step':  # DIS inside the step, no EstimateRefFlows in the pipeline
        pipeline = [t for t in Config.fromfile(config).train_pipeline if t['type'] != 'EstimateRefFlows']
        opts.update({'model.losses.1.flow.type': 'DISFlow', 'train_dataloader.dataset.pipeline': pipeline})
    if small:
        opts.update({'model.generator.mid_channels': 16, 'model.generator.num_extract_block': 1,
                     'model.generator.num_reconstruct_block': 1})
    runner = build_runner(config, work_dir=osp.join(work_dir, f'{flow_in}_{workers}'), cfg_options=opts)
    hook = _timing_hook()
    runner.register_hook(hook)
    runner.train()
    return hook.records


def _load() -> str:
    try:
        return ' '.join(f'{v:.2f}' for v in os.getloadavg())
    except OSError:
        return 'n/a'


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--data-root', default=None, help='an existing mini-REDS tree to reuse (default: a new temporary one)')
    p.add_argument('--clips', type=int, default=2)
    p.add_argument('--frames', type=int, default=8)
    p.add_argument('--iters', type=int, default=12, help='iterations per run')
    p.add_argument('--skip', type=int, default=3, help='first iterations of each run not counted')
    p.add_argument('--rounds', type=int, default=2)
    p.add_argument('--batch', type=int, default=4)
    p.add_argument('--small', action='store_true', help='a 16-channel EDVR (a short step, as on a GPU)')
    args = p.parse_args(argv)
    if args.iters <= args.skip:
        p.error('--iters must exceed --skip')
    tmp = tempfile.mkdtemp(prefix='bench_flow_pipeline_')
    try:
        data_root = args.data_root or write_mini_reds(osp.join(tmp, 'REDS'), args.clips, args.frames)
        net = 'EDVR 16 channels, 1+1 blocks' if args.small else 'EDVR-M'
        print(f'configs/edvr_m_ofl.py, {net}, batch {args.batch}, LR patch 64, DIS medium; {args.iters} iterations '
              f'per run, first {args.skip} not counted, {args.rounds} rounds')
        print(f'load average (1/5/15 min) before: {_load()}; {os.cpu_count()} CPUs')
        recs = {v: [] for v in VARIANTS}
        for r in range(args.rounds):
            for flow_in, workers in VARIANTS:
                wd = osp.join(tmp, f'r{r}')
                os.makedirs(wd, exist_ok=True)
                recs[(flow_in, workers)] += run_variant(flow_in, workers, data_root, wd, args.iters, args.batch,
                                                        args.small)[args.skip:]
        header = f'{"flow":<10}{"workers":>8}{"iter ms":>10}{"data ms":>10}{"step ms":>10}{"n":>5}'
        print(header)
        print('-' * len(header))
        rows = []
        for (flow_in, workers), rs in recs.items():
            data = statistics.median(d for d, _ in rs)
            step = statistics.median(s for _, s in rs)
            it = statistics.median(d + s for d, s in rs)
            rows.append(dict(flow=flow_in, workers=workers, iter_s=it, data_s=data, step_s=step, n=len(rs)))
            print(f'{flow_in:<10}{workers:>8}{it * 1e3:>10.1f}{data * 1e3:>10.1f}{step * 1e3:>10.1f}{len(rs):>5}')
        print(f'load average (1/5/15 min) after: {_load()}')
        return rows
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == '__main__':
    main()
