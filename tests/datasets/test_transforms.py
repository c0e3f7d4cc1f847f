"""Data transforms: flows stay consistent with images under flips/transpose/reverse, crop alignment, packing,
loading, and error messages."""
import copy

import cv2
import numpy as np
import pytest
import torch
from mmengine.dataset import default_collate

from vidtoolbox.datasets.synthetic import SyntheticMotionDataset
from vidtoolbox.datasets.transforms import (Flip, LoadFramesFromFiles, PackVideoInputs, PairedRandomCrop,
                                            RandomTranspose, TemporalReverse)
from vidtoolbox.ops.flow_warp import flow_warp
from vidtoolbox.registry import TRANSFORMS


def _t(x):
    return torch.from_numpy(np.ascontiguousarray(x)).permute(2, 0, 1)[None].double()


def _warp_err(frames, flows, occs, pairs):
    """Mean |flow_warp(frame b, flow) − frame a| over visible pixels, for each (a, b) of ``pairs``."""
    out = []
    for (a, b), flow, occ in zip(pairs, flows, occs):
        w = flow_warp(_t(frames[b]), _t(flow))[0].permute(1, 2, 0).numpy()
        vis = occ[..., 0] == 0
        out.append(np.abs(w - frames[a]).mean(2)[vis].mean())
    return np.array(out)


def _errors(r):
    T = len(r['gt'])
    fw = _warp_err(r['gt'], r['flow_fw'], r['occ_fw'], [(t, t + 1) for t in range(T - 1)])
    bw = _warp_err(r['gt'], r['flow_bw'], r['occ_bw'], [(t + 1, t) for t in range(T - 1)])
    ref = r['ref_index']
    rf = _warp_err(r['gt'], r['ref_flows'], [np.zeros_like(r['occ_fw'][0])] * T, [(ref, t) for t in range(T)])
    return fw, bw, rf


@pytest.fixture(scope='module')
def clip():
    ds = SyntheticMotionDataset(num_clips=1, num_frames=5, gt_size=(48, 64), seed=5, gt_mode='all',
                                max_translation=5.0, max_rotation=2.0)
    return ds.get_data_info(0)


@pytest.mark.parametrize('transform', [Flip('horizontal', 1.0), Flip('vertical', 1.0), RandomTranspose(1.0)])
def test_spatial_transforms_keep_flows_consistent(clip, transform):
    before = _errors(clip)
    r = transform(copy.deepcopy(clip))
    after = _errors(r)
    # bilinear warping commutes with flips and transposes, so the warp errors are unchanged (to rounding)
    for x, y in zip(before, after):
        np.testing.assert_allclose(y, x, atol=1e-6)
    assert r['gt'][0].shape == (clip['gt'][0].shape[1], clip['gt'][0].shape[0], 3) or \
        not isinstance(transform, RandomTranspose)
    assert r['lq'][0].flags['C_CONTIGUOUS'] and r['flow_fw'][0].flags['C_CONTIGUOUS']
    # the same geometry without fixing the flow components breaks the correspondence
    wrong = transform(copy.deepcopy(clip))
    wrong['flow_fw'] = [f[..., ::-1] if isinstance(transform, RandomTranspose) else -f for f in wrong['flow_fw']]
    assert _errors(wrong)[0].mean() > 2 * after[0].mean()


def test_flip_values_and_composition(clip):
    r = Flip('horizontal', 1.0)(copy.deepcopy(clip))
    np.testing.assert_array_equal(r['gt'][1], clip['gt'][1][:, ::-1])
    np.testing.assert_array_equal(r['flow_bw'][0][..., 0], -clip['flow_bw'][0][:, ::-1, 0])
    np.testing.assert_array_equal(r['flow_bw'][0][..., 1], clip['flow_bw'][0][:, ::-1, 1])
    assert r['flip'] is True and r['flip_direction'] == 'horizontal'
    # transpose: dx and dy swap
    r = RandomTranspose(1.0)(copy.deepcopy(clip))
    np.testing.assert_array_equal(r['ref_flows'][0][..., 0], clip['ref_flows'][0][..., 1].T)
    # transpose twice and flip twice are identities
    r = RandomTranspose(1.0)(RandomTranspose(1.0)(copy.deepcopy(clip)))
    r = Flip('vertical', 1.0)(Flip('vertical', 1.0)(r))
    for key in ('lq', 'gt', 'flow_fw', 'flow_bw', 'occ_fw', 'ref_flows'):
        for x, y in zip(r[key], clip[key]):
            np.testing.assert_array_equal(x, y)
    # prob 0 leaves everything alone
    r = Flip('vertical', 0.0)(copy.deepcopy(clip))
    assert r['flip'] is False and np.array_equal(r['gt'][0], clip['gt'][0])


def test_temporal_reverse(clip):
    r = TemporalReverse(1.0)(copy.deepcopy(clip))
    T = len(clip['lq'])
    assert r['reverse'] is True and r['ref_index'] == T - 1 - clip['ref_index']
    np.testing.assert_array_equal(r['lq'][0], clip['lq'][-1])
    np.testing.assert_array_equal(r['flow_fw'][0], clip['flow_bw'][-1])
    np.testing.assert_array_equal(r['occ_bw'][0], clip['occ_fw'][-1])
    fw0, bw0, rf0 = _errors(clip)
    fw1, bw1, rf1 = _errors(r)
    np.testing.assert_allclose(fw1, bw0[::-1], atol=1e-7)
    np.testing.assert_allclose(bw1, fw0[::-1], atol=1e-7)
    np.testing.assert_allclose(rf1, rf0[::-1], atol=1e-7)
    # a non-centre reference frame is remapped
    r = copy.deepcopy(clip)
    r['ref_index'] = 1
    assert TemporalReverse(1.0)(r)['ref_index'] == T - 2
    # single-frame gt (the reference frame) is kept; future-frame targets refuse to be reversed
    r = copy.deepcopy(clip)
    r['gt'] = r['gt'][2:3]
    assert np.array_equal(TemporalReverse(1.0)(r)['gt'][0], clip['gt'][2])
    r = copy.deepcopy(clip)
    r['gt'] = r['gt'][:2]
    with pytest.raises(ValueError, match='gt has 2 frames for 5 lq frames'):
        TemporalReverse(1.0)(r)
    r = copy.deepcopy(clip)
    del r['flow_bw']
    with pytest.raises(KeyError, match="'flow_fw' and 'flow_bw' must both be present"):
        TemporalReverse(1.0)(r)


def test_all_augmentations_together_keep_flows_consistent(clip):
    np.random.seed(0)
    pipe = [TRANSFORMS.build(dict(type='Flip', direction='horizontal', prob=0.5)),
            TRANSFORMS.build(dict(type='Flip', direction='vertical', prob=0.5)),
            TRANSFORMS.build(dict(type='RandomTranspose', prob=0.5)),
            TRANSFORMS.build(dict(type='TemporalReverse', prob=0.5))]
    base = np.sort(np.concatenate(_errors(clip)))
    for _ in range(4):
        r = copy.deepcopy(clip)
        for t in pipe:
            r = t(r)
        np.testing.assert_allclose(np.sort(np.concatenate(_errors(r))), base, atol=1e-6)


def _coord_results(h=6, w=8, scale=4, T=3):
    """GT pixels hold their (row, col); LQ pixel (i, j) holds the GT coordinates of its top-left GT pixel."""
    H, W = h * scale, w * scale
    Y, X = np.mgrid[0:H, 0:W].astype(np.float32)
    gt = np.stack([Y, X, np.zeros_like(X)], 2)
    lq = gt[::scale, ::scale].copy()
    rng = np.random.default_rng(0)
    flows = [rng.uniform(-6, 6, (H, W, 2)).astype(np.float32) for _ in range(T - 1)]
    return dict(lq=[lq + t for t in range(T)], gt=[gt + t for t in range(T)], flow_fw=flows,
                flow_bw=[-f for f in flows], occ_fw=[np.zeros((H, W, 1), np.float32)] * (T - 1),
                occ_bw=[np.zeros((H, W, 1), np.float32)] * (T - 1),
                ref_flows=[rng.normal(size=(H, W, 2)).astype(np.float32) for _ in range(T)],
                scale=scale, ref_index=1, key='c')


def test_paired_random_crop_alignment():
    np.random.seed(1)
    for _ in range(5):
        src = _coord_results()
        r = PairedRandomCrop(16)(copy.deepcopy(src))
        y0, x0, y1, x1 = r['crop_bbox_gt']
        assert (y1 - y0, x1 - x0) == (16, 16) and y0 % 4 == 0 and x0 % 4 == 0
        assert r['lq'][0].shape == (4, 4, 3) and r['gt'][0].shape == (16, 16, 3)
        for t in range(3):
            # LQ pixel (i, j) still sits on GT pixel (4i, 4j) of the patch
            np.testing.assert_array_equal(r['lq'][t], r['gt'][t][::4, ::4])
            np.testing.assert_array_equal(r['gt'][t][..., 0], np.arange(y0, y1)[:, None] + t + 0 * r['gt'][t][..., 1])
        for key in ('flow_fw', 'ref_flows'):
            for a, b in zip(r[key], src[key]):
                np.testing.assert_array_equal(a, b[y0:y1, x0:x1])
        # correspondences that leave the patch become occluded, the others stay visible
        ys, xs = np.mgrid[0:16, 0:16]
        for occ, flow in zip(r['occ_fw'], r['flow_fw']):
            qx, qy = xs + flow[..., 0], ys + flow[..., 1]
            leaves = (qx < 0) | (qx > 15) | (qy < 0) | (qy > 15)
            np.testing.assert_array_equal(occ[..., 0] == 1, leaves)
    # rectangular patch
    r = PairedRandomCrop((8, 12))(_coord_results())
    assert r['lq'][0].shape == (2, 3, 3) and r['gt'][0].shape == (8, 12, 3)


def test_paired_random_crop_errors():
    r = _coord_results()
    r['gt'] = [g[:-4] for g in r['gt']]
    with pytest.raises(ValueError, match=r'GT size 20x32 is not scale \(4\) × LQ size 6x8'):
        PairedRandomCrop(8)(r)
    with pytest.raises(ValueError, match=r'GT patch 32x32 \(LQ 8x8\) is larger than the GT frames 24x32'):
        PairedRandomCrop(32)(_coord_results())
    with pytest.raises(ValueError, match='not divisible by scale 4'):
        PairedRandomCrop(10)(_coord_results())
    r = _coord_results()
    del r['gt']
    with pytest.raises(KeyError, match="no 'gt'"):
        PairedRandomCrop(8)(r)
    r = _coord_results()
    r['flow_fw'] = [f[:-1] for f in r['flow_fw']]
    with pytest.raises(ValueError, match='flow_fw\\[0\\]'):
        PairedRandomCrop(8)(r)
    with pytest.raises(ValueError, match='gt_patch_size'):
        PairedRandomCrop(0)


def test_transform_argument_errors():
    with pytest.raises(ValueError, match="'horizontal' or 'vertical'"):
        Flip('diagonal')
    with pytest.raises(ValueError, match='prob'):
        Flip('horizontal', 1.5)
    with pytest.raises(ValueError, match='prob'):
        RandomTranspose(-0.1)
    with pytest.raises(ValueError, match='prob'):
        TemporalReverse('yes')
    with pytest.raises(TypeError, match="results\\['lq'\\] must be a list"):
        Flip('horizontal', 1.0)(dict(lq=np.zeros((4, 4, 3))))


def test_pack_video_inputs(clip):
    out = PackVideoInputs()(copy.deepcopy(clip))
    x, s = out['inputs'], out['data_samples']
    assert x.shape == (5, 3, 12, 16) and x.dtype == torch.float32
    np.testing.assert_array_equal(x[2].permute(1, 2, 0).numpy(), clip['lq'][2])
    assert s['gt'].shape == (5, 3, 48, 64)
    assert s['flow_fw'].shape == (4, 2, 48, 64) and s['occ_bw'].shape == (4, 1, 48, 64)
    assert s['ref_flows'].shape == (5, 2, 48, 64)
    np.testing.assert_array_equal(s['flow_bw'][1, 0].numpy(), clip['flow_bw'][1][..., 0])  # channel 0 = dx
    assert s['ref_index'] == 2 and s['scale'] == 4 and s['key'] == clip['key']
    batch = default_collate([out, PackVideoInputs()(copy.deepcopy(clip))])
    assert batch['inputs'].shape == (2, 5, 3, 12, 16)
    assert batch['data_samples']['flow_fw'].shape == (2, 4, 2, 48, 64)
    assert batch['data_samples']['key'] == [clip['key']] * 2
    # extra meta keys
    assert PackVideoInputs(meta_keys=('key', 'photos'))(copy.deepcopy(clip))['data_samples']['photos'] == \
        clip['photos']
    # lq only (inference)
    assert PackVideoInputs()(dict(lq=clip['lq']))['data_samples'] == {}


def test_pack_video_inputs_errors(clip):
    with pytest.raises(KeyError, match='no "lq"'):
        PackVideoInputs()(dict(gt=clip['gt']))
    with pytest.raises(ValueError, match=r'flow_fw\[0\] must be \(H, W, 2\)'):
        PackVideoInputs()(dict(lq=clip['lq'], flow_fw=[np.zeros((4, 4, 3))] * 4))
    with pytest.raises(ValueError, match='flow_fw has 2 entries, expected 4'):
        PackVideoInputs()(dict(lq=clip['lq'], flow_fw=clip['flow_fw'][:2]))
    with pytest.raises(TypeError, match='single array'):
        PackVideoInputs()(dict(lq=np.zeros((5, 8, 8, 3))))


def test_load_frames_from_files(tmp_path):
    rng = np.random.default_rng(0)
    rgb = [rng.integers(0, 256, (6, 8, 3), dtype=np.uint8) for _ in range(2)]
    paths = []
    for i, im in enumerate(rgb):
        p = tmp_path / f'{i:08d}.png'
        cv2.imwrite(str(p), im[..., ::-1])  # files are BGR on disk
        paths.append(str(p))
    grey = tmp_path / 'grey.png'
    cv2.imwrite(str(grey), rgb[0][..., 0])
    r = LoadFramesFromFiles()(dict(lq_paths=paths, gt_paths=str(grey)))
    assert len(r['lq']) == 2 and r['lq'][0].dtype == np.float32
    np.testing.assert_allclose(r['lq'][1], rgb[1].astype(np.float32) / 255, atol=1e-7)  # RGB order, [0, 1]
    assert r['gt'][0].shape == (6, 8, 3) and np.all(r['gt'][0][..., 0] == r['gt'][0][..., 2])
    # 16-bit files are scaled by 65535
    p16 = tmp_path / 'deep.png'
    cv2.imwrite(str(p16), np.full((2, 2, 3), 65535, np.uint16))
    np.testing.assert_allclose(LoadFramesFromFiles(keys='lq')(dict(lq_paths=[str(p16)]))['lq'][0], 1.0)
    missing = str(tmp_path / 'nope.png')
    with pytest.raises(FileNotFoundError, match='nope.png'):
        LoadFramesFromFiles(keys='lq')(dict(lq_paths=[paths[0], missing]))
    with pytest.raises(KeyError, match="no 'gt_paths'"):
        LoadFramesFromFiles()(dict(lq_paths=paths))
    assert 'gt' not in LoadFramesFromFiles(required=False)(dict(lq_paths=paths))
    bad = tmp_path / 'bad.png'
    bad.write_bytes(b'not an image')
    with pytest.raises(ValueError, match='could not decode'):
        LoadFramesFromFiles(keys='lq')(dict(lq_paths=[str(bad)]))
