"""Shared machinery of the task heads: loss plugins, the loss context, predict outputs."""
from typing import Dict, List, Optional

import torch
import torch.nn as nn
from mmengine.model import BaseModel

from vidtoolbox.registry import MODELS

__all__ = ['BaseTaskHead']


class BaseTaskHead(BaseModel):
    """An MMEngine ``BaseModel`` owning a generator, a list of loss plugins and a data preprocessor.

    Subclasses implement :meth:`run_generator` (inputs → prediction, aux) and :meth:`get_target`.

    Args:
        generator: config (or module) of the network.
        losses: list of loss-plugin configs (see :mod:`vidtoolbox.models.losses.base`); each is summed into
            the total and logged under its ``loss_name`` (names must be unique).
        data_preprocessor: defaults to ``VideoDataPreprocessor``.
        log_offset_stats: add ``offset_abs_mean`` / ``offset_abs_max`` (not losses, logged only) when the
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

    # -- to implement -------------------------------------------------------------------------------------
    def run_generator(self, inputs, data_samples=None):
        """Return ``(pred, aux)``."""
        out = self.generator(inputs)
        if isinstance(out, tuple):
            return out[0], (out[1] if len(out) > 1 else {})
        return out, {}

    def get_target(self, data_samples, pred):
        raise NotImplementedError

    # -- MMEngine modes -----------------------------------------------------------------------------------
    def forward(self, inputs, data_samples=None, mode: str = 'tensor'):
        if mode not in ('loss', 'predict', 'tensor'):
            raise ValueError(f'{type(self).__name__}: mode must be "loss", "predict" or "tensor", got {mode!r}')
        pred, aux = self.run_generator(inputs, data_samples)
        if mode == 'tensor':
            return pred
        if mode == 'loss':
            return self.compute_losses(inputs, pred, aux, data_samples)
        return self.make_predictions(pred, data_samples)

    def build_context(self, inputs, pred, aux, data_samples, target=None) -> dict:
        """The dict loss plugins read from (keys documented in :mod:`vidtoolbox.models.losses.base`).

        ``target`` defaults to :meth:`get_target` of ``data_samples``; heads that split their targets out of the
        batch themselves (prediction, interpolation) pass it.
        """
        if target is None:
            if data_samples is None or 'gt' not in data_samples:
                raise KeyError(f'{type(self).__name__}: training needs data_samples["gt"]; the dataset pipeline must '
                               'end with PackVideoInputs and provide gt frames')
            target = self.get_target(data_samples, pred)
        ctx = dict(data_samples) if data_samples else {}
        ctx.update(pred=pred, target=target, gt=target, lq=inputs, context=inputs, aux=aux,
                   data_samples=data_samples, alignments=aux.get('alignments', []))
        for k, v in aux.items():
            ctx.setdefault(k, v)
        return ctx

    def compute_losses(self, inputs, pred, aux, data_samples, target=None) -> Dict[str, torch.Tensor]:
        if len(self.losses) == 0:
            raise RuntimeError(f'{type(self).__name__}: no loss plugins configured; add e.g. '
                               "losses=[dict(type='CharbonnierLoss')] to the model config")
        ctx = self.build_context(inputs, pred, aux, data_samples, target)
        out = {loss.loss_name: loss(ctx) for loss in self.losses}
        if self.log_offset_stats and ctx['alignments']:
            with torch.no_grad():
                absvals = [r['offsets'].detach().abs() for r in ctx['alignments'] if 'offsets' in r]
                if absvals:
                    out['offset_abs_mean'] = torch.stack([a.mean() for a in absvals]).mean()
                    out['offset_abs_max'] = torch.stack([a.max() for a in absvals]).max()
        return out

    def make_predictions(self, pred, data_samples) -> List[dict]:
        target = None
        if data_samples is not None and 'gt' in data_samples:
            target = self.get_target(data_samples, pred)
        return self.pack_predictions(pred, target, data_samples)

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
