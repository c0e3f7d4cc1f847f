"""Video prediction task head: K context frames → M future frames by recursive next-frame prediction."""
from typing import List, Optional, Tuple

import torch

from vidtoolbox.registry import MODELS
from .base_head import BaseTaskHead

__all__ = ['VideoPrediction', 'split_clip_batch', 'stack_frames']

_INPUT_MODES = ('auto', 'context', 'clip')


def _check_count(name: str, value, minimum: int = 1, allow_none: bool = False):
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f'VideoPrediction: {name} must be an int >= {minimum}, got {value!r}')
    return value


def stack_frames(x):
    """A list/tuple of per-sample ``(T, 3, H, W)`` tensors (MMEngine's ``pseudo_collate``) → ``(B, T, 3, H, W)``."""
    if isinstance(x, (list, tuple)) and x and all(isinstance(v, torch.Tensor) for v in x):
        shapes = {tuple(v.shape) for v in x}
        if len(shapes) != 1:
            raise ValueError(f'cannot batch frames of different shapes {sorted(shapes)}; use equal-size samples')
        return torch.stack(list(x), 0)
    return x


def split_clip_batch(who: str, inputs: torch.Tensor, gt: Optional[torch.Tensor], num_context: int,
                     input_mode: str) -> str:
    """Decide how a batch is laid out (shared by the prediction and interpolation heads).

    Returns ``'context'`` when ``inputs`` holds only context frames (``gt`` the targets; FramesFolderDataset /
    Vimeo-90K layouts) or ``'clip'`` when ``inputs`` and ``gt`` both hold every frame of a clip
    (:class:`~vidtoolbox.datasets.SyntheticMotionDataset` with ``gt_mode='all', scale=1``).
    ``'auto'``: ``'clip'`` iff ``inputs`` has more than ``num_context`` frames and ``gt`` has as many frames as
    ``inputs``; otherwise ``'context'``.
    """
    inputs, gt = stack_frames(inputs), stack_frames(gt)
    if not isinstance(inputs, torch.Tensor) or inputs.dim() != 5 or inputs.shape[2] != 3:
        shape = tuple(inputs.shape) if isinstance(inputs, torch.Tensor) else type(inputs).__name__
        raise ValueError(f'{who}: inputs must be (B, T, 3, H, W) RGB frames in [0, 1], got {shape}')
    if gt is not None and (not isinstance(gt, torch.Tensor) or gt.dim() != 5 or gt.shape[2] != 3):
        shape = tuple(gt.shape) if isinstance(gt, torch.Tensor) else type(gt).__name__
        raise ValueError(f'{who}: data_samples["gt"] must be (B, Tg, 3, H, W) frames, got {shape}')
    t = inputs.shape[1]
    if input_mode == 'auto':
        input_mode = 'clip' if (t > num_context and gt is not None and gt.shape[1] == t) else 'context'
    if input_mode == 'clip':
        if gt is not None and gt.shape[1] != t:
            raise ValueError(f'{who}: input_mode "clip" needs gt with every frame of the clip ({t}), got '
                             f'{gt.shape[1]}; use SyntheticMotionDataset(gt_mode="all")')
        if gt is not None and gt.shape[-2:] != inputs.shape[-2:]:
            raise ValueError(f'{who}: in clip mode inputs {tuple(inputs.shape[-2:])} and gt {tuple(gt.shape[-2:])} '
                             'must have the same frame size; the dataset must use scale=1')
    return input_mode


@MODELS.register_module()
class VideoPrediction(BaseTaskHead):
    """Recursive multi-frame video prediction (the training strategy of "Correspondence-wise losses", A2).

    The generator maps ``K`` context frames ``(B, K, 3, H, W)`` to the next frame ``(B, 3, H, W)`` (e.g.
    :class:`~vidtoolbox.models.archs.ResNet3DPredictor`). The head predicts ``M`` steps by feeding each
    output back: the window slides by one frame per step (``window ← window[:, 1:] ++ pred``). In training the
    loss is back-propagated through the whole chain (``detach_feedback=False``), so step ``M``'s error reaches
    the parameters through every earlier step.

    Batch layouts (``input_mode``):

    * ``'context'``: ``inputs`` ``(B, T>=K, 3, H, W)`` are observed frames (the last ``K`` are used) and
      ``data_samples['gt']`` ``(B, Tg>=M, 3, H, W)`` the following frames ``t+1 … t+Tg`` (the first ``M`` are
      targets) — :class:`~vidtoolbox.datasets.FramesFolderDataset` ``mode='prediction'``.
    * ``'clip'``: ``inputs`` and ``gt`` hold the same ``T >= K + M`` frames of a clip
      (:class:`~vidtoolbox.datasets.SyntheticMotionDataset` ``gt_mode='all', scale=1``); frames ``0 … K−1``
      are the context, ``gt[:, K:K+M]`` the targets.
    * ``'auto'`` (default): ``'clip'`` when ``inputs`` has more than ``K`` frames and ``gt`` as many frames as
      ``inputs``, else ``'context'``.

    Outputs:
        ``mode='tensor'``: ``(B, M, 3, H, W)``; ``mode='predict'``: one dict per sample with ``pred``
        ``(M, 3, H, W)`` in [0, 1], ``gt`` ``(M, 3, H, W)`` when targets exist, ``key`` — the frame metrics then
        report ``PSNR_t+1``, ``PSNR_t+3``, ... per step; ``mode='loss'``: the configured losses.

    Loss context (see :mod:`vidtoolbox.models.losses.base`): ``pred`` / ``target`` / ``gt`` are the ``M`` steps
    flattened into the batch, ``(B·M, 3, H, W)`` (so any per-image loss, pixel-wise or correspondence-wise,
    applies per step, averaged over the steps); ``pred_frames`` / ``target_frames`` keep ``(B, M, 3, H, W)``;
    ``lq`` / ``context`` are the ``(B, K, 3, H, W)`` context frames.

    Args:
        generator: config (or module) of the next-frame network.
        num_context (int): K.
        num_future (int): M, steps predicted (and supervised) in training.
        eval_num_future (int, optional): steps predicted in ``predict`` / ``tensor`` modes (default
            ``num_future``); e.g. train on 3 steps and report t+1 … t+5.
        input_mode (str): ``'auto'`` | ``'context'`` | ``'clip'`` (see above).
        detach_feedback (bool): stop gradients between steps (truncated training); ``False`` (paper) backprops
            through the chain.
        losses, data_preprocessor, init_cfg: see :class:`~vidtoolbox.models.heads.BaseTaskHead`.
    """

    def __init__(self, generator, num_context: int = 4, num_future: int = 1, eval_num_future: Optional[int] = None,
                 input_mode: str = 'auto', detach_feedback: bool = False, losses: Optional[List[dict]] = None,
                 data_preprocessor=None, init_cfg=None):
        if data_preprocessor is None:
            data_preprocessor = dict(type='VideoDataPreprocessor')
        if isinstance(data_preprocessor, dict):  # built in the vidtoolbox scope (works without default_scope)
            data_preprocessor = MODELS.build(data_preprocessor)
        super().__init__(generator, losses=losses, data_preprocessor=data_preprocessor, log_offset_stats=False,
                         init_cfg=init_cfg)
        self.num_context = _check_count('num_context', num_context)
        self.num_future = _check_count('num_future', num_future)
        self.eval_num_future = _check_count('eval_num_future', eval_num_future, allow_none=True)
        if input_mode not in _INPUT_MODES:
            raise ValueError(f'VideoPrediction: input_mode must be one of {_INPUT_MODES}, got {input_mode!r}')
        self.input_mode = input_mode
        self.detach_feedback = bool(detach_feedback)

    target_hint = 'data_samples["gt"] (the future frames)'

    def num_steps(self, mode: str) -> int:
        """Steps predicted in ``mode``: ``num_future`` in training, ``eval_num_future`` (or ``num_future``) else."""
        return self.num_future if mode == 'loss' else (self.eval_num_future or self.num_future)

    # -- batch layout -----------------------------------------------------------------------------------------
    def split_batch(self, inputs: torch.Tensor, data_samples: Optional[dict] = None,
                    mode: str = 'tensor') -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
        """``(context (B, K, 3, H, W), target (B, steps, 3, H, W) or None)`` of a batch (see class docstring);
        ``steps`` = :meth:`num_steps` of ``mode``.

        Raises:
            ValueError: too few context or target frames for ``K`` / the steps, mismatched frame sizes.
        """
        num_steps = self.num_steps(mode)
        gt = stack_frames(data_samples.get('gt')) if isinstance(data_samples, dict) else None
        inputs = stack_frames(inputs)
        mode = split_clip_batch('VideoPrediction', inputs, gt, self.num_context, self.input_mode)
        k, t = self.num_context, inputs.shape[1]
        if t < k:
            raise ValueError(f'VideoPrediction: needs K={k} context frames (num_context), the inputs have {t}')
        if mode == 'clip':
            if t < k + num_steps and gt is not None:
                raise ValueError(f'VideoPrediction: a clip of {t} frames is too short for K={k} context + '
                                 f'{num_steps} predicted frames; set the dataset num_frames >= {k + num_steps}')
            context = inputs[:, :k]
            target = gt[:, k:k + num_steps] if gt is not None else None
        else:
            context = inputs[:, t - k:]
            target = None
            if gt is not None:
                if gt.shape[1] < num_steps:
                    raise ValueError(f'VideoPrediction: {num_steps} steps are predicted but data_samples["gt"] has '
                                     f'only {gt.shape[1]} future frames; set the dataset num_future >= {num_steps}')
                if gt.shape[-2:] != inputs.shape[-2:]:
                    raise ValueError(f'VideoPrediction: context frames {tuple(inputs.shape[-2:])} and gt frames '
                                     f'{tuple(gt.shape[-2:])} differ in size; prediction works at one resolution')
                target = gt[:, :num_steps]
        return context, target

    def rollout(self, context: torch.Tensor, num_steps: int) -> Tuple[torch.Tensor, dict]:
        """Predict ``num_steps`` frames recursively from ``context`` ``(B, K, 3, H, W)``.

        Returns:
            ``(pred (B, num_steps, 3, H, W), aux)``; ``aux['step_aux']`` lists the generator's aux dicts.
        """
        window = context
        preds, step_aux = [], []
        for _ in range(num_steps):
            out = self.generator(window)
            if isinstance(out, tuple):
                out, a = out[0], (out[1] if len(out) > 1 else {})
                step_aux.append(a)
            if not isinstance(out, torch.Tensor) or out.shape != window[:, -1].shape:
                shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
                raise ValueError(f'VideoPrediction: the generator must return the next frame '
                                 f'{tuple(window[:, -1].shape)}, got {shape}')
            preds.append(out)
            nxt = out.detach() if self.detach_feedback else out
            window = torch.cat((window[:, 1:], nxt.unsqueeze(1)), 1)
        aux = dict(step_aux=step_aux) if step_aux else {}
        return torch.stack(preds, 1), aux

    def run_generator(self, inputs, data_samples=None, mode: str = 'tensor'):
        """The recursive rollout of :meth:`num_steps` frames from the context ``inputs``."""
        return self.rollout(inputs, self.num_steps(mode))

    def build_context(self, inputs, pred, aux, data_samples, target) -> dict:
        """Loss context: steps flattened into the batch (see the class docstring)."""
        ctx = super().build_context(inputs, pred.flatten(0, 1), aux, data_samples, target.flatten(0, 1))
        ctx.update(pred_frames=pred, target_frames=target)
        return ctx

