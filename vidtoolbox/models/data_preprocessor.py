"""Data preprocessor shared by the task heads."""
import torch
from mmengine.model import BaseDataPreprocessor

from vidtoolbox.registry import MODELS


@MODELS.register_module()
class VideoDataPreprocessor(BaseDataPreprocessor):
    """Moves a collated batch to the model's device and checks it.

    Input (from ``default_collate``): ``{'inputs': (B, T, 3, h, w) float [0, 1], 'data_samples': dict of
    batched tensors / lists}``. Values are kept in [0, 1] (no mean/std normalisation: the archs that need
    one, e.g. SPyNet, normalise internally).
    """

    def forward(self, data: dict, training: bool = False) -> dict:
        if not isinstance(data, dict) or 'inputs' not in data:
            raise TypeError('VideoDataPreprocessor expects a dict with "inputs" (and optionally "data_samples"), '
                            f'got {type(data).__name__} with keys {list(data) if isinstance(data, dict) else "-"}')
        data = self.cast_data(data)
        inputs = data['inputs']
        if isinstance(inputs, (list, tuple)):
            inputs = torch.stack(list(inputs))
        if not torch.is_floating_point(inputs):
            raise TypeError(f'VideoDataPreprocessor: inputs must be float in [0, 1], got dtype {inputs.dtype}')
        return dict(inputs=inputs, data_samples=data.get('data_samples'))
