"""Smoke test of benchmarks/bench_alignment.py: every row runs at a tiny size, the table and CLI behave."""
from pathlib import Path

import pytest
import torch

from vidtoolbox.ops import deform_conv2d, mmcv_deform_conv_available



@pytest.fixture(scope='module')
def bench(helpers):
    return helpers.load_benchmark('bench_alignment')


def test_plain_formulation_equals_deform_conv2d(bench):
    """The ``deform_conv2d[plain]`` row computes the same function (values and gradients) as the op."""
    s = bench.Shape(2, 8, 7, 2, 3)
    x, w, b, gout = bench._conv_params(s, 'cpu', torch.float64)
    off, mask = bench._dcn_inputs(s, 'cpu', torch.float64)
    assert off.abs().max() > 3  # some samples fall outside the 7×7 map
    leaves = (x, off, mask, w, b)
    ref = deform_conv2d(x, off, w, b, padding=1, mask=mask, backend='torch')
    grads_ref = torch.autograd.grad(ref, leaves, gout)
    out = bench.dcn_plain(x, off, w, b, mask)
    grads = torch.autograd.grad(out, leaves, gout)
    torch.testing.assert_close(out, ref, atol=1e-10, rtol=1e-10)
    for g, gr in zip(grads, grads_ref):
        torch.testing.assert_close(g, gr, atol=1e-9, rtol=1e-9)


def test_every_case_runs_at_a_tiny_size(bench):
    lines = []
    rows = bench.run_table([(1, 8)], bench.CASES, channels=8, groups=2, kernel=3, repeats=1, warmup=0,
                           memory=True, out=lines.append)
    assert [r['name'] for r in rows] == bench.case_names()
    assert len(set(bench.case_names())) == len(bench.CASES)
    for r in rows:
        if r['name'] == 'deform_conv2d[mmcv]' and not mmcv_deform_conv_available():
            assert r['median_s'] is None
            assert any('deform_conv2d[mmcv]' in line and 'n/a' in line for line in lines)
            continue
        assert r['median_s'] > 0 and r['min_s'] <= r['median_s'], r
        assert r['cpu_s'] >= 0 and len(r['times_s']) == len(r['cpu_times_s']) == 1, r
        assert r['peak_bytes'] is not None and r['peak_bytes'] >= 0, r
    assert rows[0]['name'] == 'dense_conv' and rows[0]['t_ratio'] == pytest.approx(1.0)
    assert lines[0].split()[:2] == ['case', 'shape']
    # the paired ratios of PAIRS are printed under the size
    for num, den in bench.PAIRS:
        assert any(line.strip().startswith(f'{num} / {den}') and 'x wall' in line for line in lines), (num, den)
    # the op's workspaces are released before the memory pass, so its peak memory is counted (not hidden by reuse)
    dcn = next(r for r in rows if r['name'] == 'deform_conv2d[torch]')
    assert dcn['peak_bytes'] > next(r for r in rows if r['name'] == 'dense_conv')['peak_bytes']


def test_baseline_row_and_profile(bench, capsys, tmp_path):
    """--baseline FILE times another version of the op side by side; --profile prints the time by category."""
    src = Path(__file__).resolve().parents[2] / 'vidtoolbox' / 'ops' / 'deform_conv.py'
    copy = tmp_path / 'deform_conv_copy.py'
    copy.write_text(src.read_text())
    small = ['--sizes', '1x8', '--channels', '8', '--groups', '2', '--repeats', '1', '--warmup', '0']
    bench.main(small + ['--cases', 'dense_conv', 'deform_conv2d[torch]', '--no-memory', '--baseline', str(copy)])
    text = capsys.readouterr().out
    assert 'deform_conv2d[baseline]' in text
    assert 'deform_conv2d[torch] / deform_conv2d[baseline]' in text
    (tmp_path / 'empty.py').write_text('x = 1\n')
    with pytest.raises(SystemExit):
        bench.main(small + ['--baseline', str(tmp_path / 'empty.py')])
    assert 'defines no deform_conv2d' in capsys.readouterr().err
    bench.main(small + ['--cases', 'dense_conv', '--profile', 'deform_conv2d[torch]'])
    text = capsys.readouterr().out
    assert 'sampling backward' in text and 'x dense_conv' in text and 'total' in text
    with pytest.raises(SystemExit):
        bench.main(small + ['--profile', 'nope'])


def test_paired_ratios_are_medians_of_same_round_ratios(bench):
    rows = [dict(name='A', times_s=[2.0, 4.0, 6.0], cpu_times_s=[1.0, 1.0, 1.0], peak_bytes=30.0),
            dict(name='B', times_s=[1.0, 1.0, 2.0], cpu_times_s=[2.0, 4.0, 1.0], peak_bytes=10.0),
            dict(name='C', times_s=None, cpu_times_s=None, peak_bytes=None)]  # unavailable row
    (p,) = bench.paired_ratios(rows, [('A', 'B'), ('A', 'C'), ('D', 'B')])
    assert p['name'] == 'A / B' and p['rounds'] == 3
    assert p['t_ratio'] == pytest.approx(3.0)  # median of 2, 4, 3 (the ratio of medians would be 4)
    assert p['cpu_ratio'] == pytest.approx(0.5)  # median of 0.5, 0.25, 1
    assert p['mem_ratio'] == pytest.approx(3.0)


def test_cli_quick_subset_and_errors(bench, capsys):
    bench.main(['--quick', '--sizes', '1x8', '--channels', '8', '--groups', '2', '--repeats', '1', '--warmup', '0',
                '--no-memory'])
    text = capsys.readouterr().out
    for name in bench.QUICK_CASES:
        assert name in text
    assert 'NOffsetAlign[N=25,G=1]' not in text  # not in the quick subset
    assert 'repeats=1' in text and '1x8x8x8' in text
    assert 'load average (1/5/15 min) before:' in text and 'load average (1/5/15 min) after:' in text
    with pytest.raises(SystemExit):
        bench.main(['--cases', 'no_such_case'])
    assert 'unknown case' in capsys.readouterr().err
    with pytest.raises(SystemExit):
        bench.main(['--sizes', '64'])
    assert 'BxS' in capsys.readouterr().err
    with pytest.raises(ValueError, match='repeats'):
        bench.run_table([(1, 8)], bench.CASES[:1], channels=8, groups=2, repeats=0)
