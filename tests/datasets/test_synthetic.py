"""SyntheticMotionDataset: determinism, splits, exact flows (checked by warping images), LR = BI(GT), errors."""
import os

import numpy as np
import pytest
import torch
from scipy.ndimage import binary_dilation

from vidtoolbox.datasets.synthetic import (TRAIN_PHOTOS, VAL_PHOTOS, SyntheticMotionDataset, render_clip,
                                           render_frame)
from vidtoolbox.ops.flow_warp import flow_warp
from vidtoolbox.ops.imresize import imresize
from vidtoolbox.registry import DATASETS

SIZE = 64


def _t(x):
    return torch.from_numpy(np.ascontiguousarray(x)).permute(2, 0, 1)[None].double()


def _warp(img, flow, **kw):
    return flow_warp(_t(img), _t(flow), **kw)[0].permute(1, 2, 0).numpy()


def _make(**kw):
    args = dict(num_clips=4, gt_size=SIZE, seed=3, gt_mode='all')
    args.update(kw)
    return SyntheticMotionDataset(**args)


def test_shapes_dtypes_ranges():
    ds = _make(num_frames=5, scale=4)
    assert len(ds) == 4
    d = ds.get_data_info(1)
    assert d['key'] == 'synthetic_train_000001' and d['ref_index'] == 2 and d['scale'] == 4
    for key, n, shape in [('lq', 5, (16, 16, 3)), ('gt', 5, (64, 64, 3)), ('flow_fw', 4, (64, 64, 2)),
                          ('flow_bw', 4, (64, 64, 2)), ('occ_fw', 4, (64, 64, 1)), ('occ_bw', 4, (64, 64, 1)),
                          ('ref_flows', 5, (64, 64, 2))]:
        assert len(d[key]) == n, key
        for a in d[key]:
            assert a.shape == shape and a.dtype == np.float32, key
    for a in d['lq'] + d['gt']:
        assert a.min() >= 0 and a.max() <= 1
    for a in d['occ_fw'] + d['occ_bw']:
        assert set(np.unique(a)) <= {0.0, 1.0}
    assert np.all(d['ref_flows'][2] == 0)
    centre = _make(gt_mode='center').get_data_info(1)
    assert len(centre['gt']) == 1 and np.array_equal(centre['gt'][0], d['gt'][2])
    # H != W and scale 2
    d2 = _make(gt_size=(32, 48), scale=2, num_frames=3).get_data_info(0)
    assert d2['lq'][0].shape == (16, 24, 3) and d2['flow_fw'][0].shape == (32, 48, 2) and d2['ref_index'] == 1


def test_deterministic_per_index():
    a = _make()
    b = _make()
    order = [3, 0, 2]
    db = {i: b.get_data_info(i) for i in order}  # different order, different instance
    for i in order:
        da = a.get_data_info(i)
        for key in ('lq', 'gt', 'flow_fw', 'occ_bw', 'ref_flows'):
            for x, y in zip(da[key], db[i][key]):
                assert np.array_equal(x, y)
    # a subset (MMEngine `indices`) keeps each clip's identity
    sub = _make(indices=[2])
    assert np.array_equal(sub.get_data_info(0)['gt'][0], a.get_data_info(2)['gt'][0])
    # another seed or another index gives another clip
    assert not np.array_equal(_make(seed=4).get_data_info(0)['gt'][0], a.get_data_info(0)['gt'][0])
    assert not np.array_equal(a.get_data_info(1)['gt'][0], a.get_data_info(0)['gt'][0])


def test_splits_use_disjoint_photos():
    assert not set(TRAIN_PHOTOS) & set(VAL_PHOTOS)
    # the stereo pair shows one scene: both halves in the same split
    assert {'motorcycle_left', 'motorcycle_right'} <= set(TRAIN_PHOTOS)
    assert 'cat' not in TRAIN_PHOTOS + VAL_PHOTOS  # same image as chelsea
    for split, photos in (('train', TRAIN_PHOTOS), ('val', VAL_PHOTOS)):
        ds = _make(split=split, num_clips=3, num_objects=2)
        for i in range(3):
            used = ds.get_data_info(i)['photos']
            assert len(used) == 3 and set(used) <= set(photos)


def test_photos_subset_of_the_split():
    subset = ('astronaut', 'brick', 'grass')
    ds = _make(split='train', num_clips=4, num_objects=2, photos=subset)
    for i in range(4):
        assert set(ds.get_data_info(i)['photos']) <= set(subset)
    for bad in (('astronaut', 'gravel'), ('astronaut',), 'astronaut'):  # a val photo, too few, a bare string
        with pytest.raises(ValueError, match="photos must be at least 2 names of the 'train' split"):
            _make(split='train', photos=bad)


def test_val_photos_are_textured():
    """Every val photo is a textured natural image: at most 15 % of its 8×8 windows are flat (grey-level std below
    2/255) and at most 5 % of its pixels are black (< 0.05), at the mid texture scale (area downscale 1.75). The
    flat ones (moon, retina, clock) are training photos."""
    import cv2
    from vidtoolbox.datasets.synthetic import load_photo
    stats = {}
    for name in TRAIN_PHOTOS + VAL_PHOTOS:
        img = load_photo(name).astype(np.float32) / 255.0
        h, w = img.shape[:2]
        g = cv2.resize(img, (int(w / 1.75), int(h / 1.75)), interpolation=cv2.INTER_AREA).mean(2)
        m, m2 = cv2.blur(g, (8, 8)), cv2.blur(g * g, (8, 8))
        std = np.sqrt(np.maximum(m2 - m * m, 0))
        stats[name] = (float(np.mean(std < 2 / 255)), float(np.mean(g < 0.05)))
    for name in VAL_PHOTOS:
        assert stats[name][0] <= 0.15 and stats[name][1] <= 0.05, (name, stats[name])
    for name in ('moon', 'retina', 'clock'):  # the test can fail: these would not pass it
        assert stats[name][0] > 0.5, (name, stats[name])


def test_every_photo_ships_in_the_wheel(tmp_path):
    """Each photo loads offline: in a fresh process with an empty download cache and no reachable network."""
    import subprocess
    import sys
    env = dict(os.environ, SKIMAGE_DATADIR=str(tmp_path), HTTP_PROXY='http://127.0.0.1:9',
               HTTPS_PROXY='http://127.0.0.1:9', http_proxy='http://127.0.0.1:9', https_proxy='http://127.0.0.1:9',
               NO_PROXY='', no_proxy='')
    code = ('from vidtoolbox.datasets.synthetic import TRAIN_PHOTOS, VAL_PHOTOS, load_photo\n'
            'for n in TRAIN_PHOTOS + VAL_PHOTOS:\n    assert load_photo(n).ndim == 3, n\nprint("ok")')
    r = subprocess.run([sys.executable, '-c', code], env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and r.stdout.strip() == 'ok', r.stderr[-2000:]
    assert not any(tmp_path.iterdir())  # nothing was downloaded into the cache


def test_min_translation_sets_the_speed_floor_and_keeps_default_draws():
    """min_translation=0 renders exactly the clips of before; a floor of 8 GT px moves every clip faster."""
    base = _make(num_clips=4, gt_size=64)
    same = _make(num_clips=4, gt_size=64, min_translation=0.0)
    assert np.array_equal(base.get_data_info(1)['gt'][0], same.get_data_info(1)['gt'][0])
    slow = [np.linalg.norm(base.get_data_info(i)['flow_fw'][1], axis=-1).mean() for i in range(4)]
    fast_ds = _make(num_clips=4, gt_size=64, min_translation=8.0, max_translation=24.0)
    fast = [np.linalg.norm(fast_ds.get_data_info(i)['flow_fw'][1], axis=-1).mean() for i in range(4)]
    assert max(slow) < 4.0 and min(fast) > 4.0, (slow, fast)


def _clean_mask(clip, a, b, flow, occ):
    """Non-occluded pixels of frame a away from object rims (1 px in a, 2 px around the target in b)."""
    h, w = flow.shape[:2]
    ys, xs = np.mgrid[0:h, 0:w]
    qx = np.clip(np.rint(xs + flow[..., 0]), 0, w - 1).astype(int)
    qy = np.clip(np.rint(ys + flow[..., 1]), 0, h - 1).astype(int)
    rim_a = binary_dilation(clip['mixed'][a], iterations=1)
    rim_b = binary_dilation(clip['mixed'][b], iterations=2)[qy, qx]
    return (occ[..., 0] == 0) & ~rim_a & ~rim_b


def test_warping_with_flow_reproduces_frames():
    """flow_warp(frame b, flow(a, b)) ≈ frame a on visible pixels.

    Bound: the scene is continuous, I_a(p) = I_b(p + flow) exactly, so the only error left is the bilinear
    re-interpolation of frame b's pixels at the sub-pixel points p + flow. That error is largest at
    half-pixel offsets in both axes; it is measured independently on the same content by re-interpolating
    frame b at (x + 0.5, y + 0.5) and comparing with frame b *rendered* at those points. The flow warp error
    must not exceed that reference (measured ratio ≈ 0.55 on average), whereas a flow off by 0.5 px is
    clearly worse and no motion compensation at all is several times worse.
    """
    errs, refs, perturbed, still = [], [], [], []
    for seed in range(4):
        clip = render_clip(np.random.default_rng(seed), TRAIN_PHOTOS, 5, (SIZE, SIZE), 4.0, 1.0, 0.02, 2)
        f = clip['frames']
        shift = np.array([[1, 0, 0.5], [0, 1, 0.5], [0, 0, 1.0]])
        for t in range(4):
            for a, b, flow, occ in ((t, t + 1, clip['flow_fw'][t], clip['occ_fw'][t]),
                                    (t + 1, t, clip['flow_bw'][t], clip['occ_bw'][t])):
                clean = _clean_mask(clip, a, b, flow, occ)
                assert clean.mean() > 0.3
                errs.append(np.abs(_warp(f[b], flow) - f[a]).mean(2)[clean].mean())
                off = flow.copy()
                off[..., 0] += 0.5
                perturbed.append(np.abs(_warp(f[b], off) - f[a]).mean(2)[clean].mean())
                still.append(np.abs(f[b] - f[a]).mean(2)[clean].mean())
                direct, _, _ = render_frame(clip['scene'], b, (SIZE, SIZE), shift)
                half = _warp(f[b], np.full((SIZE, SIZE, 2), 0.5), padding_mode='border')
                ok = ~binary_dilation(clip['mixed'][b], iterations=2)
                ok[-1, :] = ok[:, -1] = False
                refs.append(np.abs(half - direct).mean(2)[ok].mean())
    errs, refs = np.array(errs), np.array(refs)
    assert errs.mean() <= 0.8 * refs.mean()
    assert np.all(errs <= 1.25 * refs)
    assert errs.mean() < 0.02  # < 5/255 on average
    assert np.mean(perturbed) > 1.5 * errs.mean()
    assert np.mean(still) > 4 * errs.mean()


def test_static_scene_has_zero_flow_and_identical_frames():
    d = _make(max_translation=0, max_rotation=0, max_zoom=0, num_objects=(2, 2)).get_data_info(0)
    for f in d['flow_fw'] + d['flow_bw'] + d['ref_flows']:
        np.testing.assert_allclose(f, 0, atol=1e-4)
    for g in d['gt'][1:]:
        np.testing.assert_allclose(g, d['gt'][0], atol=1e-6)
    for o in d['occ_fw'] + d['occ_bw']:
        assert o.sum() == 0


def test_flows_consistent():
    clip = render_clip(np.random.default_rng(7), TRAIN_PHOTOS, 5, (SIZE, SIZE), 4.0, 1.0, 0.02, 2)
    ref = 2
    ff, fb, rf = clip['flow_fw'], clip['flow_bw'], clip['ref_flows']
    # one-step reference flows are the pairwise flows
    np.testing.assert_array_equal(rf[ref + 1], ff[ref])
    np.testing.assert_array_equal(rf[ref - 1], fb[ref - 1])
    ys, xs = np.mgrid[0:SIZE, 0:SIZE]

    def sample(field, flow):  # bilinear lookup of `field` at p + flow (exact for an affine field)
        return _warp(field, flow, padding_mode='border')

    def interior(a, b, flow, occ):
        # visible pixels whose bilinear footprint in b lies inside one layer (the flow is affine there)
        lay_b = clip['layers'][b]
        same = np.ones_like(lay_b, bool)
        same[:-1, :-1] = ((lay_b[:-1, :-1] == lay_b[1:, :-1]) & (lay_b[:-1, :-1] == lay_b[:-1, 1:])
                          & (lay_b[:-1, :-1] == lay_b[1:, 1:]))
        same = ~binary_dilation(~same, iterations=1)
        qx = np.clip(np.floor(xs + flow[..., 0]), 0, SIZE - 1).astype(int)
        qy = np.clip(np.floor(ys + flow[..., 1]), 0, SIZE - 1).astype(int)
        return (occ[..., 0] == 0) & same[qy, qx]

    # forward-backward: flow_bw[t](p + flow_fw[t](p)) = -flow_fw[t](p)
    for t in range(4):
        m = interior(t, t + 1, ff[t], clip['occ_fw'][t])
        assert m.mean() > 0.5
        np.testing.assert_allclose((sample(fb[t], ff[t]) + ff[t])[m], 0, atol=2e-3)
    # chaining: ref_flows[ref+2](p) = ff[ref](p) + ff[ref+1](p + ff[ref](p)) where both hops are visible
    m = interior(ref, ref + 1, ff[ref], clip['occ_fw'][ref])
    m &= sample(clip['occ_fw'][ref + 1], ff[ref])[..., 0] == 0
    chained = ff[ref] + sample(ff[ref + 1], ff[ref])
    assert m.mean() > 0.4
    np.testing.assert_allclose(rf[ref + 2][m], chained[m], atol=2e-3)


def test_occlusion_marks_frame_exits_and_covered_pixels():
    clip = render_clip(np.random.default_rng(11), TRAIN_PHOTOS, 3, (SIZE, SIZE), 4.0, 1.0, 0.02, 3)
    for t in range(2):
        flow, occ = clip['flow_fw'][t], clip['occ_fw'][t][..., 0]
        ys, xs = np.mgrid[0:SIZE, 0:SIZE]
        qx, qy = xs + flow[..., 0], ys + flow[..., 1]
        outside = (qx < 0) | (qx > SIZE - 1) | (qy < 0) | (qy > SIZE - 1)
        assert np.all(occ[outside] == 1)
        qxi = np.clip(np.rint(qx), 0, SIZE - 1).astype(int)
        qyi = np.clip(np.rint(qy), 0, SIZE - 1).astype(int)
        changed = clip['layers'][t + 1][qyi, qxi] != clip['layers'][t]
        np.testing.assert_array_equal(occ == 1, outside | changed)


def test_lq_is_bicubic_downscale_of_gt():
    d = _make(num_frames=3, scale=4).get_data_info(2)
    for lq, gt in zip(d['lq'], d['gt']):
        np.testing.assert_allclose(lq, np.clip(imresize(gt.astype(np.float64), scale=0.25), 0, 1), atol=1e-6)


def test_registry_pipeline_and_lazy_init():
    ds = DATASETS.build(dict(type='SyntheticMotionDataset', num_clips=2, gt_size=SIZE, lazy_init=True,
                             pipeline=[dict(type='PackVideoInputs')]))
    out = ds[1]
    assert out['inputs'].shape == (5, 3, 16, 16)
    assert out['data_samples']['gt'].shape == (1, 3, SIZE, SIZE)
    assert out['data_samples']['ref_flows'].shape == (5, 2, SIZE, SIZE)
    assert out['data_samples']['key'] == 'synthetic_train_000001'


@pytest.mark.parametrize('kwargs, match', [
    (dict(num_clips=0), 'num_clips'),
    (dict(split='test'), 'split'),
    (dict(gt_mode='middle'), 'gt_mode'),
    (dict(gt_size=66), 'divisible by scale 4'),
    (dict(gt_size=(64,)), 'gt_size'),
    (dict(num_objects=(3, 1)), 'num_objects'),
    (dict(max_translation=-1), 'max_translation'),
    (dict(min_translation=5, max_translation=4), 'min_translation'),
    (dict(max_zoom=0.9), 'max_zoom'),
    (dict(num_frames=0), 'num_frames'),
    (dict(scale=0), 'scale'),
    (dict(seed=-1), 'seed'),
    (dict(photo_scale=(2, 1)), 'photo_scale'),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SyntheticMotionDataset(**{**dict(num_clips=2, gt_size=SIZE), **kwargs})


# ------------------------------------------------------------------ BaseVideoDataset (the base class used above)
from vidtoolbox.datasets.base import BaseVideoDataset  # noqa: E402


class _Tiny(BaseVideoDataset):
    def load_data_list(self):
        return [dict(key='a'), dict(key='b', ref_index=0)]


def test_base_video_dataset():
    ds = _Tiny(num_frames=3, scale=2, pipeline=[dict(type='TemporalReverse', prob=1.0)], lazy_init=True)
    assert ds.ref_index == 1 and ds.scale == 2
    info = ds.get_data_info(0)
    assert info['scale'] == 2 and info['ref_index'] == 1 and info['key'] == 'a'
    assert ds.get_data_info(1)['ref_index'] == 0  # the data info's own value wins
    out = ds.pipeline(dict(lq=[np.zeros((2, 2, 3))] * 3, ref_index=0))
    assert out['ref_index'] == 2 and out['reverse'] is True
    with pytest.raises(ValueError, match='num_frames must be an int >= 1'):
        _Tiny(num_frames=0)
    with pytest.raises(ValueError, match='scale must be an int >= 1'):
        _Tiny(scale=1.5)
    with pytest.raises(TypeError, match=r'pipeline\[0\]'):
        _Tiny(pipeline=[3])
    with pytest.raises(TypeError, match='pipeline must be a list'):
        _Tiny(pipeline=dict(type='Flip'))




# ------------------------------------------------------------------ motion='constant_velocity'
def _cv_clip(seed, **kw):
    args = dict(photos=VAL_PHOTOS, num_frames=5, gt_size=(SIZE, SIZE), max_translation=4.0, max_rotation=1.0,
                max_zoom=0.02, num_objects=2)
    args.update(kw)
    return render_clip(np.random.default_rng(seed), **args)


def test_constant_velocity_background_flow_is_the_same_every_frame():
    for seed in range(3):
        clip = _cv_clip(seed, motion='constant_velocity')
        for t in range(3):
            # background at p in frames t, t+1 and t+2, visible in the next frame each time
            bg = ((clip['layers'][t] == 0) & (clip['layers'][t + 1] == 0) & (clip['layers'][t + 2] == 0)
                  & (clip['occ_fw'][t][..., 0] == 0) & (clip['occ_fw'][t + 1][..., 0] == 0))
            assert bg.mean() > 0.2
            d = np.abs(clip['flow_fw'][t] - clip['flow_fw'][t + 1])[bg]
            assert d.max() < 1e-3, (seed, t, d.max())
            assert np.abs(clip['flow_fw'][t][bg]).max() > 0.1  # the camera does move
        # default motion accelerates: the same check fails by far
        smooth = _cv_clip(seed)
        bg = (smooth['layers'][1] == 0) & (smooth['layers'][2] == 0)
        assert np.abs(smooth['flow_fw'][1] - smooth['flow_fw'][2])[bg].max() > 0.05


def test_constant_velocity_translating_objects_and_same_draws():
    clip = _cv_clip(5, motion='constant_velocity', max_rotation=0.0, max_zoom=0.0)
    smooth = _cv_clip(5, max_rotation=0.0, max_zoom=0.0)
    assert clip['photos'] == smooth['photos']  # same random draws, only the motion differs
    # a translating object has one flow vector, the same in every frame
    for k in (1, 2):
        vecs = [clip['flow_fw'][t][clip['layers'][t] == k] for t in range(4)]
        vecs = [v for v in vecs if len(v)]
        assert len(vecs) >= 2
        allv = np.concatenate(vecs)
        assert np.abs(allv - allv[0]).max() < 1e-3


def test_constant_velocity_dataset_option():
    ds = _make(num_frames=3, scale=1, motion='constant_velocity')
    assert ds.motion == 'constant_velocity'
    d = ds.get_data_info(0)
    valid = (d['occ_fw'][0][..., 0] == 0) & (d['occ_fw'][1][..., 0] == 0)
    # flows still exact: warping frame 1 with flow(0, 1) reproduces frame 0 at non-occluded pixels
    rec = _warp(d['gt'][1], d['flow_fw'][0], padding_mode='border')
    inner = binary_dilation(~valid, iterations=2)
    assert np.abs(rec - d['gt'][0])[~inner].mean() < 0.02
    assert _make().motion == 'smooth'
    with pytest.raises(ValueError, match="motion must be one of"):
        _make(motion='linear')
