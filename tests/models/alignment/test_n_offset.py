"""NOffsetAlign: the DCN decomposition (N warps + 1×1 conv) for any N, checked against plain and deformable convs."""
import pytest
import torch
import torch.nn.functional as F

from vidtoolbox.models.alignment import NOffsetAlign, base_offset_grid, warp_n_offsets
from vidtoolbox.ops import deform_conv2d
from vidtoolbox.registry import MODELS


def feats(b=2, c=8, h=7, w=9, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(b, c, h, w, generator=g), torch.rand(b, c, h, w, generator=g)


def shift(x, dy, dx):
    """out(y, x) = x(y + dy, x + dx), zero outside (integer shifts), written without grid_sample."""
    out = torch.zeros_like(x)
    h, w = x.shape[-2:]
    ys, yd = slice(max(dy, 0), h + min(dy, 0)), slice(max(-dy, 0), h + min(-dy, 0))
    xs, xd = slice(max(dx, 0), w + min(dx, 0)), slice(max(-dx, 0), w + min(-dx, 0))
    out[..., yd, xd] = x[..., ys, xs]
    return out


def test_base_grid_positions():
    assert base_offset_grid(1).tolist() == [[0.0, 0.0]]
    nine = base_offset_grid(9)
    assert nine.tolist() == [[i, j] for i in (-1.0, 0.0, 1.0) for j in (-1.0, 0.0, 1.0)]  # DCN taps, row-major
    assert base_offset_grid(9, dilation=2).tolist() == (nine * 2).tolist()
    assert base_offset_grid(5).tolist() == [[-1, 0], [0, -1], [0, 0], [0, 1], [1, 0]]  # centre + cross
    assert base_offset_grid(25).shape == (25, 2) and base_offset_grid(25).abs().max() == 2
    for n in (3, 15):  # distinct, within the smallest odd grid holding n
        g = base_offset_grid(n)
        assert len({tuple(p) for p in g.tolist()}) == n
    with pytest.raises(ValueError, match='num_offsets'):
        base_offset_grid(0)


def test_warp_n_offsets_integer_shifts_and_layout():
    x = torch.rand(1, 4, 6, 7)
    # G=2, N=2: group 0 offset 0 -> (dy=1, dx=0), group 0 offset 1 -> (0, -2), group 1 offsets (0, 0), (-1, 1)
    vals = [(1, 0), (0, -2), (0, 0), (-1, 1)]
    off = torch.tensor([v for pair in vals for v in pair], dtype=torch.float32).view(1, 8, 1, 1).expand(1, 8, 6, 7)
    out = warp_n_offsets(x, off, groups=2).view(1, 4, 2, 6, 7)  # channel c*N + n
    for c in range(4):
        g = c // 2
        for n in range(2):
            dy, dx = vals[g * 2 + n]
            assert torch.allclose(out[:, c, n], shift(x[:, c], dy, dx), atol=1e-6)


def test_zero_init_is_a_plain_convolution():
    """Δp = 0 and grid base positions: the block is a 3×3 conv whose weight is the 1×1 fusion weight reshaped."""
    ref, nbr = feats()
    blk = NOffsetAlign(8, out_channels=6, deform_groups=2, num_offsets=9, modulated=False)
    out, aux = blk(ref, nbr)
    w = blk.fusion.weight.view(6, 8, 3, 3)
    torch.testing.assert_close(out, F.conv2d(nbr, w, blk.fusion.bias, padding=1), atol=1e-5, rtol=1e-5)
    assert aux['offsets'].shape == (2, 2 * 9 * 2, 7, 9) and torch.count_nonzero(aux['offsets']) == 0
    assert 'masks' not in aux
    # modulated: masks start at sigmoid(0) = 0.5
    blk_m = NOffsetAlign(8, deform_groups=2, num_offsets=9, modulated=True)
    out_m, aux_m = blk_m(ref, nbr)
    assert aux_m['masks'].shape == (2, 18, 7, 9) and torch.all(aux_m['masks'] == 0.5)
    torch.testing.assert_close(out_m, F.conv2d(0.5 * nbr, blk_m.fusion.weight.view(8, 8, 3, 3), blk_m.fusion.bias,
                                               padding=1), atol=1e-5, rtol=1e-5)


def test_zero_kernel_init_is_n_identical_warps():
    ref, nbr = feats()
    blk = NOffsetAlign(8, deform_groups=1, num_offsets=5, modulated=False, kernel_init='zero')
    out, _ = blk(ref, nbr)
    w = blk.fusion.weight.view(8, 8, 5).sum(-1, keepdim=True).unsqueeze(-1)  # the 5 warps coincide
    torch.testing.assert_close(out, F.conv2d(nbr, w, blk.fusion.bias), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize('modulated', [True, False])
def test_equals_deform_conv2d_forward_and_backward(modulated):
    """N = k² with random offsets (reaching outside the map): same values and gradients as ops.deform_conv2d."""
    torch.manual_seed(0)
    ref, nbr = feats()
    nbr.requires_grad_(True)
    blk = NOffsetAlign(8, deform_groups=2, num_offsets=9, modulated=modulated)
    torch.nn.init.normal_(blk.conv_offset.weight, std=0.5)
    torch.nn.init.normal_(blk.conv_offset.bias, std=2.0)
    cond = torch.rand(2, 16, 7, 9)  # explicit cond: nbr reaches the output only through the warps
    out, aux = blk(ref, nbr, cond=cond)
    assert aux['offsets'].abs().max() > 3  # some samples fall outside the 7×9 map
    off = aux['offsets'].detach().requires_grad_(True)
    mask = aux['masks'].detach().requires_grad_(True) if modulated else None
    nbr2 = nbr.detach().clone().requires_grad_(True)
    w = blk.fusion.weight.detach().view(8, 8, 3, 3).clone().requires_grad_(True)
    ref_out = deform_conv2d(nbr2, off, w, blk.fusion.bias.detach(), padding=1, mask=mask, backend='torch')
    torch.testing.assert_close(out, ref_out, atol=1e-5, rtol=1e-5)
    gy = torch.randn_like(out)
    # gradients through the public path w.r.t. the input, the offsets/masks (via retain) and the weight
    aux['offsets'].retain_grad()
    if modulated:
        aux['masks'].retain_grad()
    (out * gy).sum().backward()
    (ref_out * gy).sum().backward()
    torch.testing.assert_close(nbr.grad, nbr2.grad, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(aux['offsets'].grad, off.grad, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(blk.fusion.weight.grad.view(8, 8, 3, 3), w.grad, atol=1e-5, rtol=1e-5)
    if modulated:
        torch.testing.assert_close(aux['masks'].grad, mask.grad, atol=1e-5, rtol=1e-5)


def test_copy_from_dcnv2align_forward_and_backward():
    """Weights of a DCNv2Align (k=3, G=2) copied into NOffsetAlign(N=9, G=2): identical forward and backward."""
    dcn_cls = MODELS.get('DCNv2Align')
    if dcn_cls is None:
        pytest.fail('DCNv2Align is not registered')
    torch.manual_seed(1)
    dcn = dcn_cls(in_channels=8, out_channels=8, cond_channels=8, deform_groups=2, kernel_size=3)
    blk = NOffsetAlign(8, out_channels=8, cond_channels=8, deform_groups=2, num_offsets=9)
    with torch.no_grad():
        for p in dcn.conv_offset.parameters():
            p.normal_(std=0.3)
    blk.load_from_dcn(dcn)
    ref, nbr = feats()
    cond = torch.rand(2, 8, 7, 9)
    xs = [t.clone().requires_grad_(True) for t in (ref, nbr, cond)]
    ys = [t.clone().requires_grad_(True) for t in (ref, nbr, cond)]
    out_d, aux_d = dcn(xs[0], xs[1], cond=xs[2])
    out_n, aux_n = blk(ys[0], ys[1], cond=ys[2])
    assert aux_d['offsets'].abs().max() > 1
    # the same chunked op at the same sampling coordinates (the centred taps with padding 0 are the DCN's taps with
    # padding 1, all integers): not just close, identical
    assert torch.equal(out_n, out_d)
    assert torch.equal(aux_n['offsets'], aux_d['offsets']) and torch.equal(aux_n['masks'], aux_d['masks'])
    gy = torch.randn_like(out_d)
    (out_d * gy).sum().backward()
    (out_n * gy).sum().backward()
    for a, b in zip(xs[1:], ys[1:]):
        assert torch.equal(b.grad, a.grad)
    assert torch.equal(blk.conv_offset.weight.grad, dcn.conv_offset.weight.grad)
    assert torch.equal(blk.fusion.weight.grad.view_as(dcn.weight), dcn.weight.grad)
    assert torch.equal(blk.fusion.bias.grad, dcn.bias.grad)


@pytest.mark.parametrize('n,groups,modulated,kernel_init', [
    (1, 2, True, 'grid'), (5, 1, True, 'grid'), (9, 2, False, 'grid'), (25, 1, True, 'grid'), (3, 2, True, 'zero')])
def test_fast_path_equals_plain_warps_plus_fusion(n, groups, modulated, kernel_init):
    """The forward (ops.n_offset_conv2d, chunked) against the plain formulation — warp_n_offsets stacking all N warps,
    then the 1×1 fusion conv — in float64: values and the gradients of every input and parameter."""
    torch.manual_seed(n)
    blk = NOffsetAlign(8, out_channels=6, cond_channels=5, deform_groups=groups, num_offsets=n, modulated=modulated,
                       kernel_init=kernel_init).double()
    with torch.no_grad():
        blk.conv_offset.weight.normal_(std=0.4)
        blk.conv_offset.bias.normal_(std=2.0)
        blk.fusion.bias.normal_()
    ref, nbr = (t.double() for t in feats())
    cond = torch.rand(2, 5, 7, 9, dtype=torch.float64)

    def plain(ref, nbr, cond):
        offsets, masks = blk.predict_offsets(ref, nbr, cond)
        return blk.fusion(warp_n_offsets(nbr, offsets + blk.base_offsets, groups, masks))

    gy = torch.randn(2, 6, 7, 9, dtype=torch.float64)
    params = list(blk.parameters())
    results = []
    for fn in (lambda *t: blk(*t)[0], plain):
        leaves = [t.clone().requires_grad_() for t in (nbr, cond)]
        out = fn(ref, *leaves)
        results.append((out, torch.autograd.grad(out, leaves + params, gy)))
    (out, grads), (out_ref, grads_ref) = results
    assert blk.predict_offsets(ref, nbr, cond)[0].abs().max() > 3  # samples reach outside the 7×9 map
    torch.testing.assert_close(out, out_ref, atol=1e-10, rtol=0)
    for name, a, r in zip(['nbr', 'cond'] + [k for k, _ in blk.named_parameters()], grads, grads_ref):
        torch.testing.assert_close(a, r, atol=1e-9, rtol=1e-9, msg=name)


def test_any_n_shapes_gradients_and_registry():
    ref, nbr = feats(c=4)
    for n in (1, 2, 3, 5, 15, 25):
        blk = MODELS.build(dict(type='NOffsetAlign', in_channels=4, deform_groups=1, num_offsets=n))
        assert blk.num_offsets == n and blk.deform_groups == 1
        out, aux = blk(ref, nbr)
        assert out.shape == ref.shape and aux['offsets'].shape == (2, 2 * n, 7, 9)
        assert aux['masks'].shape == (2, n, 7, 9)
        out.square().mean().backward()
        g = blk.conv_offset.weight.grad
        assert g is not None and torch.isfinite(g).all() and g.abs().sum() > 0  # offsets learn from step one


def test_errors():
    with pytest.raises(ValueError, match='divisible by deform_groups'):
        NOffsetAlign(6, deform_groups=4)
    with pytest.raises(ValueError, match='kernel_init'):
        NOffsetAlign(8, kernel_init='random')
    with pytest.raises(ValueError, match='num_offsets'):
        NOffsetAlign(8, num_offsets=0)
    blk = NOffsetAlign(8, deform_groups=2, num_offsets=4)
    ref, nbr = feats()
    with pytest.raises(ValueError, match='same shape'):
        blk(ref, nbr[:, :, :5])
    with pytest.raises(ValueError, match='expected 8 input channels'):
        blk(ref[:, :4], nbr[:, :4])
    with pytest.raises(ValueError, match=r'cond must be \(B, 16, H, W\)'):
        blk(ref, nbr, cond=torch.rand(2, 8, 7, 9))
    with pytest.raises(TypeError, match='load_from_dcn'):
        blk.load_from_dcn(NOffsetAlign(8, deform_groups=2, num_offsets=4))  # no .weight
