import pytest
import torch

from vidtoolbox.models.archs import EDVRNet


def tiny(**kw):
    cfg = dict(mid_channels=8, num_frames=3, deform_groups=2, num_extract_block=1, num_reconstruct_block=1)
    cfg.update(kw)
    return EDVRNet(**cfg)


def test_shapes_records_and_residual(helpers):
    torch.manual_seed(0)
    net = tiny()
    x = torch.rand(2, 3, 3, 8, 12)
    out, aux = net(x)
    assert out.shape == (2, 3, 32, 48)
    recs = aux['alignments']
    assert len(recs) == 3 * 4  # 3 frames × (3 PCD levels + cascade)
    strides = sorted({(r['name'], r['stride']) for r in recs})
    assert strides == [('pcd.cascade', 1), ('pcd.l1', 1), ('pcd.l2', 2), ('pcd.l3', 4)]
    for r in recs:
        h, w = 8 // r['stride'], 12 // r['stride']
        assert r['offsets'].shape == (2, 2 * 9 * 2, h, w)  # G=2, N=9 -> (dy, dx)
        assert r['masks'].shape == (2, 2 * 9, h, w)
        assert r['ref_index'] == 1 and r['residual'] == (r['name'] == 'pcd.cascade')
        # offset convs are zero-initialised: the network starts without deformation
        assert torch.count_nonzero(r['offsets']) == 0
    helpers.check_residual_sr(net, x, ref_index=1)


def test_no_tsa_and_gradients():
    torch.manual_seed(0)
    net = tiny(with_tsa=False)
    assert isinstance(net.fusion, torch.nn.Conv2d) and net.fusion.in_channels == 3 * 8
    x = torch.rand(1, 3, 3, 8, 8, requires_grad=True)
    out, _ = net(x)
    out.mean().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad[:, 0].abs().sum() > 0
    # every parameter learns, the zero-initialised offset predictors of every PCD level included
    for name, p in net.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
    for lvl in ('l1', 'l2', 'l3'):
        assert net.pcd_align.blocks[lvl].conv_offset.weight.grad.abs().sum() > 0, lvl


def test_paper_sizes_parameter_counts():
    m = EDVRNet()  # EDVR-M defaults
    n_m = sum(p.numel() for p in m.parameters())
    l = EDVRNet(mid_channels=128, num_reconstruct_block=40)
    n_l = sum(p.numel() for p in l.parameters())
    # EDVR-M is ~3.3 M parameters and EDVR-L ~20.7 M in the field's implementations
    assert 3.0e6 < n_m < 3.6e6, n_m
    assert 19e6 < n_l < 22e6, n_l


def test_errors():
    net = tiny()
    with pytest.raises(ValueError, match='num_frames=3'):
        net(torch.rand(1, 5, 3, 8, 8))
    with pytest.raises(ValueError, match='divisible by 4'):
        net(torch.rand(1, 3, 3, 10, 8))
    with pytest.raises(ValueError, match=r'\(B, T, 3, h, w\)'):
        net(torch.rand(1, 3, 8, 8))
    with pytest.raises(ValueError, match='scale'):
        tiny(scale=3)


# --- flow-guided blocks: EDVR computes flow(ref, nbr) with its flow source and passes it through PCD -------------
FGDA = dict(type='FlowGuidedDCNAlign')


def synthetic_batch(num_frames=3, gt_size=32):
    from mmengine.dataset import default_collate
    from vidtoolbox.registry import DATASETS
    ds = DATASETS.build(dict(type='SyntheticMotionDataset', num_clips=2, num_frames=num_frames, gt_size=gt_size,
                             scale=4, split='train', seed=0, pipeline=[dict(type='PackVideoInputs')]))
    return default_collate([ds[0], ds[1]])


def test_flow_guided_block_gets_the_gt_flow_pyramid_and_declares_sample_keys():
    from vidtoolbox.ops import resize_flow
    torch.manual_seed(0)
    net = tiny(align_cfg=FGDA, flow_cfg=dict(type='GTFlow'))
    assert set(net.sample_keys) == {'ref_flows', 'flow_fw', 'flow_bw', 'ref_index'}
    assert net.pcd_align.blocks['l1'].deform_groups == 2  # EDVR's deform_groups filled in
    batch = synthetic_batch()
    x = batch['inputs']  # (2, 3, 3, 8, 8)
    fields = {k: batch['data_samples'][k] for k in net.sample_keys}
    out, aux = net(x, **fields)
    assert out.shape == (2, 3, 32, 32)
    recs = aux['alignments']
    assert len(recs) == 3 * 4
    for r in recs:
        off = r['offsets']
        if r['residual']:  # the cascade refines aligned features: zero flow, and a fresh block adds no residue
            assert torch.count_nonzero(off) == 0
            continue
        # a fresh block (zero residue) samples at the flow: the GT flow(ref, nbr) area-averaged to the level
        gt = resize_flow(fields['ref_flows'][:, r['nbr_index']].float(), off.shape[-2:], mode='area')
        assert torch.allclose(off, gt.flip(1).repeat(1, 2 * 9, 1, 1), atol=1e-5)
    moving = [r for r in recs if r['name'] == 'pcd.l1' and r['nbr_index'] != 1]
    assert all(r['offsets'].abs().mean() > 0.05 for r in moving)  # the clip does move


def test_flow_guided_block_trains_through_the_head_with_gt_flow():
    from mmengine.optim import OptimWrapper
    from mmengine.registry import init_default_scope
    from vidtoolbox.registry import MODELS
    init_default_scope('vidtoolbox')
    torch.manual_seed(0)
    model = MODELS.build(dict(type='VideoSR', generator=dict(
        type='EDVRNet', mid_channels=8, num_frames=3, deform_groups=2, num_extract_block=1, num_reconstruct_block=1,
        align_cfg=FGDA, flow_cfg=dict(type='GTFlow')),
        losses=[dict(type='CharbonnierLoss'), dict(type='OffsetFidelityLoss', flow=dict(type='GTFlow'))]))
    opt = OptimWrapper(torch.optim.Adam(model.parameters(), lr=1e-3))
    block = model.generator.pcd_align.blocks['l1']
    before = block.conv_offset[-1].weight.detach().clone()
    for _ in range(2):
        log = model.train_step(synthetic_batch(), opt)
        assert torch.isfinite(log['loss'])
        assert float(log['loss_ofl'].detach()) == 0.0  # offsets stay within max_residue = 10 px < t of the GT flow
    assert not torch.equal(before, block.conv_offset[-1].weight)


def test_flow_guided_block_with_an_estimator_needs_no_sample():
    net = tiny(align_cfg=FGDA, flow_cfg=dict(type='DISFlow'))
    assert net.sample_keys == ()
    x = synthetic_batch(gt_size=64)['inputs']  # 16×16 LR frames: DIS needs >= 12 px
    out, aux = net(x)
    assert out.shape == (2, 3, 64, 64)
    l1 = [r for r in aux['alignments'] if r['name'] == 'pcd.l1' and r['nbr_index'] != 1]
    assert all(torch.isfinite(r['offsets']).all() and r['offsets'].abs().max() > 0 for r in l1)


def test_flow_guided_errors():
    with pytest.raises(ValueError, match='declares needs_flow.*flow_cfg=dict'):
        tiny(align_cfg=FGDA)
    with pytest.raises(ValueError, match='does not declare needs_flow'):
        tiny(flow_cfg=dict(type='DISFlow'))  # DCNv2Align reads no flow
    net = tiny(align_cfg=FGDA, flow_cfg=dict(type='GTFlow'))
    with pytest.raises(ValueError, match='A real video has no ground-truth flow'):
        net(torch.rand(1, 3, 3, 8, 8))
    # a block with its own estimator needs no network flow source
    own = tiny(align_cfg=dict(type='FlowGuidedDCNAlign', flow=dict(type='DISFlow')))
    assert own.flow_source is None and own.align_caps.needs_images
