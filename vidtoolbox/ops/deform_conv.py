"""Modulated deformable convolution (DCNv2) in pure PyTorch, written as N backward warps + a 1×1 conv.

Why this formulation (Chan et al., *Understanding Deformable Alignment in Video Super-Resolution*, AAAI 2021):
a deformable convolution with an ``kh × kw`` kernel computes, at output position ``p``,

.. math::

    y(p) = \\sum_{k=1}^{N} w_k \\, m_k(p) \\, x(p_0 + p_k + \\Delta p_k(p)) + b,
    \\qquad N = kh \\cdot kw,

with ``p_0 = p·stride − padding`` and ``p_k`` the k-th kernel tap (times ``dilation``). Writing
``x_k(p) = x(p_0 + p_k + Δp_k(p))`` — the input *backward-warped* by the displacement field
``p_k + Δp_k`` — shows that a DCN is **N backward warps of the input followed by a 1×1 convolution over
the N stacked warps** (a 1×1×N 3D convolution). That is exactly how :func:`deform_conv2d` computes it:
bilinear sampling with ``grid_sample`` (zero outside the image, per bilinear corner, like mmcv), the
kh·kw samples stacked along channels, one matrix product with the weight. Replacing ``kh·kw`` by any N
gives the paper's "N-offset" alignment; N = 1 with ``G = 1`` is flow-based warping.

Layout (the same as mmcv's ``modulated_deform_conv2d`` and torchvision's ``deform_conv2d``):

* ``offset``: ``(B, 2·G·kh·kw, Ho, Wo)`` in pixels of the input; channel ``2·(g·K + k)`` is ``dy`` (down),
  channel ``2·(g·K + k) + 1`` is ``dx`` (right) for deformable group ``g`` and kernel tap ``k = i·kw + j``
  (row-major over the kernel), ``K = kh·kw``. An offset field that aligns a neighbour to a reference is
  ``flow(ref, nbr)`` (:mod:`vidtoolbox.ops.flow_warp`) with its two channels swapped to ``(dy, dx)``.
* ``mask``: ``(B, G·kh·kw, Ho, Wo)``, channel ``g·K + k``; multiplies each bilinear sample (usually in [0, 1]).
* Deformable group ``g`` owns input channels ``[g·Cin/G, (g+1)·Cin/G)``.

Sampling position of tap ``(i, j)`` at output ``(ho, wo)``:
``y = ho·stride_h − pad_h + i·dilation_h + dy``, ``x = wo·stride_w − pad_w + j·dilation_w + dx``.
A sample is bilinear over its four integer neighbours, each neighbour outside the image counting as 0
(so a sample is 0 once ``y <= -1``, ``y >= H``, ``x <= -1`` or ``x >= W``).

Speed and memory on CPU: the samples of a DCN are ``kh·kw`` times larger than its input. Instead of
materialising them for the whole batch (and keeping them alive until the backward pass), the op works on
chunks of images / output rows whose samples fit in a small workspace (8 MiB by default on CPU): the
forward samples a chunk, multiplies the mask in place and does one GEMM; the backward *recomputes* the
chunk's samples (as mmcv does with its column buffer) and uses ``grid_sample``'s own backward for the
input and offset gradients. Small reusable chunks avoid both the memory of the stacked warps and the
page-fault cost of fresh large allocations, which dominates on many machines. Double backward is not
supported.

``backend='mmcv'`` calls ``mmcv.ops.modulated_deform_conv2d`` (mmcv *full*, with compiled ops);
``'auto'`` uses it for CUDA tensors when importable (its CPU kernel is ~10x slower than this implementation) and
this implementation otherwise.
"""
from typing import Optional, Tuple, Union

import torch
import torch.nn.functional as F
from torch.autograd.function import once_differentiable

__all__ = ['deform_conv2d', 'mmcv_deform_conv_available']

IntPair = Union[int, Tuple[int, int]]

_BACKENDS = ('auto', 'torch', 'mmcv')
#: default workspace (bytes) for the stacked samples of one chunk, per device type
_DEFAULT_CHUNK_BYTES = {'cpu': 8 << 20}
_DEFAULT_CHUNK_BYTES_OTHER = 1 << 30

_MMCV_OP = None
_MMCV_ERROR = None
_MMCV_CHECKED = False


def mmcv_deform_conv_available() -> bool:
    """Whether ``mmcv.ops.modulated_deform_conv2d`` (mmcv full, compiled ops) can be imported."""
    _load_mmcv()
    return _MMCV_OP is not None


def _load_mmcv():
    global _MMCV_OP, _MMCV_ERROR, _MMCV_CHECKED
    if not _MMCV_CHECKED:
        _MMCV_CHECKED = True
        try:
            from mmcv.ops import modulated_deform_conv2d as op
            _MMCV_OP = op
        except Exception as err:  # ImportError, missing compiled extension, ABI mismatch, ...
            _MMCV_ERROR = err
    return _MMCV_OP


def _pair(name: str, value) -> Tuple[int, int]:
    if isinstance(value, int) and not isinstance(value, bool):
        out = (value, value)
    elif isinstance(value, (tuple, list)) and len(value) == 2 and all(
            isinstance(v, int) and not isinstance(v, bool) for v in value):
        out = (int(value[0]), int(value[1]))
    else:
        raise TypeError(f'deform_conv2d: {name} must be an int or a pair of ints, got {value!r}')
    return out


def _check_args(input, offset, weight, bias, stride, padding, dilation, mask, groups):
    """Validate everything; return the derived sizes."""
    for name, t in (('input', input), ('offset', offset), ('weight', weight)):
        if not isinstance(t, torch.Tensor):
            raise TypeError(f'deform_conv2d: {name} must be a torch.Tensor, got {type(t).__name__}')
    if input.dim() != 4:
        raise ValueError(f'deform_conv2d: input must be (B, Cin, H, W), got shape {tuple(input.shape)}')
    if weight.dim() != 4:
        raise ValueError(f'deform_conv2d: weight must be (Cout, Cin/groups, kh, kw), got shape {tuple(weight.shape)}')
    if offset.dim() != 4:
        raise ValueError(f'deform_conv2d: offset must be (B, 2*G*kh*kw, Ho, Wo), got shape {tuple(offset.shape)}')
    if not torch.is_floating_point(input):
        raise TypeError(f'deform_conv2d: input must be a floating-point tensor, got dtype {input.dtype}')
    others = [('offset', offset), ('weight', weight)]
    if mask is not None:
        if not isinstance(mask, torch.Tensor):
            raise TypeError(f'deform_conv2d: mask must be a torch.Tensor or None, got {type(mask).__name__}')
        others.append(('mask', mask))
    if bias is not None:
        if not isinstance(bias, torch.Tensor):
            raise TypeError(f'deform_conv2d: bias must be a torch.Tensor or None, got {type(bias).__name__}')
        others.append(('bias', bias))
    for name, t in others:
        if t.dtype != input.dtype:
            raise TypeError(f'deform_conv2d: {name} dtype {t.dtype} differs from input dtype {input.dtype}; '
                            'expected all tensors in the same floating-point dtype')
        if t.device != input.device:
            raise ValueError(f'deform_conv2d: {name} is on {t.device} but input is on {input.device}')
    stride = _pair('stride', stride)
    padding = _pair('padding', padding)
    dilation = _pair('dilation', dilation)
    if min(stride) < 1 or min(dilation) < 1 or min(padding) < 0:
        raise ValueError(f'deform_conv2d: expected stride >= 1, dilation >= 1, padding >= 0, got stride={stride}, '
                         f'dilation={dilation}, padding={padding}')
    if not isinstance(groups, int) or isinstance(groups, bool) or groups < 1:
        raise ValueError(f'deform_conv2d: groups must be a positive int, got {groups!r}')

    B, Cin, H, W = input.shape
    Cout, Cin_g, kh, kw = weight.shape
    if kh < 1 or kw < 1:
        raise ValueError(f'deform_conv2d: kernel size must be positive, got weight shape {tuple(weight.shape)}')
    if Cin_g * groups != Cin:
        raise ValueError(f'deform_conv2d: weight expects {Cin_g} input channels per group × groups={groups} = '
                         f'{Cin_g * groups}, but input has {Cin} channels')
    if Cout % groups:
        raise ValueError(f'deform_conv2d: output channels {Cout} must be divisible by groups={groups}')
    K = kh * kw
    Ho = (H + 2 * padding[0] - dilation[0] * (kh - 1) - 1) // stride[0] + 1
    Wo = (W + 2 * padding[1] - dilation[1] * (kw - 1) - 1) // stride[1] + 1
    if Ho < 1 or Wo < 1:
        raise ValueError(f'deform_conv2d: input {H}×{W} is too small for kernel {kh}×{kw} with padding={padding}, '
                         f'dilation={dilation} (output would be {Ho}×{Wo})')
    if offset.shape[0] != B:
        raise ValueError(f'deform_conv2d: offset batch {offset.shape[0]} differs from input batch {B}')
    oc = offset.shape[1]
    if oc == 0 or oc % (2 * K):
        raise ValueError(f'deform_conv2d: offset has {oc} channels; expected 2*G*kh*kw = a positive multiple of '
                         f'{2 * K} for a {kh}×{kw} kernel (G deformable groups, (dy, dx) per tap)')
    G = oc // (2 * K)
    if Cin % G:
        raise ValueError(f'deform_conv2d: input channels {Cin} must be divisible by the number of deformable '
                         f'groups G={G} (inferred from {oc} offset channels = 2*G*{kh}*{kw})')
    if tuple(offset.shape[2:]) != (Ho, Wo):
        raise ValueError(f'deform_conv2d: offset spatial size {tuple(offset.shape[2:])} must equal the output size '
                         f'{(Ho, Wo)} (input {H}×{W}, kernel {kh}×{kw}, stride={stride}, padding={padding}, '
                         f'dilation={dilation})')
    if mask is not None and tuple(mask.shape) != (B, G * K, Ho, Wo):
        raise ValueError(f'deform_conv2d: mask must be (B, G*kh*kw, Ho, Wo) = {(B, G * K, Ho, Wo)} for G={G}, '
                         f'got {tuple(mask.shape)}')
    if bias is not None and tuple(bias.shape) != (Cout,):
        raise ValueError(f'deform_conv2d: bias must be ({Cout},), got {tuple(bias.shape)}')
    return stride, padding, dilation, G


def deform_conv2d(input: torch.Tensor, offset: torch.Tensor, weight: torch.Tensor,
                  bias: Optional[torch.Tensor] = None, stride: IntPair = 1, padding: IntPair = 0,
                  dilation: IntPair = 1, mask: Optional[torch.Tensor] = None, groups: int = 1,
                  backend: str = 'auto', chunk_bytes: Optional[int] = None) -> torch.Tensor:
    """Modulated deformable 2D convolution (DCNv2; DCNv1 when ``mask`` is None).

    Computed as ``kh·kw`` bilinear backward warps of ``input`` followed by a 1×1 convolution over the
    stacked warps (see the module docstring); differentiable w.r.t. input, offset, mask, weight and bias.

    Args:
        input: ``(B, Cin, H, W)`` features (any range), float.
        offset: ``(B, 2·G·kh·kw, Ho, Wo)`` learned displacements Δp in input pixels, added to the regular
            kernel grid; channel ``2·(g·kh·kw + k)`` is ``dy``, ``2·(g·kh·kw + k) + 1`` is ``dx`` (deformable
            group ``g``, kernel tap ``k`` row-major). ``G`` (deformable groups) is inferred from the channel
            count; ``Cin`` must be divisible by ``G``.
        weight: ``(Cout, Cin/groups, kh, kw)``.
        bias: optional ``(Cout,)``.
        stride, padding, dilation: ints or ``(h, w)`` pairs, as in :func:`torch.nn.functional.conv2d`
            (zero padding: samples outside the input are 0).
        mask: optional ``(B, G·kh·kw, Ho, Wo)`` modulation (channel ``g·kh·kw + k``), multiplied onto each
            sample; typically a sigmoid in [0, 1].
        groups: ordinary convolution groups (the 1×1 conv is grouped); independent of ``G``.
        backend: ``'auto'`` (mmcv's compiled op for CUDA tensors when importable, else this implementation), ``'torch'``
            (always this implementation) or ``'mmcv'`` (mmcv's op or an error).
        chunk_bytes: workspace for the stacked samples of one chunk of images/rows (default 8 MiB on CPU,
            1 GiB on accelerators); only affects speed and memory, never the result.

    Returns:
        ``(B, Cout, Ho, Wo)`` with ``Ho = (H + 2·pad_h − dil_h·(kh − 1) − 1) // stride_h + 1`` (same for W).

    Raises:
        TypeError / ValueError: naming the offending argument and the expected shape, dtype or value.
        ImportError: ``backend='mmcv'`` without mmcv full installed.
    """
    if backend not in _BACKENDS:
        raise ValueError(f'deform_conv2d: backend must be one of {_BACKENDS}, got {backend!r}')
    if isinstance(input, torch.Tensor) and torch.is_autocast_enabled(input.device.type):
        # mixed precision (autocast): the op computes in float32, its inputs (half/bfloat16 conv outputs and
        # float32 parameters) are cast to it
        def f32(t):
            return t.float() if isinstance(t, torch.Tensor) and t.is_floating_point() else t
        with torch.autocast(device_type=input.device.type, enabled=False):
            return deform_conv2d(f32(input), f32(offset), f32(weight), f32(bias), stride, padding, dilation,
                                 f32(mask), groups, backend, chunk_bytes)
    stride, padding, dilation, G = _check_args(input, offset, weight, bias, stride, padding, dilation, mask, groups)
    # 'auto' takes mmcv's compiled op only for CUDA tensors: its CPU kernel is ~10x slower than this implementation
    if backend == 'mmcv' or (backend == 'auto' and input.is_cuda):
        op = _load_mmcv()
        if op is None and backend == 'mmcv':
            raise ImportError(
                "deform_conv2d: backend='mmcv' needs mmcv full with compiled ops (mmcv.ops.modulated_deform_conv2d), "
                f'which cannot be imported here ({type(_MMCV_ERROR).__name__}: {_MMCV_ERROR}). Install it with '
                "`pip install -U openmim && mim install 'mmcv>=2.0.0'` (or build it: `MMCV_WITH_OPS=1 pip install "
                "mmcv`, which replaces mmcv-lite), or use backend='torch' / 'auto'.")
        if op is not None:
            if mask is None:
                mask = input.new_ones(input.shape[0], offset.shape[1] // 2, offset.shape[2], offset.shape[3])
            return op(input, offset, mask, weight, bias, stride, padding, dilation, groups, G)
    if chunk_bytes is None:
        chunk_bytes = _DEFAULT_CHUNK_BYTES.get(input.device.type, _DEFAULT_CHUNK_BYTES_OTHER)
    if not isinstance(chunk_bytes, int) or chunk_bytes < 1:
        raise ValueError(f'deform_conv2d: chunk_bytes must be a positive int, got {chunk_bytes!r}')
    return _DeformConv2dFunction.apply(input, offset, mask, weight, bias, stride, padding, dilation, groups, G,
                                       chunk_bytes)


class _Plan:
    """Geometry shared by forward and backward: sizes, normalised base grid, chunks."""

    def __init__(self, x, weight, stride, padding, dilation, groups, G, chunk_bytes):
        B, Cin, H, W = x.shape
        Cout, Cin_g, kh, kw = weight.shape
        self.B, self.Cin, self.Cout, self.kh, self.kw, self.K = B, Cin, Cout, kh, kw, kh * kw
        self.G, self.Cg, self.groups = G, Cin // G, groups
        self.H, self.W = H, W
        # grid_sample with align_corners=True maps -1/+1 to the first/last pixel centre; a size-1 axis has
        # no scale, so such inputs are padded with one zero row/column (outside is zero anyway).
        self.Hp, self.Wp = max(H, 2), max(W, 2)
        self.Ho = (H + 2 * padding[0] - dilation[0] * (kh - 1) - 1) // stride[0] + 1
        self.Wo = (W + 2 * padding[1] - dilation[1] * (kw - 1) - 1) // stride[1] + 1
        self.sy, self.sx = 2.0 / (self.Hp - 1), 2.0 / (self.Wp - 1)
        dev, dt = x.device, x.dtype
        i = torch.arange(kh, device=dev, dtype=dt).repeat_interleave(kw)  # tap row, k = i*kw + j
        j = torch.arange(kw, device=dev, dtype=dt).repeat(kh)
        ho = torch.arange(self.Ho, device=dev, dtype=dt)
        wo = torch.arange(self.Wo, device=dev, dtype=dt)
        by = ho.view(1, -1) * stride[0] - padding[0] + i.view(-1, 1) * dilation[0]  # (K, Ho) pixel rows
        bx = wo.view(1, -1) * stride[1] - padding[1] + j.view(-1, 1) * dilation[1]  # (K, Wo) pixel cols
        self.byn = (by * self.sy - 1.0).view(self.K, self.Ho, 1)  # normalised, (K, Ho, 1)
        self.bxn = (bx * self.sx - 1.0).view(self.K, 1, self.Wo)  # normalised, (K, 1, Wo)
        # chunks: several whole images, or row blocks of one image, with samples <= chunk_bytes
        row_bytes = Cin * self.K * self.Wo * x.element_size()
        img_bytes = row_bytes * self.Ho
        chunks = []
        if img_bytes <= chunk_bytes:
            nb = max(1, chunk_bytes // img_bytes)
            for b0 in range(0, B, nb):
                chunks.append((b0, min(B, b0 + nb), 0, self.Ho))
        else:
            rows = max(1, chunk_bytes // row_bytes)
            for b0 in range(B):
                for r0 in range(0, self.Ho, rows):
                    chunks.append((b0, b0 + 1, r0, min(self.Ho, r0 + rows)))
        self.chunks = chunks
        self.max_points = max((b1 - b0) * (r1 - r0) * self.Wo for b0, b1, r0, r1 in chunks)
        self._buffers = {}

    def buffer(self, name, numel, like):
        """A flat workspace reused by every chunk of one call (fewer fresh allocations and page faults)."""
        buf = self._buffers.get(name)
        if buf is None or buf.numel() < numel:
            buf = self._buffers[name] = like.new_empty(numel)
        return buf[:numel]

    def release(self):
        self._buffers = {}

    def grid(self, off, b0, b1, r0, r1):
        """``grid_sample`` grid ``(nb·G, K·R, Wo, 2)`` (x, y normalised) for images b0:b1, output rows r0:r1."""
        nb, R = b1 - b0, r1 - r0
        o = off[b0:b1, :, :, :, r0:r1]  # (nb, G, K, 2, R, Wo) view
        grid = self.buffer('grid', self.G * self.K * self.max_points * 2, off)[:nb * self.G * self.K * R * self.Wo * 2]
        grid = grid.view(nb, self.G, self.K, R, self.Wo, 2)
        torch.add(self.bxn, o[:, :, :, 1], alpha=self.sx, out=grid[..., 0])
        torch.add(self.byn[:, r0:r1], o[:, :, :, 0], alpha=self.sy, out=grid[..., 1])
        return grid.view(nb * self.G, self.K * R, self.Wo, 2)

    def weight_blocks(self, w2):
        """Per-conv-group ``(Cout/groups, Cin/groups·K)`` weight views and their column ranges."""
        cog, cig = self.Cout // self.groups, self.Cin // self.groups * self.K
        return [(w2[j * cog:(j + 1) * cog], slice(j * cog, (j + 1) * cog), slice(j * cig, (j + 1) * cig))
                for j in range(self.groups)]


class _DeformConv2dFunction(torch.autograd.Function):

    @staticmethod
    def forward(ctx, x, offset, mask, weight, bias, stride, padding, dilation, groups, G, chunk_bytes):
        plan = _Plan(x, weight, stride, padding, dilation, groups, G, chunk_bytes)
        xp = _pad_degenerate(x.contiguous(), plan)
        off = offset.contiguous().view(plan.B, G, plan.K, 2, plan.Ho, plan.Wo)
        m = None if mask is None else mask.contiguous().view(plan.B, G, 1, plan.K, plan.Ho * plan.Wo)
        w2 = weight.contiguous().view(plan.Cout, -1)
        out = x.new_empty(plan.B, plan.Cout, plan.Ho, plan.Wo)
        outv = out.view(plan.B, plan.Cout, plan.Ho * plan.Wo)
        blocks = plan.weight_blocks(w2)
        bias_col = None if bias is None else bias.view(-1, 1)
        for b0, b1, r0, r1 in plan.chunks:
            cols = _sample(xp, off, plan, b0, b1, r0, r1)  # (nb, Cin*K, R*Wo)
            if m is not None:
                _apply_mask(cols, m, plan, b0, b1, r0, r1)
            for bi in range(b1 - b0):
                dst = outv[b0 + bi, :, r0 * plan.Wo:r1 * plan.Wo]
                for wj, orow, icol in blocks:
                    if bias_col is None:
                        torch.mm(wj, cols[bi, icol], out=dst[orow])
                    else:
                        torch.addmm(bias_col[orow], wj, cols[bi, icol], out=dst[orow])
        plan.release()
        ctx.plan = plan
        ctx.has_mask, ctx.has_bias = mask is not None, bias is not None
        ctx.save_for_backward(x, offset, mask, weight)
        return out

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out):
        x, offset, mask, weight = ctx.saved_tensors
        plan = ctx.plan
        need_x, need_off, need_mask, need_w, need_b = ctx.needs_input_grad[:5]
        grad_x = grad_off = grad_mask = grad_w = grad_b = None
        go = grad_out.contiguous().view(plan.B, plan.Cout, plan.Ho * plan.Wo)
        if need_b:
            grad_b = go.sum((0, 2))
        if not (need_x or need_off or need_mask or need_w):
            return grad_x, grad_off, grad_mask, grad_w, grad_b, None, None, None, None, None, None
        G, K, Cg = plan.G, plan.K, plan.Cg
        xp = _pad_degenerate(x.contiguous(), plan)
        xg = xp.view(plan.B * G, Cg, plan.Hp, plan.Wp)
        off = offset.contiguous().view(plan.B, G, K, 2, plan.Ho, plan.Wo)
        m = None if mask is None else mask.contiguous().view(plan.B, G, 1, K, plan.Ho * plan.Wo)
        w2 = weight.contiguous().view(plan.Cout, -1)
        blocks = plan.weight_blocks(w2)
        if need_x:
            grad_xg = torch.zeros_like(xg)
        if need_off:
            grad_off = offset.new_empty(plan.B, G, K, 2, plan.Ho, plan.Wo)
        if need_mask:
            grad_mask = mask.new_empty(plan.B, G, K, plan.Ho * plan.Wo)
        if need_w:
            grad_w2 = torch.zeros_like(w2)
        need_cols_grad = need_x or need_off or need_mask
        Wo = plan.Wo
        for b0, b1, r0, r1 in plan.chunks:
            nb, R = b1 - b0, r1 - r0
            cs = slice(r0 * Wo, r1 * Wo)
            grid = plan.grid(off, b0, b1, r0, r1).detach()
            xin = xg[b0 * G:b1 * G]
            with torch.enable_grad():
                xin = xin.detach().requires_grad_(need_x)
                grid.requires_grad_(need_off)
                samples = F.grid_sample(xin, grid, mode='bilinear', padding_mode='zeros', align_corners=True)
            cols = samples.detach().view(nb, plan.Cin * K, R * Wo)
            gcols = None
            if need_cols_grad:
                gcols = plan.buffer('gcols', plan.Cin * K * plan.max_points, cols)[:cols.numel()].view(cols.shape)
                for bi in range(nb):
                    for wj, orow, icol in blocks:
                        torch.mm(wj.t(), go[b0 + bi, orow, cs], out=gcols[bi, icol])
            if m is not None:
                mc = m[b0:b1, :, :, :, cs]  # (nb, G, 1, K, R*Wo)
                if need_mask:
                    gm = grad_mask[b0:b1, :, :, cs]  # (nb, G, K, R*Wo)
                    g5 = gcols.view(nb, G, Cg, K, R * Wo)
                    c5 = cols.view(nb, G, Cg, K, R * Wo)
                    torch.mul(g5[:, :, 0], c5[:, :, 0], out=gm)
                    for c in range(1, Cg):
                        gm.addcmul_(g5[:, :, c], c5[:, :, c])
                if need_w:  # grid_sample's backward does not use its output: mask the samples in place
                    cols.view(nb, G, Cg, K, R * Wo).mul_(mc)
                if gcols is not None:
                    gcols.view(nb, G, Cg, K, R * Wo).mul_(mc)
            if need_w:
                for bi in range(nb):
                    for wj, orow, icol in blocks:
                        grad_w2[orow].addmm_(go[b0 + bi, orow, cs], cols[bi, icol].t())
            if need_x or need_off:
                inputs = ([xin] if need_x else []) + ([grid] if need_off else [])
                grads = torch.autograd.grad(samples, inputs, gcols.view(samples.shape))
                if need_x:
                    grad_xg[b0 * G:b1 * G] += grads[0]
                if need_off:
                    gg = grads[-1].view(nb, G, K, R, Wo, 2)
                    torch.mul(gg[..., 1], plan.sy, out=grad_off[b0:b1, :, :, 0, r0:r1])
                    torch.mul(gg[..., 0], plan.sx, out=grad_off[b0:b1, :, :, 1, r0:r1])
        plan.release()
        if need_x:
            grad_x = grad_xg.view(plan.B, plan.Cin, plan.Hp, plan.Wp)[:, :, :plan.H, :plan.W]
        if need_off:
            grad_off = grad_off.view(offset.shape)
        if need_mask:
            grad_mask = grad_mask.view(mask.shape)
        if need_w:
            grad_w = grad_w2.view(weight.shape)
        return grad_x, grad_off, grad_mask, grad_w, grad_b, None, None, None, None, None, None


def _pad_degenerate(x, plan):
    if (plan.Hp, plan.Wp) == (plan.H, plan.W):
        return x
    return F.pad(x, (0, plan.Wp - plan.W, 0, plan.Hp - plan.H))


def _sample(xp, off, plan, b0, b1, r0, r1):
    """Bilinear samples of images b0:b1 for output rows r0:r1 → ``(nb, Cin·K, R·Wo)``, rows ordered (g, c, k)."""
    nb, R = b1 - b0, r1 - r0
    grid = plan.grid(off, b0, b1, r0, r1)
    xin = xp[b0:b1].reshape(nb * plan.G, plan.Cg, plan.Hp, plan.Wp)
    samples = F.grid_sample(xin, grid, mode='bilinear', padding_mode='zeros', align_corners=True)
    return samples.view(nb, plan.Cin * plan.K, R * plan.Wo)


def _apply_mask(cols, m, plan, b0, b1, r0, r1):
    nb, R = b1 - b0, r1 - r0
    cols.view(nb, plan.G, plan.Cg, plan.K, R * plan.Wo).mul_(m[b0:b1, :, :, :, r0 * plan.Wo:r1 * plan.Wo])
