"""PSNR / SSIM / MS-SSIM: known values, the field's conventions, per-step keys and error messages."""
import math

import numpy as np
import pytest
import torch

from vidtoolbox.evaluation.metrics.ms_ssim import MSSSIM, ms_ssim
from vidtoolbox.evaluation.metrics.psnr import PSNR, psnr, rgb2y
from vidtoolbox.evaluation.metrics.ssim import SSIM, ssim
from vidtoolbox.registry import METRICS


def _const(value255, shape=(3, 16, 16)):
    return np.full(shape, value255 / 255.0, dtype=np.float32)


# ----------------------------------------------------------------------------- independent SSIM reference
def _gauss_window(size=11, sigma=1.5):
    ax = np.arange(size) - size // 2
    g = np.exp(-ax.astype(np.float64) ** 2 / (2 * sigma ** 2))
    g /= g.sum()
    return np.outer(g, g)


def _valid_filter(img, win):
    """Valid 2-D correlation by explicit window sums (no library filtering)."""
    k = win.shape[0]
    h, w = img.shape
    out = np.empty((h - k + 1, w - k + 1))
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            out[i, j] = np.sum(img[i:i + k, j:j + k] * win)
    return out


def _ssim_direct(x, y):
    """SSIM of two single-channel float64 images on [0, 255] from the formula of Wang et al. (2004)."""
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    win = _gauss_window()
    mx, my = _valid_filter(x, win), _valid_filter(y, win)
    sxx = _valid_filter(x * x, win) - mx ** 2
    syy = _valid_filter(y * y, win) - my ** 2
    sxy = _valid_filter(x * y, win) - mx * my
    m = ((2 * mx * my + c1) * (2 * sxy + c2)) / ((mx ** 2 + my ** 2 + c1) * (sxx + syy + c2))
    return m.mean()


@pytest.fixture
def pair():
    rng = np.random.default_rng(0)
    a = rng.random((3, 20, 24))
    b = np.clip(a + 0.08 * rng.standard_normal(a.shape), 0, 1)
    return a, b


# ----------------------------------------------------------------------------- rgb2y
@pytest.mark.parametrize('rgb, y255', [((1, 1, 1), 235.0), ((0, 0, 0), 16.0), ((1, 0, 0), 16 + 65.481),
                                       ((0, 1, 0), 16 + 128.553), ((0, 0, 1), 16 + 24.966)])
def test_rgb2y_pure_colours(rgb, y255):
    img = np.ones((3, 2, 2)) * np.array(rgb, dtype=np.float64)[:, None, None]
    np.testing.assert_allclose(rgb2y(img), y255 / 255.0, atol=1e-12)
    np.testing.assert_allclose(rgb2y(img * 255, input_range=255.0), y255, atol=1e-9)
    hwc = img.transpose(1, 2, 0)
    out = rgb2y(torch.from_numpy(hwc), input_order='HWC')
    assert isinstance(out, torch.Tensor) and out.shape == (2, 2, 1)
    np.testing.assert_allclose(out.numpy(), y255 / 255.0, atol=1e-12)


def test_rgb2y_rejects_non_rgb():
    with pytest.raises(ValueError, match='3 channels'):
        rgb2y(np.zeros((1, 4, 4)))
    with pytest.raises(ValueError, match="input_order must be 'CHW' or 'HWC'"):
        rgb2y(np.zeros((3, 4, 4)), input_order='WHC')


# ----------------------------------------------------------------------------- psnr
@pytest.mark.parametrize('d', [1, 3, 10, 50])
def test_psnr_constant_difference(d):
    assert psnr(_const(100), _const(100 + d)) == pytest.approx(20 * math.log10(255 / d), abs=1e-10)
    u8a, u8b = np.full((16, 16, 3), 100, np.uint8), np.full((16, 16, 3), 100 + d, np.uint8)
    assert psnr(u8a, u8b, input_order='HWC') == pytest.approx(20 * math.log10(255 / d), abs=1e-10)


def test_psnr_identical_is_inf_and_rounding_clipping():
    assert psnr(_const(77), _const(77)) == float('inf')
    # 100.4 rounds to 100: same 8-bit image
    assert psnr(_const(100), _const(100.4)) == float('inf')
    # values above 1 are clipped to 1 before rounding
    assert psnr(np.full((3, 8, 8), 1.3), np.ones((3, 8, 8))) == float('inf')


def test_psnr_y_of_constant_difference():
    d = 6
    # Y difference of a grey shift d (all channels) is d * (65.481 + 128.553 + 24.966) / 255 = d * 219 / 255
    expected = 20 * math.log10(255 / (d * 219 / 255))
    assert psnr(_const(80), _const(80 + d), convert_to='Y') == pytest.approx(expected, abs=1e-10)
    assert psnr(_const(80), _const(80 + d), convert_to='y') == pytest.approx(expected, abs=1e-10)
    assert psnr(_const(80), _const(80 + d)) == pytest.approx(20 * math.log10(255 / d), abs=1e-10)


def test_psnr_crop_border():
    a = _const(100, (3, 12, 12))
    b = a.copy()
    b[:, :2, :] = 110 / 255.0  # two differing rows at the top
    assert psnr(a, b, crop_border=2) == float('inf')
    mse = 100.0 * (2 * 12) / (12 * 12)  # d = 10 on 24 of 144 pixels, every channel
    assert psnr(a, b) == pytest.approx(10 * math.log10(255 ** 2 / mse), abs=1e-10)


def test_psnr_layouts_types_and_batches_agree(pair):
    a, b = pair
    ref = psnr(a, b)
    assert psnr(a.transpose(1, 2, 0), b.transpose(1, 2, 0), input_order='HWC') == pytest.approx(ref, abs=1e-12)
    assert psnr(torch.from_numpy(a).float(), torch.from_numpy(b).float()) == pytest.approx(ref, abs=1e-6)
    assert psnr(a * 255, b * 255, input_range=255.0) == pytest.approx(ref, abs=1e-9)
    # a batch is the mean over images
    batch = psnr(np.stack([a, a]), np.stack([b, a]))
    assert batch == float('inf')  # one infinite image makes the mean infinite
    other = np.clip(b + 0.1, 0, 1)
    assert psnr(np.stack([a, a]), np.stack([b, other])) == pytest.approx((ref + psnr(a, other)) / 2, abs=1e-10)


def test_psnr_errors(pair):
    a, b = pair
    with pytest.raises(ValueError, match=r'image shapes differ: \(3, 20, 24\) vs \(3, 20, 23\)'):
        psnr(a, b[..., :23])
    with pytest.raises(ValueError, match="convert_to must be None .* or 'Y'"):
        psnr(a, b, convert_to='YCbCr')
    with pytest.raises(ValueError, match='crop_border 10 leaves nothing'):
        psnr(a, b, crop_border=10)
    with pytest.raises(ValueError, match='crop_border must be an int >= 0'):
        psnr(a, b, crop_border=-1)
    with pytest.raises(ValueError, match='1 or 3 channels'):
        psnr(a[:2], b[:2])
    with pytest.raises(ValueError, match="convert_to='Y' needs RGB"):
        psnr(a[:1], b[:1], convert_to='Y')
    with pytest.raises(TypeError, match='numpy array or a torch tensor'):
        psnr(a.tolist(), b.tolist())


# ----------------------------------------------------------------------------- ssim
def test_ssim_identical_is_one(pair):
    a, _ = pair
    assert ssim(a, a) == pytest.approx(1.0, abs=1e-12)
    assert ssim(a, a, convert_to='Y') == pytest.approx(1.0, abs=1e-12)


def test_ssim_matches_direct_formula(pair):
    a, b = pair
    qa, qb = np.round(a * 255), np.round(b * 255)
    expected = np.mean([_ssim_direct(qa[c], qb[c]) for c in range(3)])
    assert ssim(a, b) == pytest.approx(expected, abs=1e-7)
    ya = 16 + (65.481 * qa[0] + 128.553 * qa[1] + 24.966 * qa[2]) / 255
    yb = 16 + (65.481 * qb[0] + 128.553 * qb[1] + 24.966 * qb[2]) / 255
    assert ssim(a, b, convert_to='Y') == pytest.approx(_ssim_direct(ya, yb), abs=1e-7)
    # crop_border removes pixels before the window is applied
    assert ssim(a, b, crop_border=2) == pytest.approx(
        np.mean([_ssim_direct(qa[c, 2:-2, 2:-2], qb[c, 2:-2, 2:-2]) for c in range(3)]), abs=1e-7)


def test_ssim_errors(pair):
    a, b = pair
    with pytest.raises(ValueError, match='at least 11x11'):
        ssim(a[:, :10], b[:, :10])
    with pytest.raises(ValueError, match='image shapes differ'):
        ssim(a, b[:, 1:])


# ----------------------------------------------------------------------------- ms-ssim
def test_ms_ssim_identical_single_scale_and_range():
    rng = np.random.default_rng(1)
    a = rng.random((3, 176, 170))
    b = np.clip(a + 0.1 * rng.standard_normal(a.shape), 0, 1)
    assert ms_ssim(a, a) == pytest.approx(1.0, abs=1e-12)
    v = ms_ssim(a, b)
    assert 0.0 <= v < 1.0
    # with one scale and exponent 1, MS-SSIM is the (non-negative) SSIM
    s = ssim(a, b)
    assert s > 0
    assert ms_ssim(a, b, weights=[1.0]) == pytest.approx(s, abs=1e-12)
    # data_range 255 on rounded [0, 255] images equals pytorch_msssim on the rounded [0, 1] images
    from pytorch_msssim import ms_ssim as pm_ms_ssim
    qa, qb = (torch.from_numpy(np.round(x * 255) / 255)[None] for x in (a, b))
    assert v == pytest.approx(float(pm_ms_ssim(qa, qb, data_range=1.0)), abs=1e-10)


def test_ms_ssim_too_small():
    a = np.zeros((3, 150, 200))
    with pytest.raises(ValueError, match='at least 161x161 pixels'):
        ms_ssim(a, a)


# ----------------------------------------------------------------------------- metric classes
def _sample(gt_value, pred_values, shape=(3, 16, 16)):
    gt = torch.full((len(pred_values),) + shape, gt_value / 255.0)
    pred = torch.stack([torch.full(shape, v / 255.0) for v in pred_values])
    return dict(pred=pred, gt=gt)


def test_psnr_metric_single_frame_and_registry():
    metric = METRICS.build(dict(type='PSNR'))
    assert isinstance(metric, PSNR)
    s1 = dict(pred=torch.full((3, 16, 16), 102 / 255.0), gt=torch.full((3, 16, 16), 100 / 255.0))
    s2 = dict(pred=torch.full((1, 3, 16, 16), 105 / 255.0), gt=torch.full((1, 3, 16, 16), 100 / 255.0))
    metric.process({}, [s1, s2])
    res = metric.evaluate(2)
    expected = (20 * math.log10(255 / 2) + 20 * math.log10(255 / 5)) / 2
    assert res == {'PSNR': pytest.approx(expected, abs=1e-10)}


def test_psnr_metric_per_step_suffixes_and_prefix():
    metric = PSNR(steps=(1, 3, 5), prefix='pred')
    diffs = [1, 2, 3, 4, 5]
    metric.process({}, [_sample(100, [100 + d for d in diffs])])
    metric.process({}, [_sample(50, [50 + 2 * d for d in diffs])])
    res = metric.evaluate(2)
    per = {d: (20 * math.log10(255 / d) + 20 * math.log10(255 / (2 * d))) / 2 for d in diffs}
    assert set(res) == {'pred/PSNR', 'pred/PSNR_t+1', 'pred/PSNR_t+3', 'pred/PSNR_t+5'}
    assert res['pred/PSNR_t+1'] == pytest.approx(per[1], abs=1e-10)
    assert res['pred/PSNR_t+3'] == pytest.approx(per[3], abs=1e-10)
    assert res['pred/PSNR_t+5'] == pytest.approx(per[5], abs=1e-10)
    assert res['pred/PSNR'] == pytest.approx(np.mean(list(per.values())), abs=1e-10)


def test_metric_steps_beyond_m_are_not_reported():
    metric = SSIM(steps=(1, 3, 5))
    metric.process({}, [_sample(100, [100, 100])])
    res = metric.evaluate(1)
    assert res == {'SSIM': pytest.approx(1.0), 'SSIM_t+1': pytest.approx(1.0)}


def test_ssim_metric_y_and_crop_agree_with_function(pair):
    a, b = pair
    metric = SSIM(crop_border=2, convert_to='Y')
    metric.process({}, [dict(pred=torch.from_numpy(b), gt=torch.from_numpy(a))])
    assert metric.evaluate(1)['SSIM'] == pytest.approx(ssim(b, a, crop_border=2, convert_to='Y'), abs=1e-12)


def test_msssim_metric_key():
    x = torch.rand(3, 164, 164, generator=torch.Generator().manual_seed(0))
    metric = METRICS.build(dict(type='MSSSIM'))
    assert isinstance(metric, MSSSIM)
    metric.process({}, [dict(pred=x, gt=x)])
    assert metric.evaluate(1) == {'MS-SSIM': pytest.approx(1.0)}


def test_metric_errors():
    metric = PSNR()
    with pytest.raises(ValueError, match=r'pred shape \(3, 8, 8\) differs from gt shape \(3, 8, 9\)'):
        metric.process({}, [dict(pred=torch.zeros(3, 8, 8), gt=torch.zeros(3, 8, 9))])
    with pytest.raises(KeyError, match="lacks 'pred' or 'gt'"):
        metric.process({}, [dict(pred=torch.zeros(3, 8, 8))])
    with pytest.raises(ValueError, match=r'\(C, H, W\) or \(M, C, H, W\)'):
        metric.process({}, [dict(pred=torch.zeros(8, 8), gt=torch.zeros(8, 8))])
    with pytest.raises(ValueError, match="convert_to must be None"):
        PSNR(convert_to='RGB')
    with pytest.raises(ValueError, match='steps must be ints >= 1'):
        PSNR(steps=(0, 1))
    with pytest.raises(ValueError, match='crop_border must be an int >= 0'):
        SSIM(crop_border=-2)


def test_every_frame_sr_reports_the_plain_frame_average():
    """Video SR with every frame restored: ``steps=()`` gives PSNR/SSIM averaged over frames, no ``_t+s`` keys."""
    diffs = [1, 2, 4]
    psnr_metric, ssim_metric = PSNR(steps=()), SSIM(steps=())
    for metric in (psnr_metric, ssim_metric):
        metric.process({}, [_sample(100, [100 + d for d in diffs])])
    res = psnr_metric.evaluate(1)
    assert set(res) == {'PSNR'}
    assert res['PSNR'] == pytest.approx(np.mean([20 * math.log10(255 / d) for d in diffs]), abs=1e-10)
    assert set(ssim_metric.evaluate(1)) == {'SSIM'}
