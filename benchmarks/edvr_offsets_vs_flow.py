"""Learned PCD offsets against the ground-truth flow, for trained EDVR runs side by side (built-in val clips, CPU).

Usage::

    OMP_NUM_THREADS=2 python benchmarks/edvr_offsets_vs_flow.py \\
        --run dcnv2 configs/demo/edvr_m_ofl_builtin.py work_dirs/demo_edvr_m_ofl_builtin \\
        --run fgda configs/demo/edvr_m_fgda_builtin.py work_dirs/demo_edvr_m_fgda_builtin [--init] [--json OUT]

Each ``--run NAME CONFIG WORK_DIR`` is a ``tools/demo.py`` run: the model of CONFIG with the work dir's last
checkpoint (``last_checkpoint``, else the highest ``iter_*.pth``), and its ``demo_result.json`` (PSNR of the model and
of bicubic on the held-out clips, as the demo printed them). ``--init`` adds a row per run for the freshly
initialised model (seed 0), i.e. what the alignment does at the first iteration.

On the config's val clips (the demo's 16 held-out built-in clips, LR 32×32, exact flow), for every PCD level
(``pcd.l3`` … ``pcd.l1``; neighbours only, the reference aligned onto itself left out):

* ``|flow|``: mean length of the ground-truth ``flow(ref, nbr)`` area-averaged to the level (pixels of the level);
* ``|offset|``: mean length of the offset vectors the block reports (all groups and taps) — for DCNv2 the learned Δp
  (added to the kernel taps), for FlowGuidedDCNAlign the full sampling displacement (flow + residue);
* ``dist``: mean distance between each offset vector and the flow at its pixel (:func:`flow_distance`);
* ``within1``: share of offset vectors closer than 1 px to the flow (the paper's Fig. 5 statistic).

A level whose offsets stay near zero while ``|flow|`` is not does no alignment: its ``dist`` equals ``|flow|``.

Second table, per trained run: PSNR (RGB, [0, 255], as ``tools/demo.py`` computes it) of the model on the clips
(``PSNR``, which reproduces the demo's figure), and on the clips with every frame replaced by the reference frame
(``static``: no motion and no temporal information, EDVR as a single-image network). ``PSNR − static`` is what the
neighbour frames contribute after the alignment; bicubic and the demo's training time are read from
``demo_result.json``.
"""
import argparse
import json
import os.path as osp
import sys
from collections import OrderedDict

import torch

LEVELS = ('pcd.l3', 'pcd.l2', 'pcd.l1')


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--run', nargs=3, action='append', metavar=('NAME', 'CONFIG', 'WORK_DIR'), required=True)
    p.add_argument('--init', action='store_true', help='also measure the freshly initialised models')
    p.add_argument('--json', help='write the table as JSON here')
    return p.parse_args(argv)


def last_checkpoint(work_dir):
    """The newest loadable checkpoint of a finished run's work dir (what ``--resume`` would take)."""
    from vidtoolbox.engine.runner import find_resumable_checkpoint
    path, _ = find_resumable_checkpoint(work_dir)
    if path is None:
        raise FileNotFoundError(f'no checkpoint in {work_dir!r} (run tools/demo.py with its config first)')
    return path


def build(config, checkpoint=None):
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmengine.runner import Runner, load_checkpoint
    from vidtoolbox.registry import MODELS
    init_default_scope('vidtoolbox')
    cfg = Config.fromfile(config)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    if checkpoint is not None:
        load_checkpoint(model, checkpoint, map_location='cpu', strict=True, logger='silent')
    model.eval()
    loader = Runner.build_dataloader(cfg.val_dataloader)
    return model, loader


def _psnr(pred, gt):
    """Mean PSNR over the batch of ``(B, 3, H, W)`` [0, 1] tensors on 8-bit HWC images (as tools/demo.py)."""
    from vidtoolbox.evaluation.metrics.psnr import psnr
    to8 = lambda t: (t.clamp(0, 1).permute(1, 2, 0).numpy() * 255.0).round().astype('uint8')  # noqa: E731
    return [psnr(to8(p), to8(g), crop_border=0, input_order='HWC') for p, g in zip(pred, gt)]


@torch.no_grad()
def measure(model, loader, with_psnr=False):
    from vidtoolbox.evaluation.offset_stats import flow_distance, offset_magnitude
    from vidtoolbox.ops import resize_flow
    gen = model.generator
    sums = OrderedDict((lvl, dict(flow=0.0, offset=0.0, dist=0.0, within1=0.0, n=0, n_px=0)) for lvl in LEVELS)
    psnrs, static = [], []
    for data in loader:
        data = model.data_preprocessor(data, False)
        x, samples = data['inputs'], data['data_samples']
        fields = {k: samples[k] for k in getattr(gen, 'sample_keys', ()) if k in samples}
        out, aux = gen(x, **fields)
        if with_psnr:
            gt = model.get_target(samples, out)
            psnrs += _psnr(out, gt)
            if not getattr(gen.flow_source, 'reads_sample', False):  # a static clip has no sample flow to read
                ref = gen.center_frame_idx
                still = x[:, ref:ref + 1].expand_as(x).contiguous()
                static += _psnr(gen(still, **fields)[0], gt)
        ref_flows = samples['ref_flows']
        for rec in aux['alignments']:
            if rec['name'] not in sums or rec['nbr_index'] == rec['ref_index']:
                continue
            off = rec['offsets']
            flow = resize_flow(ref_flows[:, rec['nbr_index']].float(), off.shape[-2:], mode='area')
            s = sums[rec['name']]
            dist = flow_distance(off, flow)
            s['offset'] += float(offset_magnitude(off).sum())
            s['dist'] += float(dist.sum())
            s['within1'] += float((dist < 1.0).float().sum())
            s['n'] += dist.numel()
            s['flow'] += float(flow.norm(dim=1).sum())
            s['n_px'] += flow.shape[0] * flow.shape[-2] * flow.shape[-1]
    levels = OrderedDict((lvl, dict(flow=s['flow'] / s['n_px'], offset=s['offset'] / s['n'], dist=s['dist'] / s['n'],
                                    within1=s['within1'] / s['n'])) for lvl, s in sums.items())
    mean = lambda v: sum(v) / len(v) if v else None  # noqa: E731
    return levels, mean(psnrs), mean(static)


def main(argv=None):
    args = parse_args(argv)
    rows = []
    for name, config, work_dir in args.run:
        ckpt = last_checkpoint(work_dir)
        with open(osp.join(work_dir, 'demo_result.json')) as f:
            demo = json.load(f)
        variants = [('init', None)] if args.init else []
        variants.append((f'iter {demo.get("iters", "?")}', ckpt))
        for when, path in variants:
            model, loader = build(config, path)
            levels, psnr, static = measure(model, loader, with_psnr=path is not None)
            row = dict(run=name, when=when, levels=levels)
            if path is not None:
                row.update(psnr=psnr, static=static, demo_psnr=demo['model']['PSNR'], bicubic=demo['bicubic']['PSNR'],
                           gain=demo['model']['PSNR'] - demo['bicubic']['PSNR'], ssim=demo['model']['SSIM'],
                           train_minutes=demo.get('train_minutes'))
            rows.append(row)
    print(f'{"run":<8} {"when":<9} {"level":<7} {"|flow|":>7} {"|offset|":>8} {"dist":>6} {"within1":>7}')
    for r in rows:
        for lvl, s in r['levels'].items():
            print(f'{r["run"]:<8} {r["when"]:<9} {lvl:<7} {s["flow"]:>7.3f} {s["offset"]:>8.3f} {s["dist"]:>6.3f} '
                  f'{s["within1"]:>7.3f}')
    print(f'\n{"run":<8} {"PSNR":>7} {"bicubic":>8} {"gain":>6} {"SSIM":>7} {"static":>7} {"PSNR-static":>11} '
          f'{"train min":>9}')
    for r in rows:
        if 'psnr' in r:
            tm = r['train_minutes']
            st = r['static']
            st_s, d_s = ('n/a', 'n/a') if st is None else (f'{st:.2f}', f'{r["psnr"] - st:+.2f}')
            print(f'{r["run"]:<8} {r["psnr"]:>7.2f} {r["bicubic"]:>8.2f} {r["psnr"] - r["bicubic"]:>+6.2f} '
                  f'{r["ssim"]:>7.4f} {st_s:>7} {d_s:>11} {tm if tm is None else round(tm, 1):>9}')
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(rows, f, indent=2)
    return 0


if __name__ == '__main__':
    sys.exit(main())
