"""Claim ``pred``: video prediction with pixel-wise L1 vs correspondence-wise L1 ("Comparing Correspondences: Video
Prediction with Correspondence-wise Losses", Geng, Hamilton, Owens, CVPR 2022, Tab. 1), scaled to a CPU.

Both runs train the 3D-ResNet predictor (:class:`~vidtoolbox.models.archs.ResNet3DPredictor`, the paper's Tab. A1
architecture at a reduced width) with the recursive multi-frame head (:class:`~vidtoolbox.models.heads.
VideoPrediction`, backprop through the chain) on the built-in clips, through :func:`.common.train_and_test` (the
configs ``configs/prediction/resnet3d_l1_builtin.py`` / ``resnet3d_corr_l1_builtin.py`` plus the overrides of
:func:`run_options`), with the same seeds, data order and initial weights for both losses, and evaluate on the
held-out clips (photos disjoint from training) at t+1 … t+5: PSNR, SSIM and the sharpness ratio
(:mod:`vidtoolbox.evaluation.metrics.sharpness`; 1 = as sharp as the ground truth). "Copy the last context frame"
is evaluated with the same metrics as a reference point.
"""
import glob
import os.path as osp
from typing import Dict, List

import numpy as np
import torch

from .common import REPO_ROOT, ClaimContext, ClaimResult, markdown_table, mean_std, save_figure, train_and_test

__all__ = ['CONFIGS', 'SETTINGS', 'run_options', 'evaluators', 'copy_last_metrics', 'example_predictions', 'run']

#: loss name → config (the same model, data and schedule; only the loss differs)
CONFIGS = {
    'L1': 'configs/prediction/resnet3d_l1_builtin.py',
    'corr-L1': 'configs/prediction/resnet3d_corr_l1_builtin.py',
}
STEPS = (1, 2, 3, 4, 5)
#: the full and the smoke setting
SETTINGS = {
    'full': dict(ngf=8, iters=300, batch=4, crop=48, lr=1e-3, val_clips=16, val_size=128),
    'quick': dict(ngf=2, iters=2, batch=1, crop=32, lr=1e-3, val_clips=1, val_size=32),
}


def evaluators() -> List[dict]:
    """PSNR, SSIM and Sharpness at every step t+1 … t+5."""
    return [dict(type=t, steps=STEPS) for t in ('PSNR', 'SSIM', 'Sharpness')]


def run_options(s: dict) -> dict:
    """``--cfg-options`` turning the built-in prediction configs into the setting ``s`` (see :data:`SETTINGS`)."""
    it = s['iters']
    return {
        'model.generator.ngf': s['ngf'],
        'train_cfg.max_iters': it,
        'train_cfg.val_interval': it,
        'train_cfg.val_begin': it + 1,  # no validation inside training: train_and_test evaluates once afterwards
        'param_scheduler.T_max': it,
        'optim_wrapper.optimizer.lr': s['lr'],
        'default_hooks.checkpoint.interval': it,
        'default_hooks.logger.interval': max(1, min(10, it)),
        'train_dataloader.batch_size': s['batch'],
        'train_dataloader.dataset.gt_size': s['crop'],
        'val_dataloader.dataset.num_clips': s['val_clips'],
        'val_dataloader.dataset.gt_size': s['val_size'],
        'val_evaluator': evaluators(),
    }


def _val_dataset(config: str, opts: dict):
    """The held-out clips of ``config`` (+ ``opts``) without the packing pipeline: raw HWC frames."""
    from vidtoolbox.apis.loading import load_config
    from vidtoolbox.registry import DATASETS
    cfg = load_config(osp.join(REPO_ROOT, config), opts)
    ds_cfg = dict(cfg.val_dataloader.dataset)
    ds_cfg['pipeline'] = []
    return DATASETS.build(ds_cfg), cfg


def _clip_tensor(ds, i: int) -> torch.Tensor:
    return torch.from_numpy(np.stack(ds.get_data_info(i)['gt'])).permute(0, 3, 1, 2).contiguous()  # (T, 3, H, W)


def copy_last_metrics(config: str, opts: dict, num_context: int) -> Dict[str, float]:
    """The val metrics of predicting every future frame as the last context frame (same metric classes)."""
    from vidtoolbox.registry import METRICS
    ds, _ = _val_dataset(config, opts)
    ms = [METRICS.build(e) for e in evaluators()]
    for i in range(len(ds)):
        clip = _clip_tensor(ds, i)
        gt = clip[num_context:num_context + len(STEPS)]
        pred = clip[num_context - 1:num_context].expand_as(gt)
        for m in ms:
            m.process(None, [dict(pred=pred, gt=gt)])
    out = {}
    for m in ms:
        out.update(m.compute_metrics(m.results))
    return out


def example_predictions(config: str, opts: dict, work_dir: str, clip_index: int = 0) -> torch.Tensor:
    """The trained model of ``work_dir`` (its last checkpoint) on val clip ``clip_index``: ``(5, 3, H, W)``."""
    from vidtoolbox.apis.loading import build_model, load_checkpoint
    ds, cfg = _val_dataset(config, opts)
    ckpts = sorted(glob.glob(osp.join(work_dir, 'iter_*.pth')), key=lambda p: int(osp.basename(p)[5:-4]))
    model = build_model(cfg)
    load_checkpoint(model, ckpts[-1])
    model.eval()
    clip = _clip_tensor(ds, clip_index)
    with torch.no_grad():
        pred, _ = model.rollout(clip[None, :model.num_context], len(STEPS))
    return pred[0].clamp(0, 1)


def run(ctx: ClaimContext) -> ClaimResult:
    """Train both losses for every seed, evaluate t+1 … t+5, tabulate and plot."""
    s = SETTINGS['quick' if ctx.quick else 'full']
    seeds = list(ctx.seeds)[:1] if ctx.quick else list(ctx.seeds)
    ctx.seeds = tuple(seeds)  # the result page states the seeds actually used
    opts = run_options(s)
    tag = f'ngf{s["ngf"]}_it{s["iters"]}_b{s["batch"]}_c{s["crop"]}_lr{s["lr"]:g}'  # a changed setting reruns
    runs = {name: [train_and_test(cfg, ctx.run_dir(f'{name}_{tag}_seed{seed}'), opts, seed=seed, device=ctx.device)
                   for seed in seeds] for name, cfg in CONFIGS.items()}
    _, cfg0 = _val_dataset(CONFIGS['L1'], opts)
    k = int(cfg0.model.num_context)
    base = copy_last_metrics(CONFIGS['L1'], opts, k)

    header = ['loss'] + [f'{m} t+{t}' for m in ('PSNR', 'SSIM', 'Sharpness') for t in (1, 3, 5)] + ['train min']
    fmt = {'PSNR': 2, 'SSIM': 3, 'Sharpness': 2}

    def cell(vals, metric):
        v = np.asarray(vals, dtype=np.float64)
        d = fmt[metric]
        return f'{v.mean():.{d}f}' + (f' ± {v.std(ddof=1):.{d}f}' if v.size > 1 else '')

    rows = []
    for name, rs in runs.items():
        rows.append([name] + [cell([r['metrics'][f'{m}_t+{t}'] for r in rs], m)
                              for m in ('PSNR', 'SSIM', 'Sharpness') for t in (1, 3, 5)]
                    + [mean_std([r['minutes'] for r in rs])])
    rows.append(['copy last frame'] + [f"{base[f'{m}_t+{t}']:.{fmt[m]}f}" for m in ('PSNR', 'SSIM', 'Sharpness')
                                       for t in (1, 3, 5)] + ['—'])
    table = markdown_table(header, rows)

    def mean_of(name, key):
        return float(np.mean([r['metrics'][key] for r in runs[name]]))

    d = {m: mean_of('corr-L1', m) - mean_of('L1', m) for m in ('PSNR', 'SSIM', 'Sharpness')}
    d5 = {m: mean_of('corr-L1', f'{m}_t+5') - mean_of('L1', f'{m}_t+5') for m in ('PSNR', 'SSIM', 'Sharpness')}
    spread = {m: float(np.mean([np.std([r['metrics'][m] for r in rs], ddof=1) if len(rs) > 1 else 0.0
                                for rs in runs.values()])) for m in ('PSNR', 'SSIM', 'Sharpness')}
    t_ratio = (np.mean([r['minutes'] for r in runs['corr-L1']]) / max(np.mean([r['minutes'] for r in runs['L1']]),
                                                                        1e-9))
    verdict = (f'Correspondence-wise minus pixel-wise L1, averaged over t+1 … t+5 and {len(seeds)} seed(s): '
               f'PSNR {d["PSNR"]:+.2f} dB, SSIM {d["SSIM"]:+.3f}, sharpness {d["Sharpness"]:+.2f} '
               f'(at t+5: {d5["PSNR"]:+.2f} dB, {d5["SSIM"]:+.3f}, {d5["Sharpness"]:+.2f}); seed-to-seed std of '
               f'a run\'s average: PSNR {spread["PSNR"]:.2f} dB, SSIM {spread["SSIM"]:.3f}, sharpness '
               f'{spread["Sharpness"]:.2f}. Training wall time corr-wise / pixel-wise: {t_ratio:.2f} (runs one after '
               f'the other on a shared machine, not interleaved: indicative only). ')
    if ctx.quick:
        verdict += 'Smoke run: a few iterations of a tiny model, nothing to judge.'
    else:
        ssim_better = d['SSIM'] > max(spread['SSIM'], 1e-4)
        sharper = d['Sharpness'] > max(spread['Sharpness'], 0.01)
        beats_copy = {n: mean_of(n, 'PSNR') > base['PSNR'] for n in runs}
        if ssim_better and sharper:
            verdict += ('**Reproduced in direction**: the correspondence-wise loss gives higher SSIM and sharper '
                        'predictions than pixel-wise L1 (the paper: SSIM 0.563 → 0.586 on KITTI).')
        elif sharper:
            verdict += ('**Partly reproduced**: sharper predictions with the correspondence-wise loss, but no SSIM gain '
                        'beyond the seed spread.')
        else:
            verdict += ('**Not reproduced at this scale**: the correspondence-wise loss gives no SSIM / sharpness gain '
                        'beyond the seed spread.')
        verdict += (' Copy-the-last-frame PSNR is ' + f'{base["PSNR"]:.2f} dB; the models ' +
                    ('beat it' if all(beats_copy.values()) else
                     'do not all beat it (' + ', '.join(f'{n}: {mean_of(n, "PSNR"):.2f} dB' for n in runs) + ')') +
                    '. Why this scale says little about the paper\'s Tab. 1: a '
                    f'{s["ngf"]}-channel model (the paper: 32) trained {s["iters"]} iterations (the paper: ~2.5·10⁵) '
                    'on synthetic clips whose motion (≤ 2 px per frame, smooth) is nearly predictable, so there is '
                    'little positional uncertainty for the loss to resolve, and the predictions are limited by what the '
                    'short training learned rather than by the loss; DIS stands in for RAFT/PWC-Net.')

    examples = {}
    if not ctx.quick:
        for name in runs:
            examples[name] = example_predictions(CONFIGS[name], opts, runs[name][0]['work_dir'])
        ds, _ = _val_dataset(CONFIGS['L1'], opts)
        examples['ground truth'] = _clip_tensor(ds, 0)[k:k + len(STEPS)]

    def figure(path):
        from matplotlib.figure import Figure
        nrows = 1 + (1 if examples else 0)
        fig = Figure(figsize=(13, 3.4 * nrows + (2.2 * len(examples) / 3 if examples else 0)))
        gs = fig.add_gridspec(nrows + (len(examples) - 1 if examples else 0), 3 * len(STEPS))
        for j, (m, lab) in enumerate((('PSNR', 'PSNR (dB)'), ('SSIM', 'SSIM'), ('Sharpness', 'sharpness (1 = GT)'))):
            ax = fig.add_subplot(gs[0, 5 * j:5 * j + 5])
            for name, rs in runs.items():
                v = np.asarray([[r['metrics'][f'{m}_t+{t}'] for t in STEPS] for r in rs])
                ax.errorbar(STEPS, v.mean(0), yerr=v.std(0, ddof=1) if len(rs) > 1 else None, marker='o',
                            capsize=3, label=name)
            ax.plot(STEPS, [base[f'{m}_t+{t}'] for t in STEPS], 'k--', label='copy last frame')
            ax.set_xlabel('predicted step t+s')
            ax.set_ylabel(lab)
            ax.legend(fontsize=8)
        for i, (name, frames) in enumerate(examples.items()):
            for t in range(len(STEPS)):
                ax = fig.add_subplot(gs[1 + i, 3 * t:3 * t + 3])
                ax.imshow(frames[t].permute(1, 2, 0).numpy())
                ax.set_xticks([])
                ax.set_yticks([])
                if t == 0:
                    ax.set_ylabel(name, fontsize=9)
                if i == 0:
                    ax.set_title(f't+{t + 1}', fontsize=9)
        save_figure(fig, path)

    paper = ('Tab. 1 (3D-ResNet predictor, recursive multi-frame prediction; KITTI): L1 → correspondence-wise L1: '
             'SSIM 0.563 → 0.586, LPIPS 0.438 → 0.359; L2 → correspondence-wise L2: SSIM 0.544 → 0.563, LPIPS '
             '0.499 → 0.403 (similar gains on Cityscapes and Caltech). Training cost +30–50 % over pixel-wise. '
             'LPIPS is not available here (no VGG/AlexNet weights offline): PSNR, SSIM and a sharpness measure '
             'instead.')
    opt_text = ' '.join(f'{key}={val}' for key, val in run_options(s).items() if key != 'val_evaluator')
    setting = (f'`{CONFIGS["L1"]}` vs `{CONFIGS["corr-L1"]}` (correspondence-wise L1: symmetric, ε = 0.1, OpenCV '
               f'DIS flow without gradient), both with `--cfg-options {opt_text}` and the evaluators PSNR, SSIM, '
               f'Sharpness at t+1 … t+5: ResNet3DPredictor ngf={s["ngf"]}, {k} context frames → 3 predicted frames in '
               f'training (backprop through the recursion), 5 at test; built-in SyntheticMotionDataset, train crops '
               f'{s["crop"]}², batch {s["batch"]}, Adam lr {s["lr"]} (betas 0.5, 0.999; cosine to 1e-6; the paper '
               f'uses 2e-4 for 2.5·10⁵ iterations — a higher rate for this short run), {s["iters"]} iterations; val: '
               f'{s["val_clips"]} held-out clips at {s["val_size"]}², RGB metrics. Same seed ⇒ same initial weights '
               f'and batches for both losses. Example frames: val clip 0, seed {seeds[0]}.')
    return ClaimResult(title='Correspondence-wise losses, Tab. 1: video prediction, L1 vs correspondence-wise L1',
                       paper=paper, table=table, verdict=verdict, setting=setting, figure=figure,
                       data=dict(runs={n: [dict(seed=r['seed'], metrics=r['metrics'], minutes=r['minutes'])
                                           for r in rs] for n, rs in runs.items()},
                                 copy_last=base, setting=s))
