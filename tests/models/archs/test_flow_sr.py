"""FlowSRNet: shapes, records, the image-level path (warp the LR frame, then extract), errors; training per block."""
import pytest
import torch
from mmengine.dataset import default_collate
from mmengine.optim import OptimWrapper
from mmengine.registry import init_default_scope

from vidtoolbox.models.archs import FlowSRNet
from vidtoolbox.ops import flow_warp
from vidtoolbox.registry import DATASETS, MODELS


def tiny(**kw):
    cfg = dict(mid_channels=8, num_frames=3, num_extract_block=1, num_reconstruct_block=1,
               align_cfg=dict(type='MultiSPyNetAlign', num_flows=2))
    cfg.update(kw)
    return FlowSRNet(**cfg)


def test_shapes_records_default_block(helpers):
    torch.manual_seed(0)
    net = FlowSRNet(mid_channels=8, num_frames=3, num_extract_block=1, num_reconstruct_block=1)
    assert type(net.align).__name__ == 'MultiSPyNetAlign' and net.align.num_offsets == 1
    x = torch.rand(2, 3, 3, 8, 12)
    out, aux = net(x)
    assert out.shape == (2, 3, 32, 48)
    recs = aux['alignments']
    assert [r['nbr_index'] for r in recs] == [0, 1, 2]
    for r in recs:
        assert r['name'] == 'flow_sr.align' and r['stride'] == 1 and r['ref_index'] == 1 and not r['residual']
        assert r['offsets'].shape == (2, 2, 8, 12)
        assert torch.count_nonzero(r['offsets']) == 0  # untrained SPyNets start from zero flow
    helpers.check_residual_sr(net, x, ref_index=1)
    out, aux = tiny()(x)
    assert aux['alignments'][0]['offsets'].shape == (2, 4, 8, 12)


def test_image_level_block_uses_the_nets_extractor_on_the_warped_frame():
    torch.manual_seed(0)
    net = tiny(align_cfg=dict(type='FlowWarpAlign', level='image'))
    with torch.no_grad():  # a constant flow (dy, dx) = (1, -2) from the offset conv's bias
        net.align.conv_offset.bias.copy_(torch.tensor([1.0, -2.0]))
    x = torch.rand(1, 3, 3, 8, 12)
    captured = []
    net.align.register_forward_hook(lambda m, i, o: captured.append(o[0]))
    net(x)
    flow = torch.tensor([-2.0, 1.0]).view(1, 2, 1, 1).expand(1, 2, 8, 12)  # (dx, dy)
    expected = net.align.fusion(net.extractor(flow_warp(x[:, 0], flow)))  # the block's 1×1 conv after encoding
    torch.testing.assert_close(captured[0], expected, atol=1e-6, rtol=1e-6)


def test_errors():
    net = tiny()
    with pytest.raises(ValueError, match='num_frames=3'):
        net(torch.rand(1, 5, 3, 8, 8))
    with pytest.raises(ValueError, match=r'\(B, T, 3, h, w\)'):
        net(torch.rand(1, 3, 8, 8))
    with pytest.raises(ValueError, match='scale'):
        tiny(scale=3)
    with pytest.raises(ValueError, match='center_frame_idx'):
        tiny(center_frame_idx=-1)


def builtin_batch(num_frames=3):
    ds = DATASETS.build(dict(type='SyntheticMotionDataset', num_clips=2, num_frames=num_frames, gt_size=32, scale=4,
                             split='train', seed=0, pipeline=[dict(type='PackVideoInputs')]))
    return default_collate([ds[0], ds[1]])


@pytest.mark.parametrize('align_cfg', [
    dict(type='MultiSPyNetAlign', num_flows=2),
    dict(type='MultiSPyNetAlign', num_flows=1, level='feature'),
    dict(type='FlowWarpAlign', level='image', num_head_convs=1),
    dict(type='FlowWarpAlign', deform_groups=2),
    dict(type='NOffsetAlign', num_offsets=5, deform_groups=2),
    dict(type='DCNv2Align', deform_groups=2),
], ids=['multi_spynet', 'multi_spynet_feature', 'flow_image', 'flow_feature', 'noffset', 'dcnv2'])
def test_trains_with_each_block_on_builtin_data(align_cfg):
    init_default_scope('vidtoolbox')  # as a config's default_scope does
    torch.manual_seed(0)
    model = MODELS.build(dict(
        type='VideoSR', generator=dict(type='FlowSRNet', mid_channels=8, num_frames=3, num_extract_block=1,
                                       num_reconstruct_block=1, align_cfg=align_cfg),
        losses=[dict(type='CharbonnierLoss')]))
    opt = OptimWrapper(torch.optim.Adam(model.parameters(), lr=1e-3))
    batch = builtin_batch()
    block = model.generator.align
    before = {k: v.detach().clone() for k, v in block.named_parameters()}
    for _ in range(2):
        log = model.train_step(batch, opt)
        assert torch.isfinite(log['loss'])
    changed = [k for k, v in block.named_parameters() if not torch.equal(before[k], v)]
    assert changed, 'the alignment block was not trained'
    if hasattr(block, 'conv_offset'):
        assert 'conv_offset.weight' in changed  # offsets learn from the first steps
    if hasattr(block, 'spynets'):
        assert any(k.startswith('spynets.') for k in changed)  # flow nets fine-tuned
