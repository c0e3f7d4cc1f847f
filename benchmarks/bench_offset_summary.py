"""Cost of the offset statistics the task heads log every training iteration (``offset_mean`` / ``offset_max``,
:func:`vidtoolbox.evaluation.offset_stats.offset_summary`), with the offset lengths by ``torch.hypot`` (current)
vs by ``norm(dim=2)`` over the ``(dy, dx)`` axis (the previous formula, written out below), and their share of one
training iteration.

The alignment records are those of one forward pass of a :mod:`bench_train_step` case (default ``edvr_m``: 3 PCD
levels + the cascade per frame, ``(B, 144, h, w)`` offsets each) at its setting (default ``demo``: LR 16, batch 4,
5 frames). Three things are timed interleaved round-robin (``--repeats`` rounds after ``--warmup``): the summary
with ``hypot``, the summary with ``norm``, and one training iteration (``model.train_step``, the summary included);
the table prints the medians, the same-round ratio ``norm / hypot`` and each summary's share of the iteration. The
two summaries must agree (relative difference printed; an error when above 1e-5).

    OMP_NUM_THREADS=1 python benchmarks/bench_offset_summary.py --threads 1
    OMP_NUM_THREADS=1 python benchmarks/bench_offset_summary.py --threads 1 --setting paper
"""
import argparse
import importlib.util
import os
import os.path as osp
import statistics
import time
from typing import Callable, Dict, List

import torch

from vidtoolbox.evaluation import offset_stats

__all__ = ['magnitude_by_norm', 'summary_with', 'measure', 'main']

_HERE = osp.dirname(osp.abspath(__file__))


def _bench_train_step():
    spec = importlib.util.spec_from_file_location('bench_train_step', osp.join(_HERE, 'bench_train_step.py'))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def magnitude_by_norm(offsets: torch.Tensor) -> torch.Tensor:
    """The previous ``offset_magnitude``: ``(B, G·N·2, H, W)`` → ``(B, G·N, H, W)`` by ``norm`` over the size-2
    ``(dy, dx)`` axis."""
    b, c, h, w = offsets.shape
    return offsets.reshape(b, c // 2, 2, h, w).float().norm(dim=2)


def summary_with(magnitude: Callable[[torch.Tensor], torch.Tensor], records) -> Dict[str, float]:
    """``offset_summary(records)`` with ``offset_magnitude`` replaced by ``magnitude`` during the call."""
    orig = offset_stats.offset_magnitude
    offset_stats.offset_magnitude = magnitude
    try:
        return offset_stats.offset_summary(records)
    finally:
        offset_stats.offset_magnitude = orig


def measure(built, repeats: int = 5, warmup: int = 1) -> dict:
    """Interleaved times (s) of the two summaries on ``built``'s alignment records and of one iteration."""
    model = built.model
    with torch.no_grad():
        data = model.data_preprocessor(built.data, True)
        _, aux = model.run_generator(data['inputs'], data['data_samples'], 'loss')
    records = aux.get('alignments', [])
    if not records:
        raise ValueError(f'{built.case.name}: the generator returns no alignment records (nothing to summarise)')
    fns = {'hypot': lambda: offset_stats.offset_summary(records),
           'norm': lambda: summary_with(magnitude_by_norm, records),
           'step': built.step}
    times: Dict[str, List[float]] = {k: [] for k in fns}
    for r in range(warmup + repeats):
        for k, f in fns.items():
            t0 = time.perf_counter()
            f()
            if r >= warmup:
                times[k].append(time.perf_counter() - t0)
    a, b = fns['hypot'](), fns['norm']()
    diff = max(abs(a[k] - b[k]) / max(abs(b[k]), 1e-12) for k in ('mean', 'max'))
    if diff > 1e-5:
        raise RuntimeError(f'offset_summary by hypot and by norm disagree: {a} vs {b}')
    n_vec = sum(rec['offsets'].numel() // 2 for rec in records if 'offsets' in rec)
    return dict(times=times, rel_diff=diff, records=len(records), vectors=n_vec,
                ratio=statistics.median(n / h for n, h in zip(times['norm'], times['hypot'])))


def _load() -> str:
    try:
        return ' '.join(f'{v:.2f}' for v in os.getloadavg())
    except OSError:
        return 'n/a'


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--case', default='edvr_m', help='a case of benchmarks/bench_train_step.py with alignments')
    p.add_argument('--setting', default='demo', choices=['demo', 'paper'])
    p.add_argument('--batch', type=int, default=None)
    p.add_argument('--repeats', type=int, default=5)
    p.add_argument('--warmup', type=int, default=1)
    p.add_argument('--threads', type=int, default=None, help='torch.set_num_threads')
    args = p.parse_args(argv)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    bts = _bench_train_step()
    cases = {c.name: c for c in bts.CASES}
    if args.case not in cases:
        p.error(f'unknown case {args.case!r}; known: {sorted(cases)}')
    print(f'load average (1/5/15 min) before: {_load()}; threads={torch.get_num_threads()}')
    built = bts.build_case(cases[args.case], args.setting, batch=args.batch)
    res = measure(built, args.repeats, args.warmup)
    t = {k: statistics.median(v) for k, v in res['times'].items()}
    print(f'{args.case} ({args.setting}: LR {built.lr}, batch {built.batch}, T {built.frames}): {res["records"]} '
          f'alignment records, {res["vectors"]} offset vectors; median of {args.repeats} interleaved rounds')
    print(f'  offset_summary by hypot: {t["hypot"] * 1e3:8.2f} ms  ({t["hypot"] / t["step"]:.1%} of the iteration)')
    before = t['step'] - t['hypot'] + t['norm']  # the iteration with the norm summary instead
    print(f'  offset_summary by norm:  {t["norm"] * 1e3:8.2f} ms  ({t["norm"] / before:.1%} of the iteration with it)')
    print(f'  training iteration:      {t["step"] * 1e3:8.2f} ms  (includes the hypot summary)')
    print(f'  norm / hypot: {res["ratio"]:.1f}x (median of same-round ratios); summaries agree to '
          f'{res["rel_diff"]:.1e}')
    print(f'load average (1/5/15 min) after: {_load()}')
    return res


if __name__ == '__main__':
    main()
