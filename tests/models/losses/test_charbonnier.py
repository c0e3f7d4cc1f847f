import math

import pytest
import torch

from vidtoolbox.models.losses import CharbonnierLoss
from vidtoolbox.registry import MODELS


def test_known_values():
    pred = torch.tensor([0.0, 0.5, 1.0])
    target = torch.tensor([0.0, 0.2, 0.0])
    loss = CharbonnierLoss(eps=1e-12)
    expected = (math.sqrt(1e-12) + math.sqrt(0.09 + 1e-12) + math.sqrt(1 + 1e-12)) / 3
    assert loss(pred=pred, target=target).item() == pytest.approx(expected, rel=1e-6)
    s = CharbonnierLoss(loss_weight=2.0, eps=1e-6, reduction='sum')(pred=pred, target=target)
    assert s.item() == pytest.approx(2 * (math.sqrt(1e-6) + math.sqrt(0.09 + 1e-6) + math.sqrt(1 + 1e-6)), rel=1e-6)


def test_context_call_and_registry():
    loss = MODELS.build(dict(type='CharbonnierLoss', inputs=dict(target='gt')))
    ctx = dict(pred=torch.ones(2, 3), gt=torch.zeros(2, 3))
    assert loss(ctx).item() == pytest.approx(1.0, abs=1e-6)
    assert loss.loss_name == 'loss_pix'
    with pytest.raises(KeyError, match="needs context key 'gt'"):
        loss(dict(pred=torch.ones(1)))


def test_errors():
    with pytest.raises(ValueError, match='same shape'):
        CharbonnierLoss()(pred=torch.zeros(2, 3), target=torch.zeros(3, 2))
    with pytest.raises(ValueError, match='reduction'):
        CharbonnierLoss(reduction='max')
    with pytest.raises(ValueError, match='unknown input names'):
        CharbonnierLoss(inputs=dict(prediction='pred'))
    with pytest.raises(ValueError, match='must start with "loss"'):
        CharbonnierLoss(loss_name='pix')
