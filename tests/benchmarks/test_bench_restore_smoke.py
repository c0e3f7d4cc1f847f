"""Smoke test of benchmarks/bench_restore.py --quick: every section runs at tiny sizes and its numbers are sane."""
import math
from pathlib import Path

import pytest



@pytest.fixture(scope='module')
def bench(helpers):
    return helpers.load_benchmark('bench_restore')


def test_tiles_section(bench, capsys):
    rows = bench.main(['--quick', '--device', 'cpu', '--sections', 'tiles'])['tiles']
    assert [r['overlap'] for r in rows] == [0, 8]
    assert rows[0]['max_abs'] > 1e-2 and rows[1]['max_abs'] < rows[0]['max_abs'] / 100
    assert 'max |tiled - untiled|' in capsys.readouterr().out


@pytest.mark.slow
def test_every_section_quick(bench, capsys):
    res = bench.main(['--quick', '--device', 'cpu', '--sections', 'speed', 'seams', 'flat'])
    assert [(r['model'], r['tiled']) for r in res['speed']] == [('basicvsr', 'untiled'), ('basicvsr', 'tiled'),
                                                                ('edvr-m', 'untiled'), ('edvr-m', 'tiled')]
    assert all(r['fps'] > 0 and r['peak_mb'] > 50 and r['frames'] == 2 for r in res['speed'])
    seams = res['seams']
    assert [(r['chunk'], r['overlap']) for r in seams] == [(4, 0), (2, 0), (2, 2)]
    assert math.isinf(seams[2]['psnr_whole']) and seams[2]['cost'] == 2.0  # context covers the 4-frame clip
    assert 20 < seams[1]['psnr_whole'] < math.inf and seams[1]['cost'] == 1.0
    assert [(r['model'], r['frames']) for r in res['flat']] == [('basicvsr', 3), ('basicvsr', 6), ('edvr-m', 3),
                                                               ('edvr-m', 6)]
    assert all(r['peak_mb'] > 50 for r in res['flat'])
    out = capsys.readouterr().out
    assert 'speed:' in out and 'seams:' in out and 'flat:' in out
