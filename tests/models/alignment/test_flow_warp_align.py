"""FlowWarpAlign: one flow per location (per group), backward warp, 1×1 conv; feature and image level."""
import pytest
import torch
import torch.nn.functional as F

from vidtoolbox.models.alignment import FlowWarpAlign, NOffsetAlign
from vidtoolbox.registry import MODELS


def feats(b=2, c=8, h=7, w=9, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(b, c, h, w, generator=g), torch.rand(b, c, h, w, generator=g)


def shift(x, dy, dx):
    """out(y, x) = x(y + dy, x + dx), zero outside (integer shifts), without grid_sample."""
    out = torch.zeros_like(x)
    h, w = x.shape[-2:]
    ys, yd = slice(max(dy, 0), h + min(dy, 0)), slice(max(-dy, 0), h + min(-dy, 0))
    xs, xd = slice(max(dx, 0), w + min(dx, 0)), slice(max(-dx, 0), w + min(-dx, 0))
    out[..., yd, xd] = x[..., ys, xs]
    return out


def test_zero_init_is_a_1x1_conv_of_the_neighbour():
    ref, nbr = feats()
    blk = FlowWarpAlign(8, out_channels=5, deform_groups=2)
    out, aux = blk(ref, nbr)
    torch.testing.assert_close(out, F.conv2d(nbr, blk.fusion.weight, blk.fusion.bias), atol=1e-6, rtol=1e-6)
    assert aux['offsets'].shape == (2, 2 * 1 * 2, 7, 9) and torch.count_nonzero(aux['offsets']) == 0
    assert 'masks' not in aux and blk.num_offsets == 1
    mod = FlowWarpAlign(8, modulated=True)
    out_m, aux_m = mod(ref, nbr)
    assert aux_m['masks'].shape == (2, 1, 7, 9) and torch.all(aux_m['masks'] == 0.5)
    torch.testing.assert_close(out_m, F.conv2d(0.5 * nbr, mod.fusion.weight, mod.fusion.bias), atol=1e-6,
                               rtol=1e-6)


def test_offsets_are_dy_dx_per_group_and_warp_is_backward():
    """Constant offsets set through the offset conv's bias: group g is sampled at p + (dy_g, dx_g)."""
    ref, nbr = feats()
    blk = FlowWarpAlign(8, deform_groups=2)
    with torch.no_grad():
        blk.conv_offset.bias.copy_(torch.tensor([2.0, -1.0, 0.0, 3.0]))  # g0: dy=2, dx=-1; g1: dy=0, dx=3
        blk.fusion.weight.copy_(torch.eye(8).view(8, 8, 1, 1))
        blk.fusion.bias.zero_()
    out, aux = blk(ref, nbr)
    torch.testing.assert_close(aux['offsets'][:, 0], torch.full((2, 7, 9), 2.0))
    torch.testing.assert_close(aux['offsets'][:, 3], torch.full((2, 7, 9), 3.0))
    torch.testing.assert_close(out[:, :4], shift(nbr[:, :4], 2, -1), atol=1e-6, rtol=0)
    torch.testing.assert_close(out[:, 4:], shift(nbr[:, 4:], 0, 3), atol=1e-6, rtol=0)


def test_equals_n_offset_align_with_one_offset():
    """FlowWarpAlign(G) ≡ NOffsetAlign(N=1, G, unmodulated) with the same weights, for random fractional flows."""
    torch.manual_seed(0)
    ref, nbr = feats()
    fw = FlowWarpAlign(8, deform_groups=2)
    no = NOffsetAlign(8, deform_groups=2, num_offsets=1, modulated=False)
    with torch.no_grad():
        fw.conv_offset.weight.normal_(std=0.3)
        fw.conv_offset.bias.normal_(std=1.5)
        no.conv_offset.load_state_dict(fw.conv_offset.state_dict())
        no.fusion.load_state_dict(fw.fusion.state_dict())
    out_f, aux_f = fw(ref, nbr)
    out_n, aux_n = no(ref, nbr)
    torch.testing.assert_close(aux_f['offsets'], aux_n['offsets'])
    torch.testing.assert_close(out_f, out_n, atol=1e-5, rtol=1e-5)


def test_gradients_reach_the_offset_conv():
    ref, nbr = feats()
    blk = MODELS.build(dict(type='FlowWarpAlign', in_channels=8, num_head_convs=2, head_channels=4))
    out, _ = blk(ref, nbr)
    out.square().mean().backward()
    g = blk.conv_offset.weight.grad
    assert torch.isfinite(g).all() and g.abs().sum() > 0


def test_image_level_warps_the_image_then_encodes():
    ref, nbr = feats(c=4)
    ref_img, nbr_img = feats(c=3, seed=1)
    blk = FlowWarpAlign(4, level='image', own_encoder=True)
    out, aux = blk(ref, nbr, ref_img=ref_img, nbr_img=nbr_img)
    torch.testing.assert_close(aux['warped_img'], nbr_img)  # zero flow at start
    torch.testing.assert_close(out, blk.fusion(blk.encoder(nbr_img)))
    # a known flow (dy=-1, dx=2) and the arch's encoder passed as ctx
    with torch.no_grad():
        blk.conv_offset.bias.copy_(torch.tensor([-1.0, 2.0]))
    enc = torch.nn.Conv2d(3, 4, 1)
    out, aux = blk(ref, nbr, ref_img=ref_img, nbr_img=nbr_img, img_encoder=enc)
    torch.testing.assert_close(aux['warped_img'], shift(nbr_img, -1, 2), atol=1e-6, rtol=0)
    torch.testing.assert_close(out, blk.fusion(enc(shift(nbr_img, -1, 2))), atol=1e-6, rtol=1e-6)
    # flow predicted from images
    blk_i = FlowWarpAlign(4, level='image', flow_input='image')
    assert blk_i.conv_offset.in_channels == 6
    out, _ = blk_i(ref, nbr, ref_img=ref_img, nbr_img=nbr_img, img_encoder=enc)
    assert out.shape == (2, 4, 7, 9)


def test_image_level_has_the_feature_level_parameters_and_output_at_zero_flow():
    """Without own_encoder the two levels have the same parameters; loaded with the same weights they give the same
    output while the flow is zero (warp = identity, so encode∘warp = warp∘encode)."""
    torch.manual_seed(0)
    feat_blk, img_blk = FlowWarpAlign(4, num_head_convs=1), FlowWarpAlign(4, level='image', num_head_convs=1)
    assert {k: v.shape for k, v in feat_blk.state_dict().items()} == \
        {k: v.shape for k, v in img_blk.state_dict().items()}
    img_blk.load_state_dict(feat_blk.state_dict())
    enc = torch.nn.Conv2d(3, 4, 3, 1, 1)
    ref_img, nbr_img = feats(c=3, seed=1)
    ref, nbr = enc(ref_img), enc(nbr_img)
    out_f, _ = feat_blk(ref, nbr)
    out_i, _ = img_blk(ref, nbr, nbr_img=nbr_img, img_encoder=enc)
    torch.testing.assert_close(out_i, out_f, atol=1e-6, rtol=1e-6)


def test_image_level_with_a_larger_image_resizes_the_flow():
    """Features at half the image size (a coarser pyramid level): the flow (dy, dx) = (1, -1) feature pixels warps
    the image by (2, -2) image pixels; the encoder brings it back to the features' size."""
    ref, nbr = feats(c=4, h=6, w=8)
    nbr_img = torch.rand(2, 3, 12, 16)
    blk = FlowWarpAlign(4, level='image')
    with torch.no_grad():
        blk.conv_offset.bias.copy_(torch.tensor([1.0, -1.0]))
    enc = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 1), torch.nn.AvgPool2d(2))
    out, aux = blk(ref, nbr, nbr_img=nbr_img, img_encoder=enc)
    torch.testing.assert_close(aux['warped_img'], shift(nbr_img, 2, -2), atol=1e-5, rtol=0)
    torch.testing.assert_close(out, blk.fusion(enc(shift(nbr_img, 2, -2))), atol=1e-5, rtol=1e-5)
    assert aux['offsets'].shape == (2, 2, 6, 8)


def test_errors():
    ref, nbr = feats()
    with pytest.raises(ValueError, match='level must be one of'):
        FlowWarpAlign(8, level='pixel')
    with pytest.raises(ValueError, match='divisible by deform_groups'):
        FlowWarpAlign(6, deform_groups=4)
    with pytest.raises(ValueError, match='deform_groups must be 1'):
        FlowWarpAlign(8, level='image', deform_groups=2)
    with pytest.raises(ValueError, match="needs ctx 'nbr_img'"):
        FlowWarpAlign(8, level='image')(ref, nbr)
    with pytest.raises(ValueError, match="needs ctx 'ref_img'"):
        FlowWarpAlign(8, level='image', flow_input='image')(ref, nbr, nbr_img=torch.rand(2, 3, 7, 9))
    with pytest.raises(ValueError, match=r"ctx 'nbr_img' must be \(B, 3, s\*H, s\*W\)"):
        FlowWarpAlign(8, level='image')(ref, nbr, nbr_img=torch.rand(2, 3, 14, 19))
    with pytest.raises(ValueError, match='needs ctx img_encoder'):
        FlowWarpAlign(8, level='image')(ref, nbr, nbr_img=torch.rand(2, 3, 7, 9))
    with pytest.raises(ValueError, match=r'cond must be \(B, 16, H, W\)'):
        FlowWarpAlign(8)(ref, nbr, cond=torch.rand(2, 3, 7, 9))
    with pytest.raises(ValueError, match='img_encoder returned'):
        FlowWarpAlign(8, level='image')(ref, nbr, nbr_img=torch.rand(2, 3, 7, 9),
                                        img_encoder=torch.nn.Conv2d(3, 2, 1))
    assert not hasattr(FlowWarpAlign(8, level='image'), 'encoder')
