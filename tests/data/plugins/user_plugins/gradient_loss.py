"""A user's loss plugin: L1 between the image gradients of the prediction and of the target."""
import torch

from vidtoolbox.models.losses import BaseLoss
from vidtoolbox.registry import MODELS


@MODELS.register_module()
class GradientL1Loss(BaseLoss):
    """``mean |∇pred − ∇target|`` (horizontal and vertical finite differences), times ``loss_weight``.

    Reads ``pred`` / ``target`` from the head's context (``default_inputs``); logged as ``loss_grad``.
    """

    default_inputs = dict(pred='pred', target='target')
    default_name = 'loss_grad'

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        dx = (pred.diff(dim=-1) - target.diff(dim=-1)).abs().mean()
        dy = (pred.diff(dim=-2) - target.diff(dim=-2)).abs().mean()
        return self.loss_weight * (dx + dy) / 2
