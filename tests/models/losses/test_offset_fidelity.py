import numpy as np
import pytest
import torch

from vidtoolbox.models.flow import BaseFlowSource
from vidtoolbox.models.losses import OffsetFidelityLoss, flow_to_offset_order, offset_fidelity
from vidtoolbox.registry import MODELS


def reference_value(offsets, flow, t):
    """Independent numpy evaluation of eq. 5 with the documented normalisation (sum over batch and offsets of the
    per-offset mean over (2, h, w) of H(d - t) d, d = |x - y|, y = flow flipped to (dy, dx))."""
    off = offsets.detach().double().numpy()
    fl = flow.detach().double().numpy()
    b, c, h, w = off.shape
    total = 0.0
    for i in range(b):
        for k in range(c // 2):
            s = 0.0
            for comp, fc in ((0, 1), (1, 0)):  # offset dy <-> flow channel 1, offset dx <-> flow channel 0
                d = np.abs(off[i, 2 * k + comp] - fl[i, fc])
                s += d[d > t].sum()
            total += s / (2 * h * w)
    return total


def test_zero_within_threshold_and_no_gradient():
    torch.manual_seed(0)
    flow = torch.randn(2, 2, 6, 7) * 5
    noise = (torch.rand(2, 8, 6, 7) * 2 - 1) * 3.0  # |noise| <= 3
    noise[0, 0, 0, 0] = 3.0  # exactly at the threshold: H(0) counts as 0
    offsets = (flow_to_offset_order(flow, 4) + noise).requires_grad_()
    loss = offset_fidelity(offsets, flow, threshold=3.0)
    assert loss.item() == 0.0
    loss.backward()
    assert offsets.grad.abs().max().item() == 0.0


def test_value_and_gradient_above_threshold():
    torch.manual_seed(1)
    b, g, n, h, w = 2, 2, 3, 5, 4
    flow = torch.randn(b, 2, h, w) * 4
    offsets = (flow_to_offset_order(flow, g * n) + torch.randn(b, g * n * 2, h, w) * 6).requires_grad_()
    t = 5.0
    loss = offset_fidelity(offsets, flow, threshold=t)
    expected = reference_value(offsets, flow, t)
    assert expected > 0
    assert loss.item() == pytest.approx(expected, rel=1e-5)
    loss.backward()
    diff = offsets.detach() - flow_to_offset_order(flow, g * n)
    above = diff.abs() > t
    assert above.any() and (~above).any()
    # d/dx of mean_{2hw} |x - y| = sign(x - y) / (2 h w), only where above the threshold
    expected_grad = torch.where(above, diff.sign() / (2 * h * w), torch.zeros_like(diff))
    assert torch.allclose(offsets.grad, expected_grad, atol=1e-7)
    assert (offsets.grad[~above] == 0).all() and (offsets.grad[above] != 0).all()
    # batch_reduction='mean' divides by B
    mean = offset_fidelity(offsets, flow, threshold=t, batch_reduction='mean')
    assert mean.item() == pytest.approx(expected / b, rel=1e-5)


def test_channel_order_flow_dxdy_vs_offsets_dydx():
    flow = torch.zeros(1, 2, 4, 4)
    flow[:, 0] = 3.0   # dx (right)
    flow[:, 1] = -5.0  # dy (up)
    right = torch.zeros(1, 2, 4, 4)
    right[:, 0], right[:, 1] = -5.0, 3.0  # (dy, dx)
    assert offset_fidelity(right, flow, threshold=0.0).item() == 0.0
    assert torch.equal(flow_to_offset_order(flow, 1), right)
    wrong = flow.clone()  # a (dx, dy) offset, i.e. the flow not flipped: |3 - (-5)| = 8 on both components
    assert offset_fidelity(wrong, flow, threshold=0.0).item() == pytest.approx(8.0)


def make_ctx(flow_gt, t=5, ref=2):
    """Context of a clip whose ground-truth ref_flows are `flow_gt` (B, 2, H, W) for every neighbour."""
    b, _, hh, ww = flow_gt.shape
    ref_flows = flow_gt[:, None].repeat(1, t, 1, 1, 1)
    ref_flows[:, ref] = 0
    return dict(ref_flows=ref_flows, ref_index=torch.full((b,), ref), lq=torch.rand(b, t, 3, hh // 4, ww // 4))


def test_context_with_gtflow_resizes_and_scales_per_level():
    gt = torch.zeros(2, 2, 32, 32)
    gt[:, 0], gt[:, 1] = 8.0, -4.0  # GT pixels; LR (x4) = (2, -1); stride 2 → (1, -0.5)
    ctx = make_ctx(gt)

    def offs(val_dy, val_dx, size, groups=2):
        o = torch.zeros(2, groups * 2, size, size)
        o[:, 0::2], o[:, 1::2] = val_dy, val_dx
        return o

    recs = [dict(offsets=offs(-1.0, 2.0, 8), nbr_index=0, ref_index=2, stride=1, name='pcd.l1', residual=False),
            dict(offsets=offs(-0.5, 1.0, 4), nbr_index=0, ref_index=2, stride=2, name='pcd.l2', residual=False)]
    loss = OffsetFidelityLoss(threshold=0.0, flow=dict(type='GTFlow'))
    ctx['alignments'] = recs
    assert loss(ctx).item() == pytest.approx(0.0, abs=1e-6)
    # shift every offset by +3 px: each of the B*G = 4 offset fields costs mean |3| = 3 per record → 2 records * 12
    for r in recs:
        r['offsets'] = r['offsets'] + 3.0
    assert loss(ctx).item() == pytest.approx(24.0, rel=1e-6)
    assert OffsetFidelityLoss(threshold=3.5)(ctx).item() == 0.0
    assert OffsetFidelityLoss(threshold=0.0, loss_weight=0.5, batch_reduction='mean')(ctx).item() == \
        pytest.approx(6.0, rel=1e-6)


class CountingFlow(BaseFlowSource):
    """Test flow source: constant flow (dx=1, dy=2) at the lq size, counting its calls."""

    def __init__(self):
        super().__init__()
        self.calls = []

    def flow_from_context(self, ctx, src_index, dst_index, size=None):
        self.calls.append((src_index, dst_index))
        lq = ctx['lq']
        f = torch.zeros(lq.shape[0], 2, *lq.shape[-2:])
        f[:, 0], f[:, 1] = 1.0, 2.0
        return self.resize(f, size)


def test_flow_computed_once_per_pair_residual_and_self_alignment():
    src = CountingFlow()
    loss = OffsetFidelityLoss(threshold=0.0, flow=src)
    ctx = dict(lq=torch.rand(1, 3, 3, 8, 8))
    recs = []
    for nbr in range(3):
        for stride in (4, 2, 1):
            recs.append(dict(offsets=torch.zeros(1, 2, 8 // stride, 8 // stride), nbr_index=nbr, ref_index=1,
                             stride=stride, name=f'pcd.l{stride}', residual=False))
        recs.append(dict(offsets=torch.full((1, 2, 8, 8), 7.0), nbr_index=nbr, ref_index=1, stride=1,
                         name='pcd.cascade', residual=True))
    ctx['alignments'] = recs
    value = loss(ctx).item()
    assert sorted(src.calls) == [(1, 0), (1, 2)]  # once per (ref, nbr) pair, never for nbr == ref
    # zero offsets vs flow (1, 2) scaled by 1/stride: mean |.| = (1 + 2) / 2 / stride, for 2 neighbours
    expected = 2 * sum(1.5 / s for s in (4, 2, 1))
    assert value == pytest.approx(expected, rel=1e-6)
    # residual records compared with zero flow when included: 3 records * mean |7| = 21
    with_res = OffsetFidelityLoss(threshold=0.0, flow=src, include_residual=True)(ctx).item()
    assert with_res == pytest.approx(expected + 21.0, rel=1e-6)
    # t = 7: every deviation is <= 7 (the residual ones exactly 7, H(0) = 0)
    assert OffsetFidelityLoss(threshold=7.0, flow=src, include_residual=True)(ctx).item() == 0.0


def test_gradient_through_context_call():
    gt = torch.zeros(1, 2, 16, 16)
    gt[:, 0] = 40.0  # LR dx = 10
    ctx = make_ctx(gt, t=3, ref=1)
    off = torch.zeros(1, 2, 4, 4, requires_grad=True)
    ctx['alignments'] = [dict(offsets=off, nbr_index=0, ref_index=1, stride=1, name='l1', residual=False)]
    loss = MODELS.build(dict(type='OffsetFidelityLoss', threshold=5.0))(ctx)
    assert loss.item() == pytest.approx(10.0 / 2, rel=1e-6)  # dx off by 10 > 5, dy exact
    loss.backward()
    assert torch.allclose(off.grad[:, 1], torch.full((1, 4, 4), -1.0 / 32))
    assert (off.grad[:, 0] == 0).all()


def test_errors():
    with pytest.raises(ValueError, match='no alignment records'):
        OffsetFidelityLoss()(dict(alignments=[]))
    with pytest.raises(KeyError, match="needs context key 'alignments'"):
        OffsetFidelityLoss()(dict(pred=torch.zeros(1)))
    with pytest.raises(KeyError, match='has no "offsets"'):
        OffsetFidelityLoss()(dict(alignments=[dict(nbr_index=0, ref_index=1)]))
    with pytest.raises(ValueError, match='G\\*N\\*2'):
        OffsetFidelityLoss()(dict(alignments=[dict(offsets=torch.zeros(1, 3, 4, 4), nbr_index=0, ref_index=1)]))
    with pytest.raises(KeyError, match="'nbr_index'"):
        OffsetFidelityLoss()(dict(alignments=[dict(offsets=torch.zeros(1, 2, 4, 4), ref_index=1)]))
    with pytest.raises(KeyError, match='no ground-truth flow'):
        OffsetFidelityLoss()(dict(alignments=[dict(offsets=torch.zeros(1, 2, 4, 4), nbr_index=0, ref_index=1)]))
    with pytest.raises(ValueError, match='threshold'):
        OffsetFidelityLoss(threshold=-1)
    with pytest.raises(ValueError, match='batch_reduction'):
        OffsetFidelityLoss(batch_reduction='max')
    with pytest.raises(TypeError, match='flow-source'):
        OffsetFidelityLoss(flow=dict(type='L1Loss'))
    with pytest.raises(ValueError, match='does not match offsets'):
        offset_fidelity(torch.zeros(2, 2, 4, 4), torch.zeros(1, 2, 4, 4))
    with pytest.raises(ValueError, match='flow must be'):
        offset_fidelity(torch.zeros(1, 2, 4, 4), torch.zeros(1, 3, 4, 4))


def test_literal_eq5_sum_normalisation_by_hand():
    """normalization='sum': eq. 5 literally, L_n = Σ_ij H(|x − y| − t)·|x − y| summed over both components,
    checked on numbers worked out by hand; λ_sum = λ_mean / (2·h·w) maps the two forms for one record."""
    flow = torch.zeros(1, 2, 2, 2)
    flow[0, 0] = 1.0  # dx = 1 everywhere, dy = 0
    offsets = torch.zeros(1, 2, 2, 2)  # one offset field, (dy, dx)
    offsets[0, 0] = torch.tensor([[12.0, 0.0], [-15.0, 3.0]])  # dy: |d| = 12, 0, 15, 3
    offsets[0, 1] = torch.tensor([[1.0, 13.0], [1.0, -20.0]])  # dx: |d| = 0, 12, 0, 21
    t = 10.0
    # above t: 12 + 15 (dy) + 12 + 21 (dx) = 60; the mean form divides by 2·h·w = 8
    assert offset_fidelity(offsets, flow, t, normalization='sum').item() == pytest.approx(60.0)
    assert offset_fidelity(offsets, flow, t, normalization='mean').item() == pytest.approx(60.0 / 8)
    rec = dict(offsets=offsets, nbr_index=0, ref_index=2, stride=1)
    ctx = make_ctx(4 * flow.repeat_interleave(4, -1).repeat_interleave(4, -2))  # GT ×4; resized to 2×2, values / 4
    summed = OffsetFidelityLoss(loss_weight=0.5, threshold=t, normalization='sum', flow=dict(type='GTFlow'))
    meaned = OffsetFidelityLoss(loss_weight=0.5 * 8, threshold=t, flow=dict(type='GTFlow'))
    assert summed(alignments=[rec], ctx=ctx).item() == pytest.approx(30.0)
    assert meaned(alignments=[rec], ctx=ctx).item() == pytest.approx(30.0)
    with pytest.raises(ValueError, match='normalization must be one of'):
        OffsetFidelityLoss(normalization='pixels')
