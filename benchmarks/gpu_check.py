"""One-command GPU check: the deformable convolution against torchvision's and mmcv's CUDA ops, and EDVR-M / BasicVSR
training iterations per second in fp32 and fp16 AMP with their peak memory — one table, about 2–4 minutes on a
current GPU.

    python benchmarks/gpu_check.py                      # on a CUDA machine (the toolbox installed: pip install -e .)
    python benchmarks/gpu_check.py --dry-run            # the same logic on the CPU with tiny sizes (tests use it)

Rows (all interleaved round-robin within their group, median of ``--repeats`` after ``--warmup``):

* ``deform_conv2d``, EDVR-M's alignment shape at the paper's batch (16×64×64×64, 8 deformable groups, 3×3, every
  input requiring grad), forward + backward from a fixed output gradient:
  ``vidtoolbox`` (:func:`vidtoolbox.ops.deform_conv2d`, ``backend='torch'``), ``torchvision``
  (``torchvision.ops.deform_conv2d``, when torchvision with its compiled ops imports), ``mmcv``
  (``mmcv.ops.modulated_deform_conv2d``, when mmcv full imports); ``n/a`` otherwise. The notes column gives the
  largest difference of the output and of every gradient from ``vidtoolbox``'s (the same layout: offsets ``(dy, dx)``
  per tap, group-major) — a correctness check on the GPU as well;
* ``train step``: ``model.train_step`` of ``benchmarks/bench_train_step.py`` (forward, losses, backward, Adam), at the
  paper's sizes — EDVR-M LR 64, batch 16, 5 frames; BasicVSR LR 64, 15 frames, batch 8 — in fp32 and with AMP
  (float16 autocast + dynamic loss scaling, MMEngine's ``AmpOptimWrapper``; the deformable op runs in float32 inside
  autocast); plus EDVR-M + offset-fidelity with DIS inside the step (``ofl[step]``: the GPU waits for OpenCV on the
  CPU every iteration) and with the flow carried by the batch (``ofl[pipeline]``: what the DataLoader workers give
  it, ``configs/edvr_m_ofl.py``'s default). Peak memory = ``torch.cuda.max_memory_allocated`` over one iteration,
  model and optimizer state included. The notes say which deformable-conv backend the networks used (``'auto'``:
  mmcv's op when importable on CUDA, else the toolbox's).

``--dry-run`` (or ``--device cpu``) runs every row on the CPU with tiny sizes and 2-block, 8-channel networks, so that
the table's logic is tested without a GPU; the header says so. Exit status 0 when the table was printed.
"""
import argparse
import importlib.util
import os
import os.path as osp
import statistics
import sys
import time
from dataclasses import dataclass, replace
from typing import List, Optional

import torch

__all__ = ['DcnShape', 'dcn_rows', 'train_rows', 'main', 'load_bench_train_step']

_HERE = osp.dirname(osp.abspath(__file__))


def load_bench_train_step():
    """``benchmarks/bench_train_step.py`` as a module (the train-step cases and their builder)."""
    spec = importlib.util.spec_from_file_location('bench_train_step', osp.join(_HERE, 'bench_train_step.py'))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@dataclass
class DcnShape:
    batch: int = 16
    channels: int = 64
    size: int = 64
    groups: int = 8
    kernel: int = 3


def _sync(device):
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


def _peak_mb(fn, device) -> Optional[float]:
    if device.type != 'cuda':
        return None
    torch.cuda.synchronize(device)
    torch.cuda.reset_peak_memory_stats(device)
    fn()
    torch.cuda.synchronize(device)
    return torch.cuda.max_memory_allocated(device) / 2 ** 20


def _interleaved(fns, device, repeats, warmup):
    times = {k: [] for k in fns}
    for r in range(warmup + repeats):
        for k, f in fns.items():
            _sync(device)
            t0 = time.perf_counter()
            f()
            _sync(device)
            if r >= warmup:
                times[k].append(time.perf_counter() - t0)
    return {k: statistics.median(v) for k, v in times.items()}


def _torchvision_op():
    try:
        from torchvision.ops import deform_conv2d as op
        return op, None
    except Exception as err:  # noqa: BLE001 - not installed, or its compiled ops do not load
        return None, f'{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ""}'


def _mmcv_op():
    try:
        from mmcv.ops import modulated_deform_conv2d as op
        return op, None
    except Exception as err:  # noqa: BLE001
        return None, f'{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ""}'


def dcn_rows(shape: DcnShape, device, repeats=10, warmup=3) -> List[dict]:
    """Forward+backward time, peak memory and agreement of the three deformable convolutions at ``shape``."""
    from vidtoolbox.ops import deform_conv2d
    s = shape
    K = s.kernel * s.kernel
    g = torch.Generator().manual_seed(0)
    x = torch.randn(s.batch, s.channels, s.size, s.size, generator=g)
    off = torch.randn(s.batch, 2 * s.groups * K, s.size, s.size, generator=g) * 2.0
    mask = torch.rand(s.batch, s.groups * K, s.size, s.size, generator=g)
    w = torch.randn(s.channels, s.channels, s.kernel, s.kernel, generator=g) * 0.05
    b = torch.randn(s.channels, generator=g)
    gout = torch.randn(s.batch, s.channels, s.size, s.size, generator=g).to(device)
    leaves = [t.to(device).requires_grad_() for t in (x, off, mask, w, b)]
    pad = s.kernel // 2
    ops = {'vidtoolbox': lambda a, o, m, w_, b_: deform_conv2d(a, o, w_, b_, padding=pad, mask=m, backend='torch')}
    why = {}
    tv, why['torchvision'] = _torchvision_op()
    if tv is not None:
        ops['torchvision'] = lambda a, o, m, w_, b_: tv(a, o, w_, b_, padding=(pad, pad), mask=m)
    mm, why['mmcv'] = _mmcv_op()
    if mm is not None:
        ops['mmcv'] = lambda a, o, m, w_, b_: mm(a, o, m, w_, b_, 1, pad, 1, 1, s.groups)

    def run(name):
        for t in leaves:
            t.grad = None
        out = ops[name](*leaves)
        out.backward(gout)
        return out

    results, usable = {}, {}
    for name in list(ops):
        try:
            out = run(name)
            results[name] = [out.detach()] + [t.grad.detach().clone() for t in leaves]
            usable[name] = lambda n=name: run(n)
        except Exception as err:  # noqa: BLE001 - e.g. torchvision built without this device's kernels
            why[name] = f'{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ""}'
    times = _interleaved(usable, device, repeats, warmup)
    label = f'{s.batch}x{s.channels}x{s.size}x{s.size} G{s.groups} k{s.kernel}'
    rows = []
    ref = results.get('vidtoolbox')
    for name in ('vidtoolbox', 'torchvision', 'mmcv'):
        if name not in usable:
            rows.append(dict(kind='deform_conv2d fwd+bwd', case=name, precision='fp32', shape=label, ms=None,
                             its=None, peak_mb=None, notes=f'n/a ({why.get(name) or "not available"})'))
            continue
        notes = ''
        if ref is not None and name != 'vidtoolbox':
            names = ('out', 'd_input', 'd_offset', 'd_mask', 'd_weight', 'd_bias')
            diffs = [(n, float((a - r).abs().max() / (r.abs().max() + 1e-12))) for n, a, r in
                     zip(names, results[name], ref)]
            notes = 'max rel diff vs vidtoolbox: ' + ', '.join(f'{n} {d:.1e}' for n, d in diffs)
        rows.append(dict(kind='deform_conv2d fwd+bwd', case=name, precision='fp32', shape=label,
                         ms=times[name] * 1e3, its=1 / times[name], peak_mb=_peak_mb(usable[name], device),
                         notes=notes))
    if 'vidtoolbox' in times:
        for r in rows:
            if r['ms'] is not None and r['case'] != 'vidtoolbox':
                r['notes'] = f'{times["vidtoolbox"] / times[r["case"]]:.2f}x faster than vidtoolbox; ' + r['notes']
    return rows


#: (case name of bench_train_step, precisions)
TRAIN_CASES = [('edvr_m', ('fp32', 'amp')), ('basicvsr', ('fp32', 'amp')),
               ('edvr_m+ofl[step]', ('fp32',)), ('edvr_m+ofl[pipeline]', ('fp32',))]
#: --dry-run: tiny networks (config overrides) and sizes (LR, batch, frames) per family
DRY_OPTIONS = {
    'edvr': {'model.generator.mid_channels': 8, 'model.generator.deform_groups': 2,
             'model.generator.num_extract_block': 1, 'model.generator.num_reconstruct_block': 1},
    'basicvsr': {'model.generator.mid_channels': 8, 'model.generator.num_blocks': 1},
}
DRY_SIZES = {'edvr': (16, 1, 5), 'basicvsr': (64, 1, 2)}


def _dcn_backend_note(model) -> str:
    from vidtoolbox.ops import mmcv_deform_conv_available
    has_dcn = any(hasattr(m, 'conv_offset') for m in model.modules())
    if not has_dcn:
        return ''
    cuda = next(model.parameters()).is_cuda
    return 'DCN backend ' + ('mmcv' if cuda and mmcv_deform_conv_available() else 'vidtoolbox (torch)')


def train_rows(device, repeats=5, warmup=2, dry_run=False, cases=None) -> List[dict]:
    """Iterations per second and peak memory of ``cases`` (default :data:`TRAIN_CASES`), interleaved per precision.

    With ``dry_run`` BasicVSR's AMP row is skipped on the CPU (bfloat16 autocast runs its SPyNet ~30x slower on CPUs
    without bfloat16 instructions) and says so.
    """
    bts = load_bench_train_step()
    by_name = {c.name: c for c in bts.CASES}
    rows = []
    cpu = torch.device(device).type == 'cpu'
    for precision in ('fp32', 'amp'):
        builts, entries = [], []  # entries: the built cases and the skipped rows, in the order of the cases
        for name, precisions in (TRAIN_CASES if cases is None else cases):
            if precision not in precisions:
                continue
            case = by_name[name]
            if dry_run and cpu and precision == 'amp' and case.family == 'basicvsr':
                entries.append(dict(kind='train step', case=name, precision='amp bf16', shape='-', ms=None, its=None,
                                    peak_mb=None, notes='skipped in the CPU dry run (bfloat16 autocast is slow here)'))
                continue
            if dry_run:
                case = replace(case, cfg_options=dict(case.cfg_options, **DRY_OPTIONS[case.family]))
                lr, batch, frames = DRY_SIZES[case.family]
                built = bts.build_case(case, 'paper', device, precision == 'amp', batch=batch, lr=lr, frames=frames)
            else:
                built = bts.build_case(case, 'paper', device, precision == 'amp')
            builts.append(built)
            entries.append(built)
        times = _interleaved({id(b): b.step for b in builts}, torch.device(device), repeats, warmup)
        for b in entries:
            if isinstance(b, dict):
                rows.append(b)
                continue
            t = times[id(b)]
            prec = 'fp32' if precision == 'fp32' else ('amp bf16' if cpu else 'amp fp16')
            notes = [_dcn_backend_note(b.model)]
            if b.worker_flow_s is not None:
                notes.append(f'DIS per sample in the workers {b.worker_flow_s * 1e3:.1f} ms')
            rows.append(dict(kind='train step', case=b.case.name, precision=prec,
                             shape=f'LR{b.lr} b{b.batch} T{b.frames}', ms=t * 1e3, its=1 / t,
                             peak_mb=bts.peak_memory_mb(b), notes='; '.join(n for n in notes if n)))
        del builts, entries
        if torch.device(device).type == 'cuda':
            torch.cuda.empty_cache()
    return rows


def print_table(rows, out=print):
    header = f'{"kind":<22}{"case":<22}{"precision":<10}{"shape":<24}{"ms":>9}{"it/s":>8}{"peak MB":>9}  notes'
    out(header)
    out('-' * len(header))
    for r in rows:
        ms = '-' if r['ms'] is None else f'{r["ms"]:.1f}'
        its = '-' if r['its'] is None else f'{r["its"]:.2f}'
        mb = '-' if r['peak_mb'] is None else f'{r["peak_mb"]:.0f}'
        out(f'{r["kind"]:<22}{r["case"]:<22}{r["precision"]:<10}{r["shape"]:<24}{ms:>9}{its:>8}{mb:>9}  {r["notes"]}')


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--device', default=None, help='default cuda (cpu with --dry-run)')
    p.add_argument('--dry-run', action='store_true', help='tiny sizes and networks (CPU logic check)')
    p.add_argument('--repeats', type=int, default=None, help='timed rounds (default 10 for the op, 5 for steps; 1 '
                   'with --dry-run)')
    p.add_argument('--skip-train', action='store_true', help='only the deform_conv2d rows')
    args = p.parse_args(argv)
    device = args.device or ('cpu' if args.dry_run else 'cuda')
    dry = args.dry_run or torch.device(device).type == 'cpu'
    if torch.device(device).type == 'cuda' and not torch.cuda.is_available():
        print('error: no CUDA device here; run with --dry-run (or --device cpu) to check the logic on the CPU',
              file=sys.stderr)
        return 1
    name = torch.cuda.get_device_name(torch.device(device)) if torch.device(device).type == 'cuda' else 'CPU'
    print(f'gpu_check: device {device} ({name}), torch {torch.__version__}'
          + (', DRY RUN: tiny sizes and networks, the numbers mean nothing' if dry else ''))
    try:
        load = ' '.join(f'{v:.2f}' for v in os.getloadavg())
    except OSError:
        load = 'n/a'
    print(f'load average (1/5/15 min): {load}; {os.cpu_count()} CPUs')
    t0 = time.perf_counter()
    shape = DcnShape(1, 8, 12, 2, 3) if dry else DcnShape()
    rows = dcn_rows(shape, torch.device(device), repeats=args.repeats or (1 if dry else 10), warmup=1 if dry else 3)
    if not args.skip_train:
        rows += train_rows(device, repeats=args.repeats or (1 if dry else 5), warmup=1 if dry else 2, dry_run=dry)
    print_table(rows)
    print(f'({time.perf_counter() - t0:.0f} s)')
    return 0


if __name__ == '__main__':
    sys.exit(main())
