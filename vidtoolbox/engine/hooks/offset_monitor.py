"""``OffsetMonitorHook``: log learned-offset statistics per alignment level, warn on offset overflow, save pictures.

How the offsets are obtained: the task head's forward runs inside ``model.train_step``, out of a hook's reach,
so :class:`AlignmentCapture` registers a PyTorch forward hook on the generator (``model.generator``, unwrapped from
DDP). On the iterations the monitor needs, it keeps the ``aux['alignments']`` records of that forward with
*detached* offsets (no copy, no graph kept); each record carries its number of groups G and offsets per group N
(:func:`vidtoolbox.models.alignment.base.alignment_record`). Nothing is kept on the other iterations.

Config example::

    custom_hooks = [dict(type='OffsetMonitorHook', interval=100, vis_interval=5000,
                         overflow_threshold=50.0, stop_on_overflow=False)]

Logged (MMEngine message hub → training log, e.g. ``offset/pcd.l1/mean: 0.8123``), per level (records grouped by
``name``; the reference aligned onto itself is left out):
``train/offset/<name>/mean`` and ``/max`` (length of offset vectors, pixels of that level), ``/diversity``
(pixelwise std of the N offsets of each group), and ``/within_1px`` (fraction of offsets closer than 1 px to the
ground-truth flow) when the batch carries ``ref_flows`` — the dataset's ``flow(ref, frame t)`` at GT resolution,
resized to each level (÷ ``scale · stride``). Definitions: :mod:`vidtoolbox.evaluation.offset_stats`.
"""
import os
import os.path as osp
from typing import Dict, List, Optional

import numpy as np
import torch
import torch.nn as nn
from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from vidtoolbox.evaluation.offset_stats import summarize_alignments, within_key
from vidtoolbox.registry import HOOKS

__all__ = ['OffsetMonitorHook', 'AlignmentCapture', 'OffsetOverflowError']


class OffsetOverflowError(RuntimeError):
    """Training stopped by :class:`OffsetMonitorHook` because learned offsets overflowed."""


def _unwrap(model: nn.Module) -> nn.Module:
    return model.module if is_model_wrapper(model) else model


class AlignmentCapture:
    """Capture the alignment records of a generator's forward passes (detached), with G and N per record.

    Args:
        generator: the network whose forward returns ``(out, aux)`` with ``aux['alignments']``
            (e.g. ``EDVRNet``); a task head (anything with a ``generator`` attribute) or a DDP wrapper is
            unwrapped.

    Use ``attach()`` / ``detach()`` (or ``with``); set :attr:`active` to record. :attr:`records` is the list of
    the last recorded forward's records (:func:`vidtoolbox.models.alignment.base.alignment_record`), tensors
    detached.
    """

    def __init__(self, generator: nn.Module):
        module = _unwrap(generator)
        self.generator = getattr(module, 'generator', module)
        if not isinstance(self.generator, nn.Module):
            raise TypeError(f'AlignmentCapture: expected an nn.Module generator, got {type(self.generator).__name__}')
        self.active = False
        self.records: List[dict] = []
        self._handles = []

    def attach(self) -> 'AlignmentCapture':
        if not self._handles:
            self._handles.append(self.generator.register_forward_hook(self._gen_hook))
        return self

    def detach(self) -> None:
        for h in self._handles:
            h.remove()
        self._handles = []

    def __enter__(self):
        return self.attach()

    def __exit__(self, *exc):
        self.detach()
        return False

    def clear(self) -> None:
        self.records = []

    def _gen_hook(self, module, args, output):
        if not self.active:
            return
        aux = output[1] if isinstance(output, tuple) and len(output) > 1 and isinstance(output[1], dict) else {}
        self.records = [{k: (v.detach() if isinstance(v, torch.Tensor) else v) for k, v in rec.items()}
                        for rec in aux.get('alignments', []) or []
                        if isinstance(rec, dict) and isinstance(rec.get('offsets'), torch.Tensor)]


@HOOKS.register_module()
class OffsetMonitorHook(Hook):
    """Monitor learned alignment offsets during training (see the module docstring).

    Args:
        interval: compute, log and check the statistics every ``interval`` training iterations.
        overflow_threshold: mean offset length (pixels of the level) above which a level counts as overflowing
            (the field's customary guard warns above 50). Non-finite offsets always count.
        stop_on_overflow: raise :class:`OffsetOverflowError` (ending training) instead of only warning.
        vis_interval: save pictures every ``vis_interval`` iterations to ``<work_dir>/<vis_dir>/`` (0: never).
        vis_dir: sub-folder of the work dir for the pictures.
        flow_threshold: distance (pixels) of the "within" fraction (paper Fig. 5: 1).
        exclude_reference: leave out the records aligning the reference frame onto itself.
    """

    priority = 'NORMAL'  # before LoggerHook (BELOW_NORMAL), so the values show in the same iteration's log

    def __init__(self, interval: int = 50, overflow_threshold: float = 50.0, stop_on_overflow: bool = False,
                 vis_interval: int = 1000, vis_dir: str = 'offset_vis', flow_threshold: float = 1.0,
                 exclude_reference: bool = True):
        if not isinstance(interval, int) or interval < 1:
            raise ValueError(f'OffsetMonitorHook: interval must be a positive int, got {interval!r}')
        if not isinstance(vis_interval, int) or vis_interval < 0:
            raise ValueError(f'OffsetMonitorHook: vis_interval must be an int >= 0 (0 = no pictures), '
                             f'got {vis_interval!r}')
        if not (isinstance(overflow_threshold, (int, float)) and overflow_threshold > 0):
            raise ValueError(f'OffsetMonitorHook: overflow_threshold must be a positive number of pixels, '
                             f'got {overflow_threshold!r}')
        if not (isinstance(flow_threshold, (int, float)) and flow_threshold > 0):
            raise ValueError(f'OffsetMonitorHook: flow_threshold must be a positive number of pixels, '
                             f'got {flow_threshold!r}')
        self.interval = interval
        self.overflow_threshold = float(overflow_threshold)
        self.stop_on_overflow = bool(stop_on_overflow)
        self.vis_interval = vis_interval
        self.vis_dir = vis_dir
        self.flow_threshold = float(flow_threshold)
        self.exclude_reference = bool(exclude_reference)
        self.capture: Optional[AlignmentCapture] = None
        self.last_stats: Dict[str, dict] = {}

    # -- lifecycle -----------------------------------------------------------------------------------------
    def before_train(self, runner) -> None:
        self.capture = AlignmentCapture(runner.model).attach()

    def after_train(self, runner) -> None:
        if self.capture is not None:
            self.capture.detach()
            self.capture = None

    def _due(self, runner):
        stats = self.every_n_train_iters(runner, self.interval)
        vis = self.vis_interval > 0 and self.every_n_train_iters(runner, self.vis_interval)
        return stats, vis

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        if self.capture is None:
            return
        self.capture.clear()
        self.capture.active = any(self._due(runner))

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if self.capture is None or not self.capture.active:
            return
        self.capture.active = False
        records = self.capture.records
        self.capture.clear()
        if not records:
            return
        stats_due, vis_due = self._due(runner)
        ref_flows, flows_ref, frames = self._from_batch(data_batch)
        if stats_due:
            self.last_stats = summarize_alignments(records, ref_flows, flows_ref, threshold=self.flow_threshold,
                                                   exclude_reference=self.exclude_reference)
            for name, st in self.last_stats.items():
                for key in ('mean', 'max', 'diversity', within_key(self.flow_threshold)):
                    if key in st:
                        runner.message_hub.update_scalar(f'train/offset/{name}/{key}', float(st[key]))
            self._check_overflow(runner)
        if vis_due and is_main_process():
            self._save_pictures(runner, records, frames, ref_flows)

    # -- helpers -------------------------------------------------------------------------------------------
    @staticmethod
    def _from_batch(data_batch):
        """``(ref_flows (B,T,2,H,W) | None, their ref index | None, frames (B,T,3,h,w) | None)`` from a batch."""
        if not isinstance(data_batch, dict):
            return None, None, None
        frames = data_batch.get('inputs')
        if isinstance(frames, (list, tuple)) and frames and all(isinstance(f, torch.Tensor) for f in frames):
            frames = torch.stack(list(frames))
        if not (isinstance(frames, torch.Tensor) and frames.dim() == 5):
            frames = None
        samples = data_batch.get('data_samples')
        ref_flows, ref_idx = None, None
        if isinstance(samples, dict):
            rf = samples.get('ref_flows')
            if isinstance(rf, (list, tuple)) and rf and all(isinstance(f, torch.Tensor) for f in rf):
                rf = torch.stack(list(rf))
            if isinstance(rf, torch.Tensor) and rf.dim() == 5 and rf.shape[2] == 2:
                ref_flows = rf
                ri = samples.get('ref_index')
                if isinstance(ri, torch.Tensor):
                    vals = ri.flatten().tolist()
                elif isinstance(ri, (list, tuple)):
                    vals = [int(v) for v in ri]
                elif ri is not None:
                    vals = [int(ri)]
                else:
                    vals = []
                if len(set(vals)) > 1:  # samples disagree on the reference frame: no single comparison
                    ref_flows = None
                ref_idx = vals[0] if vals else None
        return ref_flows, ref_idx, frames

    def _check_overflow(self, runner) -> None:
        it = runner.iter + 1
        for name, st in self.last_stats.items():
            mean = st['mean']
            if np.isfinite(mean) and mean <= self.overflow_threshold:
                continue
            msg = (f'OffsetMonitorHook: offset overflow at iteration {it}: the mean offset length of alignment level '
                   f'"{name}" is {mean:.4g} px (max {st["max"]:.4g} px), above overflow_threshold='
                   f'{self.overflow_threshold:g} px. Offsets this large sample outside the feature map, the aligned '
                   'features vanish and the network falls back to single-frame SR. Try: a lower learning rate '
                   '(or a longer warm-up), the offset-fidelity loss (OffsetFidelityLoss), gradient clipping '
                   '(optim_wrapper=dict(clip_grad=dict(max_norm=...))), or bounded offsets (flow + '
                   'max_residue·tanh(residual), max-residue offsets).')
            runner.logger.warning(msg)
            if self.stop_on_overflow:
                raise OffsetOverflowError(msg + ' Training stopped because stop_on_overflow=True.')

    def _save_pictures(self, runner, records, frames, ref_flows) -> None:
        import cv2

        from vidtoolbox.visualization.offset_vis import render_alignment_levels
        out_dir = osp.join(runner.work_dir, self.vis_dir)
        os.makedirs(out_dir, exist_ok=True)
        pictures = render_alignment_levels(records, frames, ref_flows, exclude_reference=self.exclude_reference)
        for name, rgb in pictures.items():
            path = osp.join(out_dir, f'iter_{runner.iter + 1:08d}_{name}.png')
            if not cv2.imwrite(path, np.ascontiguousarray(rgb[..., ::-1])):
                runner.logger.warning(f'OffsetMonitorHook: could not write {path}')
