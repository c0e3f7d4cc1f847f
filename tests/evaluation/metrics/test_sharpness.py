"""Sharpness = G(pred) / G(gt): known values on ramps, blur fails, a sharp (even shifted) copy passes, noise is
flagged (> 1), per-step keys, errors."""
import cv2
import numpy as np
import pytest
import torch

from vidtoolbox.datasets.synthetic import load_photo
from vidtoolbox.evaluation.metrics.sharpness import Sharpness, gradient_energy, sharpness
from vidtoolbox.registry import METRICS


def _photo(name='chelsea', size=96):
    img = load_photo(name)[:size * 2, :size * 2]
    return cv2.resize(img, (size, size), interpolation=cv2.INTER_AREA).astype(np.float64) / 255.0  # HWC [0, 1]


def _blur(img, sigma):
    return cv2.GaussianBlur(img, (0, 0), sigma)


def _g_direct(img255):
    """Mean gradient magnitude by explicit loops over interior pixels (independent reference)."""
    h, w = img255.shape
    acc = 0.0
    for i in range(1, h - 1):
        for j in range(1, w - 1):
            dx = (img255[i, j + 1] - img255[i, j - 1]) / 2
            dy = (img255[i + 1, j] - img255[i - 1, j]) / 2
            acc += (dx * dx + dy * dy) ** 0.5
    return acc / ((h - 2) * (w - 2))


def test_ramp_known_value():
    i, j = np.mgrid[0:20, 0:30].astype(np.float64)
    ramp = (3.0 * j + 4.0 * i)  # grey levels, integers: unaffected by rounding
    assert gradient_energy(ramp, input_range=255.0) == pytest.approx(5.0, abs=1e-12)
    flatter = 1.5 * j + 2.0 * i  # G = 2.5 but not integer valued: rounding makes it approximate
    assert sharpness(np.stack([flatter] * 3), np.stack([ramp] * 3), input_range=255.0) == pytest.approx(0.5, abs=0.02)


def test_matches_direct_loops():
    img = _photo(size=24)
    y = np.round(img[..., 1] * 255)
    assert gradient_energy(img[..., 1], input_order='HWC') == pytest.approx(_g_direct(y), rel=1e-12)


def test_blur_fails_sharp_passes_noise_flagged():
    gt = _photo()
    assert sharpness(gt, gt, input_order='HWC') == 1.0
    s_blur2 = sharpness(_blur(gt, 2.0), gt, input_order='HWC')
    s_blur1 = sharpness(_blur(gt, 1.0), gt, input_order='HWC')
    assert s_blur2 < s_blur1 < 0.7           # blur fails, more blur fails more
    assert s_blur2 < 0.5
    shifted = np.roll(gt, 7, axis=1)          # sharp but at the wrong place: sharpness is not fidelity
    assert sharpness(shifted, gt, input_order='HWC') == pytest.approx(1.0, abs=0.06)
    rng = np.random.default_rng(0)
    noisy = np.clip(gt + 0.1 * rng.standard_normal(gt.shape), 0, 1)
    assert sharpness(noisy, gt, input_order='HWC') > 1.5   # random noise is not "sharp and correct"
    # the mean of shifted copies (the blurry average a pixel-wise loss learns) fails too
    mean = np.mean([np.roll(gt, s, axis=1) for s in range(-6, 7)], axis=0)
    assert sharpness(mean, gt, input_order='HWC') < 0.6


def test_flat_cases_and_tensor_input():
    flat = np.full((3, 8, 8), 0.5)
    assert sharpness(flat, flat) == 1.0
    tex = np.random.default_rng(1).random((3, 8, 8))
    assert sharpness(tex, flat) == float('inf')
    gt = _photo(size=32).transpose(2, 0, 1)
    assert sharpness(torch.from_numpy(_blur(gt.transpose(1, 2, 0), 1.5).transpose(2, 0, 1)), torch.from_numpy(gt)) \
        == pytest.approx(sharpness(_blur(gt.transpose(1, 2, 0), 1.5).transpose(2, 0, 1), gt), rel=1e-12)


def test_metric_per_step_keys():
    gt = _photo(size=32).transpose(2, 0, 1)
    steps = [gt, _blur(gt.transpose(1, 2, 0), 1.0).transpose(2, 0, 1), _blur(gt.transpose(1, 2, 0), 3.0)
             .transpose(2, 0, 1)]
    m = METRICS.build(dict(type='Sharpness', steps=(1, 3)))
    assert isinstance(m, Sharpness)
    m.process(None, [dict(pred=torch.from_numpy(np.stack(steps)), gt=torch.from_numpy(np.stack([gt] * 3)))])
    out = m.compute_metrics(m.results)
    assert out['Sharpness_t+1'] == 1.0
    assert out['Sharpness_t+3'] == pytest.approx(sharpness(steps[2], gt), rel=1e-12)
    assert out['Sharpness'] == pytest.approx(np.mean([sharpness(s, gt) for s in steps]), rel=1e-12)
    assert 'Sharpness_t+2' not in out


def test_errors():
    with pytest.raises(ValueError, match='at least 3x3'):
        sharpness(np.zeros((3, 2, 8)), np.zeros((3, 2, 8)))
    with pytest.raises(ValueError, match='shapes differ'):
        sharpness(np.zeros((3, 8, 8)), np.zeros((3, 8, 9)))
    with pytest.raises(ValueError, match='leaves nothing'):
        sharpness(np.zeros((3, 8, 8)), np.zeros((3, 8, 8)), crop_border=4)
