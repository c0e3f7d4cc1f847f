"""Motion of the built-in clips: flow-magnitude statistics and histograms of the default and the large-motion setting.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/synthetic_motion.py [--clips 64] [--out docs/results/synthetic_motion.png]

For each setting (``configs/_base_/datasets/builtin_x4.py`` and ``builtin_x4_large_motion.py``, their val splits,
GT 128×128, 5 frames, ×4) prints the mean / median / 90th percentile / max of the per-pixel flow length in LR pixels,
between consecutive frames (``flow_fw``) and between the reference and each other frame (``ref_flows``: what
alignment has to undo), and saves both histograms side by side.
"""
import argparse
import os
import os.path as osp

import numpy as np

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
SETTINGS = (('default (builtin_x4.py)', 'builtin_x4.py'), ('large motion (builtin_x4_large_motion.py)',
                                                           'builtin_x4_large_motion.py'))


def magnitudes(cfg_file: str, clips: int):
    """``(consecutive, reference→t)`` flow lengths in LR pixels over ``clips`` val clips of the setting."""
    from mmengine.config import Config

    from vidtoolbox.datasets import SyntheticMotionDataset
    cfg = Config.fromfile(osp.join(ROOT, 'configs', '_base_', 'datasets', cfg_file))
    args = {k: v for k, v in cfg.val_dataloader.dataset.items() if k not in ('type', 'pipeline', 'test_mode')}
    args.update(num_clips=clips, gt_size=128)
    ds = SyntheticMotionDataset(**args)
    step, ref = [], []
    for i in range(clips):
        clip = ds.render(i)
        step += [np.linalg.norm(f, axis=-1).ravel() for f in clip['flow_fw']]
        ref += [np.linalg.norm(f, axis=-1).ravel() for t, f in enumerate(clip['ref_flows']) if t != ds.ref_index]
    return np.concatenate(step) / ds.scale, np.concatenate(ref) / ds.scale


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--clips', type=int, default=64)
    p.add_argument('--out', default=osp.join(ROOT, 'docs', 'results', 'synthetic_motion.png'))
    args = p.parse_args()
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
    print(f'flow length in LR pixels (x4), {args.clips} val clips of 5 frames, GT 128x128:')
    print(f'{"setting":<44} {"pair":<14} {"mean":>6} {"median":>7} {"p90":>6} {"max":>6}')
    for (label, cfg_file), ax in zip(SETTINGS, axes):
        step, ref = magnitudes(cfg_file, args.clips)
        for name, v in (('consecutive', step), ('reference->t', ref)):
            print(f'{label:<44} {name:<14} {v.mean():6.2f} {np.median(v):7.2f} {np.percentile(v, 90):6.2f} '
                  f'{v.max():6.2f}')
        bins = np.linspace(0, max(16.0, float(ref.max())), 65)
        ax.hist(step, bins=bins, alpha=0.6, density=True, label=f'consecutive frames (mean {step.mean():.2f})')
        ax.hist(ref, bins=bins, alpha=0.6, density=True, label=f'reference → t (mean {ref.mean():.2f})')
        ax.set_title(label)
        ax.set_xlabel('flow length (LR pixels)')
        ax.set_ylabel('density')
        ax.legend(fontsize=8)
    fig.tight_layout()
    os.makedirs(osp.dirname(args.out), exist_ok=True)
    fig.savefig(args.out, dpi=100)
    print('saved', args.out)


if __name__ == '__main__':
    main()
