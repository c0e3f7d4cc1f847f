"""The alignment claims of tools/reproduce.py (tab1, fig9, fig5, tab4, ofl): registry, shared runs, analysis, --quick."""
import json
import math
import os.path as osp

import numpy as np
import pytest

from vidtoolbox.apis.reproduce import CLAIMS, ClaimContext, get_claim
from vidtoolbox.apis.reproduce.align_common import (QUICK_OPTIONS, claim_seeds, fmt, pearson, run_dir, run_options,
                                                    seed_noise)

ALIGNMENT_CLAIMS = ('tab1', 'fig9', 'fig5', 'tab4', 'ofl')


def test_claims_are_registered_and_import():
    for name in ALIGNMENT_CLAIMS:
        assert name in CLAIMS and 'Deformable Alignment' in CLAIMS[name][1]
        assert callable(get_claim(name))


def test_runs_are_shared_by_identical_settings_only(tmp_path):
    ctx = ClaimContext(work_dir=str(tmp_path / 'tab1'))
    other = ClaimContext(work_dir=str(tmp_path / 'fig5'))
    cfg = 'configs/experiments/edvr_dcn_g1k1.py'
    a = run_dir(ctx, cfg, 0, run_options(ctx))
    assert a == run_dir(other, cfg, 0, run_options(other))  # another claim, same run
    assert osp.dirname(a) == str(tmp_path / 'runs') and osp.basename(a).startswith('edvr_dcn_g1k1_s0_')
    assert a != run_dir(ctx, cfg, 1, run_options(ctx))  # seed
    assert a != run_dir(ctx, cfg, 0, run_options(ctx, {'optim_wrapper.optimizer.lr': 2e-3}))  # options
    quick = ClaimContext(quick=True, work_dir=str(tmp_path / 'tab1_quick'))
    assert osp.dirname(run_dir(quick, cfg, 0, run_options(quick))) == str(tmp_path / 'runs_quick')
    assert run_options(quick)['model.generator.mid_channels'] == QUICK_OPTIONS['model.generator.mid_channels']
    assert claim_seeds(quick) == [0] and quick.seeds == (0,)
    assert claim_seeds(ClaimContext(seeds=(3, 4))) == [3, 4]


def test_statistics_helpers_known_values():
    assert pearson([1, 2, 3], [2, 4, 6]) == pytest.approx(1.0)
    assert pearson([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)
    assert math.isnan(pearson([1, 1], [2, 3]))
    # two groups of two seeds: deviations ±1 and ±2 → pooled variance (2 + 8) / 2 = 5
    assert seed_noise([[1.0, 3.0], [10.0, 14.0]]) == pytest.approx(math.sqrt(5.0))
    assert math.isnan(seed_noise([[1.0]]))
    assert fmt([1.0, 3.0]) == f'2.000 ± {math.sqrt(2):.3f}' and fmt([2.5]) == '2.500'


@pytest.fixture(scope='module')
def quick_root(tmp_path_factory):
    return tmp_path_factory.mktemp('reproduce_quick')


def run_quick(helpers, root, name):
    wd = str(root / name)
    r = helpers.run(['tools/reproduce.py', name, '--quick', '--work-dir', wd])
    assert r.returncode == 0, r.stderr[-3000:]
    res = osp.join(wd, 'results')
    with open(osp.join(res, f'{name}.json')) as f:
        data = json.load(f)
    with open(osp.join(res, f'{name}.md')) as f:
        md = f.read()
    assert osp.getsize(osp.join(res, f'{name}.png')) > 1000
    assert data['quick'] and data['seeds'] == [0] and 'seeds 0;' in r.stdout
    assert '## Measured here' in md and 'Quick (smoke) run' in md
    return wd, data, md, r.stdout


def test_quick_fig5_end_to_end_and_analysis_matches_the_metric(helpers, quick_root):
    """fig5 --quick: trains the tiny G = N = 1 run, writes the page; the analysis's PSNR is the runner's val PSNR
    (same definition), the within-1-px shares are fractions and the page shows them."""
    wd, data, md, out = run_quick(helpers, quick_root, 'fig5')
    runs = sorted((quick_root / 'runs_quick').iterdir())
    assert [p.name[:15] for p in runs] == ['edvr_dcn_g1k1_s']
    with open(runs[0] / 'reproduce_run.json') as f:
        run = json.load(f)
    with open(runs[0] / 'analysis.json') as f:
        ana = json.load(f)
    assert ana['psnr'] == pytest.approx(run['metrics']['PSNR'], abs=1e-9)
    assert ana['num_clips'] == QUICK_OPTIONS['val_dataloader.dataset.num_clips']
    for lvl in ('pcd.l1', 'pcd.l2', 'pcd.l3'):
        w = data['data'][lvl]['within_1px'][0]
        assert 0.0 <= w <= 1.0 and f'{100 * w:.1f} %' in md
    assert 'within_1px' not in ana['levels']['pcd.cascade']  # corrections: no flow comparison
    assert 0.0 <= ana['zero_within_1px'] <= 1.0
    assert data['data']['psnr'] == [run['metrics']['PSNR']]


@pytest.mark.slow
@pytest.mark.parametrize('name', ['tab1', 'fig9', 'tab4', 'ofl'])
def test_quick_claims_end_to_end(helpers, quick_root, name):
    """Each claim's --quick run writes its page and data; the table shows the numbers of the data."""
    wd, data, md, out = run_quick(helpers, quick_root, name)
    d = data['data']
    if name == 'tab1':
        assert set(d) >= {'G1k1', 'G1k3'} and f'{d["G1k1"]["dcn"][0]:.3f}' in md
        assert d['G1k1']['diff'] == pytest.approx(d['G1k1']['decomposition'][0] - d['G1k1']['dcn'][0])
    elif name == 'fig9':
        assert set(d) >= {'1', '3'} and d['1']['diversity_total'] == [0.0]  # one offset: no diversity
        assert d['3']['diversity_total'][0] > 0.5  # the 3 base positions differ by ~1 px
    elif name == 'tab4':
        assert f'{d["feature"]["psnr"][0]:.3f}' in md and f'{d["image"]["psnr"][0]:.3f}' in md
    else:
        assert d['overflow_counts'] == {'without': 0, 'with': 0}  # 2 iterations cannot overflow
        assert np.isfinite(d['lr0.004_with']['psnr'][0])


def test_diff_vs_noise_and_gain_note_known_values():
    from vidtoolbox.apis.reproduce.align_common import diff_vs_noise, gain_note
    # σ = 0.05 per run, 2 seeds per mean: std of the difference 0.05, 2σ = 0.1
    assert diff_vs_noise(0.15, 0.05, 2) == (1, pytest.approx(0.1))
    assert diff_vs_noise(-0.15, 0.05, 2) == (-1, pytest.approx(0.1))
    assert diff_vs_noise(0.05, 0.05, 2) == (0, pytest.approx(0.1))
    assert diff_vs_noise(0.05, 0.05, 8)[1] == pytest.approx(0.05)  # 2·0.05·√(2/8)
    sign, tol = diff_vs_noise(0.5, float('nan'), 1)  # one seed: no noise estimate
    assert sign is None and math.isnan(tol)
    assert 'only +0.10 dB' in gain_note(0.1) and 'do use the neighbours (+1.20 dB' in gain_note(1.2)


def test_one_seed_verdicts_decide_nothing_and_print_no_nan():
    """With one seed there is no noise: no claim may be called reproduced / not reproduced on its PSNR differences,
    and no 'nan' may reach the page (the verdicts once compared with a nan tolerance and said 'within')."""
    from vidtoolbox.apis.reproduce import fig9, ofl, tab1, tab4
    nan = float('nan')
    texts = [tab1.verdict_text([None] * 4, [0.01, -0.2, 0.03, 0.0], nan, 0.1),
             tab4.verdict_text(None, 0.4, nan, 0.1),
             fig9.verdict_text((1, 3, 5, 9), [0.0, 0.2, 0.5, 0.6], nan, 1, 0.9, 0.1),
             ofl.verdict_text({'without': 2, 'with': 0}, 2, [25.0, 25.1], [25.5, 25.6], {'without': [25.0, 25.1],
                              'with': [25.5, 25.6]}, nan, 0.1)]
    for t in texts:
        assert 'One seed only' in t and 'nan' not in t
        assert 'Reproduced' not in t and 'Not reproduced at this scale: the' not in t
    assert 'Not decided' in texts[0] and 'not decided' in texts[1] and 'not decided' in texts[2]
    assert 'prevents the overflow' in texts[3]  # counting overflows needs no noise estimate


def test_verdicts_with_noise_follow_the_numbers():
    from vidtoolbox.apis.reproduce import fig9, tab1, tab4
    assert tab1.verdict_text([0, 0, 0, 0], [0.01] * 4, 0.05, 1.0).startswith('Reproduced')
    assert 'Weak evidence' in tab1.verdict_text([0, 0, 0, 0], [0.01] * 4, 0.05, 0.1)
    assert tab1.verdict_text([0, 1, 0, 0], [0.0, 0.5, 0.0, 0.0], 0.05, 1.0).startswith('Partly reproduced: 3 of 4')
    assert tab4.verdict_text(1, 0.4, 0.1, 1.0).startswith('Reproduced in direction')
    assert tab4.verdict_text(-1, -0.4, 0.1, 1.0).startswith('Not reproduced: here image warping')
    assert tab4.verdict_text(0, 0.05, 0.1, 0.1).startswith('Not reproduced at this scale')
    ns = (1, 3, 5, 9)
    assert 'reproduced in direction' in fig9.verdict_text(ns, [0, 0.2, 0.5, 0.6], 0.05, 2, 0.9, 1.0)
    assert 'Partly reproduced' in fig9.verdict_text(ns, [0, 0.2, 0.5, 0.6], 0.05, 2, 0.1, 1.0)
    assert 'Not reproduced at this scale' in fig9.verdict_text(ns, [0, 0.0, 0.01, 0.0], 0.05, 2, 0.1, 0.1)


def test_fig5_zero_offset_baseline_per_level_known_values():
    """A constant GT flow of 6 GT px (1.5 LR px at ×4) is ≥ 1 px at level 1, 0.75 px at level 2, 0.375 px at level 3;
    one neighbour of each clip moves, the others stand still → shares 3/4, 1, 1."""
    import torch

    from vidtoolbox.apis.reproduce.fig5 import verdict_text, zero_offset_within
    flows = torch.zeros(5, 2, 32, 32)
    flows[0, 0] = 6.0  # neighbour 0 moves 6 GT px in x; the reference (2) is skipped
    ds = [dict(inputs=torch.zeros(5, 3, 8, 8), data_samples=dict(ref_flows=flows))] * 2
    assert zero_offset_within(ds, 3) == pytest.approx([0.75, 1.0, 1.0])
    assert verdict_text([0.9, 0.95, 0.99], [0.1, 0.5, 0.9]).startswith('Reproduced')
    t = verdict_text([0.3, 0.2, 0.5], [0.1, 0.2, 0.5])
    assert t.startswith('Not reproduced') and 'level(s) l1 beat' in t
    assert 'did not learn the motion' in verdict_text([0.01, 0.1, 0.46], [0.012, 0.1, 0.47])


def test_tab1_one_seed_says_when_more_seeds_would_not_help():
    from vidtoolbox.apis.reproduce import tab1
    low = tab1.verdict_text([None] * 4, [0.0] * 4, float('nan'), 0.0002)
    assert 'Nor could more seeds decide it' in low and 'only +0.000 dB' in low
    assert 'Nor could more seeds' not in tab1.verdict_text([None] * 4, [0.0] * 4, float('nan'), 1.0)


def test_tab4_one_seed_calls_no_direction_below_a_thousandth_of_a_db():
    from vidtoolbox.apis.reproduce import tab4
    assert 'no measurable difference' in tab4.verdict_text(None, 0.0002, float('nan'), 0.0)
    assert 'the direction of the paper' in tab4.verdict_text(None, 0.3, float('nan'), 0.0)
    assert "against the paper's direction" in tab4.verdict_text(None, -0.3, float('nan'), 0.0)
