"""What the alignment claims (``tab1``, ``fig9``, ``fig5``, ``tab4``, ``ofl``) of "Understanding Deformable Alignment
in Video Super-Resolution" (Chan et al., AAAI 2021) share: shared runs of the experiment configs and their analysis.

A run is one config of ``configs/experiments/`` trained with one seed through
:func:`~vidtoolbox.apis.reproduce.common.train_and_test`. Runs live in ``<parent of the claim's work dir>/runs/``
(``runs_quick/`` for ``--quick``) under a name made of the config, the seed and a hash of the options, so a claim
reuses what another claim already trained with identical settings (``tab1``'s ``edvr_dcn_g1k1`` runs are
``fig5``'s). After training, :func:`analyse_run` evaluates the trained model once more on the val clips (cached
beside the run as ``analysis.json``):

* ``psnr`` — RGB PSNR of the output (the val metric), ``psnr_centre`` — the same model when every input frame is
  replaced by the reference frame (no temporal information; ``psnr − psnr_centre`` is what the network gains from
  the neighbours, i.e. from alignment), ``psnr_bicubic``;
* offset statistics per alignment level (:func:`vidtoolbox.evaluation.offset_stats.summarize_alignments`, records
  of the reference aligned onto itself left out): ``mean`` / ``max`` length, ``within_1px`` (share of offset vectors
  closer than 1 px to the ground-truth flow at the level's resolution; not for the cascade), ``diversity`` (the
  pixelwise std of all offsets of a pixel, the paper's Fig. 9 measure, of the learned Δp) and ``diversity_total``
  (the same of the sampling positions ``p_n + Δp_n``, kernel taps / base positions included);
* ``zero_within_1px`` — the share of pixels whose ground-truth flow is itself shorter than 1 px (what a zero offset
  would score: the baseline of ``within_1px``).

Quick mode (``--quick``): a tiny EDVR (8 channels, 1 + 1 blocks), 2 iterations of 2 clips of 32×32 GT, 2 val clips —
the machinery only.
"""
import hashlib
import json
import math
import os.path as osp
from typing import Dict, List, Optional, Sequence

import numpy as np

from .common import REPO_ROOT, ClaimContext, train_and_test

__all__ = ['QUICK_OPTIONS', 'run_options', 'claim_seeds', 'run_dir', 'run_config', 'load_run', 'analyse_run', 'pearson',
           'seed_noise', 'diff_vs_noise', 'gain_note', 'runs_minutes', 'fmt', 'setting_text', 'ONE_SEED',
           'LOW_GAIN_DB']

#: what a page says when a claim ran with one seed (no seed-to-seed noise estimate)
ONE_SEED = ('One seed only: there is no estimate of the seed-to-seed noise, so no difference below can be called '
            'significant or equal (run with `--seeds 0 1` for a noise estimate).')
#: below this gain over the centre frame only (dB) the network hardly uses its neighbours (see :func:`gain_note`)
LOW_GAIN_DB = 0.3

#: options of every ``--quick`` run (tiny model, 2 iterations, 2 val clips)
QUICK_OPTIONS = {
    'model.generator.mid_channels': 8, 'model.generator.num_extract_block': 1,
    'model.generator.num_reconstruct_block': 1,
    'train_dataloader.batch_size': 2, 'train_dataloader.dataset.gt_size': 32,
    'train_dataloader.dataset.num_clips': 8,
    'val_dataloader.dataset.num_clips': 2, 'val_dataloader.dataset.gt_size': 32,
    'test_dataloader.dataset.num_clips': 2, 'test_dataloader.dataset.gt_size': 32,
    'max_iters': 2, 'train_cfg.max_iters': 2, 'param_scheduler.T_max': 2,
    'default_hooks.checkpoint.interval': 2, 'default_hooks.logger.interval': 1,
}


def run_options(ctx: ClaimContext, extra: Optional[dict] = None) -> dict:
    """The ``--cfg-options`` of a run: the quick shrink in quick mode, then ``extra``. The validation inside the
    training loop is switched off: :func:`train_and_test` validates the final model once."""
    opts = dict(QUICK_OPTIONS) if ctx.quick else {}
    opts['train_cfg.val_interval'] = 10 ** 9
    opts.update(extra or {})
    return opts


def claim_seeds(ctx: ClaimContext) -> List[int]:
    """The seeds a claim runs: all of ``ctx.seeds``, only the first in quick mode (``ctx.seeds`` is updated so that
    the result page states what ran)."""
    if ctx.quick:
        ctx.seeds = tuple(ctx.seeds[:1])
    return list(ctx.seeds)


def run_dir(ctx: ClaimContext, config: str, seed: int, opts: dict) -> str:
    """Where the run of ``config`` with ``seed`` and ``opts`` lives (shared between claims, see the module doc)."""
    stem = osp.splitext(osp.basename(config))[0]
    key = json.dumps(dict(config=config, opts={k: repr(v) for k, v in sorted(opts.items())}), sort_keys=True)
    tag = hashlib.sha1(key.encode()).hexdigest()[:8]
    parent = osp.dirname(osp.normpath(ctx.work_dir))
    return osp.join(parent, 'runs_quick' if ctx.quick else 'runs', f'{stem}_s{seed}_{tag}')


def run_config(ctx: ClaimContext, config: str, seed: int, extra: Optional[dict] = None,
               analyse: bool = True) -> dict:
    """Train ``config`` (relative to the repository root) with ``seed`` (or reuse the finished run) and analyse it.

    Returns:
        :func:`~vidtoolbox.apis.reproduce.common.train_and_test`'s dict plus ``analysis`` (:func:`analyse_run`).
    """
    opts = run_options(ctx, extra)
    wd = run_dir(ctx, config, seed, opts)
    out = train_and_test(config, wd, opts, seed=seed, device=ctx.device)
    if analyse:
        out['analysis'] = analyse_run(config, wd, opts, device=ctx.device)
    print(f'  {osp.basename(wd)}: PSNR {out["metrics"].get("PSNR", float("nan")):.3f} dB'
          + (f' (centre frame only {out["analysis"]["psnr_centre"]:.3f}, bicubic '
             f'{out["analysis"]["psnr_bicubic"]:.3f})' if analyse else '') + f', {out["minutes"]:.1f} min', flush=True)
    return out


def _last_checkpoint(work_dir: str) -> str:
    """The checkpoint ``--resume`` would take in ``work_dir`` (:func:`~vidtoolbox.engine.runner.find_resumable_checkpoint`)."""
    from vidtoolbox.engine.runner import find_resumable_checkpoint
    from vidtoolbox.utils.errors import UserInputError
    path, _ = find_resumable_checkpoint(work_dir)
    if path is None:
        raise UserInputError(f'no loadable checkpoint in {work_dir}: delete the folder to rerun the training')
    return path


def _total_offsets(rec: dict):
    """``p_n + Δp_n``: the record's learned offsets plus the blocks' base positions (a DCN's kernel taps /
    NOffsetAlign's centred grid, :func:`base_offset_grid`); ``None`` when N is not a square grid of a DCN."""
    import torch

    from vidtoolbox.models.alignment.n_offset import base_offset_grid
    off = rec['offsets']
    g, n = int(rec.get('deform_groups', 1)), int(rec.get('num_offsets', 1))
    if off.shape[1] != 2 * g * n:
        return None
    base = base_offset_grid(n).to(off).repeat(g, 1).reshape(1, 2 * g * n, 1, 1)
    return off + base if n > 1 else off


def load_run(config: str, work_dir: str, opts: dict, device: str = 'cpu'):
    """``(model in eval mode with the run's last checkpoint, val dataset)`` of a finished run."""
    from mmengine.registry import init_default_scope

    from vidtoolbox.apis.loading import build_model, load_checkpoint, load_config
    from vidtoolbox.registry import DATASETS
    path = config if osp.isabs(config) else osp.join(REPO_ROOT, config)
    cfg = load_config(path, opts, work_dir=work_dir)
    init_default_scope(cfg.get('default_scope', 'vidtoolbox'))
    model = build_model(cfg)
    load_checkpoint(model, _last_checkpoint(work_dir))
    return model.to(device).eval(), DATASETS.build(cfg.val_dataloader.dataset)


def analyse_run(config: str, work_dir: str, opts: dict, device: str = 'cpu', max_clips: Optional[int] = None
                ) -> Dict[str, object]:
    """Evaluate the run's last checkpoint on its val clips (cached in ``analysis.json``; see the module doc)."""
    import torch
    import torch.nn.functional as F

    from vidtoolbox.evaluation.metrics.psnr import psnr
    from vidtoolbox.evaluation.offset_stats import merge_offset_stats, summarize_alignments
    from vidtoolbox.utils.atomic import write_text

    cache = osp.join(work_dir, 'analysis.json')
    if osp.isfile(cache):
        with open(cache) as f:
            return json.load(f)
    model, ds = load_run(config, work_dir, opts, device)
    n = len(ds) if max_clips is None else min(len(ds), max_clips)

    scores = {'psnr': [], 'psnr_centre': [], 'psnr_bicubic': []}
    per_level: Dict[str, List[dict]] = {}
    zero_within = []
    with torch.no_grad():
        for i in range(n):
            sample = ds[i]
            lq = sample['inputs'][None].to(device)
            gt = sample['data_samples']['gt'][:1].to(device)
            ci = lq.shape[1] // 2
            out, aux = model.generator(lq)
            centre, _ = model.generator(lq[:, ci:ci + 1].expand_as(lq).contiguous())
            bic = F.interpolate(lq[:, ci], size=gt.shape[-2:], mode='bicubic', align_corners=False)
            for key, img in (('psnr', out), ('psnr_centre', centre), ('psnr_bicubic', bic)):
                scores[key].append(psnr(img[0].clamp(0, 1), gt[0]))  # as the PSNR metric computes it
            ref_flows = sample['data_samples'].get('ref_flows')
            records = aux.get('alignments', [])
            if ref_flows is None or not records:
                continue
            ref_flows = ref_flows[None].to(device)
            for name, st in summarize_alignments(records, ref_flows, ci, num_groups=1).items():
                per_level.setdefault(name, []).append(st)
            totals = [dict(rec, offsets=_total_offsets(rec)) for rec in records]
            if all(t['offsets'] is not None for t in totals):
                for name, st in summarize_alignments(totals, None, ci, num_groups=1).items():
                    per_level[name][-1]['diversity_total'] = st['diversity']
            # baseline of within_1px: the share of LR pixels whose GT flow (to any neighbour) is shorter than 1 px
            scale = gt.shape[-1] // lq.shape[-1]
            lr_flow = F.avg_pool2d(ref_flows[0], scale) / scale  # (T, 2, h, w), LR pixels
            nbrs = [t for t in range(lq.shape[1]) if t != ci]
            zero_within.append(float((lr_flow[nbrs].norm(dim=1) < 1.0).float().mean()))
    levels = {}
    for name, stats in per_level.items():
        merged = merge_offset_stats(stats)
        if all('diversity_total' in s for s in stats):
            merged['diversity_total'] = sum(s['diversity_total'] * s['count'] for s in stats) / merged['count']
        levels[name] = {k: float(v) for k, v in merged.items()}
    result = {k: float(np.mean(v)) for k, v in scores.items()}
    result.update(levels=levels, zero_within_1px=float(np.mean(zero_within)) if zero_within else float('nan'),
                  num_clips=n)
    write_text(cache, json.dumps(result, indent=1))
    return result


def pearson(x: Sequence[float], y: Sequence[float]) -> float:
    """Pearson correlation coefficient of two equally long sequences (``nan`` when undefined)."""
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    if x.size < 2 or x.std() == 0 or y.std() == 0:
        return float('nan')
    return float(np.corrcoef(x, y)[0, 1])


def seed_noise(groups: Sequence[Sequence[float]]) -> float:
    """Pooled seed-to-seed standard deviation (ddof = 1) over groups of runs that differ only in the seed."""
    num, den = 0.0, 0
    for g in groups:
        g = np.asarray(list(g), np.float64)
        if g.size > 1:
            num += float(((g - g.mean()) ** 2).sum())
            den += g.size - 1
    return math.sqrt(num / den) if den else float('nan')


def diff_vs_noise(diff: float, noise: float, num_seeds: int):
    """Compare the difference of two means over ``num_seeds`` runs each with the seed noise.

    Args:
        diff: ``mean(b) − mean(a)`` (dB).
        noise: per-run seed-to-seed std (:func:`seed_noise`; ``nan`` with one seed).
        num_seeds: runs per mean.

    Returns:
        ``(sign, tol)``: ``tol = 2·noise·√(2/num_seeds)`` (twice the std of such a difference from seed noise
        alone);
        ``sign`` is ``+1`` / ``-1`` when ``diff`` lies beyond ``+tol`` / ``−tol``, ``0`` within, and ``None`` (with
        ``tol = nan``) when there is no noise estimate.
    """
    if num_seeds < 1 or not np.isfinite(noise):
        return None, float('nan')
    tol = 2.0 * float(noise) * math.sqrt(2.0 / num_seeds)
    if diff > tol:
        return 1, tol
    if diff < -tol:
        return -1, tol
    return 0, tol


def gain_note(gain: float) -> str:
    """A sentence on how much a network gains from its neighbours (``gain`` = PSNR − PSNR with every input frame
    replaced by the reference, dB), used to explain a non-reproduction at this scale only when it applies."""
    if gain < LOW_GAIN_DB:
        return (f'The networks gain only {gain:+.2f} dB from the neighbours (PSNR minus PSNR with the reference frame '
                'fed in every slot): after 300 iterations of a 16-channel EDVR alignment contributes little, so how '
                'it is done cannot matter much either. ')
    return (f'The networks do use the neighbours ({gain:+.2f} dB over the reference frame alone), so the missing '
            'effect is not simply unused alignment; the model (16 channels) and schedule (300 iterations) are still '
            'far from the paper\'s. ')


def runs_minutes(runs) -> float:
    """Total training + validation minutes of the runs (a dict of :func:`run_config` results), however long this
    invocation took (runs are cached and shared)."""
    return float(sum(r.get('minutes', 0.0) for r in runs.values()))


def fmt(values: Sequence[float], digits: int = 3) -> str:
    """``'m ± s (n)'`` with the sample std over seeds, or ``'m'`` for one value."""
    v = np.asarray(list(values), np.float64)
    if v.size == 1:
        return f'{v[0]:.{digits}f}'
    return f'{v.mean():.{digits}f} ± {v.std(ddof=1):.{digits}f}'



def setting_text(ctx: ClaimContext, seeds: Sequence[int], configs: str, note: str = '', runs=None) -> str:
    """The "Setting" paragraph of an alignment claim's page (``configs``: the experiment config files, a glob;
    ``runs``: the claim's :func:`run_config` results, for their total training time)."""
    scale = ('quick: EDVR 8 channels, 1 + 1 blocks, 2 iterations on 2 clips of 32×32 GT, 2 val clips'
             if ctx.quick else
             'EDVR with 16 channels, 2 extraction / 4 reconstruction blocks, PCD (3 levels) + TSA, 5 frames, ×4; '
             '300 iterations, batch 4, LR patches 24×24 (whole rendered clips), Adam 1e-3, cosine to 1e-6, '
             'Charbonnier; validation: 16 held-out clips (GT 128×128), RGB PSNR')
    return (f'`configs/experiments/{configs}` — {scale}. {note}Data: the built-in `SyntheticMotionDataset` with large '
            'motion (`configs/_base_/datasets/builtin_x4_large_motion.py`: 2–6 LR px per frame, up to ~12 LR px '
            'between the reference and the outer frames). Seeds: ' + ', '.join(map(str, seeds)) + '. Runs are '
            'shared between the claims (`work_dirs/reproduce/runs/`; delete a run\'s folder to retrain it).'
            + (f' The {len(runs)} run{"s" if len(runs) > 1 else ""} took {runs_minutes(runs):.0f} min of training + '
               'validation in all (the wall '
               'time above is this invocation\'s, which reuses finished runs).' if runs else ''))
