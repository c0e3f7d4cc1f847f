"""Video frame interpolation task head: 2 or 4 context frames → the middle frame."""
from typing import List, Optional, Tuple

import torch

from vidtoolbox.registry import MODELS
from .base_head import BaseTaskHead
from .prediction import split_clip_batch, stack_frames

__all__ = ['VideoInterpolation']

_INPUT_MODES = ('auto', 'context', 'clip')


@MODELS.register_module()
class VideoInterpolation(BaseTaskHead):
    """Frame interpolation: ``K`` context frames (K even: 2 or 4) → the frame halfway between the central two.

    The generator maps ``(B, K, 3, H, W)`` to ``(B, 3, H, W)`` or ``((B, 3, H, W), aux)`` (e.g.
    :class:`~vidtoolbox.models.archs.FlowInterpNet`; its aux flows/mask/warped frames reach the loss context).

    Batch layouts (``input_mode``):

    * ``'context'``: ``inputs`` ``(B, K, 3, H, W)`` are the context frames and ``data_samples['gt']``
      ``(B, 1, 3, H, W)`` the middle frame — :class:`~vidtoolbox.datasets.Vimeo90KTripletDataset`,
      :class:`~vidtoolbox.datasets.Vimeo90KSeptupletDataset` ``mode='interpolation'``,
      :class:`~vidtoolbox.datasets.FramesFolderDataset` ``mode='interpolation'``.
    * ``'clip'``: ``inputs`` and ``gt`` hold the same ``K + 1`` consecutive frames
      (:class:`~vidtoolbox.datasets.SyntheticMotionDataset` ``num_frames=K+1, gt_mode='all', scale=1``): frame
      ``K // 2`` is the target and is removed from the inputs.
    * ``'auto'`` (default): ``'clip'`` when ``inputs`` has ``K + 1`` frames and ``gt`` as many, else ``'context'``.

    Outputs: ``mode='tensor'`` ``(B, 3, H, W)``; ``mode='predict'`` one dict per sample with ``pred``
    ``(3, H, W)`` in [0, 1], ``gt`` ``(3, H, W)`` and ``key``; ``mode='loss'`` the configured losses, whose context
    has ``pred`` / ``target`` / ``gt`` ``(B, 3, H, W)``, ``lq`` / ``context`` ``(B, K, 3, H, W)`` and the
    generator's aux keys (``flow_t0``, ``flow_t1``, ``mask``, ...).

    Args:
        generator: config (or module) of the interpolation network.
        num_context (int): K (even, >= 2).
        input_mode (str): ``'auto'`` | ``'context'`` | ``'clip'``.
        losses, data_preprocessor, init_cfg: see :class:`~vidtoolbox.models.heads.BaseTaskHead`.
    """

    def __init__(self, generator, num_context: int = 2, input_mode: str = 'auto',
                 losses: Optional[List[dict]] = None, data_preprocessor=None, init_cfg=None):
        if data_preprocessor is None:
            data_preprocessor = dict(type='VideoDataPreprocessor')
        if isinstance(data_preprocessor, dict):  # built in the vidtoolbox scope (works without default_scope)
            data_preprocessor = MODELS.build(data_preprocessor)
        super().__init__(generator, losses=losses, data_preprocessor=data_preprocessor, log_offset_stats=False,
                         init_cfg=init_cfg)
        if isinstance(num_context, bool) or not isinstance(num_context, int) or num_context < 2 or num_context % 2:
            raise ValueError(f'VideoInterpolation: num_context must be an even int >= 2, got {num_context!r}')
        if input_mode not in _INPUT_MODES:
            raise ValueError(f'VideoInterpolation: input_mode must be one of {_INPUT_MODES}, got {input_mode!r}')
        self.num_context = num_context
        self.input_mode = input_mode

    target_hint = 'data_samples["gt"] (the middle frame)'

    def split_batch(self, inputs: torch.Tensor, data_samples: Optional[dict] = None,
                    mode: str = 'tensor') -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
        """``(context (B, K, 3, H, W), target (B, 3, H, W) or None)`` of a batch (see the class docstring)."""
        gt = stack_frames(data_samples.get('gt')) if isinstance(data_samples, dict) else None
        inputs = stack_frames(inputs)
        k, t = self.num_context, inputs.shape[1] if isinstance(inputs, torch.Tensor) else -1
        mode = self.input_mode
        if mode == 'auto' and isinstance(inputs, torch.Tensor) and inputs.dim() == 5 and t == k + 1 and gt is None:
            mode = 'clip'  # a (K+1)-frame clip without targets: the middle frame is still the one to produce
        mode = split_clip_batch('VideoInterpolation', inputs, gt, k, mode)
        if mode == 'clip':
            if t != k + 1:
                raise ValueError(f'VideoInterpolation: in clip mode the inputs must hold K+1={k + 1} frames (K '
                                 f'context around the middle target), got {t}; set the dataset num_frames={k + 1}')
            mid = k // 2
            context = torch.cat((inputs[:, :mid], inputs[:, mid + 1:]), 1)
            target = gt[:, mid] if gt is not None else None
            return context, target
        if t != k:
            raise ValueError(f'VideoInterpolation: expected K={k} context frames (num_context), got inputs of shape '
                             f'{tuple(inputs.shape)}')
        target = None
        if gt is not None:
            if gt.shape[1] != 1:
                raise ValueError(f'VideoInterpolation: data_samples["gt"] must hold the single middle frame '
                                 f'(B, 1, 3, H, W), got {tuple(gt.shape)}')
            target = gt[:, 0]
            if target.shape[-2:] != inputs.shape[-2:]:
                raise ValueError(f'VideoInterpolation: context frames {tuple(inputs.shape[-2:])} and gt '
                                 f'{tuple(target.shape[-2:])} differ in size; interpolation works at one resolution')
        return inputs, target

    def check_prediction(self, pred, inputs, target) -> None:
        if pred.shape != inputs[:, 0].shape:
            raise ValueError(f'VideoInterpolation: the generator must return one frame {tuple(inputs[:, 0].shape)}, '
                             f'got {tuple(pred.shape)}')

