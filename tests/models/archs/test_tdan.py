"""TDANNet: shapes, alignment records, reconstruction paths, errors; training with every alignment block."""
import pytest
import torch
from mmengine.dataset import default_collate
from mmengine.optim import OptimWrapper
from mmengine.registry import init_default_scope

from vidtoolbox.models.archs import TDANNet
from vidtoolbox.registry import DATASETS, MODELS


def tiny(**kw):
    cfg = dict(mid_channels=8, num_frames=3, deform_groups=2, num_extract_block=1, num_reconstruct_block=1,
               align_cfg=dict(type='NOffsetAlign', num_offsets=9))
    cfg.update(kw)
    return TDANNet(**cfg)


def test_shapes_records_and_zero_offsets(helpers):
    torch.manual_seed(0)
    net = tiny()
    x = torch.rand(2, 3, 3, 8, 12)
    out, aux = net(x)
    assert out.shape == (2, 3, 32, 48)
    assert aux['aligned_lr'].shape == (2, 3, 3, 8, 12)
    recs = aux['alignments']
    assert len(recs) == 3 * 4  # 3 frames x (3 cond blocks + the alignment)
    assert sorted({r['name'] for r in recs}) == ['tdan.align', 'tdan.cond1', 'tdan.cond2', 'tdan.cond3']
    for r in recs:
        assert r['offsets'].shape == (2, 2 * 9 * 2, 8, 12) and r['masks'].shape == (2, 18, 8, 12)
        assert r['stride'] == 1 and r['ref_index'] == 1
        assert r['residual'] == (r['name'] != 'tdan.align')
        assert torch.count_nonzero(r['offsets']) == 0  # zero-initialised offset convs
    assert [r['nbr_index'] for r in recs if r['name'] == 'tdan.align'] == [0, 1, 2]
    helpers.check_residual_sr(net, x, ref_index=1)


def test_reconstruct_from_feature_and_cond_default():
    net = tiny(reconstruct_from='feature', num_cond_aligns=1)
    assert net.conv_fuse.in_channels == 3 * 8 and len(net.cond_blocks) == 1
    assert tiny().conv_fuse.in_channels == 3 * 3  # TDAN: from the aligned LR frames
    out, aux = net(torch.rand(1, 3, 3, 8, 8))
    assert out.shape == (1, 3, 32, 32) and len(aux['alignments']) == 3 * 2
    # blocks that need images/flow nets are not used on offset features: cond blocks fall back to DCNv2Align
    net = tiny(align_cfg=dict(type='MultiSPyNetAlign', num_flows=1))
    assert net.cond_align_cfg['type'] == 'DCNv2Align' and net.align_cfg['type'] == 'MultiSPyNetAlign'
    net = tiny(align_cfg=dict(type='FlowWarpAlign', deform_groups=2))
    assert net.cond_align_cfg['type'] == 'FlowWarpAlign'


def test_errors():
    net = tiny()
    with pytest.raises(ValueError, match='num_frames=3'):
        net(torch.rand(1, 5, 3, 8, 8))
    with pytest.raises(ValueError, match=r'\(B, T, 3, h, w\)'):
        net(torch.rand(1, 3, 8, 8))
    with pytest.raises(ValueError, match='scale'):
        tiny(scale=3)
    with pytest.raises(ValueError, match='reconstruct_from'):
        tiny(reconstruct_from='pixels')
    with pytest.raises(ValueError, match='center_frame_idx'):
        tiny(center_frame_idx=3)


def builtin_batch(num_frames=3):
    ds = DATASETS.build(dict(type='SyntheticMotionDataset', num_clips=2, num_frames=num_frames, gt_size=32, scale=4,
                             split='train', seed=0, pipeline=[dict(type='PackVideoInputs')]))
    return default_collate([ds[0], ds[1]])


@pytest.mark.parametrize('align_cfg', [
    dict(type='NOffsetAlign', num_offsets=3),
    dict(type='FlowWarpAlign', deform_groups=2),
    dict(type='FlowWarpAlign', level='image', num_head_convs=1),
    dict(type='MultiSPyNetAlign', num_flows=1),
], ids=['noffset', 'flow_feature', 'flow_image', 'multi_spynet'])
def test_trains_with_each_block_on_builtin_data(align_cfg):
    init_default_scope('vidtoolbox')  # as a config's default_scope does
    torch.manual_seed(0)
    model = MODELS.build(dict(
        type='VideoSR', generator=dict(type='TDANNet', mid_channels=8, num_frames=3, deform_groups=2,
                                       num_extract_block=1, num_reconstruct_block=1, align_cfg=align_cfg),
        losses=[dict(type='CharbonnierLoss')]))
    opt = OptimWrapper(torch.optim.Adam(model.parameters(), lr=1e-3))
    batch = builtin_batch()
    block = model.generator.align_block
    before = {k: v.detach().clone() for k, v in block.named_parameters()}
    for _ in range(2):
        log = model.train_step(batch, opt)
        assert torch.isfinite(log['loss'])
    changed = [k for k, v in block.named_parameters() if not torch.equal(before[k], v)]
    assert changed, 'the alignment block was not trained'
    if hasattr(block, 'conv_offset'):
        assert block.conv_offset.weight.abs().sum() > 0  # offsets moved off their zero init


def test_flow_guided_align_block_gets_the_network_flow():
    from vidtoolbox.ops import resize_flow
    from vidtoolbox.models.archs import TDANNet
    torch.manual_seed(0)
    net = TDANNet(mid_channels=8, num_frames=3, deform_groups=2, num_extract_block=1, num_reconstruct_block=1,
                  align_cfg=dict(type='FlowGuidedDCNAlign'), flow_cfg=dict(type='GTFlow'))
    # the cond blocks cannot use a flow-guided block (not cond_capable): DCNv2 on the offset features
    from vidtoolbox.models.alignment import DCNv2Align
    assert all(isinstance(b, DCNv2Align) for b in net.cond_blocks)
    assert net.align_block.cond_channels == 8  # TDAN's offset features feed the residue head
    batch = builtin_batch()
    fields = {k: batch['data_samples'][k] for k in net.sample_keys}
    out, aux = net(batch['inputs'], **fields)
    assert out.shape == (2, 3, 32, 32)
    recs = [r for r in aux['alignments'] if r['name'] == 'tdan.align']
    assert len(recs) == 3
    for r in recs:
        gt = resize_flow(fields['ref_flows'][:, r['nbr_index']].float(), (8, 8), mode='area')
        assert torch.allclose(r['offsets'], gt.flip(1).repeat(1, 2 * 9, 1, 1), atol=1e-5)
    with pytest.raises(ValueError, match='declares needs_flow'):
        TDANNet(mid_channels=8, num_frames=3, deform_groups=2, align_cfg=dict(type='FlowGuidedDCNAlign'))
