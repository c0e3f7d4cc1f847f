"""BasicVSR against bicubic on the test clips of a config (default: the built-in fine-tuning config).

Usage::

    OMP_NUM_THREADS=2 python benchmarks/bench_basicvsr_builtin.py [CONFIG] [--checkpoint CKPT]
        [--pretrained reds vimeo-bi ...] [--num-clips N]

Builds the config's model and its test dataloader and prints PSNR/SSIM (RGB, [0, 255] after rounding, no crop;
every frame of every clip, averaged per clip, then over clips — the numbers ``tools/test.py`` reports) of:

* bicubic upsampling of every LR frame;
* the config's model as built (for the fine-tuning config: the released REDS weights), or the weights of
  ``--checkpoint`` (a ``tools/train.py`` checkpoint);
* with ``--pretrained``, the config's generator with each of the given released weights
  (``reds``, ``vimeo-bi``, ``vimeo-bd``; the built-in clips are bicubic-degraded (BI), so ``vimeo-bd``, trained for
  blur + subsampling, is expected to do poorly here).

Also prints the wall and process CPU seconds of each evaluation and the machine load.
"""
import argparse
import copy
import os
import os.path as osp
import sys
import time

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def evaluate(model, loader):
    from vidtoolbox.apis.sr_eval import evaluate_sr_vs_bicubic
    t0, c0 = time.perf_counter(), time.process_time()
    res = evaluate_sr_vs_bicubic(model, loader)
    return res, time.perf_counter() - t0, time.process_time() - c0


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('config', nargs='?', default=osp.join(ROOT, 'configs/basicvsr/basicvsr_builtin_finetune.py'))
    p.add_argument('--checkpoint', help='tools/train.py checkpoint of the config (default: the model as built)')
    p.add_argument('--pretrained', nargs='*', default=[], help='released weights to evaluate too')
    p.add_argument('--num-clips', type=int, help='override the number of test clips (built-in dataset)')
    args = p.parse_args(argv)

    import torch
    from mmengine.registry import init_default_scope
    from mmengine.runner import Runner, load_checkpoint
    from vidtoolbox.apis.runner import load_config
    from vidtoolbox.registry import MODELS

    init_default_scope('vidtoolbox')
    cfg = load_config(args.config)
    loader_cfg = copy.deepcopy(cfg.test_dataloader)
    if args.num_clips is not None:
        loader_cfg.dataset.num_clips = args.num_clips
    loader = Runner.build_dataloader(loader_cfg)

    runs = [('config model' if args.checkpoint is None else f'checkpoint {osp.basename(args.checkpoint)}', None)]
    runs += [(f'pretrained {name}', name) for name in args.pretrained]
    rows = []
    for label, pretrained in runs:
        model_cfg = copy.deepcopy(cfg.model)
        if pretrained is not None:
            model_cfg.generator.pretrained = pretrained
            model_cfg.generator.spynet_pretrained = None
        model = MODELS.build(model_cfg)
        if pretrained is None and args.checkpoint is not None:
            load_checkpoint(model, args.checkpoint, map_location='cpu', logger='silent')
        res, wall, cpu = evaluate(model.eval(), loader)
        if not rows:
            rows.append(('bicubic', res['bicubic']))
        rows.append((label, res['model']))
        print(f'{label}: {res["num_samples"]} clips, {res["num_frames"]} frames, {wall:.0f} s wall, '
              f'{cpu:.0f} s process CPU', flush=True)

    load = os.getloadavg()
    print(f'\n{osp.relpath(args.config, ROOT)}: test clips, RGB, no crop (torch threads {torch.get_num_threads()}, '
          f'load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f})')
    print(f'  {"method":<34} {"PSNR (dB)":>10} {"SSIM":>8} {"vs bicubic":>11}')
    base = rows[0][1]['PSNR']
    for label, score in rows:
        print(f'  {label:<34} {score["PSNR"]:>10.2f} {score["SSIM"]:>8.4f} {score["PSNR"] - base:>+10.2f}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
