"""Shared machinery of the task heads: loss plugins, the loss context, predict outputs."""
from typing import Dict, List, Optional

import torch
import torch.nn as nn
from mmengine.model import BaseModel

from vidtoolbox.evaluation.offset_stats import offset_summary
from vidtoolbox.registry import MODELS

__all__ = ['BaseTaskHead']


class BaseTaskHead(BaseModel):
    """An MMEngine ``BaseModel`` owning a generator, a list of loss plugins and a data preprocessor.

    One ``forward`` for every task: :meth:`split_batch` (batch → generator input, target or None) →
    :meth:`run_generator` (→ prediction, aux) → :meth:`check_prediction` → losses / packed predictions / tensor.
    Subclasses override :meth:`split_batch` when the batch holds context and targets together (prediction,
    interpolation), :meth:`run_generator` when the generator is called in a loop (recursive prediction), and
    :meth:`get_target` when the target is read from ``data_samples['gt']`` after the prediction (SR).

    Generators may ask for fields of the data sample besides the frames: a generator attribute ``sample_keys``
    (iterable of ``data_samples`` keys, e.g. ``('ref_flows', 'ref_index')`` for a network that aligns with
    ground-truth flow) makes the head call ``generator(inputs, **{key: data_samples[key]})`` for the keys present.

    Args:
        generator: config (or module) of the network.
        losses: list of loss-plugin configs (see :mod:`vidtoolbox.models.losses.base`); each is summed into
            the total and logged under its ``loss_name`` (names must be unique).
        data_preprocessor: defaults to ``VideoDataPreprocessor``.
        log_offset_stats: add ``offset_mean`` / ``offset_max`` (not losses, logged only; the length of the offset
            vectors in pixels of their level, :func:`vidtoolbox.evaluation.offset_stats.offset_summary`) when the
            generator reports alignment offsets.
    """

    def __init__(self, generator, losses: Optional[List[dict]] = None, data_preprocessor=None,
                 log_offset_stats: bool = True, init_cfg=None):
        if data_preprocessor is None:
            data_preprocessor = dict(type='VideoDataPreprocessor')
        if isinstance(data_preprocessor, dict):  # built here so it resolves in vidtoolbox's scope
            data_preprocessor = MODELS.build(data_preprocessor)
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.generator = MODELS.build(generator) if isinstance(generator, dict) else generator
        if isinstance(losses, dict):
            losses = [losses]
        self.losses = nn.ModuleList(MODELS.build(c) if isinstance(c, dict) else c for c in (losses or []))
        names = [getattr(l, 'loss_name', None) for l in self.losses]
        for loss, name in zip(self.losses, names):
            if name is None:
                raise TypeError(f'{type(self).__name__}: loss {type(loss).__name__} has no loss_name; loss plugins '
                                'must derive from vidtoolbox.models.losses.BaseLoss')
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f'{type(self).__name__}: loss names must be unique, {dup} appear more than once; '
                             'set loss_name=... in the loss configs')
        self.log_offset_stats = log_offset_stats

    #: what training needs and the dataset must provide (part of the error when the target is missing)
    target_hint = 'data_samples["gt"]'

    # -- the steps of forward (override what differs) -----------------------------------------------------
    def split_batch(self, inputs, data_samples=None, mode: str = 'tensor'):
        """``(generator input, target or None)``; ``None`` lets :meth:`get_target` read the target after the
        prediction (the default: the inputs go to the generator unchanged)."""
        return inputs, None

    def run_generator(self, inputs, data_samples=None, mode: str = 'tensor'):
        """Return ``(pred, aux)``: the generator on ``inputs`` (plus the sample fields it asks for)."""
        kwargs = {}
        if isinstance(data_samples, dict):
            kwargs = {k: data_samples[k] for k in getattr(self.generator, 'sample_keys', ()) if k in data_samples}
        out = self.generator(inputs, **kwargs)
        if isinstance(out, tuple):
            return out[0], (out[1] if len(out) > 1 else {})
        return out, {}

    def get_target(self, data_samples, pred):
        """The target of ``pred`` from ``data_samples['gt']`` (heads whose :meth:`split_batch` returns one need
        not implement it)."""
        raise NotImplementedError(f'{type(self).__name__}: implement split_batch or get_target')

    def check_prediction(self, pred, inputs, target) -> None:
        """Raise a clear error when the generator's output does not fit the task (default: no check)."""

    # -- MMEngine modes -----------------------------------------------------------------------------------
    def forward(self, inputs, data_samples=None, mode: str = 'tensor'):
        if mode not in ('loss', 'predict', 'tensor'):
            raise ValueError(f'{type(self).__name__}: mode must be "loss", "predict" or "tensor", got {mode!r}')
        inputs, target = self.split_batch(inputs, data_samples, mode)
        pred, aux = self.run_generator(inputs, data_samples, mode)
        if target is None and mode != 'tensor' and isinstance(data_samples, dict) and 'gt' in data_samples:
            target = self.get_target(data_samples, pred)
        self.check_prediction(pred, inputs, target)
        if mode == 'tensor':
            return pred
        if mode == 'loss':
            if target is None:
                raise KeyError(f'{type(self).__name__}: training needs {self.target_hint}; the dataset pipeline must '
                               'end with PackVideoInputs and provide gt frames')
            return self.compute_losses(inputs, pred, aux, data_samples, target)
        return self.pack_predictions(pred, target, data_samples)

    def build_context(self, inputs, pred, aux, data_samples, target) -> dict:
        """The dict loss plugins read from (keys documented in :mod:`vidtoolbox.models.losses.base`)."""
        ctx = dict(data_samples) if data_samples else {}
        ctx.update(pred=pred, target=target, gt=target, lq=inputs, context=inputs, aux=aux,
                   data_samples=data_samples, alignments=aux.get('alignments', []))
        for k, v in aux.items():
            ctx.setdefault(k, v)
        return ctx

    def compute_losses(self, inputs, pred, aux, data_samples, target) -> Dict[str, torch.Tensor]:
        if len(self.losses) == 0:
            raise RuntimeError(f'{type(self).__name__}: no loss plugins configured; add e.g. '
                               "losses=[dict(type='CharbonnierLoss')] to the model config")
        ctx = self.build_context(inputs, pred, aux, data_samples, target)
        out = {loss.loss_name: loss(ctx) for loss in self.losses}
        if self.log_offset_stats and ctx['alignments']:
            stats = offset_summary(ctx['alignments'])
            if stats:
                out['offset_mean'] = pred.new_tensor(stats['mean'])
                out['offset_max'] = pred.new_tensor(stats['max'])
        return out

    @staticmethod
    def pack_predictions(pred, target, data_samples) -> List[dict]:
        """Per-sample dicts ``{'pred', 'gt' (when ``target`` is given), 'key' (when the samples have keys)}``;
        ``pred`` clamped to [0, 1], everything detached."""
        pred = pred.detach().clamp(0, 1)
        results = []
        for i in range(pred.shape[0]):
            item = dict(pred=pred[i])
            if target is not None:
                item['gt'] = target[i].detach()
            if isinstance(data_samples, dict) and 'key' in data_samples:
                item['key'] = data_samples['key'][i]
            results.append(item)
        return results
