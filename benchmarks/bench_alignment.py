"""Forward+backward wall time and peak memory of alignment ops/blocks versus a dense convolution.

Every case is one entry of :data:`CASES`: a name and a ``setup(shape, device, dtype)`` that returns a
zero-argument callable running one forward + backward pass (or ``None`` when the case cannot run here,
e.g. mmcv's op without mmcv full). Adding a row = appending one :class:`Case`.

Shapes are EDVR-M's alignment shapes: ``B`` images, ``C`` channels (64), ``S×S`` features, ``G`` deformable
groups (8), ``k×k`` kernel (3): input ``(B, C, S, S)``, offsets ``(B, 2·G·k², S, S)``, masks ``(B, G·k², S, S)``;
every input and parameter requires grad, and the backward pass starts from a fixed random output gradient.

Time: cases are interleaved round-robin (``--repeats`` rounds after ``--warmup`` rounds) so that load from
other processes hits all of them alike; the table shows the median and the minimum over rounds, and the
ratio of medians to the ``dense_conv`` row.

Peak memory: on CPU, the peak of the running sum of the tensor allocations and frees that
``torch.profiler`` records (``profile_memory=True``) during one forward+backward pass, i.e. the extra memory
above the live inputs (not ``tracemalloc``, which cannot see tensor storage, nor RSS, which never goes down);
on CUDA, ``torch.cuda.max_memory_allocated`` above the memory allocated before the pass.

Example::

    OMP_NUM_THREADS=1 python benchmarks/bench_alignment.py --sizes 2x64 4x64 2x128 4x128 --threads 1
"""
import argparse
import statistics
import time
from dataclasses import dataclass
from typing import Callable, Optional

import torch
import torch.nn.functional as F

from vidtoolbox.ops import deform_conv2d, mmcv_deform_conv_available


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


def _conv_params(s: Shape, device, dtype, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(s.batch, s.channels, s.size, s.size, generator=g, dtype=dtype)
    w = torch.randn(s.channels, s.channels, s.kernel, s.kernel, generator=g, dtype=dtype) * 0.05
    b = torch.randn(s.channels, generator=g, dtype=dtype)
    gout = torch.randn(s.batch, s.channels, s.size, s.size, generator=g, dtype=dtype)
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


def _setup_dcn(backend):
    def setup(s: Shape, device, dtype):
        if backend == 'mmcv' and not mmcv_deform_conv_available():
            return None
        x, w, b, gout = _conv_params(s, device, dtype)
        off, mask = _dcn_inputs(s, device, dtype)
        pad = s.kernel // 2
        return lambda: deform_conv2d(x, off, w, b, padding=pad, mask=mask, backend=backend).backward(gout)
    return setup


#: the rows of the table; the first one is the reference of the ratio columns
CASES = [
    Case('dense_conv', setup_dense_conv),
    Case('deform_conv2d[torch]', _setup_dcn('torch')),
    Case('deform_conv2d[mmcv]', _setup_dcn('mmcv')),
]


def _sync(device):
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


def time_once(fn, device) -> float:
    _sync(device)
    t0 = time.perf_counter()
    fn()
    _sync(device)
    return time.perf_counter() - t0


def peak_memory(fn, device) -> float:
    """Peak extra bytes allocated during ``fn()`` (see module docstring for the method)."""
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


def parse_size(text: str):
    try:
        b, s = text.lower().split('x')
        return int(b), int(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f'size must look like BxS (e.g. 4x64), got {text!r}') from None


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--sizes', nargs='+', type=parse_size, default=[(2, 64), (4, 64), (2, 128), (4, 128)],
                   help='BxS pairs: batch × square feature size (default: 2x64 4x64 2x128 4x128)')
    p.add_argument('--channels', type=int, default=64)
    p.add_argument('--groups', type=int, default=8, help='deformable groups G')
    p.add_argument('--kernel', type=int, default=3)
    p.add_argument('--repeats', type=int, default=10, help='timed rounds (all cases per round)')
    p.add_argument('--warmup', type=int, default=2)
    p.add_argument('--threads', type=int, default=None, help='torch.set_num_threads (CPU)')
    p.add_argument('--device', default='cpu')
    p.add_argument('--dtype', default='float32', choices=['float32', 'float64', 'float16', 'bfloat16'])
    p.add_argument('--cases', nargs='*', default=None, help='subset of case names (default: all)')
    p.add_argument('--no-memory', action='store_true', help='skip the peak-memory pass')
    args = p.parse_args(argv)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    device, dtype = torch.device(args.device), getattr(torch, args.dtype)
    cases = [c for c in CASES if args.cases is None or c.name in args.cases]
    if not cases:
        p.error(f'no case matches {args.cases}; known cases: {[c.name for c in CASES]}')
    print(f'device={device} dtype={args.dtype} threads={torch.get_num_threads()} repeats={args.repeats} '
          f'C={args.channels} G={args.groups} k={args.kernel}; time = fwd+bwd; ratios vs {cases[0].name}')
    header = f'{"case":<26}{"shape":>14}{"median ms":>11}{"min ms":>9}{"peak MB":>9}{"t ratio":>9}{"mem ratio":>10}'
    print(header)
    print('-' * len(header))
    for b, size in args.sizes:
        shape = Shape(b, args.channels, size, args.groups, args.kernel)
        fns = {c.name: c.setup(shape, device, dtype) for c in cases}
        runnable = {k: f for k, f in fns.items() if f is not None}
        times = {k: [] for k in runnable}
        for r in range(args.warmup + args.repeats):
            for k, f in runnable.items():
                t = time_once(f, device)
                if r >= args.warmup:
                    times[k].append(t)
        mem = {k: (None if args.no_memory else peak_memory(f, device)) for k, f in runnable.items()}
        ref = cases[0].name
        for c in cases:
            label = f'{b}x{args.channels}x{size}x{size}'
            if c.name not in runnable:
                print(f'{c.name:<26}{label:>14}{"n/a (not available)":>30}')
                continue
            med, mn = statistics.median(times[c.name]), min(times[c.name])
            t_ratio = med / statistics.median(times[ref]) if ref in runnable else float('nan')
            mb = mem[c.name]
            mem_s = '-' if mb is None else f'{mb / 2**20:.1f}'
            m_ratio = '-' if mb is None or not mem.get(ref) else f'{mb / mem[ref]:.2f}'
            print(f'{c.name:<26}{label:>14}{med * 1e3:>11.1f}{mn * 1e3:>9.1f}{mem_s:>9}{t_ratio:>9.2f}{m_ratio:>10}')
        print()


if __name__ == '__main__':
    main()
