import pytest
import torch
import torch.nn.functional as F
from skimage import data as skdata

from vidtoolbox.models.flow import BaseFlowSource
from vidtoolbox.models.losses import CorrespondenceWiseLoss, FlowMagnitudeRegularizer, L1Loss
from vidtoolbox.ops.flow_warp import flow_warp
from vidtoolbox.registry import MODELS


class ShiftFlow(BaseFlowSource):
    """Test flow source that 'recovers' a known horizontal translation: flow(target, pred) = +shift,
    flow(pred, target) = -shift (it is told which tensor is the target)."""

    def __init__(self, shift, target):
        super().__init__()
        self.shift, self.target = float(shift), target

    def flow(self, src, dst):
        out = torch.zeros(src.shape[0], 2, *src.shape[-2:])
        n = self.target.shape[0]
        # batched call: src = cat(target, pred), dst = cat(pred, target)
        for i in range(src.shape[0]):
            is_target = torch.equal(src[i], self.target[i % n])
            out[i, 0] = self.shift if is_target else -self.shift
        return out


def textured_pair(shift=2, size=(64, 128)):
    """target(x) = pred(x + shift): the prediction is the target translated `shift` px to the right."""
    img = torch.from_numpy(skdata.astronaut()[100:100 + size[0], 150:150 + size[1] + 16]).float() / 255
    img = img.permute(2, 0, 1)[None]
    target = img[..., 8:8 + size[1]].contiguous()
    pred = img[..., 8 - shift:8 - shift + size[1]].contiguous()
    return pred, target


def test_identical_images_give_zero():
    _, target = textured_pair()
    loss = CorrespondenceWiseLoss(base=dict(type='L1Loss'), flow=ShiftFlow(0, target))
    assert loss(pred=target.clone(), target=target).item() == pytest.approx(0.0, abs=1e-6)  # grid_sample round-off
    dis = CorrespondenceWiseLoss(base=dict(type='L1Loss'), flow=dict(type='DISFlow'))
    assert dis(pred=target.clone(), target=target).item() < 1e-3


@pytest.mark.parametrize('source', ['shift', 'dis'])
def test_translation_corrwise_small_pixelwise_large(source):
    pred, target = textured_pair(shift=2)
    flow = ShiftFlow(2, target) if source == 'shift' else dict(type='DISFlow')
    pix = L1Loss()(pred=pred, target=target).item()
    corr = CorrespondenceWiseLoss(base=dict(type='L1Loss'), flow=flow, epsilon=0.0)(pred=pred, target=target).item()
    assert pix > 0.03
    # only a 2-px border strip (sampled by reflection) stays mismatched
    assert corr < 0.1 * pix, (corr, pix)
    # flow scaling (eps = 0.1) leaves a 0.2-px residual shift: still far below the pixel-wise loss
    scaled = CorrespondenceWiseLoss(base=dict(type='L1Loss'), flow=flow, epsilon=0.1)(pred=pred, target=target)
    assert corr <= scaled.item() < 0.3 * pix


def test_value_matches_formula_and_symmetry():
    pred, target = textured_pair(shift=3)
    src = ShiftFlow(3, target)
    eps = 0.1
    fp = torch.zeros(1, 2, *target.shape[-2:])
    fp[:, 0] = 3 * (1 - eps)
    term1 = F.l1_loss(flow_warp(pred, fp, padding_mode='reflection'), target)
    term2 = F.l1_loss(pred, flow_warp(target, -fp, padding_mode='reflection'))
    sym = CorrespondenceWiseLoss(base=dict(type='L1Loss'), flow=src, loss_weight=2.0)(pred=pred, target=target)
    asym = CorrespondenceWiseLoss(base=dict(type='L1Loss'), flow=src, symmetric=False)(pred=pred, target=target)
    assert asym.item() == pytest.approx(term1.item(), rel=1e-6)
    assert sym.item() == pytest.approx(2.0 * (term1 + term2).item(), rel=1e-6)
    zeros = CorrespondenceWiseLoss(base=dict(type='L1Loss'), flow=src, padding_mode='zeros', symmetric=False)
    assert zeros(pred=pred, target=target).item() == pytest.approx(
        F.l1_loss(flow_warp(pred, fp, padding_mode='zeros'), target).item(), rel=1e-6)


def test_video_layout_folds_time_and_gradient_reaches_prediction():
    p1, t1 = textured_pair(shift=2, size=(32, 48))
    p2, t2 = textured_pair(shift=1, size=(32, 48))
    pred = torch.stack((p1, p2), 1).requires_grad_()  # (1, 2, 3, 32, 48)
    target = torch.stack((t1, t2), 1)
    loss = MODELS.build(dict(type='CorrespondenceWiseLoss', base=dict(type='CharbonnierLoss'),
                             flow=dict(type='DISFlow')))
    value = loss(dict(pred=pred, target=target))
    folded = loss(pred=pred.detach().flatten(0, 1), target=target.flatten(0, 1))
    assert value.item() == pytest.approx(folded.item(), rel=1e-6)
    value.backward()
    assert pred.grad is not None and torch.isfinite(pred.grad).all() and pred.grad.abs().sum() > 0
    assert loss.loss_name == 'loss_corr'


def test_flow_downscale_estimates_at_lower_resolution():
    pred, target = textured_pair(shift=2)
    calls = []

    class Recorder(ShiftFlow):
        def flow(self, src, dst):
            calls.append(tuple(src.shape[-2:]))
            return torch.full((src.shape[0], 2, *src.shape[-2:]), 0.0)

    loss = CorrespondenceWiseLoss(base=dict(type='L1Loss'), flow=Recorder(0, target), flow_downscale=2)
    loss(pred=pred, target=target)
    assert calls == [(32, 64)]
    dis2 = CorrespondenceWiseLoss(base=dict(type='L1Loss'), flow=dict(type='DISFlow'), epsilon=0.0, flow_downscale=2)
    assert dis2(pred=pred, target=target).item() < 0.15 * L1Loss()(pred=pred, target=target).item()
    with pytest.raises(ValueError, match='flow_downscale'):
        CorrespondenceWiseLoss(base=dict(type='L1Loss'), flow_downscale=0)


def test_other_base_losses_wrap():
    pred, target = textured_pair(shift=2)
    for base in (dict(type='MSELoss'), dict(type='SSIMLoss')):
        loss = CorrespondenceWiseLoss(base=base, flow=ShiftFlow(2, target), epsilon=0.0)
        assert loss(pred=pred, target=target).item() < 0.2 * MODELS.build(base)(pred=pred, target=target).item()


def test_regularizers_with_differentiable_flow():
    torch.manual_seed(0)
    pred = torch.rand(1, 3, 32, 32, requires_grad=True)
    target = torch.rand(1, 3, 32, 32)
    flow = dict(type='SPyNetFlow', pretrained=None, freeze=True)
    regs = [dict(type='FlowMagnitudeRegularizer', weight=9.0), dict(type='FlowSmoothnessRegularizer', weight=4.5)]
    loss = CorrespondenceWiseLoss(base=dict(type='L1Loss'), flow=flow, detach_flow=False, flow_regularizers=regs)
    value = loss(pred=pred, target=target)
    # recompute: base terms + regularisers of both scaled flows
    with torch.no_grad():
        f = loss.flow_source.flow(torch.cat((target, pred)), torch.cat((pred, target))) * 0.9
        base = (F.l1_loss(flow_warp(pred, f[:1], padding_mode='reflection'), target)
                + F.l1_loss(pred, flow_warp(target, f[1:], padding_mode='reflection')))
        reg = sum(r(f[i:i + 1]) for r in loss.flow_regularizers for i in range(2))
    assert value.item() == pytest.approx((base + reg).item(), rel=1e-5)
    value.backward()
    assert pred.grad.abs().sum() > 0


def test_errors():
    with pytest.raises(ValueError, match='base is required'):
        CorrespondenceWiseLoss()
    with pytest.raises(TypeError, match='base must be a loss-plugin'):
        CorrespondenceWiseLoss(base=dict(type='DISFlow'))
    with pytest.raises(TypeError, match='must not itself'):
        CorrespondenceWiseLoss(base=CorrespondenceWiseLoss(base=dict(type='L1Loss')))
    with pytest.raises(ValueError, match='cannot estimate flow'):
        CorrespondenceWiseLoss(base=dict(type='L1Loss'), flow=dict(type='GTFlow'))
    with pytest.raises(TypeError, match='flow-source'):
        CorrespondenceWiseLoss(base=dict(type='L1Loss'), flow=dict(type='L1Loss'))
    with pytest.raises(ValueError, match='epsilon'):
        CorrespondenceWiseLoss(base=dict(type='L1Loss'), epsilon=1.0)
    with pytest.raises(ValueError, match='padding_mode'):
        CorrespondenceWiseLoss(base=dict(type='L1Loss'), padding_mode='wrap')
    with pytest.raises(ValueError, match='not differentiable'):
        CorrespondenceWiseLoss(base=dict(type='L1Loss'), detach_flow=False,
                               flow_regularizers=[FlowMagnitudeRegularizer()])
    with pytest.raises(ValueError, match='detach_flow=True'):
        CorrespondenceWiseLoss(base=dict(type='L1Loss'), flow=dict(type='SPyNetFlow', pretrained=None),
                               flow_regularizers=[dict(type='FlowSmoothnessRegularizer')])
    loss = CorrespondenceWiseLoss(base=dict(type='L1Loss'))
    with pytest.raises(ValueError, match='same shape'):
        loss(pred=torch.zeros(1, 3, 16, 16), target=torch.zeros(1, 3, 16, 8))
    with pytest.raises(ValueError, match='RGB images'):
        loss(pred=torch.zeros(1, 1, 16, 16), target=torch.zeros(1, 1, 16, 16))
