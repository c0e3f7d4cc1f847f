"""Correspondence-wise losses (Correspondence-wise losses for video prediction, §3): warp, then any base loss.

Instead of comparing the prediction ``x̂`` and the target ``x`` pixel by pixel, each pixel is compared with its
correspondence found by optical flow::

    F_p = (1 − ε) · flow(x, x̂)         # on the target's grid, pointing into the prediction
    F_t = (1 − ε) · flow(x̂, x)         # on the prediction's grid, pointing into the target
    L_C   = base(pred=warp(x̂, F_p), target=x)                  # warp(x̂, F_p) ≈ x
    L_sym = L_C + base(pred=x̂, target=warp(x, F_t))            # symmetric (default): a plain sum

``warp`` is :func:`vidtoolbox.ops.flow_warp` (bilinear backward warp, ``align_corners=True``, reflection padding
by default), ``flow`` any image-based flow source (``DISFlow``, ``SPyNetFlow``, …) in the toolbox convention.
Flow scaling ``ε = 0.1`` ("reduces long-range matching while encouraging the model to place objects closer to
their true locations"). As in the public reference, the flow is computed without gradient by default
(``detach_flow=True``): the gradient reaches the prediction through the bilinear sampling of ``warp(x̂, F_p)`` and
directly through ``x̂`` in the symmetric term. No occlusion mask is applied.
"""
from typing import Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from vidtoolbox.models.flow.base import build_estimator
from vidtoolbox.ops.flow_warp import flow_warp, resize_flow
from vidtoolbox.registry import MODELS
from .base import BaseLoss
from .pixelwise import check_same_shape

__all__ = ['CorrespondenceWiseLoss']

_PADDING = ('zeros', 'border', 'reflection')


@MODELS.register_module()
class CorrespondenceWiseLoss(BaseLoss):
    """Wrap any loss plugin into its correspondence-wise version (see the module docstring for the formula).

    Args:
        base: config (or module) of the base loss plugin, e.g. ``dict(type='L1Loss')``, ``dict(type='SSIMLoss')``;
            its own ``loss_weight`` applies to each term, this wrapper's ``loss_weight`` to the sum.
        flow: config (or module) of an image-based flow source (default ``dict(type='DISFlow')``). Sources that
            do not compute flow from images (``GTFlow``, ``FileFlow``) are refused: the flow between a prediction
            and its target must be estimated.
        epsilon: flow scaling ε in [0, 1): the flow is multiplied by ``1 − ε`` before warping (paper: 0.1).
        symmetric: add the term with the target warped onto the prediction (paper: True).
        padding_mode: ``flow_warp`` padding: ``'reflection'`` (default) | ``'border'`` | ``'zeros'``.
        detach_flow: compute the flow without gradient (default). ``False`` lets gradients flow through a
            differentiable source (``SPyNetFlow``) back into the prediction.
        flow_downscale: estimate the flow on images area-downsampled by this integer factor (default 1: full
            resolution) and resize it back with values scaled (:func:`vidtoolbox.ops.resize_flow`) — cuts the
            cost of heavy estimators (SPyNet on CPU) by about ``flow_downscale²``.
        flow_regularizers: list of regulariser configs/modules (``FlowMagnitudeRegularizer``,
            ``FlowSmoothnessRegularizer``, :mod:`.flow_regularizers`) applied to every flow used (after scaling;
            the image passed along is the one the flow lives on). They need a differentiable flow source and
            ``detach_flow=False``, otherwise construction fails.
        loss_weight, loss_name (default ``'loss_corr'``), inputs: see :class:`BaseLoss`.

    Forward:
        pred, target: ``(B, 3, H, W)`` or ``(B, T, 3, H, W)`` RGB in [0, 1] (T folded into the batch for the
        flow and the warp, the base loss sees the folded ``(B·T, 3, H, W)`` tensors), same shape.

    Returns:
        scalar tensor.
    """

    default_name = 'loss_corr'

    def __init__(self, base=None, flow=None, epsilon: float = 0.1, symmetric: bool = True,
                 padding_mode: str = 'reflection', detach_flow: bool = True, flow_downscale: int = 1,
                 flow_regularizers: Optional[Sequence] = None, loss_weight: float = 1.0, loss_name: str = None,
                 inputs: dict = None):
        super().__init__(loss_weight, loss_name, inputs)
        if base is None:
            raise ValueError("CorrespondenceWiseLoss: base is required — the loss to apply after warping, e.g. "
                             "base=dict(type='L1Loss')")
        base = MODELS.build(base) if isinstance(base, dict) else base
        if not isinstance(base, BaseLoss):
            raise TypeError(f'CorrespondenceWiseLoss: base must be a loss-plugin config or BaseLoss, got '
                            f'{type(base).__name__}')
        if isinstance(base, CorrespondenceWiseLoss):
            raise TypeError('CorrespondenceWiseLoss: base must not itself be a CorrespondenceWiseLoss')
        source = build_estimator(flow, 'CorrespondenceWiseLoss', ' (the prediction and its target)')
        if isinstance(epsilon, bool) or not isinstance(epsilon, (int, float)) or not 0 <= epsilon < 1:
            raise ValueError(f'CorrespondenceWiseLoss: epsilon must be a number in [0, 1), got {epsilon!r}')
        if padding_mode not in _PADDING:
            raise ValueError(f'CorrespondenceWiseLoss: padding_mode must be one of {_PADDING}, got {padding_mode!r}')
        if isinstance(flow_downscale, bool) or not isinstance(flow_downscale, int) or flow_downscale < 1:
            raise ValueError(f'CorrespondenceWiseLoss: flow_downscale must be an int >= 1, got {flow_downscale!r}')
        regs = [MODELS.build(r) if isinstance(r, dict) else r for r in (flow_regularizers or [])]
        for r in regs:
            if not isinstance(r, nn.Module):
                raise TypeError(f'CorrespondenceWiseLoss: flow_regularizers must be configs or modules, got '
                                f'{type(r).__name__}')
        if regs and (detach_flow or not source.differentiable):
            why = []
            if not source.differentiable:
                why.append(f'the flow source {type(source).__name__} is not differentiable (use SPyNetFlow)')
            if detach_flow:
                why.append('detach_flow=True (set detach_flow=False)')
            raise ValueError('CorrespondenceWiseLoss: flow_regularizers only act through a flow that depends on the '
                             'prediction, but ' + ' and '.join(why))
        self.base = base
        self.flow_source = source
        self.epsilon = float(epsilon)
        self.symmetric = bool(symmetric)
        self.padding_mode = padding_mode
        self.detach_flow = bool(detach_flow)
        self.flow_downscale = flow_downscale
        self.flow_regularizers = nn.ModuleList(regs)

    def _estimate(self, src: torch.Tensor, dst: torch.Tensor) -> torch.Tensor:
        k = self.flow_downscale
        if k == 1:
            return self.flow_source.flow(src, dst)
        h, w = src.shape[-2:]
        if h // k < 1 or w // k < 1:
            raise ValueError(f'CorrespondenceWiseLoss: images of size {h}x{w} are too small for flow_downscale={k}')
        size = (h // k, w // k)
        small = self.flow_source.flow(F.interpolate(src, size=size, mode='area'),
                                      F.interpolate(dst, size=size, mode='area'))
        return resize_flow(small, (h, w))

    def _flows(self, pred: torch.Tensor, target: torch.Tensor):
        """``(F_p, F_t or None)``, already scaled by ``1 − ε``; both directions in one batched call."""
        if self.symmetric:
            src, dst = torch.cat((target, pred), 0), torch.cat((pred, target), 0)
        else:
            src, dst = target, pred
        if self.detach_flow:
            with torch.no_grad():
                flows = self._estimate(src.detach(), dst.detach())
        else:
            flows = self._estimate(src, dst)
        flows = flows * (1.0 - self.epsilon)
        if self.symmetric:
            n = pred.shape[0]
            return flows[:n], flows[n:]
        return flows, None

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        check_same_shape('CorrespondenceWiseLoss', pred, target)
        if pred.dim() == 5:
            pred, target = pred.flatten(0, 1), target.flatten(0, 1)
        if pred.dim() != 4 or pred.shape[1] != 3:
            raise ValueError(f'CorrespondenceWiseLoss: expected (B, 3, H, W) or (B, T, 3, H, W) RGB images, got '
                             f'shape {tuple(pred.shape)}')
        flow_p, flow_t = self._flows(pred, target)
        flow_p = flow_p.to(pred.dtype)
        loss = self.base(pred=flow_warp(pred, flow_p, padding_mode=self.padding_mode), target=target)
        for reg in self.flow_regularizers:
            loss = loss + reg(flow_p, target)
        if flow_t is not None:
            flow_t = flow_t.to(pred.dtype)
            loss = loss + self.base(pred=pred, target=flow_warp(target, flow_t, padding_mode=self.padding_mode))
            for reg in self.flow_regularizers:
                loss = loss + reg(flow_t, pred)
        return self.loss_weight * loss

    def extra_repr(self) -> str:
        return (f'epsilon={self.epsilon}, symmetric={self.symmetric}, padding_mode={self.padding_mode!r}, '
                f'detach_flow={self.detach_flow}, flow_downscale={self.flow_downscale}, loss_weight={self.loss_weight}')
