"""Time per training iteration of EDVR-M, TDAN and BasicVSR, and where it goes (feature extraction, offset convs,
DCNs, TSA, reconstruction, loss and its flow, optimizer).

One *iteration* is what the runner does per batch: ``model.train_step(batch, optim_wrapper)`` — the data
preprocessor, the generator's forward pass, the losses, the backward pass and the optimizer step — on one fixed
batch of the built-in dataset (realistic image content and motion; the batch is made once, data loading is not
timed). Models, losses and optimizers are those of the configs (:data:`CASES`):

* ``edvr_m``: ``configs/edvr/edvr_m_x4_reds.py`` (EDVR-M, Charbonnier);
* ``edvr_m[pcd-plain]``: the same with ``PCDAlignment.share_reference = False`` (the first offset convs convolve
  ``cat(nbr, ref)`` for every frame instead of sharing the reference half across the clip; the same function);
* ``edvr_m+ofl[step]``: ``configs/edvr_m_ofl.py`` with ``model.losses.1.flow.type=DISFlow`` — the offset-fidelity
  loss with OpenCV DIS computed inside the step (the default of that config before the flow moved to the pipeline);
* ``edvr_m+ofl[pipeline]``: ``configs/edvr_m_ofl.py`` as shipped — the batch carries ``ref_flows`` estimated by
  ``EstimateRefFlows`` (what the DataLoader workers do; its time per sample is printed separately) and the loss reads
  them with ``GTFlow``;
* ``edvr_m+corr[dis]``: EDVR-M with ``CorrespondenceWiseLoss(CharbonnierLoss, DISFlow)`` — a loss whose flow
  compares the prediction with its target, so it cannot leave the step;
* ``tdan``: ``configs/tdan/tdan_x4_reds.py``;
* ``basicvsr``: ``configs/basicvsr/basicvsr_x4_reds.py`` (SPyNet randomly initialised and trained: the steady state
  after the paper's 5000 frozen iterations; the weights do not change the time).

Settings (:data:`SETTINGS`): ``demo`` — the built-in demos' LR patch 16, batch 4, 5 frames (BasicVSR: its demo
``configs/basicvsr/basicvsr_builtin_finetune.py``, LR 64, batch 1, 5 frames: it refuses frames under 64 px); ``paper``
— LR patch 64, batch 16, 5 frames for EDVR-M and TDAN, LR 64, 15 frames, batch 8 for BasicVSR. On the CPU the paper
batches are scaled down (:data:`CPU_PAPER_BATCH`: 2 and 1; the table says so); ``--batch`` sets any batch.

Time: the cases of one setting are interleaved round-robin (``--warmup`` rounds, then ``--repeats`` rounds), so load
from other processes hits them alike; the table shows the median and minimum wall time per iteration and the
iterations per second. Ratios to the first case, taken round by round (both sides of a ratio saw the same load),
follow the table.

Split: one more iteration per case runs under ``torch.profiler``; every op's *self* time (CPU time on the CPU, the
GPU time of the kernels it launched on CUDA) is given to the innermost labelled part it ran in: module forward hooks
label the parts (:data:`CATEGORIES`, by module name), the flow sources' ``flow`` / ``flow_from_context`` methods are
labelled ``loss: flow`` (losses call them directly), PCD's ``reference_terms`` / ``conv_with_reference`` are
labelled ``offset convs`` (:data:`METHOD_LABELS`), ``flow_warp`` in BasicVSR's propagation is labelled, and the
optimizer's ``step`` is labelled. Backward ops are given to the part whose forward op created their autograd node
(the profiler's sequence numbers), so each part's share counts its forward *and* backward time (both columns are
shown). CPU time inside a part that no op accounts for (OpenCV's DIS in a flow source, NumPy, the part's Python code)
is that part's forward time. Ops outside every part (tensor glue in the networks' ``forward``, gradient
accumulation, ``zero_grad``) are ``other``. The shares are scaled to the unprofiled median (the profiler's own
overhead is not in the ms column).

Examples::

    OMP_NUM_THREADS=1 python benchmarks/bench_train_step.py --threads 1 --settings demo        # ~3 min, loaded CPU
    OMP_NUM_THREADS=1 python benchmarks/bench_train_step.py --threads 1 --settings paper --repeats 2
    python benchmarks/bench_train_step.py --device cuda --settings paper                       # full paper batches
    python benchmarks/bench_train_step.py --device cuda --amp --settings paper                 # fp16 AMP

The header prints the load average (``os.getloadavg()``) before and after the run.
"""
import argparse
import copy
import fnmatch
import os
import os.path as osp
import statistics
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Tuple

import numpy as np
import torch

from vidtoolbox.utils.profiling import quiet_profiler

quiet_profiler()

__all__ = ['Case', 'CASES', 'SETTINGS', 'CPU_PAPER_BATCH', 'CATEGORIES', 'build_case', 'run_table', 'split_step',
           'attribute_profile', 'main']

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


@dataclass
class Case:
    """One row: a model (config + overrides), its family (for :data:`SETTINGS` / :data:`CATEGORIES`) and whether the
    batch carries ``ref_flows`` estimated in the pipeline."""
    name: str
    config: str
    family: str
    cfg_options: Dict = field(default_factory=dict)
    model_over: Optional[Callable[[dict], None]] = None
    pipeline_flow: bool = False
    model_post: Optional[Callable[[torch.nn.Module], None]] = None


def _plain_pcd(model):
    model.generator.pcd_align.share_reference = False


def _corr_losses(model):
    model['losses'] = [dict(type='CorrespondenceWiseLoss', base=dict(type='CharbonnierLoss', eps=1e-12),
                            flow=dict(type='DISFlow'))]


CASES = [
    Case('edvr_m', 'configs/edvr/edvr_m_x4_reds.py', 'edvr'),
    Case('edvr_m[pcd-plain]', 'configs/edvr/edvr_m_x4_reds.py', 'edvr', model_post=_plain_pcd),
    Case('edvr_m+ofl[step]', 'configs/edvr_m_ofl.py', 'edvr', {'model.losses.1.flow.type': 'DISFlow'}),
    Case('edvr_m+ofl[pipeline]', 'configs/edvr_m_ofl.py', 'edvr', pipeline_flow=True),
    Case('edvr_m+corr[dis]', 'configs/edvr/edvr_m_x4_reds.py', 'edvr', model_over=_corr_losses),
    Case('tdan', 'configs/tdan/tdan_x4_reds.py', 'edvr'),
    Case('basicvsr', 'configs/basicvsr/basicvsr_x4_reds.py', 'basicvsr',
         {'model.generator.spynet_pretrained': None}),
]

#: setting → family → (LR patch side, batch, frames)
SETTINGS = {
    'demo': {'edvr': (16, 4, 5), 'basicvsr': (64, 1, 5)},
    'paper': {'edvr': (64, 16, 5), 'basicvsr': (64, 8, 15)},
}
#: the paper batches on the CPU (a 2-core machine cannot run batch 16 in useful time)
CPU_PAPER_BATCH = {'edvr': 2, 'basicvsr': 1}

_COMMON_TAIL = [
    ('loss: flow', ['losses.*flow_source']),
    ('loss', ['losses.*']),
    ('data to device', ['data_preprocessor']),
]
_RECON = ['generator.reconstruction', 'generator.upsample.*', 'generator.conv_hr', 'generator.conv_last']
#: family → [(category, module-name patterns)]; a module takes the first category that matches it, and time inside
#: nested labelled modules goes to the innermost one
CATEGORIES = {
    'edvr': [
        ('feature extraction', ['generator.conv_first', 'generator.feature_extraction', 'generator.conv_l2_*',
                                'generator.conv_l3_*', 'generator.extract_l1']),
        ('offset convs', ['generator.pcd_align.offset_conv*', 'generator.pcd_align.cas_offset_conv*',
                          'generator.conv_cond', '*.conv_offset']),
        ('PCD feature fusion convs', ['generator.pcd_align.feat_conv']),
        ('DCNs', ['generator.pcd_align.blocks.*', 'generator.pcd_align.cas_block', 'generator.cond_blocks.*',
                  'generator.align_block']),
        ('TSA fusion', ['generator.fusion']),
        ('reconstruction', _RECON + ['generator.recon_lr', 'generator.conv_fuse']),
    ] + _COMMON_TAIL,
    'basicvsr': [
        ('flow (SPyNet)', ['generator.spynet']),
        ('propagation trunks', ['generator.backward_trunk', 'generator.forward_trunk']),
        ('reconstruction', _RECON + ['generator.fusion']),
    ] + _COMMON_TAIL,
}
#: family → [(category, module name, methods)]: methods of a module that compute a part outside any submodule call
METHOD_LABELS = {
    'edvr': [('offset convs', 'generator.pcd_align', ('reference_terms', 'conv_with_reference'))],
    'basicvsr': [],
}
_LABEL = 'part::'
_OPTIMIZER = 'optimizer (Adam step)'
_WARP = 'feature warping (flow_warp)'
_OTHER = 'other'


# ------------------------------------------------------------------------------------------------- building
def _load_cfg(case: Case):
    from mmengine.config import Config
    cfg = Config.fromfile(osp.join(ROOT, case.config))
    if case.cfg_options:
        cfg.merge_from_dict(dict(case.cfg_options))
    return cfg


def _pipeline_flow_cfg(cfg) -> dict:
    for t in cfg.train_dataloader.dataset.pipeline:
        if t.get('type') == 'EstimateRefFlows':
            return dict(t.get('flow') or dict(type='DISFlow'))
    raise ValueError('the config has no EstimateRefFlows in its train pipeline')


def _drop_dataset_flows(results):
    """The built-in dataset's exact flows and masks (REDS has none): removed so the batch is what REDS gives."""
    for k in ('flow_fw', 'flow_bw', 'occ_fw', 'occ_bw', 'ref_flows'):
        results.pop(k, None)
    return results


def make_batch(lr: int, batch: int, frames: int, gt_all: bool, flow_cfg: Optional[dict] = None, seed: int = 0):
    """One collated batch of the built-in dataset (GT ``4·lr``), and the seconds per sample spent in
    ``EstimateRefFlows`` when ``flow_cfg`` is given (else None)."""
    from vidtoolbox.datasets.synthetic import SyntheticMotionDataset
    from vidtoolbox.datasets.transforms import EstimateRefFlows, PackVideoInputs
    ds = SyntheticMotionDataset(num_clips=batch, num_frames=frames, gt_size=4 * lr, scale=4, seed=seed,
                                gt_mode='all' if gt_all else 'center')
    est = EstimateRefFlows(flow=flow_cfg) if flow_cfg is not None else None
    pack = PackVideoInputs()
    samples, est_s = [], []
    for i in range(batch):
        r = _drop_dataset_flows(ds.get_data_info(i))
        if est is not None:
            t0 = time.perf_counter()
            r = est(r)
            est_s.append(time.perf_counter() - t0)
        samples.append(pack(r))
    data = dict(inputs=[s['inputs'] for s in samples], data_samples=[s['data_samples'] for s in samples])
    return data, (statistics.median(est_s) if est_s else None)


def _quiet_mmengine():
    """MMEngine's current logger at WARNING (build_optim_wrapper logs every parameter's lr multiplier at INFO)."""
    from mmengine.logging import MMLogger
    if not MMLogger.check_instance_created('bench_train_step'):
        MMLogger.get_instance('bench_train_step', log_level='WARNING')


@dataclass
class Built:
    case: Case
    model: torch.nn.Module
    optim: object
    data: dict
    lr: int
    batch: int
    frames: int
    scaled_from: Optional[int]
    worker_flow_s: Optional[float]
    device: torch.device

    def step(self):
        self.model.train_step(self.data, self.optim)


def build_case(case: Case, setting: str, device='cpu', amp: bool = False, batch: Optional[int] = None,
               seed: int = 0, lr: Optional[int] = None, frames: Optional[int] = None) -> Built:
    """Model, optimizer wrapper and batch of ``case`` at ``setting`` on ``device`` (``amp``: float16 autocast with
    loss scaling on CUDA, bfloat16 autocast on the CPU); ``batch`` / ``lr`` (LR patch side) / ``frames`` override
    the setting's."""
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import DefaultScope

    import vidtoolbox.engine  # noqa: F401  (CPUAutocastOptimWrapper)
    import vidtoolbox.models  # noqa: F401
    from vidtoolbox.registry import MODELS
    device = torch.device(device)
    cfg = _load_cfg(case)
    lr0, b, frames0 = SETTINGS[setting][case.family]
    lr = lr0 if lr is None else lr
    frames = frames0 if frames is None else frames
    scaled_from = None
    if batch is not None:
        if batch != b:
            scaled_from = b
        b = batch
    elif setting == 'paper' and device.type == 'cpu' and CPU_PAPER_BATCH[case.family] != b:
        scaled_from, b = b, CPU_PAPER_BATCH[case.family]
    model_cfg = copy.deepcopy(cfg.model.to_dict() if hasattr(cfg.model, 'to_dict') else dict(cfg.model))
    if case.model_over is not None:
        case.model_over(model_cfg)
    optim_cfg = copy.deepcopy(cfg.optim_wrapper.to_dict() if hasattr(cfg.optim_wrapper, 'to_dict')
                              else dict(cfg.optim_wrapper))
    if amp:
        if device.type == 'cuda':
            optim_cfg.update(type='AmpOptimWrapper', loss_scale='dynamic', dtype='float16')
        else:
            optim_cfg.update(type='CPUAutocastOptimWrapper', dtype='bfloat16')
    _quiet_mmengine()
    torch.manual_seed(seed)
    with DefaultScope.overwrite_default_scope('vidtoolbox'):
        model = MODELS.build(model_cfg).to(device).train()
        if case.model_post is not None:
            case.model_post(model)
        optim = build_optim_wrapper(model, optim_cfg)
    flow_cfg = _pipeline_flow_cfg(cfg) if case.pipeline_flow else None
    data, worker_s = make_batch(lr, b, frames, gt_all=(case.family == 'basicvsr'), flow_cfg=flow_cfg, seed=seed)
    return Built(case, model, optim, data, lr, b, frames, scaled_from, worker_s, device)


# ------------------------------------------------------------------------------------------------- timing
def _sync(device):
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


def _time(fn, device) -> float:
    _sync(device)
    t0 = time.perf_counter()
    fn()
    _sync(device)
    return time.perf_counter() - t0


def peak_memory_mb(built: Built) -> Optional[float]:
    """Peak CUDA memory (MB) of one iteration, model and optimizer state included; None off CUDA."""
    if built.device.type != 'cuda':
        return None
    torch.cuda.synchronize(built.device)
    torch.cuda.reset_peak_memory_stats(built.device)
    built.step()
    torch.cuda.synchronize(built.device)
    return torch.cuda.max_memory_allocated(built.device) / 2 ** 20


def run_table(builts: List[Built], repeats=3, warmup=1, out=print) -> List[dict]:
    """Interleaved timing of the built cases; prints one row each and the same-round ratios to the first."""
    if repeats < 1 or warmup < 0:
        raise ValueError(f'run_table: need repeats >= 1 and warmup >= 0, got repeats={repeats}, warmup={warmup}')
    times = {id(b): [] for b in builts}
    for r in range(warmup + repeats):
        for b in builts:
            t = _time(b.step, b.device)
            if r >= warmup:
                times[id(b)].append(t)
    header = (f'{"case":<22}{"LR":>4}{"batch":>7}{"T":>4}{"median ms":>11}{"min ms":>9}{"it/s":>7}'
              f'{"worker flow ms/sample":>23}')
    out(header)
    out('-' * len(header))
    rows = []
    for b in builts:
        ts = times[id(b)]
        med = statistics.median(ts)
        batch = f'{b.batch}' + ('*' if b.scaled_from else '')
        wf = '-' if b.worker_flow_s is None else f'{b.worker_flow_s * 1e3:.1f}'
        out(f'{b.case.name:<22}{b.lr:>4}{batch:>7}{b.frames:>4}{med * 1e3:>11.1f}{min(ts) * 1e3:>9.1f}'
            f'{1 / med:>7.2f}{wf:>23}')
        rows.append(dict(name=b.case.name, lr=b.lr, batch=b.batch, frames=b.frames, scaled_from=b.scaled_from,
                         median_s=med, min_s=min(ts), times_s=ts, worker_flow_s=b.worker_flow_s))
    scaled = [f'{r["name"]}: {r["scaled_from"]} -> {r["batch"]}' for r in rows if r['scaled_from']]
    if scaled:
        out('* batch scaled down from the paper\'s (' + '; '.join(scaled) + ')')
    if len(rows) > 1:
        ref = rows[0]
        for r in rows[1:]:
            ratio = statistics.median(a / c for a, c in zip(r['times_s'], ref['times_s']))
            r['ratio_to_first'] = ratio
            out(f'  {r["name"]} / {ref["name"]}: {ratio:.3f}x (median of same-round ratios over {len(ts)} rounds)')
    return rows


# ------------------------------------------------------------------------------------------------- split
@contextmanager
def labelled(built: Built):
    """Label the parts of ``built``'s model (forward hooks), its flow sources, BasicVSR's flow_warp and the
    optimizer step with ``record_function`` scopes named ``part::<category>`` while the context is open."""
    from torch.autograd.profiler import record_function

    from vidtoolbox.models.archs import basicvsr as basicvsr_mod
    from vidtoolbox.models.flow.base import BaseFlowSource
    cats = CATEGORIES[built.case.family]
    handles, patched, stack = [], [], []

    def enter(name):
        rf = record_function(_LABEL + name)
        rf.__enter__()
        stack.append(rf)

    def leave():
        stack.pop().__exit__(None, None, None)

    def label_methods(module, names, cat):
        for meth in names:
            orig = getattr(module, meth)

            def wrapped(*a, _orig=orig, _cat=cat, **k):
                with record_function(_LABEL + _cat):
                    return _orig(*a, **k)
            setattr(module, meth, wrapped)
            patched.append((module, meth))

    modules = dict(built.model.named_modules())
    for cat, mname, names in METHOD_LABELS[built.case.family]:
        if mname in modules:
            label_methods(modules[mname], names, cat)
    for mname, module in modules.items():
        if not mname:
            continue
        cat = next((c for c, pats in cats if any(fnmatch.fnmatchcase(mname, p) for p in pats)), None)
        if cat is None:
            continue
        if isinstance(module, BaseFlowSource):  # losses call flow() / flow_from_context() directly
            label_methods(module, ('flow', 'flow_from_context'), cat)
        handles.append(module.register_forward_pre_hook(lambda m, a, _c=cat: enter(_c)))
        handles.append(module.register_forward_hook(lambda m, a, o: leave()))
    opt = built.optim.optimizer
    handles.append(opt.register_step_pre_hook(lambda o, a, k: enter(_OPTIMIZER)))
    handles.append(opt.register_step_post_hook(lambda o, a, k: leave()))
    orig_warp = basicvsr_mod.flow_warp

    def warp(*a, **k):
        with record_function(_LABEL + _WARP):
            return orig_warp(*a, **k)
    basicvsr_mod.flow_warp = warp
    try:
        yield
    finally:
        basicvsr_mod.flow_warp = orig_warp
        for h in handles:
            h.remove()
        for module, meth in patched:
            delattr(module, meth)  # the class's method again


_BWD = 'autograd::engine::evaluate_function: '


def attribute_profile(events, device_type='cpu') -> Dict[str, Dict[str, float]]:
    """``{category: {'fwd': us, 'bwd': us}}`` from profiler ``events`` (``prof.events()``), see the module docstring.

    Forward ops go to their innermost ``part::`` scope; ops under an ``autograd::engine::evaluate_function`` event go
    to the scope of the forward op with the same sequence number (``other`` when it had none). On the CPU a scope's
    own self time (time inside it that no op accounts for: OpenCV / NumPy calls such as DIS in a flow source, Python
    code) is counted as that part's forward time.
    """
    def metric(e):
        if device_type == 'cuda':
            return getattr(e, 'self_device_time_total', None) or getattr(e, 'self_cuda_time_total', 0.0)
        return e.self_cpu_time_total

    def chain(e):
        while e is not None:
            yield e
            e = e.cpu_parent

    seq_scope = {}
    info = []
    for e in events:
        scope, bwd_seq = None, None
        for p in chain(e):
            if bwd_seq is None and p.name.startswith(_BWD):
                bwd_seq = p.sequence_nr
            if scope is None and p.name.startswith(_LABEL):
                scope = p.name[len(_LABEL):]
        info.append((e, scope, bwd_seq))
        if bwd_seq is None and e.sequence_nr is not None and e.sequence_nr >= 0 and e.sequence_nr not in seq_scope:
            seq_scope[e.sequence_nr] = scope
    out: Dict[str, Dict[str, float]] = {}
    for e, scope, bwd_seq in info:
        if e.name.startswith(_LABEL):
            if device_type != 'cpu':
                continue  # no kernel runs in a label itself
            # the CPU time inside a part that no op accounts for: OpenCV / NumPy work (DIS in the loss's flow
            # source), the part's Python code; counted to that part (a label nested in another is its own part)
            cat, kind = e.name[len(_LABEL):], 'fwd'
            slot = out.setdefault(cat, {'fwd': 0.0, 'bwd': 0.0})
            slot[kind] += metric(e)
            continue
        if bwd_seq is not None:
            cat, kind = (seq_scope.get(bwd_seq) if bwd_seq >= 0 else None) or _OTHER, 'bwd'
        else:
            cat, kind = scope or _OTHER, 'fwd'
        slot = out.setdefault(cat, {'fwd': 0.0, 'bwd': 0.0})
        slot[kind] += metric(e)
    return out


def split_step(built: Built, median_s: float, out=print, passes: int = 1) -> Dict[str, float]:
    """Profile ``passes`` iterations of ``built``, print its split scaled to ``median_s``; return category → ms."""
    from torch.profiler import ProfilerActivity, profile
    acts = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if built.device.type == 'cuda' else [])
    parts: Dict[str, Dict[str, float]] = {}
    with labelled(built):
        built.step()  # hooks in place, nothing recorded
        for _ in range(passes):
            with profile(activities=acts) as prof:
                built.step()
                _sync(built.device)
            for cat, v in attribute_profile(prof.events(), built.device.type).items():
                slot = parts.setdefault(cat, {'fwd': 0.0, 'bwd': 0.0})
                slot['fwd'] += v['fwd'] / passes
                slot['bwd'] += v['bwd'] / passes
    total = sum(v['fwd'] + v['bwd'] for v in parts.values()) or 1.0
    what = 'GPU kernel time' if built.device.type == 'cuda' else 'CPU self time'
    out(f'split of {built.case.name} (LR {built.lr}, batch {built.batch}, T {built.frames}): {what} under the profiler '
        f'{total / 1e3:.1f} ms/it, shares scaled to the median {median_s * 1e3:.1f} ms')
    out(f'  {"part":<30}{"ms/it":>9}{"share":>8}{"fwd":>7}{"bwd":>7}')
    result = {}
    for cat, v in sorted(parts.items(), key=lambda kv: -(kv[1]['fwd'] + kv[1]['bwd'])):
        share = (v['fwd'] + v['bwd']) / total
        both = v['fwd'] + v['bwd'] or 1.0
        out(f'  {cat:<30}{share * median_s * 1e3:>9.1f}{share:>8.1%}{v["fwd"] / both:>7.0%}{v["bwd"] / both:>7.0%}')
        result[cat] = share * median_s * 1e3
    return result


# ------------------------------------------------------------------------------------------------- CLI
def _load() -> str:
    try:
        return ' '.join(f'{v:.2f}' for v in os.getloadavg())
    except OSError:
        return 'n/a'


def case_names() -> List[str]:
    return [c.name for c in CASES]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--settings', nargs='+', choices=sorted(SETTINGS), default=['demo', 'paper'])
    p.add_argument('--cases', nargs='+', default=None, help=f'subset of {case_names()}')
    p.add_argument('--repeats', type=int, default=3)
    p.add_argument('--warmup', type=int, default=1)
    p.add_argument('--threads', type=int, default=None, help='torch.set_num_threads (CPU)')
    p.add_argument('--device', default='cpu')
    p.add_argument('--amp', action='store_true', help='mixed precision (float16 + loss scaling on CUDA, bfloat16 on '
                   'the CPU)')
    p.add_argument('--batch', type=int, default=None, help='batch of every case (default: the setting\'s)')
    p.add_argument('--no-split', action='store_true', help='only the timing table')
    p.add_argument('--split-passes', type=int, default=1, help='profiled iterations per case for the split')
    args = p.parse_args(argv)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    wanted = args.cases or case_names()
    unknown = [n for n in wanted if n not in case_names()]
    if unknown:
        p.error(f'unknown case(s) {unknown}; known: {case_names()}')
    cases = [c for c in CASES if c.name in wanted]
    print(f'device={args.device} amp={args.amp} threads={torch.get_num_threads()} repeats={args.repeats} '
          f'warmup={args.warmup}; one iteration = model.train_step (forward, losses, backward, optimizer step)')
    print(f'load average (1/5/15 min) before: {_load()}; {os.cpu_count()} CPUs')
    results = {}
    for setting in args.settings:
        print(f'\n== setting {setting} ==')
        builts = []
        for c in cases:
            try:
                builts.append(build_case(c, setting, args.device, args.amp, args.batch))
            except (FileNotFoundError, ImportError) as err:  # e.g. optional weights
                print(f'[skip {c.name}] {type(err).__name__}: {err}')
        rows = run_table(builts, repeats=args.repeats, warmup=args.warmup)
        if not args.no_split:
            for b, r in zip(builts, rows):
                print('')
                r['split_ms'] = split_step(b, r['median_s'], passes=args.split_passes)
        results[setting] = rows
        del builts
    print(f'\nload average (1/5/15 min) after: {_load()}')
    return results


if __name__ == '__main__':
    main()
