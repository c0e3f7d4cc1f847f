"""Tests of GTFlow: picking ground-truth flows from the context, resizing, per-sample ref_index, errors."""
import pytest
import torch

from vidtoolbox.models.flow import GTFlow

B, T, H, W = 2, 5, 8, 12


def make_ctx(nested=False, ref_index=2):
    torch.manual_seed(0)
    sample = dict(ref_flows=torch.randn(B, T, 2, H, W), flow_fw=torch.randn(B, T - 1, 2, H, W),
                  flow_bw=torch.randn(B, T - 1, 2, H, W), ref_index=ref_index, key=['a', 'b'])
    ctx = dict(lq=torch.rand(B, T, 3, H // 2, W // 2))
    if nested:
        ctx['data_samples'] = sample
    else:
        ctx.update(sample, data_samples=sample)
    return ctx, sample


@pytest.mark.parametrize('nested', [False, True])
def test_picks_the_right_field(nested):
    ctx, s = make_ctx(nested)
    g = GTFlow()
    assert torch.equal(g.flow_from_context(ctx, 2, 4), s['ref_flows'][:, 4])
    assert torch.equal(g.flow_from_context(ctx, 2, 0), s['ref_flows'][:, 0])
    assert torch.equal(g.flow_from_context(ctx, 1, 2), s['flow_fw'][:, 1])
    # an adjacent pair from the reference: ref_flows first (pipeline-estimated ref_flows win over a dataset's flow_fw)
    assert torch.equal(g.flow_from_context(ctx, 2, 3), s['ref_flows'][:, 3])
    assert torch.equal(g.flow_from_context(ctx, 3, 4), s['flow_fw'][:, 3])
    assert torch.equal(g.flow_from_context(ctx, 4, 3), s['flow_bw'][:, 3])
    assert torch.equal(g.flow_from_context(ctx, -1, -2), s['flow_bw'][:, 3])
    assert torch.equal(g.flow_from_context(ctx, 3, 3), torch.zeros(B, 2, H, W))


def test_ref_index_tensor_per_sample():
    ctx, s = make_ctx(ref_index=torch.tensor([2, 2]))
    del ctx['flow_fw'], ctx['flow_bw'], ctx['data_samples']
    assert torch.equal(GTFlow().flow_from_context(ctx, 2, 0), s['ref_flows'][:, 0])
    ctx['ref_index'] = torch.tensor([2, 1])
    with pytest.raises(ValueError, match=r'batch element\(s\) \[1\]'):
        GTFlow().flow_from_context(ctx, 2, 0)


def test_resize_scales_values():
    ctx = dict(flow_fw=torch.ones(1, 1, 2, 8, 12) * torch.tensor([3.0, 2.0]).view(1, 1, 2, 1, 1))
    out = GTFlow().flow_from_context(ctx, 0, 1, size=(4, 4))
    assert out.shape == (1, 2, 4, 4)
    assert torch.allclose(out[:, 0], torch.full((1, 4, 4), 1.0))
    assert torch.allclose(out[:, 1], torch.full((1, 4, 4), 1.0))


def test_adjacent_flows_without_ref_index_and_ref_flows_without_it_is_an_error():
    ctx, s = make_ctx()
    for c in (ctx, ctx['data_samples']):
        c.pop('ref_index')
    assert torch.equal(GTFlow().flow_from_context(ctx, 2, 3), s['flow_fw'][:, 2])
    with pytest.raises(KeyError, match='has ref_flows but no ref_index'):
        GTFlow().flow_from_context(ctx, 2, 0)


def test_errors():
    g = GTFlow()
    with pytest.raises(KeyError, match='no ground-truth flow'):
        g.flow_from_context(dict(lq=torch.rand(1, 3, 3, 8, 8), data_samples=dict(key=['x'])), 0, 1)
    ctx, _ = make_ctx()
    with pytest.raises(ValueError, match=r'no ground-truth flow for the pair \(0 -> 3\)'):
        g.flow_from_context(ctx, 0, 3)
    with pytest.raises(IndexError, match='out of range for 5 frames'):
        g.flow_from_context(ctx, 2, 5)
    no_ref = dict(ref_flows=torch.zeros(1, 3, 2, 4, 4))
    with pytest.raises(KeyError, match='no ref_index'):
        g.flow_from_context(no_ref, 1, 0)
    with pytest.raises(ValueError, match=r'\(B, T, 2, H, W\)'):
        g.flow_from_context(dict(flow_fw=torch.zeros(2, 4, 4)), 0, 1)
    with pytest.raises(RuntimeError, match='flow_from_context'):
        g(torch.rand(1, 3, 8, 8), torch.rand(1, 3, 8, 8))
