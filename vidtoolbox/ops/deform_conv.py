"""Modulated deformable convolution (DCNv2) in pure PyTorch, written as N backward warps + a 1×1 conv.

Why this formulation (Chan et al., *Understanding Deformable Alignment in Video Super-Resolution*, AAAI 2021):
a deformable convolution with an ``kh × kw`` kernel computes, at output position ``p``,

.. math::

    y(p) = \\sum_{k=1}^{N} w_k \\, m_k(p) \\, x(p_0 + p_k + \\Delta p_k(p)) + b,
    \\qquad N = kh \\cdot kw,

with ``p_0 = p·stride − padding`` and ``p_k`` the k-th kernel tap (times ``dilation``). Writing
``x_k(p) = x(p_0 + p_k + Δp_k(p))`` — the input *backward-warped* by the displacement field
``p_k + Δp_k`` — shows that a DCN is **N backward warps of the input followed by a 1×1 convolution over
the N stacked warps** (a 1×1×N 3D convolution). :func:`n_offset_conv2d` computes exactly that for any set of
N base positions ``p_n`` (the paper's "N-offset" alignment); :func:`deform_conv2d` is the special case whose base
positions are the ``kh × kw`` kernel taps. N = 1 with ``G = 1`` is flow-based warping.

Layout (the same as mmcv's ``modulated_deform_conv2d`` and torchvision's ``deform_conv2d``):

* ``offset``: ``(B, 2·G·N, Ho, Wo)`` in pixels of the input; channel ``2·(g·N + n)`` is ``dy`` (down),
  channel ``2·(g·N + n) + 1`` is ``dx`` (right) for deformable group ``g`` and base position / kernel tap ``n``
  (for a DCN ``n = i·kw + j``, row-major over the kernel, ``N = kh·kw``). An offset field that aligns a neighbour
  to a reference is ``flow(ref, nbr)`` (:mod:`vidtoolbox.ops.flow_warp`) with its two channels swapped to
  ``(dy, dx)``.
* ``mask``: ``(B, G·N, Ho, Wo)``, channel ``g·N + n``; multiplies each bilinear sample (usually in [0, 1]).
* Deformable group ``g`` owns input channels ``[g·Cin/G, (g+1)·Cin/G)``.
* The stacked warps are ordered input-channel-major, offset-minor (row ``c·N + n``), so a DCN weight
  ``(Cout, Cin/groups, kh, kw)`` is the 1×1 weight ``(Cout, Cin/groups·N, 1, 1)`` of :func:`n_offset_conv2d`.

Sampling position of base position ``n`` at output ``(ho, wo)``:
``y = ho·stride_h − pad_h + base_n,y + dy``, ``x = wo·stride_w − pad_w + base_n,x + dx``; for a DCN tap
``(i, j)``, ``base = (i·dilation_h, j·dilation_w)``. A sample is bilinear over its four integer neighbours, each
neighbour outside the image counting as 0 (so a sample is 0 once ``y <= -1``, ``y >= H``, ``x <= -1`` or
``x >= W``).

How it runs (the same code on every device; tuned for the CPU). The samples ("columns", ``Cin·N`` rows per
output pixel) are N times larger than the input, so the op works on *chunks* of whole images or output rows whose
columns fit in a small workspace (``chunk_bytes``, 8 MiB by default on CPU):

* forward, per chunk: one ``grid_sampler_2d`` call samples every base position of every group, the mask multiplies
  the columns in place, one matrix product per image and conv group gives the output;
* backward, per chunk: ``W^T · grad_out`` gives the columns' gradient; the mask gradient is its product with the
  unmasked columns summed over each group's channels; ``grad_out · columns^T`` accumulates the weight gradient;
  ``grid_sampler_2d_backward`` on the masked column gradient gives the input and offset gradients directly
  (no recorded graph, no recomputation for them).

Memory policy (``keep_bytes``): the weight and mask gradients need the forward's columns. When they take at most
``keep_bytes`` for the whole call (256 MiB by default on CPU, 0 on accelerators), the forward keeps them for the
backward pass (``B·Cin·N·Ho·Wo`` elements — e.g. 38 MB for ``4×64×64²`` with N = 9 — held from forward to
backward); above that, or with ``keep_bytes=0``, the backward samples them again chunk by chunk (as mmcv does with
its column buffer), so memory stays flat in N and in the image size. Only speed and memory depend on
``chunk_bytes`` / ``keep_bytes``, never the result.

CPU details that matter for speed:

* workspaces (grids, column gradients, kept columns) come from a small module-level pool of flat buffers that is
  reused across calls: a fresh 38 MB buffer costs more at first touch (page faults) than the work done in it.
  :func:`release_deform_conv_workspace` frees it.
* the three matrix products run through MKL (``torch.mm``) or through oneDNN (a 1×1 convolution over the columns
  viewed as an image, which is oneDNN's blocked GEMM on builds with mkldnn). Which is faster depends on the CPU
  (oneDNN 2–2.5× faster than MKL on an AVX-512 machine, slower than MKL on an AVX2 one, where it has to reorder
  the columns first), so by default (``'auto'``) each product measures both on its first chunk of a given shape
  and keeps the faster one for the rest of the process (float32 only; other dtypes and devices use ``torch.mm``).
  :func:`set_deform_conv_gemm` forces one engine; :func:`deform_conv_gemm_choices` lists what was chosen. Both
  engines give the same result up to float rounding.

Double backward is not supported.

``backend='mmcv'`` calls ``mmcv.ops.modulated_deform_conv2d`` (mmcv *full*, with compiled ops);
``'auto'`` uses it for CUDA tensors when importable (its CPU kernel is ~10x slower than this implementation) and
this implementation otherwise.
"""
import threading
import time
from typing import Dict, Optional, Tuple, Union

import torch
from torch.autograd.function import once_differentiable

__all__ = ['deform_conv2d', 'n_offset_conv2d', 'mmcv_deform_conv_available', 'set_deform_conv_gemm',
           'deform_conv_gemm_choices', 'release_deform_conv_workspace']

IntPair = Union[int, Tuple[int, int]]

_BACKENDS = ('auto', 'torch', 'mmcv')
#: default workspace (bytes) for the columns of one chunk, per device type
_DEFAULT_CHUNK_BYTES = {'cpu': 8 << 20}
_DEFAULT_CHUNK_BYTES_OTHER = 1 << 30
#: default budget (bytes) of forward columns kept for the backward pass, per device type
_DEFAULT_KEEP_BYTES = {'cpu': 256 << 20}
_DEFAULT_KEEP_BYTES_OTHER = 0

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


# ----------------------------------------------------------------------------------------------------------------
# argument checks
# ----------------------------------------------------------------------------------------------------------------

def _pair(name: str, value, fn='deform_conv2d') -> Tuple[int, int]:
    if isinstance(value, int) and not isinstance(value, bool):
        out = (value, value)
    elif isinstance(value, (tuple, list)) and len(value) == 2 and all(
            isinstance(v, int) and not isinstance(v, bool) for v in value):
        out = (int(value[0]), int(value[1]))
    else:
        raise TypeError(f'{fn}: {name} must be an int or a pair of ints, got {value!r}')
    return out


def _check_common(fn, input, offset, weight, bias, mask, groups):
    """Types, dims, dtypes and devices shared by both ops."""
    for name, t in (('input', input), ('offset', offset), ('weight', weight)):
        if not isinstance(t, torch.Tensor):
            raise TypeError(f'{fn}: {name} must be a torch.Tensor, got {type(t).__name__}')
    if input.dim() != 4:
        raise ValueError(f'{fn}: input must be (B, Cin, H, W), got shape {tuple(input.shape)}')
    if not torch.is_floating_point(input):
        raise TypeError(f'{fn}: input must be a floating-point tensor, got dtype {input.dtype}')
    others = [('offset', offset), ('weight', weight)]
    if mask is not None:
        if not isinstance(mask, torch.Tensor):
            raise TypeError(f'{fn}: mask must be a torch.Tensor or None, got {type(mask).__name__}')
        others.append(('mask', mask))
    if bias is not None:
        if not isinstance(bias, torch.Tensor):
            raise TypeError(f'{fn}: bias must be a torch.Tensor or None, got {type(bias).__name__}')
        others.append(('bias', bias))
    for name, t in others:
        if t.dtype != input.dtype:
            raise TypeError(f'{fn}: {name} dtype {t.dtype} differs from input dtype {input.dtype}; '
                            'expected all tensors in the same floating-point dtype')
        if t.device != input.device:
            raise ValueError(f'{fn}: {name} is on {t.device} but input is on {input.device}')
    if not isinstance(groups, int) or isinstance(groups, bool) or groups < 1:
        raise ValueError(f'{fn}: groups must be a positive int, got {groups!r}')


def _check_bytes(fn, name, value, default):
    if value is None:
        return default
    if not isinstance(value, int) or isinstance(value, bool) or value < 0 or (name == 'chunk_bytes' and value < 1):
        low = 1 if name == 'chunk_bytes' else 0
        raise ValueError(f'{fn}: {name} must be an int >= {low} (bytes) or None, got {value!r}')
    return value


def _check_args(input, offset, weight, bias, stride, padding, dilation, mask, groups):
    """Validate :func:`deform_conv2d`'s arguments; return the derived sizes."""
    _check_common('deform_conv2d', input, offset, weight, bias, mask, groups)
    if weight.dim() != 4:
        raise ValueError(f'deform_conv2d: weight must be (Cout, Cin/groups, kh, kw), got shape {tuple(weight.shape)}')
    if offset.dim() != 4:
        raise ValueError(f'deform_conv2d: offset must be (B, 2*G*kh*kw, Ho, Wo), got shape {tuple(offset.shape)}')
    stride = _pair('stride', stride)
    padding = _pair('padding', padding)
    dilation = _pair('dilation', dilation)
    if min(stride) < 1 or min(dilation) < 1 or min(padding) < 0:
        raise ValueError(f'deform_conv2d: expected stride >= 1, dilation >= 1, padding >= 0, got stride={stride}, '
                         f'dilation={dilation}, padding={padding}')

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


def _check_n_offset_args(input, offset, weight, base, bias, mask, stride, padding, groups):
    """Validate :func:`n_offset_conv2d`'s arguments; return ``stride, padding, G, N``."""
    fn = 'n_offset_conv2d'
    _check_common(fn, input, offset, weight, bias, mask, groups)
    if not isinstance(base, torch.Tensor):
        raise TypeError(f'{fn}: base must be a torch.Tensor of (dy, dx) positions, got {type(base).__name__}')
    if base.dim() not in (2, 3) or base.shape[-1] != 2 or base.shape[-2] < 1:
        raise ValueError(f'{fn}: base must be (N, 2) or (G, N, 2) (dy, dx) positions in pixels with N >= 1, got '
                         f'shape {tuple(base.shape)}')
    if base.is_complex() or not torch.isfinite(base.to(torch.float64)).all():
        raise ValueError(f'{fn}: base positions must be finite real numbers')
    stride = _pair('stride', stride, fn)
    padding = _pair('padding', padding, fn)
    if min(stride) < 1 or min(padding) < 0:
        raise ValueError(f'{fn}: expected stride >= 1, padding >= 0, got stride={stride}, padding={padding}')
    B, Cin = input.shape[:2]
    N = base.shape[-2]
    if offset.dim() != 4 or offset.shape[0] != B or offset.shape[1] == 0 or offset.shape[1] % (2 * N) \
            or min(offset.shape[2:]) < 1:
        raise ValueError(f'{fn}: offset must be (B, 2*G*N, Ho, Wo) with B={B} and N={N} base positions '
                         f'(a positive multiple of {2 * N} channels), got shape {tuple(offset.shape)}')
    G = offset.shape[1] // (2 * N)
    if base.dim() == 3 and base.shape[0] != G:
        raise ValueError(f'{fn}: base has positions for {base.shape[0]} groups but offset has G={G} '
                         f'({offset.shape[1]} channels = 2*G*{N})')
    if Cin % G:
        raise ValueError(f'{fn}: input channels {Cin} must be divisible by the number of deformable groups G={G} '
                         f'(inferred from {offset.shape[1]} offset channels = 2*G*{N})')
    if Cin % groups:
        raise ValueError(f'{fn}: input channels {Cin} must be divisible by groups={groups}')
    if weight.dim() != 4 or weight.shape[1] * groups != Cin * N or weight.shape[2:] != (1, 1) \
            or weight.shape[0] % groups or weight.shape[0] < 1:
        raise ValueError(f'{fn}: weight must be the 1x1 conv weight (Cout, Cin/groups*N, 1, 1) = (Cout, '
                         f'{Cin // groups * N}, 1, 1) with Cout divisible by groups={groups}, got shape '
                         f'{tuple(weight.shape)}')
    Ho, Wo = offset.shape[2:]
    if mask is not None and tuple(mask.shape) != (B, G * N, Ho, Wo):
        raise ValueError(f'{fn}: mask must be (B, G*N, Ho, Wo) = {(B, G * N, Ho, Wo)} for G={G}, N={N}, '
                         f'got {tuple(mask.shape)}')
    if bias is not None and tuple(bias.shape) != (weight.shape[0],):
        raise ValueError(f'{fn}: bias must be ({weight.shape[0]},), got {tuple(bias.shape)}')
    return stride, padding, G, N


# ----------------------------------------------------------------------------------------------------------------
# public ops
# ----------------------------------------------------------------------------------------------------------------

def deform_conv2d(input: torch.Tensor, offset: torch.Tensor, weight: torch.Tensor,
                  bias: Optional[torch.Tensor] = None, stride: IntPair = 1, padding: IntPair = 0,
                  dilation: IntPair = 1, mask: Optional[torch.Tensor] = None, groups: int = 1,
                  backend: str = 'auto', chunk_bytes: Optional[int] = None,
                  keep_bytes: Optional[int] = None) -> torch.Tensor:
    """Modulated deformable 2D convolution (DCNv2; DCNv1 when ``mask`` is None).

    Computed as ``kh·kw`` bilinear backward warps of ``input`` followed by a 1×1 convolution over the
    stacked warps (see the module docstring): :func:`n_offset_conv2d` with the kernel taps
    ``(i·dilation_h, j·dilation_w)`` as base positions. Differentiable w.r.t. input, offset, mask, weight and bias.

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
        chunk_bytes: workspace for the columns of one chunk of images/rows (default 8 MiB on CPU, 1 GiB on
            accelerators); only affects speed and memory, never the result.
        keep_bytes: keep the forward's columns for the backward pass when they take at most this many bytes
            (default 256 MiB on CPU, 0 = always resample on accelerators); only affects speed and memory.

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
    dev = input.device.type
    chunk_bytes = _check_bytes('deform_conv2d', 'chunk_bytes', chunk_bytes,
                               _DEFAULT_CHUNK_BYTES.get(dev, _DEFAULT_CHUNK_BYTES_OTHER))
    keep_bytes = _check_bytes('deform_conv2d', 'keep_bytes', keep_bytes,
                              _DEFAULT_KEEP_BYTES.get(dev, _DEFAULT_KEEP_BYTES_OTHER))
    Cout, _, kh, kw = weight.shape
    # the kernel taps (i·dil_h, j·dil_w), k = i·kw + j: integers, so the sampling grid is exact
    i = torch.arange(kh, dtype=input.dtype, device=input.device).repeat_interleave(kw) * dilation[0]
    j = torch.arange(kw, dtype=input.dtype, device=input.device).repeat(kh) * dilation[1]
    base = torch.stack((i, j), 1)
    return _apply(input, offset, mask, weight.reshape(Cout, -1, 1, 1), bias, base, stride, padding, groups, G,
                  chunk_bytes, keep_bytes)


def n_offset_conv2d(input: torch.Tensor, offset: torch.Tensor, weight: torch.Tensor, base: torch.Tensor,
                    bias: Optional[torch.Tensor] = None, mask: Optional[torch.Tensor] = None,
                    stride: IntPair = 1, padding: IntPair = 0, groups: int = 1,
                    chunk_bytes: Optional[int] = None, keep_bytes: Optional[int] = None) -> torch.Tensor:
    """N bilinear backward warps per deformable group at ``base + offset``, then one 1×1 conv over the N·Cin warps.

    ``y(p) = bias + Σ_c Σ_n W[:, c·N + n] · m_{g(c),n}(p) · x_c(p_0 + base_{g(c),n} + Δp_{g(c),n}(p))`` with
    ``p_0 = (ho·stride_h − pad_h, wo·stride_w − pad_w)``; the samples are bilinear with zeros outside the input.
    :func:`deform_conv2d` is this op with the kernel taps as base positions (and the DCN weight viewed as
    ``(Cout, Cin/groups·kh·kw, 1, 1)``); :class:`~vidtoolbox.models.alignment.NOffsetAlign` calls it with stride 1,
    padding 0 and its centred base positions. Chunked, with the memory policy of the module docstring;
    differentiable w.r.t. input, offset, mask, weight and bias (not ``base``).

    Args:
        input: ``(B, Cin, H, W)`` features, float.
        offset: ``(B, 2·G·N, Ho, Wo)`` displacements Δp in input pixels added to the base positions; channel
            ``2·(g·N + n)`` is ``dy``, ``2·(g·N + n) + 1`` is ``dx``. ``Ho × Wo`` (any size) is the output size;
            ``G`` is inferred from the channel count and must divide ``Cin``.
        weight: ``(Cout, Cin/groups·N, 1, 1)``, the 1×1 conv over the stacked warps (input channel ``c·N + n`` is
            channel ``c`` sampled at base position ``n``).
        base: ``(N, 2)`` base positions ``(dy, dx)`` in pixels, shared by all groups, or ``(G, N, 2)`` per group
            (any real values; no gradient flows into them).
        bias: optional ``(Cout,)``.
        mask: optional ``(B, G·N, Ho, Wo)`` modulation of each warp (channel ``g·N + n``).
        stride, padding: ints or ``(h, w)`` pairs placing the output grid on the input: ``p_0`` above.
        groups: convolution groups of the 1×1 conv (``Cin`` and ``Cout`` divisible by it).
        chunk_bytes, keep_bytes: workspace per chunk and the budget of columns kept for the backward pass, as in
            :func:`deform_conv2d` (speed and memory only).

    Returns:
        ``(B, Cout, Ho, Wo)``.

    Raises:
        TypeError / ValueError: naming the offending argument and the expected shape, dtype or value.
    """
    stride, padding, G, _ = _check_n_offset_args(input, offset, weight, base, bias, mask, stride, padding, groups)
    dev = input.device.type
    chunk_bytes = _check_bytes('n_offset_conv2d', 'chunk_bytes', chunk_bytes,
                               _DEFAULT_CHUNK_BYTES.get(dev, _DEFAULT_CHUNK_BYTES_OTHER))
    keep_bytes = _check_bytes('n_offset_conv2d', 'keep_bytes', keep_bytes,
                              _DEFAULT_KEEP_BYTES.get(dev, _DEFAULT_KEEP_BYTES_OTHER))
    base = base.detach().to(device=input.device, dtype=input.dtype)
    return _apply(input, offset, mask, weight, bias, base, stride, padding, groups, G, chunk_bytes, keep_bytes)


def _apply(x, offset, mask, weight, bias, base, stride, padding, groups, G, chunk_bytes, keep_bytes):
    # is a graph being recorded? (inside Function.forward grad mode is always off, and needs_input_grad ignores it)
    record = torch.is_grad_enabled() and any(
        t is not None and t.requires_grad for t in (x, offset, mask, weight, bias))
    return _NOffsetConvFunction.apply(x, offset, mask, weight, bias, base, stride, padding, groups, G, chunk_bytes,
                                      keep_bytes if record else 0)


# ----------------------------------------------------------------------------------------------------------------
# workspace pool (CPU)
# ----------------------------------------------------------------------------------------------------------------

class _BufferPool:
    """Flat CPU buffers reused across calls, so that workspaces are not page-faulted in again on every call.

    ``take`` hands out a buffer (removed from the pool, so nobody else writes to it) and ``give`` returns it. Free
    buffers above ``max_free_bytes`` in total are dropped. Accelerator memory is never pooled here (their caching
    allocators already reuse memory).
    """

    def __init__(self, max_free_bytes: int = 1 << 30):
        self.max_free_bytes = max_free_bytes
        self._free = []
        self._lock = threading.Lock()

    def take(self, numel: int, like: torch.Tensor) -> torch.Tensor:
        if like.device.type != 'cpu':
            return torch.empty(numel, dtype=like.dtype, device=like.device)
        numel = max(int(numel), 1)
        with self._lock:
            best = None
            for idx, buf in enumerate(self._free):
                # best fit, not more than twice too large (a huge buffer is kept for a huge request)
                if buf.dtype == like.dtype and numel <= buf.numel() <= 2 * numel + 4096 and (
                        best is None or buf.numel() < self._free[best].numel()):
                    best = idx
            if best is not None:
                return self._free.pop(best)
        return torch.empty(numel, dtype=like.dtype)

    def give(self, buf: Optional[torch.Tensor]) -> None:
        if buf is None or buf.device.type != 'cpu':
            return
        nbytes = buf.numel() * buf.element_size()
        if nbytes > self.max_free_bytes:
            return
        with self._lock:
            self._free.append(buf)
            total = sum(b.numel() * b.element_size() for b in self._free)
            while total > self.max_free_bytes:  # drop the oldest
                old = self._free.pop(0)
                total -= old.numel() * old.element_size()

    def clear(self) -> None:
        with self._lock:
            self._free = []


_POOL = _BufferPool()


def release_deform_conv_workspace() -> None:
    """Free the CPU workspace buffers that :func:`deform_conv2d` / :func:`n_offset_conv2d` keep for reuse."""
    _POOL.clear()


# ----------------------------------------------------------------------------------------------------------------
# the three matrix products: MKL (torch.mm) or oneDNN (1×1 convolution), chosen by measurement
# ----------------------------------------------------------------------------------------------------------------

_GEMM_ENGINES = ('auto', 'mm', 'onednn')
_GEMM = {'engine': 'auto'}
_GEMM_CHOICES: Dict[tuple, str] = {}
_GEMM_LOCK = threading.Lock()


def set_deform_conv_gemm(engine: str = 'auto') -> None:
    """How :func:`deform_conv2d` / :func:`n_offset_conv2d` run their matrix products on CPU (float32).

    Args:
        engine: ``'auto'`` (default: each product measures both engines on its first chunk of a given shape and
            thread count and keeps the faster one; calling this again forgets the measurements), ``'mm'``
            (``torch.mm``, MKL on x86 builds) or ``'onednn'`` (a 1×1 convolution through oneDNN; falls back to
            ``'mm'`` where oneDNN cannot run: builds without mkldnn, other dtypes, accelerators).
    """
    if engine not in _GEMM_ENGINES:
        raise ValueError(f'set_deform_conv_gemm: engine must be one of {_GEMM_ENGINES}, got {engine!r}')
    with _GEMM_LOCK:
        _GEMM['engine'] = engine
        _GEMM_CHOICES.clear()


def deform_conv_gemm_choices() -> Dict[str, str]:
    """The engines chosen so far by ``'auto'``: ``{'<product> <shapes> threads=<n>': 'mm' | 'onednn'}``."""
    with _GEMM_LOCK:
        return {' '.join(str(k) for k in key): val for key, val in _GEMM_CHOICES.items()}


def _onednn_ok(t: torch.Tensor) -> bool:
    return (t.device.type == 'cpu' and t.dtype == torch.float32 and torch.backends.mkldnn.is_available()
            and torch.backends.mkldnn.enabled)


#: 'auto' takes oneDNN only when it was at least this much faster than torch.mm (timing noise must not flip it)
_ONEDNN_MARGIN = 0.9
#: timed rounds per engine when 'auto' measures a product
_CALIBRATION_ROUNDS = 4


def _gemm(key: tuple, runners: dict, args: tuple, scratch=None):
    """Run ``runners[engine](*args)``; with ``'auto'`` the engine is measured once per ``key``.

    Every runner computes the same product and may run several times (calibration): runners either write a
    destination they fully overwrite, or accumulate into their first argument — then ``scratch()`` returns the
    arguments the calibration runs use instead. Calibration: one warm-up run per engine (oneDNN builds its
    primitive on the first call of a shape), then rounds alternating the engines; the best time of each counts,
    and oneDNN is chosen only when it beats ``torch.mm`` by 10 % or more.
    """
    engine = _GEMM['engine']
    if len(runners) == 1:
        engine = next(iter(runners))
    elif engine == 'auto':
        key = key + (f'threads={torch.get_num_threads()}',)
        engine = _GEMM_CHOICES.get(key)
        if engine is None:
            cal = args if scratch is None else scratch()
            # single-threaded: this thread's CPU time, which other processes' load disturbs far less than the wall
            # time; several threads: wall time
            clock = time.thread_time if torch.get_num_threads() == 1 else time.perf_counter
            best = {}
            for name, run in runners.items():
                run(*cal)
                best[name] = float('inf')
            for _ in range(_CALIBRATION_ROUNDS):
                for name, run in runners.items():
                    t0 = clock()
                    run(*cal)
                    best[name] = min(best[name], clock() - t0)
            engine = 'onednn' if best['onednn'] < _ONEDNN_MARGIN * best['mm'] else 'mm'
            with _GEMM_LOCK:
                _GEMM_CHOICES[key] = engine
    elif engine not in runners:
        engine = 'mm'
    return runners[engine](*args)


def _conv1x1_mkldnn_args(groups):
    # a 1×1 kernel ignores dilation; dilation 2 makes PyTorch's backend choice take oneDNN even single-threaded
    # (it otherwise sends 1×1 convolutions of small batches to its MKL path)
    return [1, 1], [0, 0], [2, 2], False, [0, 0], groups


class _Products:
    """The op's three products for one chunk of ``nb`` images × ``R`` output rows (``P = R·Wo`` pixels).

    ``cols``: ``(nb, Cin·N, P)`` contiguous; ``go``/``out``: ``(nb, Cout, P)`` views of the ``(B, Cout, Ho·Wo)``
    gradient / output; ``w2``: ``(Cout, Cin/groups·N)``; ``w4``: the same as a ``1×1`` conv weight.
    """

    def __init__(self, w4, groups, R, Wo):
        self.w4 = w4
        self.w2 = w4.view(w4.shape[0], -1)
        self.groups, self.R, self.Wo = groups, R, Wo
        cog, cig = self.w2.shape[0] // groups, self.w2.shape[1]
        self.blocks = [(self.w2[j * cog:(j + 1) * cog], slice(j * cog, (j + 1) * cog), slice(j * cig, (j + 1) * cig))
                       for j in range(groups)]
        self.dnn = _onednn_ok(w4)

    def _key(self, kind, cols):
        return (kind, f'columns={tuple(cols.shape)}', f'weight={tuple(self.w2.shape)}', f'groups={self.groups}',
                str(cols.dtype).replace('torch.', ''))

    # forward: out = W · cols (+ bias)
    def forward(self, cols, out, bias):
        runners = {'mm': self._mm_forward}
        if self.dnn:
            runners['onednn'] = self._dnn_forward
        _gemm(self._key('forward', cols), runners, (cols, out, bias))

    def _mm_forward(self, cols, out, bias):
        for bi in range(cols.shape[0]):
            for wj, orow, icol in self.blocks:
                if bias is None:
                    torch.mm(wj, cols[bi, icol], out=out[bi, orow])
                else:
                    torch.addmm(bias[orow].view(-1, 1), wj, cols[bi, icol], out=out[bi, orow])

    def _dnn_forward(self, cols, out, bias):
        nb = cols.shape[0]
        y = torch.ops.aten.mkldnn_convolution(cols.view(nb, -1, self.R, self.Wo), self.w4, bias, [0, 0], [1, 1],
                                              [1, 1], self.groups)
        out.copy_(y.view(nb, -1, self.R * self.Wo))

    # columns' gradient: gcols = W^T · go
    def columns_grad(self, go, gcols):
        runners = {'mm': self._mm_columns_grad}
        if self.dnn:
            runners['onednn'] = self._dnn_columns_grad
        return _gemm(self._key('columns_grad', gcols), runners, (go, gcols))

    def _mm_columns_grad(self, go, gcols):
        for bi in range(go.shape[0]):
            for wj, orow, icol in self.blocks:
                torch.mm(wj.t(), go[bi, orow], out=gcols[bi, icol])
        return gcols

    def _dnn_columns_grad(self, go, gcols):
        nb = go.shape[0]
        go4 = go.reshape(nb, -1, self.R, self.Wo)
        gc = torch.ops.aten.convolution_backward(go4, gcols.view(nb, -1, self.R, self.Wo), self.w4, None,
                                                 *_conv1x1_mkldnn_args(self.groups), [True, False, False])[0]
        return gc.view(gcols.shape)

    # weight gradient: acc += go · cols^T
    def weight_grad(self, acc, go, cols):
        runners = {'mm': self._mm_weight_grad}
        if self.dnn:
            runners['onednn'] = self._dnn_weight_grad
        _gemm(self._key('weight_grad', cols), runners, (acc, go, cols), lambda: (torch.zeros_like(acc), go, cols))

    def _mm_weight_grad(self, acc, go, cols):
        for bi in range(cols.shape[0]):
            for wj, orow, icol in self.blocks:
                acc[orow].addmm_(go[bi, orow], cols[bi, icol].t())

    def _dnn_weight_grad(self, acc, go, cols):
        nb = cols.shape[0]
        go4 = go.reshape(nb, -1, self.R, self.Wo)
        gw = torch.ops.aten.convolution_backward(go4, cols.view(nb, -1, self.R, self.Wo), self.w4, None,
                                                 *_conv1x1_mkldnn_args(self.groups), [False, True, False])[1]
        acc.add_(gw.view(acc.shape))


# ----------------------------------------------------------------------------------------------------------------
# the op
# ----------------------------------------------------------------------------------------------------------------

class _Plan:
    """Geometry shared by forward and backward: sizes, normalised base positions, chunks."""

    def __init__(self, x, base, Cout, Ho, Wo, stride, padding, groups, G, chunk_bytes):
        B, Cin, H, W = x.shape
        N = base.shape[-2]
        self.B, self.Cin, self.Cout, self.N = B, Cin, Cout, N
        self.G, self.Cg, self.groups = G, Cin // G, groups
        self.H, self.W, self.Ho, self.Wo = H, W, Ho, Wo
        # grid_sample with align_corners=True maps -1/+1 to the first/last pixel centre; a size-1 axis has
        # no scale, so such inputs are padded with one zero row/column (outside is zero anyway).
        self.Hp, self.Wp = max(H, 2), max(W, 2)
        self.sy, self.sx = 2.0 / (self.Hp - 1), 2.0 / (self.Wp - 1)
        dev, dt = x.device, x.dtype
        base = base.view(-1, N, 2)  # (1 or G, N, 2)
        ho = torch.arange(Ho, device=dev, dtype=dt)
        wo = torch.arange(Wo, device=dev, dtype=dt)
        by = ho.view(1, 1, -1) * stride[0] - padding[0] + base[..., 0:1]  # (1|G, N, Ho) pixel rows
        bx = wo.view(1, 1, -1) * stride[1] - padding[1] + base[..., 1:2]  # (1|G, N, Wo) pixel cols
        self.byn = (by * self.sy - 1.0).unsqueeze(-1)  # normalised, (1|G, N, Ho, 1)
        self.bxn = (bx * self.sx - 1.0).unsqueeze(-2)  # normalised, (1|G, N, 1, Wo)
        # chunks: several whole images, or row blocks of one image, with columns <= chunk_bytes
        row_bytes = Cin * N * Wo * x.element_size()
        img_bytes = row_bytes * Ho
        chunks = []
        if img_bytes <= chunk_bytes:
            nb = max(1, chunk_bytes // img_bytes)
            for b0 in range(0, B, nb):
                chunks.append((b0, min(B, b0 + nb), 0, Ho))
        else:
            rows = max(1, chunk_bytes // row_bytes)
            for b0 in range(B):
                for r0 in range(0, Ho, rows):
                    chunks.append((b0, b0 + 1, r0, min(Ho, r0 + rows)))
        self.chunks = chunks
        self.max_points = max((b1 - b0) * (r1 - r0) * Wo for b0, b1, r0, r1 in chunks)
        self.cols_numel = B * Cin * N * Ho * Wo

    def grid(self, buf, off, b0, b1, r0, r1):
        """``grid_sample`` grid ``(nb·G, N·R, Wo, 2)`` (x, y normalised) for images b0:b1, output rows r0:r1.

        Stored as ``(nb·G, 2, N·R, Wo)`` (two contiguous planes, cheap to fill) and returned as a permuted view;
        ``grid_sampler_2d`` reads any strides.
        """
        nb, R = b1 - b0, r1 - r0
        o = off[b0:b1, :, :, :, r0:r1]  # (nb, G, N, 2, R, Wo) view
        grid = buf[:nb * self.G * 2 * self.N * R * self.Wo].view(nb, self.G, 2, self.N, R, self.Wo)
        torch.add(self.bxn, o[:, :, :, 1], alpha=self.sx, out=grid[:, :, 0])
        torch.add(self.byn[:, :, r0:r1], o[:, :, :, 0], alpha=self.sy, out=grid[:, :, 1])
        return grid.view(nb * self.G, 2, self.N * R, self.Wo).permute(0, 2, 3, 1)


def _pad_degenerate(x, plan):
    if (plan.Hp, plan.Wp) == (plan.H, plan.W):
        return x
    return torch.nn.functional.pad(x, (0, plan.Wp - plan.W, 0, plan.Hp - plan.H))


def _sample(xg, grid, plan, b0, b1, R):
    """Bilinear samples of images b0:b1 → columns ``(nb, Cin·N, R·Wo)``, rows ordered (g, c, n)."""
    s = torch.grid_sampler_2d(xg[b0 * plan.G:b1 * plan.G], grid, 0, 0, True)  # bilinear, zeros, align_corners
    return s.view(b1 - b0, plan.Cin * plan.N, R * plan.Wo)


class _NOffsetConvFunction(torch.autograd.Function):

    @staticmethod
    def forward(ctx, x, offset, mask, weight, bias, base, stride, padding, groups, G, chunk_bytes, keep_bytes):
        Cout = weight.shape[0]
        B, _, Ho, Wo = offset.shape
        plan = _Plan(x, base, Cout, Ho, Wo, stride, padding, groups, G, chunk_bytes)
        N, Cg = plan.N, plan.Cg
        xg = _pad_degenerate(x.contiguous(), plan).view(B * G, Cg, plan.Hp, plan.Wp)
        off = offset.contiguous().view(B, G, N, 2, Ho, Wo)
        m = None if mask is None else mask.contiguous().view(B, G, 1, N, Ho * Wo)
        w4 = weight.contiguous()
        out = x.new_empty(B, Cout, Ho, Wo)
        outv = out.view(B, Cout, Ho * Wo)
        # the weight and mask gradients need the (masked) columns: keep them when the budget allows
        keep = (ctx.needs_input_grad[2] or ctx.needs_input_grad[3]) and plan.cols_numel * x.element_size() <= keep_bytes
        kept = _POOL.take(plan.cols_numel, x) if keep else None
        grid_buf = _POOL.take(G * N * plan.max_points * 2, x)
        try:
            pos = 0
            for b0, b1, r0, r1 in plan.chunks:
                nb, R = b1 - b0, r1 - r0
                cs = slice(r0 * Wo, r1 * Wo)
                grid = plan.grid(grid_buf, off, b0, b1, r0, r1)
                cols = _sample(xg, grid, plan, b0, b1, R)
                dst = cols
                if kept is not None:  # the masked columns go straight into the kept block, which the product reads
                    dst = kept[pos:pos + cols.numel()].view(cols.shape)
                    pos += cols.numel()
                if m is not None:
                    torch.mul(cols.view(nb, G, Cg, N, R * Wo), m[b0:b1, :, :, :, cs],
                              out=dst.view(nb, G, Cg, N, R * Wo))
                elif dst is not cols:
                    dst.copy_(cols)
                _Products(w4, groups, R, Wo).forward(dst, outv[b0:b1, :, cs], bias)
        finally:
            _POOL.give(grid_buf)
        ctx.plan = plan
        ctx.kept = kept
        ctx.save_for_backward(x, offset, mask, weight)
        return out

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out):
        x, offset, mask, weight = ctx.saved_tensors
        plan = ctx.plan
        need_x, need_off, need_mask, need_w, need_b = ctx.needs_input_grad[:5]
        nones = (None,) * 7
        grad_x = grad_off = grad_mask = grad_w = grad_b = None
        B, G, N, Cg, Ho, Wo = plan.B, plan.G, plan.N, plan.Cg, plan.Ho, plan.Wo
        go = grad_out.contiguous().view(B, plan.Cout, Ho * Wo)
        if need_b:
            grad_b = go.sum((0, 2))
        kept = ctx.kept
        ctx.kept = None  # consumed here: a second backward (retain_graph) samples again
        if not (need_x or need_off or need_mask or need_w):
            _POOL.give(kept)
            return (grad_x, grad_off, grad_mask, grad_w, grad_b) + nones
        xg = _pad_degenerate(x.contiguous(), plan).view(B * G, Cg, plan.Hp, plan.Wp)
        off = offset.contiguous().view(B, G, N, 2, Ho, Wo)
        m = None if mask is None else mask.contiguous().view(B, G, 1, N, Ho * Wo)
        w4 = weight.contiguous()
        if need_x:
            grad_xg = torch.empty_like(xg)
        if need_off:
            grad_off = offset.new_empty(B, G, N, 2, Ho, Wo)
        if need_mask:
            grad_mask = mask.new_empty(B, G, N, Ho * Wo)
            # below this |mask|, (mask·sample)/mask may lose precision (subnormals): such chunks are resampled;
            # one pass over the mask tells whether any chunk needs to look (sigmoid masks are all positive)
            tiny = torch.finfo(mask.dtype).tiny ** 0.5
            check_tiny = bool(m.min() < tiny)
        if need_w:
            grad_w2 = torch.zeros(w4.shape[0], w4.shape[1], dtype=w4.dtype, device=w4.device)
        need_samples = need_x or need_off  # grid_sampler_2d_backward
        need_gcols = need_samples or need_mask
        grid_buf = _POOL.take(G * N * plan.max_points * 2, x)
        gcols_buf = _POOL.take(plan.Cin * N * plan.max_points, x) if need_gcols else None
        try:
            pos = 0
            for b0, b1, r0, r1 in plan.chunks:
                nb, R = b1 - b0, r1 - r0
                P = R * Wo
                cs = slice(r0 * Wo, r1 * Wo)
                numel = nb * plan.Cin * N * P
                prods = _Products(w4, plan.groups, R, Wo)
                grid = plan.grid(grid_buf, off, b0, b1, r0, r1)
                mc = None if m is None else m[b0:b1, :, :, :, cs]  # (nb, G, 1, N, P)
                # dL/dm = Σ_c gcols·sample over the group's channels, computed as (Σ_c gcols·(m·sample)) / m from
                # the masked columns (kept or resampled: the same numbers either way), except where |m| is so small
                # that m·sample may be subnormal: there the unmasked samples are used.
                exact = need_mask and check_tiny and bool((mc.abs() < tiny).any())
                cols = raw = None  # the masked columns; the unmasked ones (only for `exact`)
                if need_w or need_mask:
                    if kept is not None:
                        cols = kept[pos:pos + numel].view(nb, plan.Cin * N, P)
                    else:
                        raw = _sample(xg, grid, plan, b0, b1, R)
                        if mc is None:
                            cols = raw
                        elif exact:
                            cols = torch.mul(raw.view(nb, G, Cg, N, P), mc).view(raw.shape)
                        else:
                            cols, raw = raw, None
                            cols.view(nb, G, Cg, N, P).mul_(mc)
                    if exact and raw is None:
                        raw = _sample(xg, grid, plan, b0, b1, R)
                pos += numel
                gcols = None
                if need_gcols:
                    gcols = prods.columns_grad(go[b0:b1, :, cs], gcols_buf[:numel].view(nb, plan.Cin * N, P))
                if need_mask:
                    # one channel slice at a time: its product with the columns, then (while it is in cache) the
                    # mask multiply that grid_sampler_2d_backward needs
                    gm = grad_mask[b0:b1, :, :, cs]  # (nb, G, N, P)
                    g5 = gcols.view(nb, G, Cg, N, P)
                    c5 = (raw if exact else cols).view(nb, G, Cg, N, P)
                    m4 = mc.view(nb, G, N, P)
                    for c in range(Cg):
                        if c == 0:
                            torch.mul(g5[:, :, 0], c5[:, :, 0], out=gm)
                        else:
                            gm.addcmul_(g5[:, :, c], c5[:, :, c])
                        if need_samples:
                            g5[:, :, c].mul_(m4)
                    if not exact:
                        gm.div_(m4)
                elif need_samples and mc is not None:
                    gcols.view(nb, G, Cg, N, P).mul_(mc)
                if need_w:
                    prods.weight_grad(grad_w2, go[b0:b1, :, cs], cols)
                if need_samples:
                    gi, gg = torch.ops.aten.grid_sampler_2d_backward(
                        gcols.view(nb * G, Cg, N * R, Wo), xg[b0 * G:b1 * G], grid, 0, 0, True, [need_x, need_off])
                    if need_x:
                        dst = grad_xg[b0 * G:b1 * G]
                        if r0 == 0:  # first chunk of these images
                            dst.copy_(gi)
                        else:
                            dst.add_(gi)
                    if need_off:
                        gg = gg.view(nb, G, N, R, Wo, 2)
                        torch.mul(gg[..., 1], plan.sy, out=grad_off[b0:b1, :, :, 0, r0:r1])
                        torch.mul(gg[..., 0], plan.sx, out=grad_off[b0:b1, :, :, 1, r0:r1])
        finally:
            _POOL.give(grid_buf)
            _POOL.give(gcols_buf)
            _POOL.give(kept)
        if need_x:
            grad_x = grad_xg.view(B, plan.Cin, plan.Hp, plan.Wp)[:, :, :plan.H, :plan.W]
        if need_off:
            grad_off = grad_off.view(offset.shape)
        if need_mask:
            grad_mask = grad_mask.view(mask.shape)
        if need_w:
            grad_w = grad_w2.view(weight.shape)
        return (grad_x, grad_off, grad_mask, grad_w, grad_b) + nones
