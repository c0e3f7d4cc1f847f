"""DCNv2Align: the alignment-block contract, EDVR's zero-initialised offsets, gradients and errors."""
import pytest
import torch
import torch.nn.functional as F

from vidtoolbox.models.alignment import BaseAlignment, DCNv2Align
from vidtoolbox.ops import deform_conv2d
from vidtoolbox.registry import MODELS


def feats(B=2, C=16, H=10, W=12, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(B, C, H, W, generator=g), torch.randn(B, C, H, W, generator=g)


def test_build_from_registry_and_attributes():
    block = MODELS.build(dict(type='DCNv2Align', in_channels=16, deform_groups=4))
    assert isinstance(block, DCNv2Align) and isinstance(block, BaseAlignment)
    assert block.num_offsets == 9 and block.deform_groups == 4
    assert block.out_channels == 16 and block.cond_channels == 32
    assert block.conv_offset.out_channels == 3 * 4 * 9


@pytest.mark.parametrize('k,G,out_ch', [(3, 8, None), (1, 2, 5), (5, 1, 16)])
def test_shapes_and_aux_layout(k, G, out_ch):
    ref, nbr = feats()
    block = DCNv2Align(16, out_channels=out_ch, kernel_size=k, deform_groups=G)
    aligned, aux = block(ref, nbr)
    assert aligned.shape == (2, out_ch or 16, 10, 12)
    assert aux['offsets'].shape == (2, G * k * k * 2, 10, 12)
    assert aux['masks'].shape == (2, G * k * k, 10, 12)


def test_zero_init_offsets_are_zero_and_block_is_half_weight_conv():
    ref, nbr = feats()
    block = DCNv2Align(16, deform_groups=8)
    aligned, aux = block(ref, nbr)
    assert torch.equal(aux['offsets'], torch.zeros_like(aux['offsets']))
    assert torch.equal(aux['masks'], torch.full_like(aux['masks'], 0.5))  # sigmoid(0)
    expected = F.conv2d(nbr, 0.5 * block.weight, block.bias, padding=1)
    assert (aligned - expected).abs().max() <= 1e-5
    # with the masks forced to 1 it is exactly the plain conv of nbr_feat
    with torch.no_grad():
        block.conv_offset.bias[2 * 8 * 9:] = 30.0
    aligned, aux = block(ref, nbr)
    assert (aligned - F.conv2d(nbr, block.weight, block.bias, padding=1)).abs().max() <= 1e-5


def test_offsets_from_bias_shift_the_neighbour():
    """A constant offset dx = +1 on every tap reads the neighbour one pixel further right: out(p) = conv(p + (0, 1))."""
    ref, nbr = feats(B=1, C=4, H=6, W=7)
    block = DCNv2Align(4, deform_groups=2)
    with torch.no_grad():
        block.conv_offset.bias[1:2 * 2 * 9:2] = 1.0  # odd channels = dx
        block.conv_offset.bias[2 * 2 * 9:] = 30.0     # masks ≈ 1
    aligned, aux = block(ref, nbr)
    assert torch.equal(aux['offsets'][:, 0::2], torch.zeros_like(aux['offsets'][:, 0::2]))  # dy
    # zero-padded conv evaluated one column to the right (column W reads zeros beyond the image)
    expected = F.conv2d(F.pad(nbr, (1, 2, 1, 1)), block.weight, block.bias)[..., 1:]
    assert (aligned - expected).abs().max() <= 1e-4


def test_cond_input_and_max_offset():
    ref, nbr = feats()
    block = DCNv2Align(16, cond_channels=7, deform_groups=4, max_offset=2.0)
    with torch.no_grad():
        block.conv_offset.weight.normal_(0, 5.0)
    cond = torch.randn(2, 7, 10, 12)
    aligned, aux = block(ref, nbr, cond=cond, ref_img=torch.zeros(2, 3, 10, 12))  # extra ctx is ignored
    off = aux['offsets']
    assert off.abs().max() <= 2.0 and off.abs().max() > 1.5
    raw = block.conv_offset(cond)[:, :2 * 4 * 9]
    assert torch.allclose(off, 2.0 * torch.tanh(raw / 2.0), atol=1e-6)
    expected = deform_conv2d(nbr, off, block.weight, block.bias, padding=1, mask=aux['masks'])
    assert torch.allclose(aligned, expected, atol=1e-6)


def test_gradients_flow():
    ref, nbr = feats()
    ref.requires_grad_()
    nbr.requires_grad_()
    block = DCNv2Align(16, deform_groups=4)
    aligned, aux = block(ref, nbr)
    (aligned.square().mean() + aux['offsets'].sum() * 0).backward()
    for name, t in (('nbr_feat', nbr.grad), ('weight', block.weight.grad), ('bias', block.bias.grad),
                    ('conv_offset.weight', block.conv_offset.weight.grad),
                    ('conv_offset.bias', block.conv_offset.bias.grad)):
        assert t is not None and t.abs().sum() > 0, name
    # at zero init, ref only reaches the output through the zero conv: its gradient is exactly zero
    assert torch.equal(ref.grad, torch.zeros_like(ref))
    # after one step the offset conv is non-zero and ref gets a gradient too
    with torch.no_grad():
        block.conv_offset.weight -= 0.1 * block.conv_offset.weight.grad
    ref.grad = None
    aligned, _ = block(ref, nbr)
    aligned.square().mean().backward()
    assert ref.grad.abs().sum() > 0


@pytest.mark.parametrize('kwargs,match', [
    (dict(in_channels=12, deform_groups=8), r'in_channels=12 must be divisible by deform_groups=8'),
    (dict(in_channels=16, kernel_size=2), r'kernel_size must be odd'),
    (dict(in_channels=0), r'in_channels must be a positive int'),
    (dict(in_channels=16, max_offset=0), r'max_offset must be None or > 0'),
    (dict(in_channels=16, out_channels=-1), r'out_channels must be a positive int'),
])
def test_constructor_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        DCNv2Align(**kwargs)


def test_forward_errors():
    block = DCNv2Align(16, deform_groups=4)
    ref, nbr = feats()
    with pytest.raises(ValueError, match=r'must have the same shape'):
        block(ref, nbr[:, :, :8])
    with pytest.raises(ValueError, match=r'expected 16 input channels, got 8'):
        block(ref[:, :8], nbr[:, :8])
    with pytest.raises(ValueError, match=r'cond must be \(B, cond_channels, H, W\) = \(2, 32, 10, 12\), got \(2, 16, 10, 12\)'):
        block(ref, nbr, cond=ref)
    with pytest.raises(ValueError, match=r'must be \(B, C, H, W\)'):
        block(ref[0], nbr[0])


def unmodulated_reference(nbr, offsets, weight, bias, k, groups):
    """DCNv1 written independently: k² grid_sample warps per group at p + p_k + Δp_k (zeros outside), stacked
    channel-major, then the k×k weight as a 1×1 conv over them."""
    b, c, h, w = nbr.shape
    ys, xs = torch.meshgrid(torch.arange(h, dtype=nbr.dtype), torch.arange(w, dtype=nbr.dtype), indexing='ij')
    taps = [(i - k // 2, j - k // 2) for i in range(k) for j in range(k)]
    cols = []
    for g in range(groups):
        part = nbr[:, g * c // groups:(g + 1) * c // groups]
        per_tap = []
        for n, (ty, tx) in enumerate(taps):
            dy, dx = offsets[:, 2 * (g * k * k + n)], offsets[:, 2 * (g * k * k + n) + 1]
            gx = 2 * (xs + tx + dx) / (w - 1) - 1
            gy = 2 * (ys + ty + dy) / (h - 1) - 1
            per_tap.append(F.grid_sample(part, torch.stack((gx, gy), -1), mode='bilinear', padding_mode='zeros',
                                         align_corners=True))
        cols.append(torch.stack(per_tap, 2))  # (B, C/G, k², H, W)
    col = torch.cat(cols, 1).reshape(b, c * k * k, h, w)
    return F.conv2d(col, weight.reshape(weight.shape[0], -1, 1, 1), bias)


@pytest.mark.parametrize('k,G', [(1, 1), (1, 4), (3, 2)])
def test_unmodulated_equals_the_dcnv1_reference(k, G):
    ref, nbr = feats(C=8, H=7, W=9)
    block = DCNv2Align(8, kernel_size=k, deform_groups=G, modulated=False, offset_kernel_size=3)
    assert block.conv_offset.out_channels == 2 * G * k * k and block.conv_offset.kernel_size == (3, 3)
    aligned, aux = block(ref, nbr)
    assert 'masks' not in aux  # no modulation: a fresh block is the plain conv (not half of it)
    torch.testing.assert_close(aligned, F.conv2d(nbr, block.weight, block.bias, padding=k // 2), atol=1e-5,
                               rtol=1e-5)
    with torch.no_grad():
        block.conv_offset.weight.normal_(0, 0.3)
        block.conv_offset.bias.normal_(0, 1.5)
    aligned, aux = block(ref, nbr)
    assert aux['offsets'].abs().max() > 2  # samples fall between pixels and outside the map
    expected = unmodulated_reference(nbr, aux['offsets'], block.weight, block.bias, k, G)
    torch.testing.assert_close(aligned, expected, atol=1e-5, rtol=1e-5)


def test_offset_kernel_size_default_and_errors():
    assert DCNv2Align(8, kernel_size=1, deform_groups=1).conv_offset.kernel_size == (1, 1)  # mmcv's convention
    assert DCNv2Align(8, kernel_size=1, deform_groups=1, offset_kernel_size=3).conv_offset.padding == (1, 1)
    with pytest.raises(ValueError, match='offset_kernel_size must be a positive odd int'):
        DCNv2Align(8, offset_kernel_size=2)
