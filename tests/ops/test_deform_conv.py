"""deform_conv2d against a per-pixel reference written here (explicit bilinear sampling, mmcv semantics)."""
import itertools

import pytest
import torch
import torch.nn.functional as F

from vidtoolbox.ops import deform_conv as dc_module
from vidtoolbox.ops import deform_conv2d, mmcv_deform_conv_available


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def bilinear_zero(img, y, x):
    """Sample ``img`` (C, H, W) at one real position; each of the four neighbours outside counts as 0."""
    C, H, W = img.shape
    y0, x0 = int(torch.floor(y)), int(torch.floor(x))
    ly, lx = y - y0, x - x0
    out = img.new_zeros(C)
    for yy, xx, wgt in ((y0, x0, (1 - ly) * (1 - lx)), (y0, x0 + 1, (1 - ly) * lx),
                        (y0 + 1, x0, ly * (1 - lx)), (y0 + 1, x0 + 1, ly * lx)):
        if 0 <= yy < H and 0 <= xx < W:
            out = out + wgt * img[:, yy, xx]
    return out


def reference_deform_conv2d(x, offset, weight, bias=None, stride=1, padding=0, dilation=1, mask=None, groups=1):
    """Loop over images, output pixels, deformable groups and kernel taps; autograd gives the gradients."""
    stride, padding, dilation = _pair(stride), _pair(padding), _pair(dilation)
    B, Cin, H, W = x.shape
    Cout, Cin_g, kh, kw = weight.shape
    K = kh * kw
    G = offset.shape[1] // (2 * K)
    Cg = Cin // G
    Ho, Wo = offset.shape[2:]
    out_rows = []
    for b in range(B):
        pix = []
        for ho, wo in itertools.product(range(Ho), range(Wo)):
            samples = []  # (Cin, kh, kw) column for this output pixel
            for g in range(G):
                taps = []
                for i, j in itertools.product(range(kh), range(kw)):
                    k = i * kw + j
                    y = ho * stride[0] - padding[0] + i * dilation[0] + offset[b, 2 * (g * K + k), ho, wo]
                    xx = wo * stride[1] - padding[1] + j * dilation[1] + offset[b, 2 * (g * K + k) + 1, ho, wo]
                    v = bilinear_zero(x[b, g * Cg:(g + 1) * Cg], y, xx)
                    if mask is not None:
                        v = v * mask[b, g * K + k, ho, wo]
                    taps.append(v)
                samples.append(torch.stack(taps, -1).view(Cg, kh, kw))
            col = torch.cat(samples, 0)  # (Cin, kh, kw)
            cog = Cout // groups
            val = torch.cat([(weight[q * cog:(q + 1) * cog] * col[q * Cin_g:(q + 1) * Cin_g]).sum((1, 2, 3))
                             for q in range(groups)])
            pix.append(val if bias is None else val + bias)
        out_rows.append(torch.stack(pix, -1).view(Cout, Ho, Wo))
    return torch.stack(out_rows)


def make_inputs(B=2, Cin=4, Cout=3, H=6, W=5, k=3, stride=1, padding=0, dilation=1, G=1, groups=1, mask=True,
                dtype=torch.float64, scale=1.5, seed=0):
    g = torch.Generator().manual_seed(seed)
    kh, kw = _pair(k)
    (sh, sw), (ph, pw), (dh, dw) = _pair(stride), _pair(padding), _pair(dilation)
    Ho, Wo = (H + 2 * ph - dh * (kh - 1) - 1) // sh + 1, (W + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    x = torch.randn(B, Cin, H, W, generator=g, dtype=dtype)
    off = torch.randn(B, 2 * G * kh * kw, Ho, Wo, generator=g, dtype=dtype) * scale
    w = torch.randn(Cout, Cin // groups, kh, kw, generator=g, dtype=dtype)
    bias = torch.randn(Cout, generator=g, dtype=dtype)
    m = torch.rand(B, G * kh * kw, Ho, Wo, generator=g, dtype=dtype) if mask else None
    return x, off, w, bias, m


def _grads(fn, tensors, gout):
    leaves = [t.detach().clone().requires_grad_() if t is not None else None for t in tensors]
    y = fn(*leaves)
    ins = [t for t in leaves if t is not None]
    return y.detach(), torch.autograd.grad(y, ins, gout)


@pytest.mark.parametrize('stride,padding,dilation,G,mask',
                         list(itertools.product((1, 2), (0, 1), (1, 2), (1, 2), (True, False))))
def test_matches_reference_forward_and_backward(stride, padding, dilation, G, mask):
    # one image here (batching is covered by the other tests), small sizes: the reference loops in Python
    x, off, w, b, m = make_inputs(B=1, Cin=2, Cout=2, H=6, W=5, stride=stride, padding=padding, dilation=dilation,
                                  G=G, mask=mask, seed=stride + 2 * padding + 4 * dilation + 8 * G)
    kw = dict(stride=stride, padding=padding, dilation=dilation)
    gout = torch.randn(1, 2, *off.shape[2:], dtype=x.dtype)
    y_ref, g_ref = _grads(lambda x, o, w, b, m: reference_deform_conv2d(x, o, w, b, mask=m, **kw), (x, off, w, b, m),
                          gout)
    y, g = _grads(lambda x, o, w, b, m: deform_conv2d(x, o, w, b, mask=m, backend='torch', **kw), (x, off, w, b, m),
                  gout)
    assert y.shape == y_ref.shape
    assert (y - y_ref).abs().max() <= 1e-5
    for name, a, r in zip(('input', 'offset', 'weight', 'bias', 'mask'), g, g_ref):
        assert (a - r).abs().max() <= 1e-5, name


def test_matches_reference_groups_rect_kernel_and_float32():
    x, off, w, b, m = make_inputs(Cin=4, Cout=4, H=5, W=7, k=(3, 2), stride=(2, 1), padding=(1, 0),
                                  dilation=(1, 2), G=2, groups=2, dtype=torch.float32)
    kw = dict(stride=(2, 1), padding=(1, 0), dilation=(1, 2), groups=2)
    gout = torch.randn(2, 4, *off.shape[2:], dtype=torch.float64)
    y_ref, g_ref = _grads(lambda *t: reference_deform_conv2d(*t[:4], mask=t[4], **kw),
                      [t.double() for t in (x, off, w, b, m)], gout)
    y, g = _grads(lambda *t: deform_conv2d(*t[:4], mask=t[4], **kw), (x, off, w, b, m), gout.float())
    assert y.dtype == torch.float32
    assert (y.double() - y_ref).abs().max() <= 1e-4
    for a, r in zip(g, g_ref):
        assert (a.double() - r).abs().max() <= 1e-4


def test_chunking_does_not_change_the_result():
    x, off, w, b, m = make_inputs(B=3, Cin=8, Cout=5, H=9, W=7, padding=1, G=2)
    gout = torch.randn(3, 5, 9, 7, dtype=torch.float64)
    ins = (x, off, w, b, m)
    y0, g0 = _grads(lambda x, o, w, b, m: deform_conv2d(x, o, w, b, padding=1, mask=m, chunk_bytes=1 << 30), ins,
                    gout)
    row_bytes = 8 * 9 * 7 * 8  # Cin * K * Wo * itemsize: one output row of samples
    for cb in (1, 3 * row_bytes, 9 * row_bytes * 2):  # 1 row, 3 rows, 2 whole images per chunk
        y, g = _grads(lambda x, o, w, b, m: deform_conv2d(x, o, w, b, padding=1, mask=m, chunk_bytes=cb), ins, gout)
        assert torch.allclose(y, y0, atol=1e-12)
        for a, r in zip(g, g0):
            assert torch.allclose(a, r, atol=1e-12)


@pytest.mark.parametrize('stride,padding,dilation', [(1, 1, 1), (2, 0, 1), (1, 2, 2), ((2, 1), (1, 0), (1, 2))])
def test_zero_offsets_equal_conv2d(stride, padding, dilation):
    g = torch.Generator().manual_seed(3)
    x = torch.randn(2, 16, 13, 11, generator=g)
    w = torch.randn(8, 16, 3, 3, generator=g) / 12  # ~1/sqrt(fan_in): outputs O(1), float32 sums exact to ~1e-6
    b = torch.randn(8, generator=g)
    ref = F.conv2d(x, w, b, stride=stride, padding=padding, dilation=dilation)
    off = torch.zeros(2, 2 * 4 * 9, *ref.shape[2:])
    y = deform_conv2d(x, off, w, b, stride=stride, padding=padding, dilation=dilation)
    assert (y - ref).abs().max() <= 1e-5
    ones = torch.ones(2, 4 * 9, *ref.shape[2:])
    y = deform_conv2d(x, off, w, b, stride=stride, padding=padding, dilation=dilation, mask=ones)
    assert (y - ref).abs().max() <= 1e-5


def test_integer_offset_is_a_shift_and_half_pixel_averages():
    g = torch.Generator().manual_seed(4)
    x = torch.randn(1, 2, 8, 9, generator=g, dtype=torch.float64)
    w = torch.randn(3, 2, 1, 1, generator=g, dtype=torch.float64)
    off = torch.zeros(1, 2, 8, 9, dtype=torch.float64)
    off[:, 1] = 2.0  # dx = +2: out(y, x) = w·in(y, x + 2), zero where x + 2 >= W
    y = deform_conv2d(x, off, w)
    shifted = torch.zeros_like(x)
    shifted[..., :-2] = x[..., 2:]
    assert torch.allclose(y, F.conv2d(shifted, w), atol=1e-12)
    off = torch.zeros(1, 2, 8, 9, dtype=torch.float64)
    off[:, 0] = 0.5  # dy = +0.5: average of rows y and y+1; the last row averages with the zero outside
    y = deform_conv2d(x, off, w)
    avg = 0.5 * (x + F.pad(x[:, :, 1:], (0, 0, 0, 1)))
    assert torch.allclose(y, F.conv2d(avg, w), atol=1e-12)


def test_samples_vanish_outside_and_single_pixel_inputs():
    x = torch.randn(1, 2, 1, 1, dtype=torch.float64)
    w = torch.ones(1, 2, 1, 1, dtype=torch.float64)
    off = torch.tensor([0.0, 0.25], dtype=torch.float64).view(1, 2, 1, 1)  # dx=0.25: 0.75·x + 0.25·0
    assert torch.allclose(deform_conv2d(x, off, w), 0.75 * x.sum().view(1, 1, 1, 1))
    for far in (-1.0, 1.0, -7.5, 3.2):  # |d| >= 1 from the only pixel: nothing left
        off = torch.tensor([far, 0.0], dtype=torch.float64).view(1, 2, 1, 1)
        assert deform_conv2d(x, off, w).abs().max() == 0
    x, off, w, b, m = make_inputs(B=1, Cin=2, Cout=2, H=1, W=4, k=(1, 3), padding=(0, 1))
    y_ref = reference_deform_conv2d(x, off, w, b, padding=(0, 1), mask=m)
    assert torch.allclose(deform_conv2d(x, off, w, b, padding=(0, 1), mask=m), y_ref, atol=1e-12)


def test_gradcheck_small():
    x, off, w, b, m = make_inputs(B=1, Cin=2, Cout=1, H=3, W=3, padding=1, G=2, scale=0.7)
    ins = tuple(t.requires_grad_() for t in (x, off, w, b, m))
    assert torch.autograd.gradcheck(lambda x, o, w, b, m: deform_conv2d(x, o, w, b, padding=1, mask=m), ins)


def test_only_requested_gradients():
    x, off, w, b, m = make_inputs()
    off.requires_grad_()
    y = deform_conv2d(x, off, w, b, mask=m)
    (g,) = torch.autograd.grad(y.sum(), [off])
    assert g.shape == off.shape and g.abs().sum() > 0
    assert deform_conv2d(x, off.detach(), w, b, mask=m).grad_fn is None


@pytest.mark.parametrize('kwargs,err,match', [
    (dict(off_ch=17), ValueError, r'offset has 17 channels; expected 2\*G\*kh\*kw'),
    (dict(off_ch=2 * 3 * 9), ValueError, r'input channels 4 must be divisible by .* G=3'),
    (dict(off_hw=(5, 5)), ValueError, r'offset spatial size \(5, 5\) must equal the output size \(6, 5\)'),
    (dict(mask_ch=10), ValueError, r'mask must be \(B, G\*kh\*kw, Ho, Wo\) = \(2, 9, 6, 5\)'),
    (dict(mask_hw=(6, 4)), ValueError, r'mask must be .* got \(2, 9, 6, 4\)'),
    (dict(w_in=3), ValueError, r'weight expects 3 input channels per group'),
    (dict(bias_len=2), ValueError, r'bias must be \(3,\)'),
    (dict(off_b=1), ValueError, r'offset batch 1 differs from input batch 2'),
    (dict(x_dim=3), ValueError, r'input must be \(B, Cin, H, W\)'),
    (dict(off_dtype=torch.float64), TypeError, r'offset dtype torch.float64 differs from input dtype'),
    (dict(stride=0), ValueError, r'expected stride >= 1'),
    (dict(stride=1.5), TypeError, r'stride must be an int or a pair of ints'),
    (dict(backend='cuda'), ValueError, r"backend must be one of \('auto', 'torch', 'mmcv'\)"),
    (dict(groups=2), ValueError, r'weight expects 4 input channels per group × groups=2'),
])
def test_errors(kwargs, err, match):
    x = torch.randn(2, 4, 6, 5)
    off = torch.zeros(kwargs.get('off_b', 2), kwargs.get('off_ch', 18), *kwargs.get('off_hw', (6, 5)),
                      dtype=kwargs.get('off_dtype', torch.float32))
    mask = torch.ones(2, kwargs.get('mask_ch', 9), *kwargs.get('mask_hw', (6, 5)))
    w = torch.randn(3, kwargs.get('w_in', 4), 3, 3)
    b = torch.randn(kwargs.get('bias_len', 3))
    if kwargs.get('x_dim') == 3:
        x = x[0]
    with pytest.raises(err, match=match):
        deform_conv2d(x, off, w, b, stride=kwargs.get('stride', 1), padding=1, mask=mask,
                      groups=kwargs.get('groups', 1), backend=kwargs.get('backend', 'auto'))


def test_too_small_input_error():
    with pytest.raises(ValueError, match=r'input 2×2 is too small for kernel 3×3'):
        deform_conv2d(torch.randn(1, 1, 2, 2), torch.zeros(1, 18, 1, 1), torch.randn(1, 1, 3, 3))


@pytest.mark.skipif(mmcv_deform_conv_available(), reason='mmcv full is installed: the error path cannot run')
def test_mmcv_backend_missing_raises_with_install_hint_and_auto_falls_back():
    x, off, w, b, m = make_inputs()
    with pytest.raises(ImportError, match=r"backend='mmcv' needs mmcv full.*mim install"):
        deform_conv2d(x, off, w, b, mask=m, backend='mmcv')
    assert torch.equal(deform_conv2d(x, off, w, b, mask=m, backend='auto'),
                       deform_conv2d(x, off, w, b, mask=m, backend='torch'))


def test_mmcv_backend_dispatch(monkeypatch):
    """With mmcv importable, 'mmcv' calls its op with mmcv's argument order; 'torch' never does, and 'auto' does only
    for CUDA tensors (mmcv's CPU kernel is slower than ours)."""
    calls = []

    def fake_op(input, offset, mask, weight, bias, stride, padding, dilation, groups, deform_groups):
        calls.append((mask, stride, padding, dilation, groups, deform_groups))
        return deform_conv2d(input, offset, weight, bias, stride, padding, dilation, mask, groups, backend='torch')

    monkeypatch.setattr(dc_module, '_MMCV_CHECKED', True)
    monkeypatch.setattr(dc_module, '_MMCV_OP', fake_op)
    x, off, w, b, _ = make_inputs(G=2, stride=2, padding=1)
    ref = deform_conv2d(x, off, w, b, stride=2, padding=1, backend='torch')
    assert not calls
    for backend in ('mmcv', 'auto'):
        y = deform_conv2d(x, off, w, b, stride=2, padding=1, backend=backend)
        assert torch.allclose(y, ref, atol=1e-12)
    assert len(calls) == 1  # 'auto' on CPU tensors stays with the pure-PyTorch op
    mask, stride, padding, dilation, groups, G = calls[0]
    assert torch.equal(mask, torch.ones(2, 18, 3, 3, dtype=x.dtype))  # DCNv1 = mask of ones
    assert (stride, padding, dilation, groups, G) == ((2, 2), (1, 1), (1, 1), 1, 2)


# ---------------------------------------------------------------------------------------------------------------
# n_offset_conv2d (arbitrary base positions), the memory policy and the GEMM engines
# ---------------------------------------------------------------------------------------------------------------

@pytest.fixture
def gemm_engine():
    """Set an engine for one test; 'auto' (the default) again afterwards."""
    yield dc_module.set_deform_conv_gemm
    dc_module.set_deform_conv_gemm('auto')


def reference_n_offset_conv2d(x, offset, weight, base, bias=None, stride=1, padding=0, mask=None, groups=1):
    """Per-pixel loop: channel c sampled at p0 + base[g(c), n] + offset, weighted by W[:, c·N + n]."""
    stride, padding = _pair(stride), _pair(padding)
    B, Cin, H, W = x.shape
    N = base.shape[-2]
    G = offset.shape[1] // (2 * N)
    base = base.reshape(-1, N, 2).expand(G, N, 2)
    Cg, Ho, Wo = Cin // G, offset.shape[2], offset.shape[3]
    Cout = weight.shape[0]
    cog, cig = Cout // groups, Cin // groups
    w3 = weight.view(Cout, cig, N)
    out = []
    for b in range(B):
        pix = []
        for ho, wo in itertools.product(range(Ho), range(Wo)):
            col = []
            for g in range(G):
                taps = []
                for n in range(N):
                    y = ho * stride[0] - padding[0] + base[g, n, 0] + offset[b, 2 * (g * N + n), ho, wo]
                    xx = wo * stride[1] - padding[1] + base[g, n, 1] + offset[b, 2 * (g * N + n) + 1, ho, wo]
                    v = bilinear_zero(x[b, g * Cg:(g + 1) * Cg], y, xx)
                    taps.append(v if mask is None else v * mask[b, g * N + n, ho, wo])
                col.append(torch.stack(taps, -1))  # (Cg, N)
            col = torch.cat(col, 0)  # (Cin, N)
            val = torch.cat([(w3[q * cog:(q + 1) * cog] * col[q * cig:(q + 1) * cig]).sum((1, 2))
                             for q in range(groups)])
            pix.append(val if bias is None else val + bias)
        out.append(torch.stack(pix, -1).view(Cout, Ho, Wo))
    return torch.stack(out)


@pytest.mark.parametrize('case', ['float_base', 'per_group_base', 'stride_padding_groups', 'no_mask_n1'])
def test_n_offset_conv2d_matches_reference(case):
    g = torch.Generator().manual_seed(11)
    B, Cin, Cout, H, W, G, groups, stride, padding, Ho, Wo, N = 2, 4, 3, 5, 6, 2, 1, 1, 0, 5, 6, 5
    if case == 'stride_padding_groups':
        Cout, groups, stride, padding, Ho, Wo = 4, 2, (2, 1), (1, 0), 3, 4
    if case == 'no_mask_n1':
        N, G = 1, 1
    base = torch.randn(N, 2, generator=g, dtype=torch.float64) * 1.3  # fractional, any position
    if case == 'per_group_base':
        base = torch.randn(G, N, 2, generator=g, dtype=torch.float64) * 1.3
    x = torch.randn(B, Cin, H, W, generator=g, dtype=torch.float64)
    off = torch.randn(B, 2 * G * N, Ho, Wo, generator=g, dtype=torch.float64) * 1.5
    w = torch.randn(Cout, Cin // groups * N, 1, 1, generator=g, dtype=torch.float64)
    bias = torch.randn(Cout, generator=g, dtype=torch.float64)
    m = None if case == 'no_mask_n1' else torch.rand(B, G * N, Ho, Wo, generator=g, dtype=torch.float64)
    kw = dict(stride=stride, padding=padding, groups=groups)
    gout = torch.randn(B, Cout, Ho, Wo, generator=g, dtype=torch.float64)
    y_ref, g_ref = _grads(lambda x, o, w, b, m: reference_n_offset_conv2d(x, o, w, base, b, mask=m, **kw),
                          (x, off, w, bias, m), gout)
    y, gr = _grads(lambda x, o, w, b, m: dc_module.n_offset_conv2d(x, o, w, base, b, mask=m, **kw),
                   (x, off, w, bias, m), gout)
    assert (y - y_ref).abs().max() <= 1e-10
    for name, a, r in zip(('input', 'offset', 'weight', 'bias', 'mask'), gr, g_ref):
        assert (a - r).abs().max() <= 1e-10, name


def test_deform_conv2d_is_n_offset_conv2d_at_the_kernel_taps():
    """Same numbers, bit for bit: deform_conv2d = n_offset_conv2d with base (i·dil_h, j·dil_w)."""
    x, off, w, b, m = make_inputs(B=2, Cin=4, Cout=4, H=9, W=8, k=(3, 2), stride=2, padding=(2, 1),
                                  dilation=(2, 1), G=2, groups=2, dtype=torch.float32)
    kh, kw = 3, 2
    base = torch.tensor([[i * 2.0, j * 1.0] for i in range(kh) for j in range(kw)])
    gout = torch.randn(2, 4, *off.shape[2:])
    y0, g0 = _grads(lambda x, o, w, b, m: deform_conv2d(x, o, w, b, stride=2, padding=(2, 1), dilation=(2, 1),
                                                        mask=m, groups=2), (x, off, w, b, m), gout)
    y1, g1 = _grads(lambda x, o, w, b, m: dc_module.n_offset_conv2d(x, o, w.reshape(4, -1, 1, 1), base, b,
                                                                    stride=2, padding=(2, 1), mask=m, groups=2),
                    (x, off, w, b, m), gout)
    assert torch.equal(y0, y1)
    for a, r in zip(g0, g1):
        assert torch.equal(a, r)


def test_sampling_grid_is_the_documented_formula():
    """The grid_sample coordinates: x_n = ((wo·s − p + base_x)·sx − 1) + sx·dx with sx = 2/(W − 1), bit for bit
    (these numbers set the offset gradient; any other rounding would change it)."""
    g = torch.Generator().manual_seed(5)
    B, C, H, W, G, N, Ho, Wo = 2, 4, 7, 9, 2, 3, 4, 5
    x = torch.randn(B, C, H, W, generator=g)
    base = torch.randn(N, 2, generator=g) * 2
    off = torch.randn(B, G, N, 2, Ho, Wo, generator=g) * 3
    plan = dc_module._Plan(x, base, 3, Ho, Wo, (2, 1), (1, 2), 1, G, 1 << 20)
    buf = torch.empty(B * G * N * Ho * Wo * 2)
    grid = plan.grid(buf, off, 0, B, 1, 3).reshape(B, G, N, 2, Wo, 2)  # output rows 1..2
    sy, sx = 2.0 / (H - 1), 2.0 / (W - 1)
    ho = torch.arange(Ho, dtype=torch.float32)[1:3]
    wo = torch.arange(Wo, dtype=torch.float32)
    by = ((ho.view(1, -1) * 2 - 1 + base[:, 0:1]) * sy - 1.0).view(N, 2, 1)
    bx = ((wo.view(1, -1) * 1 - 2 + base[:, 1:2]) * sx - 1.0).view(N, 1, Wo)
    assert torch.equal(grid[..., 1], torch.add(by, off[:, :, :, 0, 1:3], alpha=sy))
    assert torch.equal(grid[..., 0], torch.add(bx, off[:, :, :, 1, 1:3], alpha=sx))


@pytest.mark.parametrize('mask_grad', [True, False])
def test_kept_and_resampled_columns_give_identical_results(mask_grad, gemm_engine):
    """keep_bytes only trades memory for time: bit-identical outputs and gradients, also on a second backward."""
    gemm_engine('mm')
    x, off, w, b, m = make_inputs(B=3, Cin=8, Cout=5, H=9, W=7, padding=1, G=2, dtype=torch.float32)
    gout = torch.randn(3, 5, 9, 7)
    results = []
    for keep, cb in ((None, None), (0, None), (None, 3000), (0, 3000)):
        leaves = [t.clone().requires_grad_(t is not m or mask_grad) for t in (x, off, w, b, m)]
        y = deform_conv2d(*leaves[:4], padding=1, mask=leaves[4], keep_bytes=keep, chunk_bytes=cb)
        wanted = [t for t in leaves if t.requires_grad]
        g1 = torch.autograd.grad(y, wanted, gout, retain_graph=True)
        g2 = torch.autograd.grad(y, wanted, gout)  # the kept columns are gone: resampled
        for a, r in zip(g1, g2):
            assert torch.equal(a, r)
        results.append((y, g1))
    for y, grads in results[1:]:
        assert torch.allclose(y, results[0][0], atol=1e-5)  # chunking changes the GEMM shapes
        for a, r in zip(grads, results[0][1]):
            assert torch.allclose(a, r, atol=1e-4, rtol=1e-5)
    y0, g0 = results[0]
    y1, g1 = results[1]  # same chunks, keep vs resample: identical
    assert torch.equal(y0, y1) and all(torch.equal(a, r) for a, r in zip(g0, g1))


def test_zero_and_tiny_masks_get_the_exact_mask_gradient():
    """The mask gradient divides (mask·sample) by the mask; masks of 0 or below sqrt(tiny) take the exact path."""
    x, off, w, b, m = make_inputs(B=2, Cin=4, Cout=3, H=6, W=5, padding=1, G=2, dtype=torch.float32)
    m[0, :, 1:3] = 0.0
    m[1, 3, 2, 2] = 1e-30
    m[1, 4, 0, 1] = 1e-41  # subnormal
    gout = torch.randn(2, 3, 6, 5)
    ins64 = [t.double() for t in (x, off, w, b, m)]
    _, g_ref = _grads(lambda x, o, w, b, m: reference_deform_conv2d(x, o, w, b, padding=1, mask=m), ins64,
                      gout.double())
    for keep in (None, 0):
        _, gr = _grads(lambda x, o, w, b, m: deform_conv2d(x, o, w, b, padding=1, mask=m, keep_bytes=keep),
                       (x, off, w, b, m), gout)
        for name, a, r in zip(('input', 'offset', 'weight', 'bias', 'mask'), gr, g_ref):
            assert torch.isfinite(a).all(), name
            assert (a.double() - r).abs().max() <= 1e-4, name


@pytest.mark.parametrize('engine', ['mm', 'onednn', 'auto'])
def test_gemm_engines_give_the_same_result(engine, gemm_engine):
    """Every engine computes the same products (oneDNN falls back to torch.mm where it cannot run)."""
    gemm_engine(engine)
    x, off, w, b, m = make_inputs(B=2, Cin=16, Cout=8, H=12, W=10, padding=1, G=4, groups=2, dtype=torch.float32)
    gout = torch.randn(2, 8, 12, 10)
    ins64 = [t.double() for t in (x, off, w, b, m)]
    y_ref, g_ref = _grads(lambda x, o, w, b, m: deform_conv2d(x, o, w, b, padding=1, mask=m, groups=2), ins64,
                          gout.double())
    for cb in (None, 4000):  # whole images and row chunks
        y, gr = _grads(lambda x, o, w, b, m: deform_conv2d(x, o, w, b, padding=1, mask=m, groups=2,
                                                           chunk_bytes=cb), (x, off, w, b, m), gout)
        assert (y.double() - y_ref).abs().max() <= 1e-4
        for name, a, r in zip(('input', 'offset', 'weight', 'bias', 'mask'), gr, g_ref):
            assert (a.double() - r).abs().max() <= 1e-4 * max(1.0, r.abs().max().item()), name
    choices = dc_module.deform_conv_gemm_choices()
    if engine == 'auto' and torch.backends.mkldnn.is_available():
        # forward, columns' gradient and weight gradient measured for both chunk shapes
        assert len(choices) >= 3 and set(choices.values()) <= {'mm', 'onednn'}
    else:
        assert choices == {}
    with pytest.raises(ValueError, match=r"engine must be one of \('auto', 'mm', 'onednn'\)"):
        dc_module.set_deform_conv_gemm('mkl')


def test_pooled_workspaces_never_leak_stale_values():
    """Reused buffers start with whatever the last call left: poison them and check nothing changes."""
    x, off, w, b, m = make_inputs(B=2, Cin=8, Cout=4, H=9, W=7, padding=1, G=2, dtype=torch.float32)
    gout = torch.randn(2, 4, 9, 7)
    fn = lambda x, o, w, b, m: deform_conv2d(x, o, w, b, padding=1, mask=m, chunk_bytes=5000)  # noqa: E731
    dc_module.release_deform_conv_workspace()
    y0, g0 = _grads(fn, (x, off, w, b, m), gout)
    assert dc_module._POOL._free  # the call returned its workspaces (grids, column gradients, kept columns)
    for buf in dc_module._POOL._free:
        buf.fill_(float('nan'))
    y1, g1 = _grads(fn, (x, off, w, b, m), gout)
    assert torch.equal(y0, y1) and all(torch.equal(a, r) for a, r in zip(g0, g1))
    dc_module.release_deform_conv_workspace()
    assert not dc_module._POOL._free


@pytest.mark.parametrize('kwargs,err,match', [
    (dict(base=torch.zeros(3)), ValueError, r'base must be \(N, 2\) or \(G, N, 2\)'),
    (dict(base=torch.zeros(3, 3, 2)), ValueError, r'base has positions for 3 groups but offset has G=2'),
    (dict(base=torch.tensor([[0.0, float('nan')]] * 3)), ValueError, r'base positions must be finite'),
    (dict(base=[[0, 0]] * 3), TypeError, r'base must be a torch.Tensor'),
    (dict(off_ch=10), ValueError, r'offset must be \(B, 2\*G\*N, Ho, Wo\) with B=2 and N=3'),
    (dict(weight=torch.randn(5, 12, 3, 3)), ValueError, r'weight must be the 1x1 conv weight \(Cout, Cin/groups\*N'),
    (dict(mask=torch.ones(2, 5, 4, 3)), ValueError, r'mask must be \(B, G\*N, Ho, Wo\) = \(2, 6, 4, 3\)'),
    (dict(keep_bytes=-1), ValueError, r'keep_bytes must be an int >= 0'),
    (dict(chunk_bytes=0), ValueError, r'chunk_bytes must be an int >= 1'),
    (dict(padding=-1), ValueError, r'expected stride >= 1, padding >= 0'),
])
def test_n_offset_conv2d_errors(kwargs, err, match):
    args = dict(input=torch.randn(2, 4, 6, 5), offset=torch.zeros(2, kwargs.pop('off_ch', 12), 4, 3),
                weight=torch.randn(5, 12, 1, 1), base=torch.zeros(3, 2), mask=torch.ones(2, 6, 4, 3))
    args.update(kwargs)
    with pytest.raises(err, match=match):
        dc_module.n_offset_conv2d(**args)
