"""FlowGuidedDCNAlign: flow + bounded residue offsets, the flow-warped-conv identity, second order, errors."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from vidtoolbox.models.alignment import (BaseAlignment, FlowGuidedDCNAlign, alignment_caps, alignment_record,
                                         fill_alignment_cfg)
from vidtoolbox.ops import deform_conv2d, flow_warp
from vidtoolbox.registry import MODELS


def feats(B=2, C=8, H=12, W=14, F_=1, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(B, C, H, W, generator=g), torch.randn(B, F_ * C, H, W, generator=g)


def const_flow(B, H, W, dx, dy):
    return torch.tensor([dx, dy], dtype=torch.float32).view(1, 2, 1, 1).expand(B, 2, H, W).contiguous()


def unit_masks(block):
    """Force sigmoid(mask logits) ≈ 1 (1 - 1e-13) with a zero residual: the output-conv bias of the mask channels."""
    with torch.no_grad():
        block.conv_offset[-1].bias[2 * block.deform_groups * block.num_offsets:] = 30.0


def test_registry_and_capabilities():
    block = MODELS.build(dict(type='FlowGuidedDCNAlign', in_channels=8, deform_groups=4))
    assert isinstance(block, BaseAlignment) and block.num_offsets == 9 and block.deform_groups == 4
    caps = alignment_caps(dict(type='FlowGuidedDCNAlign'))
    assert caps.needs_flow and not caps.needs_images and not caps.cond_capable and caps.takes_deform_groups
    assert caps.reads_cond and caps.warp_level == 'feature'
    own = alignment_caps(dict(type='FlowGuidedDCNAlign', flow=dict(type='DISFlow')))
    assert own.needs_images and not own.needs_flow
    assert block.caps == caps
    assert fill_alignment_cfg(dict(type='FlowGuidedDCNAlign'), 8, deform_groups=2)['deform_groups'] == 2
    # the head: 3 hidden convs + the zero-initialised output conv (3·G·k² channels)
    convs = [m for m in block.conv_offset if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == 4 and convs[0].in_channels == 8 + 8 + 2 and convs[-1].out_channels == 3 * 4 * 9
    assert torch.count_nonzero(convs[-1].weight) == 0 and torch.count_nonzero(convs[-1].bias) == 0


def test_zero_residual_unit_mask_constant_flow_is_conv_of_flow_warped_feature():
    ref, nbr = feats()
    block = FlowGuidedDCNAlign(8, deform_groups=4)
    flow = const_flow(2, 12, 14, dx=1.3, dy=-0.6)
    aligned, aux = block(ref, nbr, flow=flow)
    # fresh block: residue 0, masks 0.5 -> offsets are exactly the flow (dy, dx) on every tap of every group
    expected_off = torch.tensor([-0.6, 1.3]).repeat(4 * 9).view(1, -1, 1, 1).expand_as(aux['offsets'])
    assert torch.allclose(aux['offsets'], expected_off, atol=1e-6)
    assert torch.equal(aux['masks'], torch.full_like(aux['masks'], 0.5))
    warped = flow_warp(nbr, flow)
    m = 3  # away from the border: |flow| < 2 px plus the 3x3 kernel's reach
    half = F.conv2d(warped, 0.5 * block.weight, block.bias, padding=1)
    assert (aligned - half)[..., m:-m, m:-m].abs().max() < 1e-5
    unit_masks(block)
    aligned, aux = block(ref, nbr, flow=flow)
    ref_conv = F.conv2d(warped, block.weight, block.bias, padding=1)
    assert (aligned - ref_conv)[..., m:-m, m:-m].abs().max() < 1e-5
    # and it is not the conv of the unwarped neighbour (the flow matters)
    assert (aligned - F.conv2d(nbr, block.weight, block.bias, padding=1))[..., m:-m, m:-m].abs().max() > 0.1


def test_offsets_never_leave_max_residue_of_the_flow():
    ref, nbr = feats()
    block = FlowGuidedDCNAlign(8, deform_groups=2, max_residue=3.0)
    with torch.no_grad():
        for p in block.conv_offset.parameters():
            p.normal_(0, 100.0)  # huge residual weights
    g = torch.Generator().manual_seed(1)
    flow = 8 * torch.randn(2, 2, 12, 14, generator=g)  # a non-constant flow
    _, aux = block(ref, nbr, flow=flow)
    base = flow.flip(1).repeat(1, 2 * 9, 1, 1)
    dist = (aux['offsets'] - base).abs()
    assert dist.max() <= 3.0 + 1e-5
    assert dist.max() > 2.99  # the residue does saturate: the bound is what holds it
    assert torch.equal(aux['flow'], flow)


def test_gradients_reach_the_residual_convs_and_the_flow():
    ref, nbr = feats()
    block = FlowGuidedDCNAlign(8, deform_groups=4)
    flow = (0.5 * torch.randn(2, 2, 12, 14)).requires_grad_()
    aligned, aux = block(ref, nbr, flow=flow)
    (aligned.square().mean() + aux['offsets'].square().mean()).backward()
    last = block.conv_offset[-1]
    assert last.weight.grad.abs().sum() > 0 and last.bias.grad.abs().sum() > 0
    assert block.weight.grad.abs().sum() > 0 and flow.grad.abs().sum() > 0
    # once the output conv is non-zero, the hidden convs get gradients too
    with torch.no_grad():
        last.weight.normal_(0, 0.01)
    block.zero_grad()
    aligned, _ = block(ref, nbr, flow=flow.detach())
    aligned.square().mean().backward()
    hidden = [m for m in block.conv_offset if isinstance(m, torch.nn.Conv2d)][:-1]
    assert all(m.weight.grad.abs().sum() > 0 for m in hidden)


def test_cond_is_read_when_configured():
    ref, nbr = feats()
    block = FlowGuidedDCNAlign(8, cond_channels=5, deform_groups=4)
    assert block.conv_offset[0].in_channels == 8 + 8 + 2 + 5
    with torch.no_grad():
        block.conv_offset[-1].weight.normal_(0, 0.1)
    flow = torch.zeros(2, 2, 12, 14)
    cond = torch.randn(2, 5, 12, 14)
    a1, _ = block(ref, nbr, cond=cond, flow=flow)
    a2, _ = block(ref, nbr, cond=torch.zeros_like(cond), flow=flow)
    assert (a1 - a2).abs().max() > 1e-4  # cond changes the residue


def test_second_order_two_flows_zero_residual():
    """F = 2: groups 0..G/2-1 own neighbour 0's channels and take flow 0, the others flow 1."""
    C, G = 8, 4
    ref, nbr = feats(C=C, F_=2)
    block = FlowGuidedDCNAlign(C, deform_groups=G, num_flows=2)
    unit_masks(block)
    f0, f1 = const_flow(2, 12, 14, 1.0, 0.5), const_flow(2, 12, 14, -0.7, -1.2)
    aligned, aux = block(ref, nbr, flow=torch.cat([f0, f1], 1))
    warped = torch.cat([flow_warp(nbr[:, :C], f0), flow_warp(nbr[:, C:], f1)], 1)
    expected = F.conv2d(warped, block.weight, block.bias, padding=1)
    assert (aligned - expected)[..., 3:-3, 3:-3].abs().max() < 1e-5
    parts = block.split_aux(aux)
    assert len(parts) == 2
    for part, f in zip(parts, (f0, f1)):
        assert part['offsets'].shape == (2, G // 2 * 9 * 2, 12, 14) and part['masks'].shape == (2, G // 2 * 9, 12, 14)
        assert torch.allclose(part['offsets'], f.flip(1).repeat(1, G // 2 * 9, 1, 1))
        assert torch.equal(part['flow'], f)
    rec = alignment_record(block, parts[1], name='x', nbr_index=3, ref_index=5, deform_groups=G // 2)
    assert rec['deform_groups'] == 2 and rec['num_offsets'] == 9 and rec['nbr_index'] == 3
    # the result is the deformable conv with the documented full offsets
    assert torch.allclose(aligned, deform_conv2d(nbr, aux['offsets'], block.weight, block.bias, padding=1,
                                                 mask=aux['masks']), atol=1e-6)


def _textured(h, w, seed=0):
    rng = np.random.default_rng(seed)
    img = rng.random((h // 4 + 1, w // 4 + 1, 3)).astype(np.float32)
    t = torch.from_numpy(img).permute(2, 0, 1)[None]
    return F.interpolate(t, size=(h, w), mode='bicubic', align_corners=False).clamp(0, 1)


def test_own_dis_flow_source_on_images_at_another_resolution():
    """ref(p) = nbr(p - (4, 0)) on 32×40 images -> flow(ref, nbr) ≈ (-4, 0) px there, (-2, 0) at the 16×20 features."""
    img = _textured(48, 56)
    ref_img, nbr_img = img[..., 8:40, 8:48], img[..., 8:40, 12:52]  # ref(x) = img(x + 8), nbr(x) = img(x + 12)
    block = FlowGuidedDCNAlign(8, deform_groups=4, flow=dict(type='DISFlow'))
    ref, nbr = feats(B=1, H=16, W=20)
    _, aux = block(ref, nbr, ref_img=ref_img, nbr_img=nbr_img)
    flow = aux['flow'][0, :, 3:-3, 3:-3]
    assert abs(float(flow[0].median()) - (-2.0)) < 0.3 and abs(float(flow[1].median())) < 0.3
    assert torch.allclose(aux['offsets'][:, 1::2], aux['flow'][:, :1].expand(-1, 4 * 9, -1, -1))


def test_errors():
    ref, nbr = feats()
    block = FlowGuidedDCNAlign(8, deform_groups=4)
    with pytest.raises(ValueError, match='needs ctx "flow"'):
        block(ref, nbr)
    with pytest.raises(ValueError, match=r'ctx "flow" must be \(B, 2\*num_flows, H, W\)'):
        block(ref, nbr, flow=torch.zeros(2, 2, 6, 7))
    with pytest.raises(ValueError, match='cond_channels=0'):
        block(ref, nbr, cond=torch.zeros(2, 3, 12, 14), flow=torch.zeros(2, 2, 12, 14))
    with pytest.raises(ValueError, match='nbr_feat'):
        block(ref, torch.zeros(2, 16, 12, 14), flow=torch.zeros(2, 2, 12, 14))
    own = FlowGuidedDCNAlign(8, deform_groups=4, flow=dict(type='DISFlow'))
    with pytest.raises(ValueError, match="needs ctx 'nbr_img'"):
        own(ref, nbr, ref_img=torch.zeros(2, 3, 24, 28))
    with pytest.raises(ValueError, match='cannot estimate flow between two images'):
        FlowGuidedDCNAlign(8, deform_groups=4, flow=dict(type='GTFlow'))
    with pytest.raises(ValueError, match='divisible by num_flows'):
        FlowGuidedDCNAlign(8, deform_groups=3, num_flows=2)
    with pytest.raises(ValueError, match='in_channels=6 must be divisible'):
        FlowGuidedDCNAlign(6, deform_groups=4)
    with pytest.raises(ValueError, match='max_residue'):
        FlowGuidedDCNAlign(8, deform_groups=4, max_residue=0)
    with pytest.raises(ValueError, match='kernel_size must be odd'):
        FlowGuidedDCNAlign(8, deform_groups=4, kernel_size=2)
