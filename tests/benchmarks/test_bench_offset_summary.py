"""benchmarks/bench_offset_summary.py: the previous norm formula equals the current offset_magnitude, and a tiny
EDVR case runs and reports the two summaries and their ratio."""
from dataclasses import replace

import pytest
import torch

from vidtoolbox.evaluation.offset_stats import offset_magnitude

def test_norm_formula_equals_offset_magnitude(helpers):
    bench = helpers.load_benchmark('bench_offset_summary')
    off = torch.tensor([3.0, 4.0, -6.0, 8.0]).reshape(1, 4, 1, 1)  # (dy, dx) = (3, 4) and (-6, 8)
    assert bench.magnitude_by_norm(off).flatten().tolist() == [5.0, 10.0]
    off = torch.randn(2, 36, 5, 7, generator=torch.Generator().manual_seed(0)) * 3
    torch.testing.assert_close(bench.magnitude_by_norm(off), offset_magnitude(off), rtol=1e-6, atol=1e-6)
    records = [dict(offsets=off, nbr_index=0, ref_index=1), dict(offsets=off * 100, nbr_index=1, ref_index=1)]
    s = bench.summary_with(bench.magnitude_by_norm, records)  # the reference record is excluded
    assert s['max'] == pytest.approx(float(offset_magnitude(off).max()), rel=1e-6)
    assert bench.summary_with(lambda o: offset_magnitude(o) * 2, records)['mean'] == pytest.approx(2 * s['mean'])


def test_tiny_edvr_case_runs(helpers):
    bench = helpers.load_benchmark('bench_offset_summary')
    bts = bench._bench_train_step()
    case = next(c for c in bts.CASES if c.name == 'edvr_m')
    case = replace(case, cfg_options={'model.generator.mid_channels': 8, 'model.generator.deform_groups': 2,
                                      'model.generator.num_extract_block': 1,
                                      'model.generator.num_reconstruct_block': 1})
    built = bts.build_case(case, 'demo', batch=1)
    res = bench.measure(built, repeats=2, warmup=0)
    assert res['records'] == 5 * 4 and res['vectors'] > 0 and res['rel_diff'] <= 1e-5
    assert len(res['times']['step']) == 2 and res['ratio'] > 0
