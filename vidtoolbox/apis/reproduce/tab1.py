"""Claim ``tab1`` — paper Tab. 1: a DCN and its decomposition (N = k² warps + a 1×1 conv) perform the same.

Runs ``configs/experiments/edvr_{dcn,noff}_g{1,8}k{1,3}.py`` (unmodulated, offsets from the same 3×3 conv in both)
with every seed, and compares the PSNR difference of each pair with the seed-to-seed noise.
"""
import numpy as np

from .align_common import LOW_GAIN_DB, ONE_SEED, claim_seeds, diff_vs_noise, fmt, run_config, seed_noise, setting_text
from .common import ClaimContext, ClaimResult, markdown_table, save_figure

#: (G, k) → (DCN, decomposition) PSNR on REDS4 in the paper's Tab. 1 (EDVR-M)
PAPER = {(1, 1): (29.979, 29.992), (1, 3): (30.199, 30.240), (8, 1): (30.183, 30.179), (8, 3): (30.264, 30.231)}


def run(ctx: ClaimContext) -> ClaimResult:
    cases = [(1, 1), (1, 3)] if ctx.quick else [(1, 1), (1, 3), (8, 1), (8, 3)]
    seeds = claim_seeds(ctx)
    runs = {}
    for g, k in cases:
        for kind in ('dcn', 'noff'):
            for seed in seeds:
                runs[(g, k, kind, seed)] = run_config(ctx, f'configs/experiments/edvr_{kind}_g{g}k{k}.py', seed)

    def vals(g, k, kind, key='PSNR'):
        if key == 'PSNR':
            return [runs[(g, k, kind, s)]['metrics']['PSNR'] for s in seeds]
        return [runs[(g, k, kind, s)]['analysis'][key] for s in seeds]

    noise = seed_noise([vals(g, k, kind) for g, k in cases for kind in ('dcn', 'noff')])
    rows, data, signs = [], {}, []
    for g, k in cases:
        d, n = vals(g, k, 'dcn'), vals(g, k, 'noff')
        diff = float(np.mean(n) - np.mean(d))
        sign, tol = diff_vs_noise(diff, noise, len(seeds))
        equal = None if sign is None else sign == 0
        signs.append(sign)
        gain = [p - c for p, c in zip(d + n, vals(g, k, 'dcn', 'psnr_centre') + vals(g, k, 'noff', 'psnr_centre'))]
        pd, pn = PAPER[(g, k)]
        rows.append([g, k, fmt(d), fmt(n), f'{diff:+.3f}', f'{tol:.3f}' if np.isfinite(tol) else 'n/a',
                     {True: 'yes', False: 'no', None: 'n/a'}[equal], f'{np.mean(gain):+.2f}',
                     f'{pd:.3f} / {pn:.3f} ({pn - pd:+.3f})'])
        data[f'G{g}k{k}'] = dict(dcn=d, decomposition=n, diff=diff, tolerance=tol, equal=equal,
                                 temporal_gain=gain, bicubic=vals(g, k, 'dcn', 'psnr_bicubic'))
    data['seed_noise'] = noise
    table = markdown_table(
        ['G', 'k', 'DCN PSNR (dB)', 'decomposition PSNR (dB)', 'Δ (decomp − DCN)', '2σ of Δ', 'equal within noise',
         'gain over centre frame only', 'paper DCN / decomp. (Δ)'], rows)
    table += (f'\n\nSeed-to-seed standard deviation (pooled over the {2 * len(cases)} configurations, '
              f'{len(seeds)} seed(s) each): ' + (f'{noise:.3f} dB' if np.isfinite(noise) else 'n/a (one seed)')
              + '. "2σ of Δ" = 2·σ·√(2/seeds). Bicubic: '
              f'{np.mean(vals(*cases[0], "dcn", "psnr_bicubic")):.3f} dB. "Gain over centre frame only" = PSNR − '
              'PSNR of the same model with every input frame replaced by the reference frame (what it takes from '
              'the neighbours), mean over both variants and seeds.')
    diffs = [data[f'G{g}k{k}']['diff'] for g, k in cases]
    mean_gain = float(np.mean([np.mean(data[f'G{g}k{k}']['temporal_gain']) for g, k in cases]))
    verdict = ('Quick run: machinery only. ' if ctx.quick else '') + verdict_text(signs, diffs, noise, mean_gain)

    def figure(path):
        import matplotlib
        matplotlib.use('Agg')
        from matplotlib.figure import Figure
        fig = Figure(figsize=(7, 3.6))
        ax = fig.add_subplot(1, 1, 1)
        for j, (g, k) in enumerate(cases):
            for off, kind, col, lab in ((-0.12, 'dcn', 'tab:blue', 'DCN'), (0.12, 'noff', 'tab:orange',
                                                                              'decomposition')):
                v = vals(g, k, kind)
                ax.scatter([j + off] * len(v), v, color=col, s=18, label=lab if j == 0 else None)
                ax.errorbar(j + off, np.mean(v), yerr=np.std(v, ddof=1) if len(v) > 1 else 0, color=col,
                            marker='_', ms=16, capsize=3)
        ax.set_xticks(range(len(cases)))
        ax.set_xticklabels([f'G={g}, k={k}' for g, k in cases])
        ax.set_ylabel('val PSNR (dB)')
        ax.set_title('Tab. 1: DCN vs its decomposition (dots: seeds; bars: mean ± std)')
        ax.legend()
        save_figure(fig, path)

    setting = setting_text(ctx, seeds, 'edvr_{dcn,noff}_g{1,8}k{1,3}.py', runs=runs)
    return ClaimResult(
        title='Tab. 1: DCN vs its decomposition (N = k² warps + 1×1 conv)',
        paper=('EDVR-M on REDS4, PSNR (dB): ' + ', '.join(
            f'G{g}k{k} {d:.3f} / {n:.3f}' for (g, k), (d, n) in PAPER.items())
            + ' (DCN / decomposition) — equal within ±0.04 dB.'),
        table=table, verdict=verdict, setting=setting, figure=figure, data=data)



def verdict_text(signs, diffs, noise: float, gain: float) -> str:
    """The verdict of Tab. 1 from the per-(G, k) outcomes of :func:`~.align_common.diff_vs_noise` (``signs``: 0
    equal within 2σ of the difference, ±1 beyond, ``None`` without a noise estimate), the differences
    ``decomposition − DCN`` (dB) and the mean gain over the centre frame only (dB): equality is weak evidence when
    the networks hardly use their neighbours."""
    if any(s is None for s in signs):
        return (ONE_SEED + ' Differences decomposition − DCN: ' + ', '.join(f'{d:+.3f}' for d in diffs)
                + ' dB (largest |Δ| ' + f'{max(abs(d) for d in diffs):.3f} dB). Not decided: with one seed this '
                'claim can be neither reproduced nor refuted here.'
                + (f' Nor could more seeds decide it at this scale: the networks gain only {gain:+.3f} dB from the '
                   'neighbours, so the alignment block (the only difference between the variants) hardly affects '
                   'the output and equal PSNRs would say nothing about it.' if gain < LOW_GAIN_DB else '')
                + EQUIVALENCE)
    n_equal = sum(s == 0 for s in signs)
    if n_equal == len(signs):
        return (f'Reproduced at this scale: in all {len(signs)} (G, k) settings the DCN and its decomposition '
                f'differ by less than twice the standard deviation of the difference expected from seed noise '
                f'alone (σ = {noise:.3f} dB per run). The paper finds differences within ±0.04 dB on REDS4.'
                + (f' Weak evidence, though: the networks gain only {gain:+.2f} dB from the neighbours, so the '
                   'alignment block (the only difference) contributes little at this scale.' if gain < LOW_GAIN_DB
                   else '') + EQUIVALENCE)
    return (f'Partly reproduced: {n_equal} of {len(signs)} settings are equal within seed noise (σ = {noise:.3f} dB '
            'per run); the others differ by more than 2σ of the difference — with few seeds the noise estimate '
            'itself is rough (see the table).' + EQUIVALENCE)


EQUIVALENCE = (' The two variants compute the same function class (tests/models/alignment/test_n_offset.py checks the '
               'equivalence to 1e-5), start from the same kind of initialisation and see the same batches, so a '
               'difference beyond noise would point at optimisation, not at the architecture.')
