"""L1 / MSE / SSIM / perceptual base losses."""
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from pytorch_msssim import ssim

from vidtoolbox.models.losses import L1Loss, MSELoss, PerceptualLoss, SSIMLoss, VGG19_LAYER_NAMES
from vidtoolbox.registry import MODELS


def test_l1_mse_known_values():
    pred = torch.tensor([[0.0, 0.5], [1.0, 0.25]])
    target = torch.tensor([[0.0, 0.2], [0.0, 0.75]])
    assert L1Loss()(pred=pred, target=target).item() == pytest.approx((0.3 + 1.0 + 0.5) / 4)
    assert L1Loss(loss_weight=2.0, reduction='sum')(pred=pred, target=target).item() == pytest.approx(3.6)
    assert MSELoss()(pred=pred, target=target).item() == pytest.approx((0.09 + 1.0 + 0.25) / 4)
    assert MSELoss(reduction='sum')(pred=pred, target=target).item() == pytest.approx(1.34)
    l1 = MODELS.build(dict(type='L1Loss', inputs=dict(target='gt')))
    assert l1(dict(pred=pred, gt=target)).item() == pytest.approx(0.45)
    assert l1.loss_name == 'loss_l1' and MSELoss().loss_name == 'loss_mse'


def test_pixelwise_errors():
    with pytest.raises(ValueError, match='same shape'):
        L1Loss()(pred=torch.zeros(2, 3), target=torch.zeros(3, 2))
    with pytest.raises(ValueError, match='reduction'):
        MSELoss(reduction='none')
    with pytest.raises(TypeError, match='torch.Tensor'):
        L1Loss()(pred=[0.0], target=torch.zeros(1))


def test_ssim_loss():
    torch.manual_seed(0)
    x = torch.rand(2, 3, 24, 24)
    y = (x + 0.1 * torch.randn_like(x)).clamp(0, 1)
    assert SSIMLoss()(pred=x, target=x).item() == pytest.approx(0.0, abs=1e-6)
    expected = 1 - ssim(x, y, data_range=1.0).item()
    assert 0.05 < expected < 1
    assert SSIMLoss(loss_weight=3.0)(pred=x, target=y).item() == pytest.approx(3 * expected, rel=1e-5)
    # (B, T, C, H, W) folds T
    v = SSIMLoss()(pred=torch.stack((x, y), 1), target=torch.stack((y, y), 1)).item()
    assert v == pytest.approx(1 - ssim(torch.cat((x, y)), torch.cat((y, y)), data_range=1.0).item(), rel=1e-5)
    p = x.clone().requires_grad_()
    SSIMLoss()(pred=p, target=y).backward()
    assert torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0
    with pytest.raises(ValueError, match='smaller than the SSIM window'):
        SSIMLoss()(pred=torch.rand(1, 3, 8, 8), target=torch.rand(1, 3, 8, 8))
    with pytest.raises(ValueError, match='odd'):
        SSIMLoss(win_size=4)


def vgg19_state_dict(seed=0):
    """A random VGG19 state dict in torchvision's format (features.<i>.weight/bias + classifier)."""
    g = torch.Generator().manual_seed(seed)
    sd, in_ch = {}, 3
    for i, name in enumerate(VGG19_LAYER_NAMES):
        if name.startswith('conv'):
            out_ch = {1: 64, 2: 128, 3: 256, 4: 512, 5: 512}[int(name[4])]
            sd[f'features.{i}.weight'] = torch.randn(out_ch, in_ch, 3, 3, generator=g) * (2.0 / (9 * in_ch)) ** 0.5
            sd[f'features.{i}.bias'] = torch.zeros(out_ch)
            in_ch = out_ch
    sd['classifier.0.weight'] = torch.zeros(4, 4)
    return sd


def test_perceptual_loss_matches_manual_vgg(tmp_path):
    sd = vgg19_state_dict()
    path = tmp_path / 'vgg19.pth'
    torch.save(sd, path)
    loss = PerceptualLoss(vgg_weights=str(path), layer_weights={'relu1_2': 0.5, 'conv2_2': 1.0})
    torch.manual_seed(1)
    x, y = torch.rand(1, 3, 16, 16), torch.rand(1, 3, 16, 16)

    def manual(img):  # conv1_1 relu conv1_2 relu(→relu1_2) pool conv2_1 relu conv2_2(→conv2_2)
        mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
        std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
        h = (img - mean) / std
        conv = lambda h, i: F.conv2d(h, sd[f'features.{i}.weight'], sd[f'features.{i}.bias'], padding=1)  # noqa
        r12 = F.relu(conv(F.relu(conv(h, 0)), 2))
        c22 = conv(F.relu(conv(F.max_pool2d(r12, 2), 5)), 7)
        return r12, c22

    (a1, a2), (b1, b2) = manual(x), manual(y)
    expected = 0.5 * F.l1_loss(a1, b1) + F.l1_loss(a2, b2)
    assert loss(pred=x, target=y).item() == pytest.approx(expected.item(), rel=1e-5)
    assert len(loss.vgg.features) == 8  # truncated after conv2_2
    assert loss(pred=x, target=x).item() == 0.0
    p = x.clone().requires_grad_()
    loss(pred=p, target=y).backward()
    assert p.grad.abs().sum() > 0
    assert not any(q.requires_grad for q in loss.vgg.parameters())
    # a bare `features` state dict also loads
    bare = {k[len('features.'):]: v for k, v in sd.items() if k.startswith('features.')}
    torch.save(bare, tmp_path / 'bare.pth')
    l2 = PerceptualLoss(vgg_weights=str(tmp_path / 'bare.pth'), layer_weights={'relu1_2': 0.5, 'conv2_2': 1.0})
    assert l2(pred=x, target=y).item() == pytest.approx(expected.item(), rel=1e-5)


def test_perceptual_errors(tmp_path):
    with pytest.raises(ValueError, match='vgg_weights is required'):
        PerceptualLoss()
    with pytest.raises(FileNotFoundError, match='does not exist'):
        PerceptualLoss(vgg_weights=str(tmp_path / 'missing.pth'))
    torch.save({'features.0.weight': torch.zeros(64, 3, 3, 3)}, tmp_path / 'partial.pth')
    with pytest.raises(KeyError, match='not a torchvision VGG19 state dict'):
        PerceptualLoss(vgg_weights=str(tmp_path / 'partial.pth'))
    torch.save(vgg19_state_dict(), tmp_path / 'ok.pth')
    with pytest.raises(ValueError, match='unknown layer names'):
        PerceptualLoss(vgg_weights=str(tmp_path / 'ok.pth'), layer_weights={'conv9_9': 1.0})
    with pytest.raises(ValueError, match='criterion'):
        PerceptualLoss(vgg_weights=str(tmp_path / 'ok.pth'), criterion='l3')
    # a pickled non-tensor object is refused by weights_only loading
    torch.save({'x': nn.Identity()}, tmp_path / 'module.pth')
    with pytest.raises(ValueError, match='weights-only'):
        PerceptualLoss(vgg_weights=str(tmp_path / 'module.pth'))
