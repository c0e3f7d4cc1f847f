"""Offset overflow without / with the offset-fidelity loss, on the built-in dataset (CPU, minutes).

Usage::

    OMP_NUM_THREADS=1 python benchmarks/ofl_stability.py [--iters 250] [--lr 4e-3] [--patch 16] [--batch 2]
        [--channels 16] [--align DCNv2Align] [--threshold 10] [--ofl-weight 1.0] [--include-residual 1]
        [--out work_dirs/ofl_stability]

(about 3 minutes on one loaded CPU core with the defaults).

Two runs from the same initial weights and the same batches (same seed): ``charbonnier`` (pixel loss only) and
``charbonnier+ofl`` (plus ``OffsetFidelityLoss`` with the dataset's exact flow, ``GTFlow``). The setting is made
unstable on purpose: a large Adam learning rate without warm-up, no TSA (a plain 1×1 fusion), small LR patches,
EDVR with ``--channels`` features, 8 deformable groups, the default DCNv2 alignment at every PCD level.

Printed every ``--log-every`` iterations: mean and max |offset| over all alignment records, the mean over the
PCD-level records and over the cascade (residual) records, and the pixel loss, for both runs. At the end, on ``--val-clips`` held-out clips of the
built-in val split (GT 64×64): PSNR of the output, of bicubic upsampling, and of the output when every input
frame is replaced by the centre frame (no temporal information) — when the offsets have overflowed the aligned
neighbour features are useless and the two last numbers meet (EDVR degenerates to single-image SR).
Saves ``offsets.png`` (mean |offset| per iteration, log scale, both runs) and ``stats.json`` in ``--out``.
"""
import argparse
import json
import math
import os
import os.path as osp
import time

import numpy as np
import torch

from vidtoolbox.evaluation.offset_stats import offset_summary


def build_model(args, with_ofl):
    import vidtoolbox.models  # noqa: F401
    from vidtoolbox.registry import MODELS
    losses = [dict(type='CharbonnierLoss')]
    if with_ofl:
        losses.append(dict(type='OffsetFidelityLoss', loss_weight=args.ofl_weight, threshold=args.threshold,
                           flow=dict(type='GTFlow'), include_residual=args.include_residual))
    align = dict(type=args.align)
    if args.align == 'NOffsetAlign':
        align.update(num_offsets=9, kernel_init='grid')
    gen = dict(type='EDVRNet', mid_channels=args.channels, num_frames=5, deform_groups=8, num_extract_block=2,
               num_reconstruct_block=4, with_tsa=False, scale=4, align_cfg=align)
    return MODELS.build(dict(type='VideoSR', generator=gen, losses=losses))


def make_batches(args):
    from mmengine.dataset import default_collate
    from vidtoolbox.datasets import SyntheticMotionDataset
    pipeline = [dict(type='Flip', direction='horizontal', prob=0.5), dict(type='PackVideoInputs')]
    ds = SyntheticMotionDataset(num_clips=args.iters * args.batch, num_frames=5, gt_size=args.patch * 4, scale=4,
                                split='train', seed=0, max_translation=args.max_translation, pipeline=pipeline)
    np.random.seed(0)
    for i in range(args.iters):
        yield default_collate([ds[i * args.batch + j] for j in range(args.batch)])


def psnr(a, b):
    a = (a.clamp(0, 1) * 255).round()
    b = (b.clamp(0, 1) * 255).round()
    mse = ((a - b) ** 2).mean().item()
    return float('inf') if mse == 0 else 10 * math.log10(255 ** 2 / mse)


@torch.no_grad()
def evaluate(model, args):
    import torch.nn.functional as F
    from vidtoolbox.datasets import SyntheticMotionDataset
    ds = SyntheticMotionDataset(num_clips=args.val_clips, num_frames=5, gt_size=64, scale=4, split='val', seed=1,
                                max_translation=args.max_translation, pipeline=[dict(type='PackVideoInputs')])
    model.eval()
    out, static, bic = [], [], []
    for i in range(len(ds)):
        s = ds[i]
        lq, gt = s['inputs'][None], s['data_samples']['gt'][:1]  # (1, T, 3, h, w), (1, 3, H, W) centre frame
        pred = model(lq, mode='tensor')
        frozen = lq[:, 2:3].expand_as(lq).contiguous()
        out.append(psnr(pred, gt))
        static.append(psnr(model(frozen, mode='tensor'), gt))
        bic.append(psnr(F.interpolate(lq[:, 2], scale_factor=4, mode='bicubic', align_corners=False), gt))
    model.train()
    return dict(psnr=float(np.mean(out)), psnr_centre_frame_only=float(np.mean(static)), psnr_bicubic=float(np.mean(bic)))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--iters', type=int, default=250)
    p.add_argument('--lr', type=float, default=4e-3)
    p.add_argument('--patch', type=int, default=16, help='LR patch size (GT = 4x)')
    p.add_argument('--batch', type=int, default=2)
    p.add_argument('--channels', type=int, default=16)
    p.add_argument('--align', default='DCNv2Align', help='alignment block at every PCD level')
    p.add_argument('--threshold', type=float, default=10.0)
    p.add_argument('--ofl-weight', type=float, default=1.0)
    p.add_argument('--include-residual', type=int, default=1,
                   help='1: the OFL also penalises the cascade (residual) offsets beyond t (vs zero flow); 0: skip them')
    p.add_argument('--max-translation', type=float, default=4.0, help='per-frame motion of the built-in clips (GT px)')
    p.add_argument('--val-clips', type=int, default=4)
    p.add_argument('--log-every', type=int, default=25)
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--out', default='work_dirs/ofl_stability')
    args = p.parse_args()
    from mmengine.registry import init_default_scope
    init_default_scope('vidtoolbox')
    os.makedirs(args.out, exist_ok=True)

    torch.manual_seed(args.seed)
    models = {'charbonnier': build_model(args, False)}
    models['charbonnier+ofl'] = build_model(args, True)
    models['charbonnier+ofl'].load_state_dict(models['charbonnier'].state_dict())  # same initial weights
    opts = {k: torch.optim.Adam(m.parameters(), lr=args.lr, betas=(0.9, 0.99)) for k, m in models.items()}
    hist = {k: dict(offset_mean=[], offset_max=[], pcd_mean=[], cascade_mean=[], loss_pix=[], loss_ofl=[])
            for k in models}
    print(f'EDVR C={args.channels} G=8 no-TSA align={args.align}  lr={args.lr}  batch={args.batch}  '
          f'LR patch {args.patch}  iters={args.iters}  OFL t={args.threshold} λ={args.ofl_weight} '
          f'include_residual={bool(args.include_residual)}  '
          f'threads={torch.get_num_threads()}')
    t0 = time.time()
    for it, batch in enumerate(make_batches(args), 1):
        for name, model in models.items():
            data = model.data_preprocessor(batch, True)
            pred, aux = model.run_generator(data['inputs'], data['data_samples'])
            losses = model.compute_losses(data['inputs'], pred, aux, data['data_samples'],
                                          model.get_target(data['data_samples'], pred))
            recs = aux['alignments']
            pcd = offset_summary([r for r in recs if not r['residual']])
            cas = offset_summary([r for r in recs if r['residual']])
            total = sum(v for k, v in losses.items() if k.startswith('loss'))
            opts[name].zero_grad(set_to_none=True)
            if torch.isfinite(total):
                total.backward()
                opts[name].step()
            h = hist[name]
            h['offset_mean'].append(float(losses['offset_mean']))
            h['offset_max'].append(float(losses['offset_max']))
            h['pcd_mean'].append(pcd.get('mean', 0.0))
            h['cascade_mean'].append(cas.get('mean', 0.0))
            h['loss_pix'].append(float(losses['loss_pix'].detach()))
            h['loss_ofl'].append(float(losses['loss_ofl'].detach()) if 'loss_ofl' in losses else 0.0)
        if it % args.log_every == 0 or it == 1 or it == args.iters:
            row = '  '.join(f'{k}: |off| mean {h["offset_mean"][-1]:9.3f} (pcd {h["pcd_mean"][-1]:9.3f} cascade '
                            f'{h["cascade_mean"][-1]:9.3f}) max {h["offset_max"][-1]:10.2f} '
                            f'pix {h["loss_pix"][-1]:.4f}' for k, h in hist.items())
            print(f'iter {it:5d} ({time.time() - t0:6.0f}s)  {row}', flush=True)

    results = {}
    for name, model in models.items():
        results[name] = evaluate(model, args)
        h = hist[name]
        results[name].update(final_offset_mean=h['offset_mean'][-1], peak_offset_mean=max(h['offset_mean']),
                             peak_offset_max=max(h['offset_max']), final_pcd_mean=h['pcd_mean'][-1],
                             final_cascade_mean=h['cascade_mean'][-1])
    print('\nfinal (val, %d clips, GT 64x64):' % args.val_clips)
    for name, r in results.items():
        print(f'  {name:<17} PSNR {r["psnr"]:.2f} dB | centre frame only {r["psnr_centre_frame_only"]:.2f} dB | '
              f'bicubic {r["psnr_bicubic"]:.2f} dB | mean|offset| final {r["final_offset_mean"]:.2f} '
              f'(pcd {r["final_pcd_mean"]:.2f}, cascade {r["final_cascade_mean"]:.2f}) peak {r["peak_offset_mean"]:.2f} '
              f'| max|offset| peak {r["peak_offset_max"]:.1f}')
    with open(osp.join(args.out, 'stats.json'), 'w') as f:
        json.dump(dict(args=vars(args), history=hist, results=results), f)

    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(7, 4))
    for name, h in hist.items():
        line, = ax.plot(range(1, len(h['pcd_mean']) + 1), h['pcd_mean'], label=f'{name}: PCD levels')
        ax.plot(range(1, len(h['cascade_mean']) + 1), h['cascade_mean'], ls=':', color=line.get_color(),
                label=f'{name}: cascade')
    ax.axhline(50, color='gray', ls='--', lw=0.8, label='overflow warning (50 px)')
    ax.set_yscale('log')
    ax.set_xlabel('iteration')
    ax.set_ylabel('mean |offset| (px)')
    ax.set_title(f'EDVR (C={args.channels}, no TSA), Adam lr={args.lr}, LR patch {args.patch}')
    ax.legend()
    fig.tight_layout()
    fig.savefig(osp.join(args.out, 'offsets.png'), dpi=100)
    print('saved', osp.join(args.out, 'offsets.png'), 'and stats.json')


if __name__ == '__main__':
    main()
