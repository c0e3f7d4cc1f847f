"""Data preprocessor shared by the task heads."""
import numbers

import torch
from mmengine.model import BaseDataPreprocessor

from vidtoolbox.registry import MODELS

__all__ = ['VideoDataPreprocessor']


def _stack(name, values):
    """Stack a list of per-sample values: tensors of one shape → batch tensor, numbers → 1-D tensor."""
    if all(isinstance(v, torch.Tensor) for v in values):
        shapes = {tuple(v.shape) for v in values}
        if len(shapes) != 1:
            raise ValueError(f'VideoDataPreprocessor: cannot batch {name!r}: samples have different shapes '
                             f'{sorted(shapes)}; use batch_size=1 or crop to a common size')
        return torch.stack(values)
    if all(isinstance(v, numbers.Number) and not isinstance(v, bool) for v in values):
        return torch.as_tensor(values)
    return list(values)


@MODELS.register_module()
class VideoDataPreprocessor(BaseDataPreprocessor):
    """Batches and moves a collated batch to the model's device.

    Accepts both MMEngine collates: ``pseudo_collate`` (the Runner's default: ``inputs`` a list of ``(T, 3, h, w)``
    tensors, ``data_samples`` a dict of per-sample lists) and ``default_collate`` (already stacked).

    Output: ``{'inputs': (B, T, 3, h, w) float in [0, 1], 'data_samples': dict}`` where equally-shaped tensors are
    stacked to ``(B, ...)``, numbers (``ref_index``, ``scale``) become 1-D tensors and strings (``key``) stay lists.
    Values are kept in [0, 1] (no mean/std normalisation: archs that need one, e.g. SPyNet, normalise internally).
    """

    def forward(self, data: dict, training: bool = False) -> dict:
        if not isinstance(data, dict) or 'inputs' not in data:
            raise TypeError('VideoDataPreprocessor expects a dict with "inputs" (and optionally "data_samples"), '
                            f'got {type(data).__name__} with keys {list(data) if isinstance(data, dict) else "-"}')
        inputs = data['inputs']
        if isinstance(inputs, (list, tuple)):
            inputs = _stack('inputs', list(inputs))
        samples = data.get('data_samples')
        if isinstance(samples, dict):
            samples = {k: (_stack(k, list(v)) if isinstance(v, (list, tuple)) else v) for k, v in samples.items()}
        elif isinstance(samples, (list, tuple)) and samples and isinstance(samples[0], dict):
            keys = samples[0].keys()
            samples = {k: _stack(k, [s[k] for s in samples]) for k in keys}
        data = self.cast_data(dict(inputs=inputs, data_samples=samples))
        if not torch.is_floating_point(data['inputs']):
            raise TypeError(f'VideoDataPreprocessor: inputs must be float in [0, 1], got dtype {data["inputs"].dtype}')
        return data
