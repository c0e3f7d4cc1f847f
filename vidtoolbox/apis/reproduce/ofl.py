"""Claim ``ofl`` — paper Tab. 3 / Fig. 10: offsets overflow without the offset-fidelity loss, not with it, and
overflow costs PSNR.

Runs ``configs/experiments/edvr_dcn_g8k3_overflow.py`` (deliberately unstable: modulated DCNv2, no TSA, large
learning rate) and ``edvr_dcn_g8k3_overflow_ofl.py`` (the same + the paper-faithful offset-fidelity loss) for every
learning rate of :data:`LRS` and every seed; counts the runs whose offsets overflow (the mean offset length over all
alignment records, logged every iteration, exceeds :data:`OVERFLOW_PX` at some iteration — the threshold of
:class:`~vidtoolbox.engine.hooks.OffsetMonitorHook`) and compares their PSNR, also with the same model fed the
reference frame only (an overflowed EDVR degrades to single-image SR: the two meet).
"""
import numpy as np

from .align_common import (LOW_GAIN_DB, ONE_SEED, claim_seeds, diff_vs_noise, fmt, run_config, seed_noise,
                           setting_text)
from .common import ClaimContext, ClaimResult, markdown_table, save_figure

#: learning rates of the sweep. The claim was designed with (2e-3, 4e-3); the published run (docs/results/ofl.md)
#: keeps only the overflow configs' own 4e-3 to fit its time budget (2 runs per seed instead of 4) — put 2e-3 back
#: for the full sweep.
LRS = (4e-3,)
OVERFLOW_PX = 50.0
PAPER = {'REDS4': (28.753, 30.480), 'Vimeo-90K-T': (33.632, 35.223)}
VARIANTS = (('without', 'edvr_dcn_g8k3_overflow'), ('with', 'edvr_dcn_g8k3_overflow_ofl'))


def run(ctx: ClaimContext) -> ClaimResult:
    lrs = LRS[-1:] if ctx.quick else LRS
    seeds = claim_seeds(ctx)
    runs = {}
    for lr in lrs:
        for var, cfg in VARIANTS:
            for s in seeds:
                runs[(lr, var, s)] = run_config(ctx, f'configs/experiments/{cfg}.py', s,
                                                extra={'optim_wrapper.optimizer.lr': lr})

    def curve(r):
        return r['log'].get('offset_mean', [])

    def overflowed(r):
        c = np.asarray(curve(r), np.float64)
        return bool(c.size and (np.nanmax(np.where(np.isfinite(c), c, np.inf)) > OVERFLOW_PX))

    rows, data = [], {}
    for lr in lrs:
        for var, _ in VARIANTS:
            rs = [runs[(lr, var, s)] for s in seeds]
            over = [overflowed(r) for r in rs]
            psnr = [r['metrics']['PSNR'] for r in rs]
            centre = [r['analysis']['psnr_centre'] for r in rs]
            peak = [float(np.nanmax(curve(r))) if curve(r) else float('nan') for r in rs]
            final = [float(curve(r)[-1]) if curve(r) else float('nan') for r in rs]
            rows.append([f'{lr:g}', var, f'{sum(over)} / {len(rs)}', fmt(psnr), fmt(centre),
                         f'{np.mean([p - c for p, c in zip(psnr, centre)]):+.2f}',
                         ', '.join(f'{p:.3g}' for p in peak), ', '.join(f'{f:.3g}' for f in final)])
            data[f'lr{lr:g}_{var}'] = dict(overflowed=over, psnr=psnr, psnr_centre=centre, peak_offset_mean=peak,
                                           final_offset_mean=final, bicubic=[r['analysis']['psnr_bicubic']
                                                                              for r in rs])
    table = markdown_table(['lr', 'offset-fidelity loss', 'overflowed runs', 'PSNR (dB)', 'centre frame only (dB)',
                            'gain from neighbours', 'peak mean |offset| (px)', 'final mean |offset| (px)'], rows)
    table += (f'\n\n"Overflowed": the mean offset length over all alignment records exceeded {OVERFLOW_PX:g} px at '
              'some training iteration. "Centre frame only": the same model with every input frame replaced by the '
              'reference frame; an EDVR whose offsets overflowed falls back to single-image SR and gains nothing '
              'from the neighbours. Per-run peak/final values are listed in seed order.')
    n_over = {var: sum(overflowed(runs[(lr, var, s)]) for lr in lrs for s in seeds) for var, _ in VARIANTS}
    total = len(lrs) * len(seeds)
    ps = {var: [runs[(lr, var, s)]['metrics']['PSNR'] for lr in lrs for s in seeds] for var, _ in VARIANTS}
    over_psnr = [runs[k]['metrics']['PSNR'] for k in runs if k[1] == 'without' and overflowed(runs[k])]
    ok_psnr = [runs[k]['metrics']['PSNR'] for k in runs if not overflowed(runs[k])]
    data.update(overflow_counts=n_over, runs_per_variant=total)
    noise = seed_noise([[runs[(lr, var, s)]['metrics']['PSNR'] for s in seeds] for lr in lrs for var, _ in VARIANTS])
    ok_gain = [runs[k]['metrics']['PSNR'] - runs[k]['analysis']['psnr_centre'] for k in runs
               if not overflowed(runs[k])]
    data['seed_noise'] = noise
    verdict = 'Quick run: machinery only.' if ctx.quick else verdict_text(
        n_over, total, over_psnr, ok_psnr, ps, noise, float(np.mean(ok_gain)) if ok_gain else float('nan'))

    def figure(path):
        import matplotlib
        matplotlib.use('Agg')
        from matplotlib.figure import Figure
        fig = Figure(figsize=(11, 3.8))
        ax1, ax2 = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
        styles = {'without': 'tab:red', 'with': 'tab:blue'}
        for (lr, var, s), r in runs.items():
            c = np.asarray(curve(r), np.float64)
            ax1.plot(np.arange(1, c.size + 1), np.clip(c, 1e-3, None), color=styles[var],
                     ls='-' if lr == lrs[-1] else ':', lw=1,
                     label=f'{var} OFL, lr {lr:g}' if s == seeds[0] else None)
        ax1.axhline(OVERFLOW_PX, color='gray', ls='--', lw=0.8)
        ax1.set_yscale('log')
        ax1.set_xlabel('iteration')
        ax1.set_ylabel('mean |offset| (px)')
        ax1.set_title('offset magnitude during training')
        ax1.legend(fontsize=7)
        for j, (var, _) in enumerate(VARIANTS):
            for (lr, v2, s), r in runs.items():
                if v2 != var:
                    continue
                mk = 'x' if overflowed(r) else 'o'
                ax2.scatter(j + (0.1 if lr == lrs[-1] else -0.1), r['metrics']['PSNR'], color=styles[var], marker=mk)
                ax2.scatter(j + (0.1 if lr == lrs[-1] else -0.1), r['analysis']['psnr_centre'], color='gray',
                            marker='_', s=60)
        ax2.set_xticks([0, 1])
        ax2.set_xticklabels(['without OFL', 'with OFL'])
        ax2.set_xlim(-0.6, 1.6)
        ax2.set_ylabel('val PSNR (dB)')
        ax2.set_title('PSNR (x: overflowed, o: not; grey: centre frame only)')
        fig.tight_layout()
        save_figure(fig, path)

    return ClaimResult(
        title='Tab. 3 / Fig. 10: offset overflow without and with the offset-fidelity loss',
        paper=('EDVR-L without / with the offset-fidelity loss: REDS4 ' + '{:.3f} / {:.3f}'.format(*PAPER['REDS4'])
               + ' dB, Vimeo-90K-T ' + '{:.3f} / {:.3f}'.format(*PAPER['Vimeo-90K-T']) + ' dB (RGB). Without the '
               'loss the offsets grow huge, the aligned features become zero and EDVR degrades to single-image SR.'),
        table=table, verdict=verdict, figure=figure, data=data,
        setting=setting_text(ctx, seeds, 'edvr_dcn_g8k3_overflow{,_ofl}.py',
                             'Modulated DCNv2 (EDVR\'s), G = 8, k = 3, no TSA, Adam without warm-up at lr '
                             + ', '.join(f'{lr:g}' for lr in lrs) + ' (cosine to 1e-6 over the 300 iterations'
                             + ('; the designed sweep 2e-3, 4e-3 is cut to the configs\' own 4e-3 for time, see '
                                '`LRS` in `vidtoolbox/apis/reproduce/ofl.py`' if not ctx.quick and len(lrs) == 1
                                else '') + '); '
                             'the loss: eq. 5 summed over pixels, λ = 1/(2·24·24), t = 10 px, exact flow (`GTFlow`), '
                             'cascade not penalised. ', runs=runs))


def verdict_text(n_over, total: int, over_psnr, ok_psnr, ps, noise: float, ok_gain: float) -> str:
    """The verdict of Tab. 3 / Fig. 10.

    Args:
        n_over: ``{'without': count, 'with': count}`` of overflowed runs; ``total``: runs per variant.
        over_psnr / ok_psnr: PSNR of the runs without the loss that overflowed / of all runs that did not.
        ps: ``{'without': [...], 'with': [...]}`` PSNR of all runs per variant.
        noise: per-run seed-to-seed std (``nan`` with one seed); ``ok_gain``: mean gain over the centre frame only
            of the runs without overflow (dB).
    """
    text = (f'Overflow without the loss in {n_over["without"]} of {total} runs, with it in {n_over["with"]} '
            f'of {total}. ')
    if n_over['without'] and not n_over['with']:
        text += 'The loss prevents the overflow in this setting — this half of the claim is reproduced. '
    elif not n_over['without']:
        text += ('No run overflowed without the loss here, so the loss has nothing to prevent: not reproduced in '
                 'this setting. ')
    else:
        text += 'The loss does not prevent every overflow here: not reproduced. '
    if over_psnr and ok_psnr:
        cost = float(np.mean(ok_psnr) - np.mean(over_psnr))
        sign, tol = diff_vs_noise(cost, noise, 1)  # single runs on either side: the noise of one run each
        text += (f'Overflowed runs reach {np.mean(over_psnr):.3f} dB on average vs {np.mean(ok_psnr):.3f} dB for '
                 f'the runs without overflow ({cost:+.3f} dB). ')
        if sign is None:
            text += (ONE_SEED + ' The direction ' + ('agrees with' if cost > 0 else 'is against') + ' the paper '
                     '(Tab. 3: −1.7 dB on REDS4, −1.6 dB on Vimeo-90K-T); ')
        elif sign > 0:
            text += (f'Overflow costs PSNR beyond twice the seed noise of a single-run difference ({tol:.3f} dB), '
                     'as in the paper (Tab. 3: −1.7 dB on REDS4, −1.6 dB on Vimeo-90K-T). ')
        else:
            text += (f'Overflow did NOT cost PSNR beyond twice the seed noise of a single-run difference ({tol:.3f} '
                     'dB) here — unlike the paper (Tab. 3: −1.7 dB on REDS4). ')
        if np.isfinite(ok_gain) and ok_gain < LOW_GAIN_DB:
            text += (f'The runs without overflow gain only {ok_gain:+.2f} dB from the neighbours (see "gain from '
                     'neighbours"), so losing the alignment can cost little at 300 iterations. ')
    elif not over_psnr:
        text += 'The PSNR cost of overflow cannot be measured without an overflowed run. '
    return text + (f'Mean PSNR without / with the loss over all runs: {np.mean(ps["without"]):.3f} / '
                   f'{np.mean(ps["with"]):.3f} dB.')
