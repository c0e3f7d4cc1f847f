"""PairedRandomCrop with flow and mask fields at LR resolution (flows estimated on the LR frames, e.g. precomputed
ref_flows): cropped with the LR window, the GT-size fields with the GT window."""
import copy

import numpy as np
import pytest

from vidtoolbox.datasets.transforms import PairedRandomCrop


def _results(h=6, w=8, scale=4, T=3):
    """LQ / LR-size fields hold the LR coordinates (row, col) of each pixel, GT / GT-size fields the GT ones."""
    H, W = h * scale, w * scale
    ly, lx = np.mgrid[0:h, 0:w].astype(np.float32)
    gy, gx = np.mgrid[0:H, 0:W].astype(np.float32)
    lr_coords = np.stack([lx, ly], 2)  # (dx, dy)-shaped fields whose values name their position
    rng = np.random.default_rng(0)
    flows = [rng.uniform(-3, 3, (h, w, 2)).astype(np.float32) for _ in range(T - 1)]
    return dict(lq=[np.stack([ly, lx, np.zeros_like(lx)], 2)] * T, gt=[np.stack([gy, gx, np.zeros_like(gx)], 2)],
                ref_flows=[lr_coords + t for t in range(T)], flow_fw=flows,
                occ_fw=[np.zeros((h, w, 1), np.float32)] * (T - 1), scale=scale, ref_index=1)


def test_lr_size_fields_take_the_lr_window():
    np.random.seed(3)
    for _ in range(5):
        src = _results()
        r = PairedRandomCrop(16)(copy.deepcopy(src))
        Y, X, _, _ = r['crop_bbox_gt']
        y, x = Y // 4, X // 4
        for t, f in enumerate(r['ref_flows']):
            assert f.shape == (4, 4, 2)
            np.testing.assert_array_equal(f, src['ref_flows'][t][y:y + 4, x:x + 4])
            # the LR patch and its flows still describe the same pixels
            np.testing.assert_array_equal(f[..., 1] - t, r['lq'][0][..., 0])
            np.testing.assert_array_equal(f[..., 0] - t, r['lq'][0][..., 1])
        # an LR occlusion mask is updated with its LR flow against the LR patch (4x4)
        ys, xs = np.mgrid[0:4, 0:4]
        for occ, flow in zip(r['occ_fw'], r['flow_fw']):
            qx, qy = xs + flow[..., 0], ys + flow[..., 1]
            np.testing.assert_array_equal(occ[..., 0] == 1, (qx < 0) | (qx > 3) | (qy < 0) | (qy > 3))


def test_gt_size_and_lr_size_fields_side_by_side():
    src = _results()
    H, W = 24, 32
    src['flow_bw'] = [np.random.default_rng(1).normal(size=(H, W, 2)).astype(np.float32)] * 2
    np.random.seed(0)
    r = PairedRandomCrop(8)(copy.deepcopy(src))
    Y, X, Y1, X1 = r['crop_bbox_gt']
    assert r['flow_bw'][0].shape == (8, 8, 2) and r['ref_flows'][0].shape == (2, 2, 2)
    np.testing.assert_array_equal(r['flow_bw'][0], src['flow_bw'][0][Y:Y1, X:X1])
    np.testing.assert_array_equal(r['ref_flows'][0], src['ref_flows'][0][Y // 4:Y // 4 + 2, X // 4:X // 4 + 2])


def test_a_field_of_another_size_is_an_error():
    r = _results()
    r['ref_flows'] = [np.zeros((5, 8, 2), np.float32)] * 3
    with pytest.raises(ValueError, match=r'ref_flows\[0\] is \(5, 8\), expected the GT size 24x32 or the LQ size 6x8'):
        PairedRandomCrop(8)(r)
    r = _results()
    r['ref_flows'][2] = np.zeros((24, 32, 2), np.float32)  # sizes mixed within one list
    with pytest.raises(ValueError, match=r'ref_flows\[2\]'):
        PairedRandomCrop(8)(r)
    r = _results()
    r['occ_fw'] = [np.zeros((24, 32, 1), np.float32)] * 2
    with pytest.raises(ValueError, match='an occlusion mask must have the size of its flow'):
        PairedRandomCrop(8)(r)
