"""The ``toy`` claim (Correspondence-wise losses, Fig. 2): scene geometry, the exact L1 optimum, the measures, the
loss-vs-displacement curve, SGD reaching the median, and the one-command smoke run."""
import json
import os.path as osp

import numpy as np
import pytest
import torch

from vidtoolbox.apis.reproduce import CLAIMS, toy


@pytest.fixture(scope='module')
def scene64():
    return toy.make_scene('coffee', 'immunohistochemistry', size=64, obj_size=16, seed=0)


def test_positions_cover_the_region():
    xs = toy.positions(64, 0.3)
    assert xs[0] == pytest.approx(31.5 - 9.5) and xs[-1] == pytest.approx(31.5 + 9.5)
    assert len(xs) == 39 and np.allclose(np.diff(xs), 0.5)
    assert toy.positions(128, 0.2, 0.25).max() - 63.5 <= 0.2 * 128 / 2


def test_render_places_the_object(scene64):
    for xc in (27.0, 31.5, 36.25):
        img = toy.render(scene64, xc)
        assert img.shape == (64, 64, 3) and img.dtype == np.float32
        diff = np.abs(img - scene64['background']).sum(2)
        # the object's footprint is the disc: its column centroid is the requested centre (alpha-weighted)
        cols = np.arange(64)
        w = (diff > 1e-6).sum(0)
        assert (w * cols).sum() / w.sum() == pytest.approx(xc, abs=0.35)
        rows = np.nonzero(diff.sum(1) > 1e-6)[0]
        assert rows.min() >= 31.5 - 9 and rows.max() <= 31.5 + 9


def test_median_image_is_the_per_pixel_median():
    g = torch.Generator().manual_seed(0)
    for p in (5, 6):
        s = torch.rand(p, 3, 4, 5, generator=g)
        assert torch.allclose(toy.median_image(s), torch.from_numpy(np.median(s.numpy(), axis=0)), atol=1e-7)


def test_measures_on_known_images(scene64):
    centre = 31.5
    sample = torch.from_numpy(toy.render(scene64, centre)).permute(2, 0, 1)
    ev = toy.evaluate_image(sample, scene64, 0.3)
    assert ev['sharpness'] == 1.0 and ev['nearest_psnr'] == float('inf') and ev['offset'] == 0.0
    shifted = torch.from_numpy(toy.render(scene64, centre + 4.0)).permute(2, 0, 1)
    ev = toy.evaluate_image(shifted, scene64, 0.3)
    assert ev['offset'] == 4.0 and ev['nearest_psnr'] == float('inf')
    samples = torch.stack([torch.from_numpy(toy.render(scene64, x)).permute(2, 0, 1)
                           for x in toy.positions(64, 0.3)])
    ev = toy.evaluate_image(toy.median_image(samples), scene64, 0.3)
    assert ev['sharpness'] < 0.7 and ev['nearest_psnr'] < 25.0   # the median is blurry and far from any sample


def test_sgd_with_l1_reaches_the_analytical_median(scene64):
    samples = torch.stack([torch.from_numpy(toy.render(scene64, x)).permute(2, 0, 1)
                           for x in toy.positions(64, 0.3)])
    med = toy.median_image(samples)
    x, hist = toy.optimise_image(samples, toy.LOSSES['L1'], steps=150, batch=8, lr=0.02)
    assert (x - med).abs().mean() < 0.01 < (0.5 - med).abs().mean()
    assert hist[-1] < hist[0]
    with pytest.raises(ValueError, match="init must be 'gray' or 'noise'"):
        toy.optimise_image(samples, toy.LOSSES['L1'], steps=1, init='zeros')


def test_displacement_curve_pixelwise_saturates_corrwise_grows():
    sc = toy.make_scene('coffee', 'immunohistochemistry', size=128, obj_size=32, seed=0)
    deltas = [0.0, 2.0, 4.0, 8.0, 12.0, 40.0, 48.0]
    cur = toy.displacement_curve([sc], deltas, {'L1': toy.LOSSES['L1'], 'corr-L1': toy.LOSSES['corr-L1']})
    l1, corr = np.asarray(cur['L1']), np.asarray(cur['corr-L1'])
    assert l1[0] == 0.0 and corr[0] < 1e-6   # DIS returns a flow of ~1e-4 px between identical images
    assert l1[-1] == pytest.approx(l1[-2], rel=0.1)            # no overlap left: pixel-wise is flat (no gradient)
    assert np.all(np.diff(corr[:5]) > 0)                         # corr-wise keeps growing with the error
    # relative to its value without overlap, the corr-wise loss of a small error is much smaller than L1's
    # (L1 rises steeply and saturates; the corr-wise loss rises about linearly while the flow is found)
    for i in (1, 2, 3):
        assert corr[i] / corr[-1] < 0.7 * l1[i] / l1[-1]


@pytest.mark.slow
def test_corrwise_optimum_is_sharp_pixelwise_is_blurry():
    sc = toy.make_scene('coffee', 'immunohistochemistry', size=128, obj_size=32, seed=0)
    samples = torch.stack([torch.from_numpy(toy.render(sc, x)).permute(2, 0, 1) for x in toy.positions(128, 0.3)])
    res = {n: toy.evaluate_image(toy.optimise_image(samples, toy.LOSSES[n], steps=200)[0], sc, 0.3)
           for n in ('L1', 'corr-L1')}
    assert res['corr-L1']['sharpness'] > res['L1']['sharpness'] + 0.1
    assert res['corr-L1']['nearest_psnr'] > res['L1']['nearest_psnr'] + 2.0
    assert abs(res['corr-L1']['offset']) <= 4.0


def test_quick_run_writes_the_page(helpers, tmp_path):
    assert 'toy' in CLAIMS
    tool = helpers.load_tool('reproduce')
    page = osp.join(helpers.ROOT, 'docs', 'results', 'toy.md')
    before = osp.getmtime(page) if osp.exists(page) else None
    assert tool.main(['toy', '--quick', '--work-dir', str(tmp_path)]) == 0
    out = tmp_path / 'results'
    md = (out / 'toy.md').read_text()
    assert 'Quick (smoke) run' in md and '| corr-L1 |' in md and 'seeds 0, wall time' in md
    assert (out / 'toy.png').stat().st_size > 1000
    data = json.loads((out / 'toy.json').read_text())
    assert {r['loss'] for r in data['data']['records']} == set(toy.LOSSES)
    assert (osp.getmtime(page) if osp.exists(page) else None) == before   # a smoke run never touches docs/
