"""Forward+backward wall time and peak memory of alignment ops/blocks versus a dense convolution.

Every case is one entry of :data:`CASES`: a name and a ``setup(shape, device, dtype)`` that returns a
zero-argument callable running one forward + backward pass (or ``None`` when the case cannot run here,
e.g. mmcv's op without mmcv full). Adding a row = appending one :class:`Case`.

Shapes are EDVR-M's alignment shapes: ``B`` images, ``C`` channels (64), ``S×S`` features, ``G`` deformable
groups (8), ``k×k`` kernel (3): input ``(B, C, S, S)``, offsets ``(B, 2·G·k², S, S)``, masks ``(B, G·k², S, S)``;
every input and parameter requires grad, and the backward pass starts from a fixed random output gradient.

Rows:

* ``dense_conv``: ``conv2d`` ``C → C``, ``k×k`` — the reference of the ratio columns.
* ``offset_conv``: ``conv2d`` ``C → 3·G·k²``, ``k×k`` — what a DCN block spends on predicting its offsets and
  masks from PCD's ``C``-channel offset features (included in the block rows below).
* ``deform_conv2d[torch]`` / ``[mmcv]``: the raw op :func:`vidtoolbox.ops.deform_conv2d` (chunked, columns kept
  for the backward pass within its default budget) / mmcv's compiled op (``n/a`` when mmcv full is not
  importable); ``deform_conv2d[resample]``: the op with ``keep_bytes=0`` (the backward samples the columns
  again instead of keeping them: less memory, more time); ``deform_conv2d[plain]``: the same
  function written plainly as all ``k²`` warps stacked with one ``grid_sample`` + a 1×1 conv
  (:func:`vidtoolbox.models.alignment.warp_n_offsets`), autograd keeping the stacked warps for backward.
* Alignment blocks, built the way EDVR-M's PCD builds them (``in/out/cond_channels = C``, called with a
  ``cond`` of ``C`` offset features that requires grad): ``DCNv2Align`` (k, G), ``NOffsetAlign`` with
  ``N = k²`` and G (the DCN decomposition), ``N = 1`` and G, ``N = 25`` and ``G = 1``; ``FlowWarpAlign``
  (feature level, ``G = 1`` as in ``configs/experiments/edvr_flow_feature.py``); ``MultiSPyNetAlign`` with
  N = 1 and N = 3 SPyNets at image level (random ``(B, 3, S, S)`` images as ctx ``ref_img``/``nbr_img``,
  randomly initialised nets so that the flows are not zero). The offset heads of the blocks are re-initialised
  with small random weights (offsets of a few pixels, as after training) instead of their zero init.

Time: cases are interleaved round-robin (``--repeats`` rounds after ``--warmup`` rounds) so that load from
other processes hits all of them alike; the table shows the median and the minimum wall time over rounds, the
median CPU time of the process (``time.process_time``: with one thread, the time the pass actually ran, which
other processes disturb less than the wall time; with more threads it adds up the threads, idle spinning
included), and the ratio of medians to the ``dense_conv`` row. The header prints the load average
(``os.getloadavg()``) before and after the run.

Paired ratios (:data:`PAIRS`, printed under each size): ``deform_conv2d[torch]`` / ``dense_conv``,
``NOffsetAlign[N=k2]`` / ``DCNv2Align`` and ``NOffsetAlign[N=25,G=1]`` / ``NOffsetAlign[N=k2]``, each the median
over rounds of the ratio of the two rows' times *in the same round* (wall and CPU), so that both sides of a ratio
saw the same load; plus their peak-memory ratio.

Peak memory: on CPU, the peak of the running sum of the tensor allocations and frees that
``torch.profiler`` records (``profile_memory=True``) during one forward+backward pass, i.e. the extra memory
above the live inputs (not ``tracemalloc``, which cannot see tensor storage, nor RSS, which never goes down);
on CUDA, ``torch.cuda.max_memory_allocated`` above the memory allocated before the pass. The deformable op's
reusable CPU workspaces are released before each measured pass
(:func:`vidtoolbox.ops.release_deform_conv_workspace`), so that the pass allocates them and they are counted.

The footer lists the engine (MKL ``mm`` or ``onednn``) that :func:`vidtoolbox.ops.deform_conv2d` measured and
chose for each of its matrix products (:func:`vidtoolbox.ops.deform_conv_gemm_choices`).

Example (the full default table — sizes 4x64 and 2x128, 3 repeats — about 4–7 minutes on a loaded 2-core machine)::

    OMP_NUM_THREADS=1 python benchmarks/bench_alignment.py --threads 1

A wider grid: ``--sizes 2x64 4x64 2x128 4x128 --repeats 5`` (about 4× longer).

Against another version of the op, interleaved (``deform_conv2d[baseline]`` row and paired ratios)::

    git show 9b049db:vidtoolbox/ops/deform_conv.py > /tmp/deform_conv_before.py
    OMP_NUM_THREADS=1 python benchmarks/bench_alignment.py --threads 1 --repeats 10 \\
        --cases dense_conv 'deform_conv2d[torch]' --baseline /tmp/deform_conv_before.py

Where the time of one row goes (``torch.profiler`` self CPU time by category, in units of the first row)::

    OMP_NUM_THREADS=1 python benchmarks/bench_alignment.py --threads 1 --profile 'deform_conv2d[torch]' \\
        --cases dense_conv

``--quick``: a small subset (one size, the main rows, 2 repeats; ~20 s).
"""
import argparse
import os
import statistics
import time
from dataclasses import dataclass
from typing import Callable, List, Optional

import torch
import torch.nn.functional as F

from vidtoolbox.models.alignment import warp_n_offsets
from vidtoolbox.ops import (deform_conv2d, deform_conv_gemm_choices, mmcv_deform_conv_available,
                            release_deform_conv_workspace)
from vidtoolbox.registry import MODELS
from vidtoolbox.utils.profiling import quiet_profiler

quiet_profiler()  # no "USDT: ... profiler_start" lines from the memory measurement

__all__ = ['Shape', 'Case', 'CASES', 'PAIRS', 'QUICK_CASES', 'QUICK_SIZES', 'DEFAULT_SIZES', 'case_names',
           'run_table', 'paired_ratios', 'profile_breakdown', 'PROFILE_GROUPS', 'baseline_case', 'dcn_plain',
           'time_once',
           'peak_memory', 'parse_size', 'main']


@dataclass
class Shape:
    batch: int
    channels: int
    size: int
    groups: int
    kernel: int


@dataclass
class Case:
    """One benchmark row: ``setup(shape, device, dtype)`` returns a fwd+bwd callable, or None if unavailable."""
    name: str
    setup: Callable[[Shape, torch.device, torch.dtype], Optional[Callable[[], None]]]


def _conv_params(s: Shape, device, dtype, seed=0, out_channels=None):
    g = torch.Generator().manual_seed(seed)
    cout = s.channels if out_channels is None else out_channels
    x = torch.randn(s.batch, s.channels, s.size, s.size, generator=g, dtype=dtype)
    w = torch.randn(cout, s.channels, s.kernel, s.kernel, generator=g, dtype=dtype) * 0.05
    b = torch.randn(cout, generator=g, dtype=dtype)
    gout = torch.randn(s.batch, cout, s.size, s.size, generator=g, dtype=dtype)
    return [t.to(device).requires_grad_(t is not gout) for t in (x, w, b)] + [gout.to(device)]


def _dcn_inputs(s: Shape, device, dtype, seed=1):
    g = torch.Generator().manual_seed(seed)
    K = s.kernel * s.kernel
    off = torch.randn(s.batch, 2 * s.groups * K, s.size, s.size, generator=g, dtype=dtype) * 2.0
    mask = torch.rand(s.batch, s.groups * K, s.size, s.size, generator=g, dtype=dtype)
    return off.to(device).requires_grad_(), mask.to(device).requires_grad_()


def setup_dense_conv(s: Shape, device, dtype):
    x, w, b, gout = _conv_params(s, device, dtype)
    pad = s.kernel // 2
    return lambda: F.conv2d(x, w, b, padding=pad).backward(gout)


def setup_offset_conv(s: Shape, device, dtype):
    x, w, b, gout = _conv_params(s, device, dtype, out_channels=3 * s.groups * s.kernel ** 2)
    pad = s.kernel // 2
    return lambda: F.conv2d(x, w, b, padding=pad).backward(gout)


def _setup_dcn(backend, **kwargs):
    def setup(s: Shape, device, dtype):
        if backend == 'mmcv' and not mmcv_deform_conv_available():
            return None
        x, w, b, gout = _conv_params(s, device, dtype)
        off, mask = _dcn_inputs(s, device, dtype)
        pad = s.kernel // 2
        return lambda: deform_conv2d(x, off, w, b, padding=pad, mask=mask, backend=backend, **kwargs).backward(gout)
    return setup


def dcn_plain(x, offset, weight, bias, mask=None):
    """``deform_conv2d(x, offset, weight, bias, padding=k // 2, mask=mask)`` (stride 1, square odd kernel k)
    written plainly: all k² warps of every group stacked with one ``grid_sample``
    (:func:`~vidtoolbox.models.alignment.warp_n_offsets`, offsets + the kernel taps), then one 1×1 conv.
    Plain autograd keeps the ``(B, C·k², H, W)`` stacked warps alive for the backward pass.
    """
    cout, cin, k, _ = weight.shape
    K, r = k * k, k // 2
    groups = offset.shape[1] // (2 * K)
    ii, jj = torch.meshgrid(torch.arange(k) - r, torch.arange(k) - r, indexing='ij')
    taps = torch.stack((ii.reshape(-1), jj.reshape(-1)), 1).to(offset)  # (K, 2) as (dy, dx), row-major
    base = taps.repeat(groups, 1).reshape(1, 2 * groups * K, 1, 1)
    # warp_n_offsets stacks channel c·K + k (input-channel-major) = the layout of weight.view(Cout, Cin·K)
    return F.conv2d(warp_n_offsets(x, offset + base, groups, mask), weight.reshape(cout, cin * K, 1, 1), bias)


def baseline_case(path: str) -> Case:
    """A ``deform_conv2d[baseline]`` row running ``deform_conv2d`` from another version of
    ``vidtoolbox/ops/deform_conv.py`` (a file path, e.g. ``git show REV:vidtoolbox/ops/deform_conv.py > old.py``),
    timed interleaved with the current op; the file must import nothing from the toolbox."""
    import importlib.util
    spec = importlib.util.spec_from_file_location('deform_conv_baseline', path)
    if spec is None or spec.loader is None:
        raise ValueError(f'--baseline: cannot load {path!r} as a Python module')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    op = getattr(module, 'deform_conv2d', None)
    if op is None:
        raise ValueError(f'--baseline: {path!r} defines no deform_conv2d')

    def setup(s: Shape, device, dtype):
        x, w, b, gout = _conv_params(s, device, dtype)
        off, mask = _dcn_inputs(s, device, dtype)
        pad = s.kernel // 2
        return lambda: op(x, off, w, b, padding=pad, mask=mask, backend='torch').backward(gout)
    return Case('deform_conv2d[baseline]', setup)


def setup_dcn_plain(s: Shape, device, dtype):
    x, w, b, gout = _conv_params(s, device, dtype)
    off, mask = _dcn_inputs(s, device, dtype)
    return lambda: dcn_plain(x, off, w, b, mask).backward(gout)


def _randomise_offset_head(block, std_px=2.0, seed=2):
    """Small random weights for the zero-initialised offset conv: offsets of about ``std_px`` pixels."""
    conv = getattr(block, 'conv_offset', None)
    if conv is None:
        return
    g = torch.Generator().manual_seed(seed)
    fan_in = conv.weight[0].numel()
    with torch.no_grad():
        # unit-variance inputs: output std ≈ sqrt(fan_in)·std_w = std_px
        conv.weight.copy_(torch.randn(conv.weight.shape, generator=g) * (std_px / fan_in ** 0.5))
        conv.bias.zero_()


def _setup_block(cfg, groups_from_shape=False, kernel_from_shape=False, num_offsets_k2=False, images=False):
    """A fwd+bwd callable for an alignment block built from ``cfg`` at EDVR-M's PCD shapes (see module docstring)."""
    def setup(s: Shape, device, dtype):
        full = dict(cfg, in_channels=s.channels, out_channels=s.channels, cond_channels=s.channels)
        if groups_from_shape:
            full['deform_groups'] = s.groups
        if kernel_from_shape:
            full['kernel_size'] = s.kernel
        if num_offsets_k2:
            full['num_offsets'] = s.kernel ** 2
        torch.manual_seed(3)
        block = MODELS.build(full)
        _randomise_offset_head(block)
        block = block.to(device=device, dtype=dtype).train()
        g = torch.Generator().manual_seed(4)
        shape = (s.batch, s.channels, s.size, s.size)
        ref, nbr, cond, gout = (torch.randn(shape, generator=g, dtype=dtype).to(device) for _ in range(4))
        for t in (ref, nbr, cond):
            t.requires_grad_()
        ctx = {}
        if images:
            img_shape = (s.batch, 3, s.size, s.size)
            ctx = dict(ref_img=torch.rand(img_shape, generator=g, dtype=dtype).to(device),
                       nbr_img=torch.rand(img_shape, generator=g, dtype=dtype).to(device))

        def run():
            aligned, _ = block(ref, nbr, cond=cond, **ctx)
            aligned.backward(gout)
        return run
    return setup


#: the rows of the table; the first one is the reference of the ratio columns
CASES = [
    Case('dense_conv', setup_dense_conv),
    Case('offset_conv', setup_offset_conv),
    Case('deform_conv2d[torch]', _setup_dcn('torch')),
    Case('deform_conv2d[resample]', _setup_dcn('torch', keep_bytes=0)),
    Case('deform_conv2d[plain]', setup_dcn_plain),
    Case('deform_conv2d[mmcv]', _setup_dcn('mmcv')),
    Case('DCNv2Align', _setup_block(dict(type='DCNv2Align'), groups_from_shape=True, kernel_from_shape=True)),
    Case('NOffsetAlign[N=k2]', _setup_block(dict(type='NOffsetAlign'), groups_from_shape=True,
                                            num_offsets_k2=True)),
    Case('NOffsetAlign[N=1]', _setup_block(dict(type='NOffsetAlign', num_offsets=1), groups_from_shape=True)),
    Case('NOffsetAlign[N=25,G=1]', _setup_block(dict(type='NOffsetAlign', num_offsets=25, deform_groups=1))),
    Case('FlowWarpAlign[feat,G=1]', _setup_block(dict(type='FlowWarpAlign', level='feature', deform_groups=1))),
    Case('MultiSPyNet[N=1,img]', _setup_block(dict(type='MultiSPyNetAlign', num_flows=1, level='image',
                                                   zero_init_flow=False), images=True)),
    Case('MultiSPyNet[N=3,img]', _setup_block(dict(type='MultiSPyNetAlign', num_flows=3, level='image',
                                                   zero_init_flow=False), images=True)),
]

#: (numerator, denominator) rows whose time ratio is taken round by round (see the module docstring)
PAIRS = [('deform_conv2d[torch]', 'dense_conv'), ('NOffsetAlign[N=k2]', 'DCNv2Align'),
         ('NOffsetAlign[N=25,G=1]', 'NOffsetAlign[N=k2]')]

#: the default table: EDVR-M's batch 2–4 at 64² and 128² (the full 4×4 grid takes ~4× longer; pass --sizes)
DEFAULT_SIZES = [(4, 64), (2, 128)]
#: ``--quick``: one size and the main rows
QUICK_SIZES = [(2, 64)]
QUICK_CASES = ['dense_conv', 'deform_conv2d[torch]', 'deform_conv2d[mmcv]', 'DCNv2Align', 'NOffsetAlign[N=k2]',
               'FlowWarpAlign[feat,G=1]', 'MultiSPyNet[N=1,img]']


def case_names() -> List[str]:
    return [c.name for c in CASES]


def _sync(device):
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


def time_once(fn, device) -> float:
    """Wall time of ``fn()`` (seconds), synchronising accelerators."""
    return _time_once(fn, device)[0]


def _time_once(fn, device):
    """``(wall, cpu)`` seconds of ``fn()``; cpu = this process's CPU time (all its threads)."""
    _sync(device)
    c0, t0 = time.process_time(), time.perf_counter()
    fn()
    _sync(device)
    return time.perf_counter() - t0, time.process_time() - c0


def peak_memory(fn, device) -> float:
    """Peak extra bytes allocated during ``fn()`` (see module docstring for the method)."""
    release_deform_conv_workspace()  # pooled CPU workspaces would otherwise be reused without an allocation
    if device.type == 'cuda':
        torch.cuda.synchronize(device)
        base = torch.cuda.memory_allocated(device)
        torch.cuda.reset_peak_memory_stats(device)
        fn()
        torch.cuda.synchronize(device)
        return float(torch.cuda.max_memory_allocated(device) - base)
    from torch.profiler import ProfilerActivity, profile
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        fn()
    # raw allocator events (+bytes on allocation, -bytes on free), in time order
    events = sorted((e.start_ns(), e.nbytes()) for e in prof.profiler.kineto_results.events()
                    if e.name() == '[memory]')
    cur = peak = 0
    for _, nbytes in events:
        cur += nbytes
        peak = max(peak, cur)
    return float(peak)


#: op-name fragments → the categories of :func:`profile_breakdown`, first match wins
PROFILE_GROUPS = [
    ('grid_sampler_2d_backward', 'sampling backward (input + offset gradients: grid_sampler_2d_backward)'),
    ('grid_sampler_2d', 'sampling (grid_sampler_2d)'),
    ('mm', 'matrix products (torch.mm / oneDNN 1x1 conv)'),
    ('mkldnn_convolution', 'matrix products (torch.mm / oneDNN 1x1 conv)'),
    ('convolution_backward', 'matrix products (torch.mm / oneDNN 1x1 conv)'),
    ('mul', 'element-wise (mask, mask gradient, grid, offset gradient, copies)'),
    ('add', 'element-wise (mask, mask gradient, grid, offset gradient, copies)'),
    ('div', 'element-wise (mask, mask gradient, grid, offset gradient, copies)'),
    ('copy_', 'element-wise (mask, mask gradient, grid, offset gradient, copies)'),
    ('fill_', 'element-wise (mask, mask gradient, grid, offset gradient, copies)'),
    ('sum', 'element-wise (mask, mask gradient, grid, offset gradient, copies)'),
    ('min', 'element-wise (mask, mask gradient, grid, offset gradient, copies)'),
]


def profile_breakdown(fn, ref_fn, passes=3, out=print, ref_name='dense_conv'):
    """Self CPU time per pass of ``fn`` by category (:data:`PROFILE_GROUPS`, the rest is 'other': Python, views,
    allocations) from ``torch.profiler``, in ms and in units of ``ref_fn``'s total (profiled alike, interleaved).

    Returns:
        dict category → ms per pass, plus ``'total'`` and ``'reference'`` (``ref_fn``'s ms per pass).
    """
    from torch.profiler import ProfilerActivity, profile

    def self_ms(prof):
        per = {}
        for ev in prof.key_averages():
            per[ev.key] = per.get(ev.key, 0.0) + ev.self_cpu_time_total / 1e3
        return per

    fn()
    ref_fn()
    totals, ref_total = {}, 0.0
    for _ in range(passes):  # interleaved, so that both see the same load
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            fn()
        for k, v in self_ms(prof).items():
            totals[k] = totals.get(k, 0.0) + v / passes
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            ref_fn()
        ref_total += sum(self_ms(prof).values()) / passes
    groups = {}
    for key, ms in totals.items():
        name = key.split('::')[-1]
        cat = next((c for frag, c in PROFILE_GROUPS if key.startswith('aten::') and frag in name), 'other (Python, '
                   'views, allocations)')
        groups[cat] = groups.get(cat, 0.0) + ms
    total = sum(groups.values())
    out(f'{"category":<72}{"ms/pass":>9}{"share":>7}{"x " + ref_name:>14}')
    for cat, ms in sorted(groups.items(), key=lambda kv: -kv[1]):
        out(f'{cat:<72}{ms:>9.1f}{ms / total:>7.0%}{ms / ref_total:>14.2f}')
    out(f'{"total":<72}{total:>9.1f}{1:>7.0%}{total / ref_total:>14.2f}')
    out(f'{ref_name + " (reference)":<72}{ref_total:>9.1f}{"":>7}{1:>14.2f}')
    groups['total'], groups['reference'] = total, ref_total
    return groups


def parse_size(text: str):
    try:
        b, s = text.lower().split('x')
        return int(b), int(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f'size must look like BxS (e.g. 4x64), got {text!r}') from None


def run_table(sizes, cases, channels=64, groups=8, kernel=3, repeats=10, warmup=2, device='cpu',
              dtype=torch.float32, memory=True, out=print, pairs=None):
    """Time (and measure) ``cases`` at every ``(B, S)`` of ``sizes``; print the table with ``out``.

    Returns:
        list of row dicts ``name, batch, size, median_s, min_s, cpu_s, times_s, cpu_times_s, peak_bytes, t_ratio,
        mem_ratio`` (``None`` values for a case that is unavailable here; ratios relative to ``cases[0]``;
        ``times_s`` / ``cpu_times_s`` the per-round wall / CPU times). Under each size, the paired ratios of
        ``pairs`` (default :data:`PAIRS`; the pairs whose rows both ran) are printed, see :func:`paired_ratios`.
    """
    device = torch.device(device)
    cases = list(cases)
    if not cases:
        raise ValueError(f'run_table: no cases given; known cases: {case_names()}')
    if repeats < 1 or warmup < 0:
        raise ValueError(f'run_table: need repeats >= 1 and warmup >= 0, got repeats={repeats}, warmup={warmup}')
    pairs = PAIRS if pairs is None else pairs
    ref = cases[0].name
    header = (f'{"case":<25}{"shape":>14}{"median ms":>11}{"min ms":>9}{"cpu ms":>9}{"peak MB":>9}{"t ratio":>9}'
              f'{"mem ratio":>10}')
    out(header)
    out('-' * len(header))
    rows = []
    for b, size in sizes:
        shape = Shape(b, channels, size, groups, kernel)
        fns = {c.name: c.setup(shape, device, dtype) for c in cases}
        runnable = {k: f for k, f in fns.items() if f is not None}
        times = {k: [] for k in runnable}
        cpu = {k: [] for k in runnable}
        for r in range(warmup + repeats):
            for k, f in runnable.items():
                t, c = _time_once(f, device)
                if r >= warmup:
                    times[k].append(t)
                    cpu[k].append(c)
        mem = {k: (peak_memory(f, device) if memory else None) for k, f in runnable.items()}
        label = f'{b}x{channels}x{size}x{size}'
        size_rows = []
        for c in cases:
            if c.name not in runnable:
                out(f'{c.name:<25}{label:>14}{"n/a (not available)":>30}')
                size_rows.append(dict(name=c.name, batch=b, size=size, median_s=None, min_s=None, cpu_s=None,
                                      times_s=None, cpu_times_s=None, peak_bytes=None, t_ratio=None,
                                      mem_ratio=None))
                continue
            med, mn, cmed = statistics.median(times[c.name]), min(times[c.name]), statistics.median(cpu[c.name])
            t_ratio = med / statistics.median(times[ref]) if ref in runnable else float('nan')
            mb = mem[c.name]
            m_ratio = None if mb is None or not mem.get(ref) else mb / mem[ref]
            mem_s = '-' if mb is None else f'{mb / 2**20:.1f}'
            m_ratio_s = '-' if m_ratio is None else f'{m_ratio:.2f}'
            out(f'{c.name:<25}{label:>14}{med * 1e3:>11.1f}{mn * 1e3:>9.1f}{cmed * 1e3:>9.1f}{mem_s:>9}'
                f'{t_ratio:>9.2f}{m_ratio_s:>10}')
            size_rows.append(dict(name=c.name, batch=b, size=size, median_s=med, min_s=mn, cpu_s=cmed,
                                  times_s=list(times[c.name]), cpu_times_s=list(cpu[c.name]), peak_bytes=mb,
                                  t_ratio=t_ratio, mem_ratio=m_ratio))
        for p in paired_ratios(size_rows, pairs):
            mem_s = '' if p['mem_ratio'] is None else f', peak memory {p["mem_ratio"]:.2f}x'
            out(f'  {p["name"]:<46} {p["t_ratio"]:5.2f}x wall, {p["cpu_ratio"]:5.2f}x cpu '
                f'(median over {p["rounds"]} rounds of same-round ratios){mem_s}')
        rows.extend(size_rows)
        out('')
    return rows


def paired_ratios(rows, pairs=None):
    """Same-round time ratios of ``pairs`` among ``rows`` of one size (as returned by :func:`run_table`).

    Returns:
        list of dicts ``name ('A / B'), t_ratio, cpu_ratio`` (medians over rounds of ``time_A / time_B`` measured in
        the same round, wall and CPU), ``rounds`` and ``mem_ratio`` (peak memory A / B, None when not measured),
        for the pairs whose two rows both ran.
    """
    by_name = {r['name']: r for r in rows if r.get('times_s')}
    result = []
    for num, den in (PAIRS if pairs is None else pairs):
        if num not in by_name or den not in by_name:
            continue
        a, b = by_name[num], by_name[den]
        t = statistics.median(x / y for x, y in zip(a['times_s'], b['times_s']))
        c = statistics.median(x / max(y, 1e-9) for x, y in zip(a['cpu_times_s'], b['cpu_times_s']))
        m = a['peak_bytes'] / b['peak_bytes'] if a['peak_bytes'] and b['peak_bytes'] else None
        result.append(dict(name=f'{num} / {den}', t_ratio=t, cpu_ratio=c, rounds=len(a['times_s']), mem_ratio=m))
    return result


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--sizes', nargs='+', type=parse_size, default=None,
                   help='BxS pairs: batch × square feature size (default: 4x64 2x128; --quick: 2x64)')
    p.add_argument('--channels', type=int, default=64)
    p.add_argument('--groups', type=int, default=8, help='deformable groups G')
    p.add_argument('--kernel', type=int, default=3)
    p.add_argument('--repeats', type=int, default=None, help='timed rounds (all cases per round); default 3, '
                   '--quick: 2')
    p.add_argument('--warmup', type=int, default=1)
    p.add_argument('--threads', type=int, default=None, help='torch.set_num_threads (CPU)')
    p.add_argument('--device', default='cpu')
    p.add_argument('--dtype', default='float32', choices=['float32', 'float64', 'float16', 'bfloat16'])
    p.add_argument('--cases', nargs='*', default=None,
                   help=f'subset of case names (default: all, --quick: a subset); known: {case_names()}')
    p.add_argument('--quick', action='store_true',
                   help=f'small subset: sizes {QUICK_SIZES}, cases {QUICK_CASES}, 2 repeats (unless given)')
    p.add_argument('--no-memory', action='store_true', help='skip the peak-memory pass')
    p.add_argument('--baseline', default=None, metavar='FILE',
                   help='add a row deform_conv2d[baseline] running deform_conv2d from FILE (another version of '
                        'vidtoolbox/ops/deform_conv.py), right after deform_conv2d[torch], with its paired ratio')
    p.add_argument('--profile', default=None, metavar='CASE',
                   help='instead of the table: where the time of CASE goes (torch.profiler self CPU time by category, '
                        'per pass and in units of the first case), at every size, over --repeats passes')
    args = p.parse_args(argv)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    sizes = args.sizes or (QUICK_SIZES if args.quick else DEFAULT_SIZES)
    repeats = args.repeats or (2 if args.quick else 3)
    wanted = args.cases if args.cases is not None else (QUICK_CASES if args.quick else None)
    if wanted is not None:
        unknown = [n for n in wanted if n not in case_names()]
        if unknown:
            p.error(f'unknown case(s) {unknown}; known cases: {case_names()}')
    cases = [c for c in CASES if wanted is None or c.name in wanted]
    if not cases:
        p.error(f'no case matches {args.cases}; known cases: {case_names()}')
    pairs = None
    if args.baseline is not None:
        try:
            base_case = baseline_case(args.baseline)
        except (OSError, ValueError, ImportError, SyntaxError) as err:
            p.error(f'--baseline {args.baseline}: {err}')
        at = next((i + 1 for i, c in enumerate(cases) if c.name == 'deform_conv2d[torch]'), len(cases))
        cases.insert(at, base_case)
        pairs = PAIRS + [('deform_conv2d[torch]', 'deform_conv2d[baseline]'), ('deform_conv2d[baseline]', 'dense_conv')]
    print(f'device={args.device} dtype={args.dtype} threads={torch.get_num_threads()} repeats={repeats} '
          f'warmup={args.warmup} C={args.channels} G={args.groups} k={args.kernel}; time = fwd+bwd; '
          f'ratios vs {cases[0].name}')
    print(f'load average (1/5/15 min) before: {_load()}; {os.cpu_count()} CPUs')
    if args.profile is not None:
        if args.profile not in case_names():
            p.error(f'unknown case {args.profile!r} for --profile; known cases: {case_names()}')
        target = next(c for c in CASES if c.name == args.profile)
        dtype = getattr(torch, args.dtype)
        for b, size in sizes:
            shape = Shape(b, args.channels, size, args.groups, args.kernel)
            fn, ref_fn = target.setup(shape, torch.device(args.device), dtype), \
                cases[0].setup(shape, torch.device(args.device), dtype)
            if fn is None:
                print(f'{args.profile} is not available here')
                return
            print(f'\n{args.profile} at {b}x{args.channels}x{size}x{size}:')
            profile_breakdown(fn, ref_fn, passes=repeats, ref_name=cases[0].name)
        print(f'load average (1/5/15 min) after: {_load()}')
        _print_gemm_choices()
        return
    run_table(sizes, cases, channels=args.channels, groups=args.groups, kernel=args.kernel, repeats=repeats,
              warmup=args.warmup, device=args.device, dtype=getattr(torch, args.dtype),
              memory=not args.no_memory, pairs=pairs)
    print(f'load average (1/5/15 min) after: {_load()}')
    _print_gemm_choices()


def _print_gemm_choices():
    choices = deform_conv_gemm_choices()
    if choices:
        print('deform_conv2d matrix products, engine chosen by measurement:')
        for key, engine in choices.items():
            print(f'  {key}: {engine}')


def _load() -> str:
    try:
        return ' '.join(f'{v:.2f}' for v in os.getloadavg())
    except OSError:  # not available on this platform
        return 'n/a'


if __name__ == '__main__':
    main()
