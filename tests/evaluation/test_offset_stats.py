"""Offset statistics against hand-made offsets with known magnitudes, std and flow distances."""
import math

import numpy as np
import pytest
import torch

from vidtoolbox.evaluation.offset_stats import (fraction_within, merge_offset_stats, offset_diversity,
                                                offset_diversity_map, offset_magnitude, record_offset_stats,
                                                split_offsets, summarize_alignments, within_key)


def make_offsets(vectors, h=1, w=1):
    """vectors: list over groups of lists of (dy, dx) → (1, G*N*2, h, w) constant over pixels."""
    flat = [c for group in vectors for (dy, dx) in group for c in (dy, dx)]
    return torch.tensor(flat, dtype=torch.float32).view(1, -1, 1, 1).expand(1, len(flat), h, w).contiguous()


def test_split_layout_group_major_dy_dx():
    off = torch.arange(2 * 3 * 2, dtype=torch.float32).view(1, 12, 1, 1)  # G=2, N=3
    s = split_offsets(off, 2)
    assert s.shape == (1, 2, 3, 2, 1, 1)
    # group 1, offset 2: channels 2*(1*3+2) = 10 (dy) and 11 (dx)
    assert s[0, 1, 2, 0].item() == 10 and s[0, 1, 2, 1].item() == 11


def test_magnitude_mean_max():
    off = make_offsets([[(3.0, 4.0), (0.0, -1.0)]], h=2, w=3)
    mag = offset_magnitude(off)
    assert mag.shape == (1, 2, 2, 3)
    assert torch.allclose(mag[0, 0], torch.full((2, 3), 5.0)) and torch.allclose(mag[0, 1], torch.ones(2, 3))
    st = record_offset_stats(dict(offsets=off))
    assert st['mean'] == pytest.approx(3.0) and st['max'] == pytest.approx(5.0) and st['count'] == 12


def test_diversity_known_std():
    # N = 2: (0, 0) and (2, 0): mean (1, 0); var_dy = 1, var_dx = 0 -> std 1
    assert offset_diversity(make_offsets([[(0.0, 0.0), (2.0, 0.0)]])) == pytest.approx(1.0)
    # N = 4: (±3, 0), (0, ±4): var_dy = 18/4, var_dx = 32/4 -> sqrt(12.5)
    four = [(3.0, 0.0), (-3.0, 0.0), (0.0, 4.0), (0.0, -4.0)]
    assert offset_diversity(make_offsets([four])) == pytest.approx(math.sqrt(12.5))
    # against numpy's population std of random vectors
    rng = np.random.default_rng(0)
    vec = rng.normal(size=(7, 2)) * 3
    ref = math.sqrt(np.var(vec[:, 0]) + np.var(vec[:, 1]))
    assert offset_diversity(make_offsets([[tuple(v) for v in vec]])) == pytest.approx(ref, rel=1e-5)
    # N = 1 -> no diversity
    assert offset_diversity(make_offsets([[(5.0, -2.0)]])) == 0.0


def test_diversity_per_group_vs_pooled():
    # two groups, each constant inside (std 0 per group) but different between groups
    off = make_offsets([[(1.0, 0.0), (1.0, 0.0)], [(-1.0, 0.0), (-1.0, 0.0)]])
    assert offset_diversity_map(off, 2).shape == (1, 2, 1, 1)
    assert offset_diversity(off, num_groups=2) == 0.0
    assert offset_diversity(off, num_groups=1) == pytest.approx(1.0)  # pooled: ±1 in dy
    # the record's deform_groups is the default G
    assert record_offset_stats(dict(offsets=off, deform_groups=2))['diversity'] == 0.0
    assert record_offset_stats(dict(offsets=off))['diversity'] == pytest.approx(1.0)


def test_fraction_within_one_pixel():
    flow = torch.tensor([1.0, 0.0]).view(1, 2, 1, 1)  # dx = 1, dy = 0
    # offsets in (dy, dx): exact (dist 0), (0, 1.9) dist .9, (1, 1) dist 1 (not < 1), (0, 3) dist 2
    off = make_offsets([[(0.0, 1.0), (0.0, 1.9), (1.0, 1.0), (0.0, 3.0)]])
    assert fraction_within(off, flow) == pytest.approx(0.5)
    assert fraction_within(off, flow, threshold=1.5) == pytest.approx(0.75)
    # swapped order would be wrong: an offset (dy=1, dx=0) is 1.41 px away from flow dx=1
    assert fraction_within(make_offsets([[(1.0, 0.0)]]), flow) == 0.0
    # mask: only the first of two pixels counts
    off2 = torch.cat([make_offsets([[(0.0, 1.0)]]), make_offsets([[(0.0, 5.0)]])], dim=3)
    flow2 = flow.expand(1, 2, 1, 2)
    assert fraction_within(off2, flow2) == pytest.approx(0.5)
    assert fraction_within(off2, flow2, mask=torch.tensor([[[[1.0, 0.0]]]])) == pytest.approx(1.0)


def test_record_stats_skip_flow_for_residual():
    off = make_offsets([[(0.0, 1.0)]])
    flow = torch.tensor([1.0, 0.0]).view(1, 2, 1, 1)
    assert record_offset_stats(dict(offsets=off), flow)['within_1px'] == 1.0
    assert 'within_1px' not in record_offset_stats(dict(offsets=off, residual=True), flow)
    assert within_key(0.5) == 'within_0.5px'


def test_merge_weights_by_count():
    a = dict(mean=1.0, max=2.0, diversity=0.0, count=1, within_1px=1.0)
    b = dict(mean=4.0, max=9.0, diversity=3.0, count=3)
    m = merge_offset_stats([a, b])
    assert m['mean'] == pytest.approx((1 + 12) / 4) and m['max'] == 9.0
    assert m['diversity'] == pytest.approx(9 / 4) and m['count'] == 4
    assert m['within_1px'] == 1.0  # only the record that has it
    with pytest.raises(ValueError, match='nothing to merge'):
        merge_offset_stats([])


def test_summarize_groups_levels_and_resizes_gt_flow():
    B, T, scale, h, w = 2, 3, 4, 4, 6
    # constant GT-resolution flow flow(ref=1, t): dx = 8 * (t - 1), dy = -4 * (t - 1)
    ref_flows = torch.zeros(B, T, 2, h * scale, w * scale)
    for t in range(T):
        ref_flows[:, t, 0] = 8.0 * (t - 1)
        ref_flows[:, t, 1] = -4.0 * (t - 1)
    records = []
    for stride in (1, 2):
        hs, ws = h // stride, w // stride
        for t in range(T):
            # exact flow at this level: GT flow / (scale * stride), in (dy, dx), repeated for N = 2 offsets
            dy, dx = -4.0 * (t - 1) / (scale * stride), 8.0 * (t - 1) / (scale * stride)
            off = torch.tensor([dy, dx, dy, dx + 0.5]).view(1, 4, 1, 1).expand(B, 4, hs, ws).contiguous()
            records.append(dict(offsets=off, nbr_index=t, ref_index=1, stride=stride, name=f'l{stride}',
                                residual=False))
    records.append(dict(offsets=torch.full((B, 4, h, w), 3.0), nbr_index=0, ref_index=1, stride=1,
                        name='cascade', residual=True))
    records.append(dict(masks=torch.ones(B, 2, h, w), nbr_index=0, ref_index=1, name='no_offsets'))
    out = summarize_alignments(records, ref_flows, flows_ref_index=1)
    assert list(out) == ['l1', 'l2', 'cascade']
    for name, stride in (('l1', 1), ('l2', 2)):
        st = out[name]
        assert st['within_1px'] == 1.0
        # neighbours t = 0, 2 only (reference excluded): |(dy, dx)| = sqrt(1 + 4) * 4 / (4 * stride)
        mag = math.hypot(4.0, 8.0) / (scale * stride)
        mag2 = math.hypot(4.0, 8.0 + 0.5 * scale * stride) / (scale * stride)  # the dx+0.5 offset
        mag2b = math.hypot(4.0, -8.0 + 0.5 * scale * stride) / (scale * stride)
        assert st['mean'] == pytest.approx((2 * mag + mag2 + mag2b) / 4, rel=1e-5)
        assert st['diversity'] == pytest.approx(0.25, rel=1e-5)  # N=2 offsets 0.5 apart in dx -> std .25
        assert st['count'] == 2 * B * 2 * (h // stride) * (w // stride)
    assert 'within_1px' not in out['cascade'] and out['cascade']['mean'] == pytest.approx(math.sqrt(18))
    # with the reference included the count grows by one record per level
    assert summarize_alignments(records, exclude_reference=False)['l1']['count'] == 3 * B * 2 * h * w
    # flows relative to another reference frame are not compared
    assert 'within_1px' not in summarize_alignments(records, ref_flows, flows_ref_index=0)['l1']
    # a wrong offset is far from the flow
    bad = [dict(records[0], offsets=records[0]['offsets'] + 2.0)]
    assert summarize_alignments(bad, ref_flows)['l1']['within_1px'] == 0.0


def test_errors_name_the_problem():
    with pytest.raises(ValueError, match=r'\(B, G\*N\*2, H, W\).*got shape \(1, 3, 2, 2\)'):
        offset_magnitude(torch.zeros(1, 3, 2, 2))
    with pytest.raises(ValueError, match='num_groups=3'):
        split_offsets(torch.zeros(1, 8, 2, 2), 3)
    with pytest.raises(ValueError, match='must match the offsets'):
        fraction_within(torch.zeros(1, 2, 4, 4), torch.zeros(1, 2, 8, 8))
    with pytest.raises(ValueError, match=r'channels \(dx, dy\)'):
        fraction_within(torch.zeros(1, 2, 4, 4), torch.zeros(1, 3, 4, 4))
    with pytest.raises(ValueError, match='threshold must be > 0'):
        fraction_within(torch.zeros(1, 2, 4, 4), torch.zeros(1, 2, 4, 4), threshold=0)
    with pytest.raises(KeyError, match='"offsets" tensor'):
        record_offset_stats(dict(masks=torch.zeros(1, 1, 2, 2)))
    with pytest.raises(ValueError, match=r'ref_flows must be a \(B, T, 2, H, W\)'):
        summarize_alignments([], ref_flows=torch.zeros(1, 2, 4, 4))
