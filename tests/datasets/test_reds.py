"""REDSDataset on a tiny REDS-like tree built in tmp_path."""
import os.path as osp

import cv2
import numpy as np
import pytest

from vidtoolbox.datasets.frames_folder import padded_window_indices
from vidtoolbox.datasets.reds import REDSDataset
from vidtoolbox.datasets.transforms import LoadFramesFromFiles
from vidtoolbox.registry import DATASETS

CLIPS = ('000', '001', '002', '011', '015', '020')
N = 8  # frames per clip (100 in REDS)


def _write(path, value, h, w):
    import os
    os.makedirs(osp.dirname(path), exist_ok=True)
    img = np.full((h, w, 3), value, np.uint8)
    img[..., 0] = 7  # blue channel marker (BGR on disk)
    assert cv2.imwrite(path, img)


@pytest.fixture
def reds(tmp_path):
    for ci, clip in enumerate(CLIPS):
        for f in range(N):
            value = 10 * ci + f
            _write(str(tmp_path / 'train_sharp' / clip / f'{f:08d}.png'), value, 12, 16)
            _write(str(tmp_path / 'train_sharp_bicubic' / 'X4' / clip / f'{f:08d}.png'), value, 3, 4)
    return tmp_path


def test_padding_indices_known_values():
    assert padded_window_indices(0, 100, 5) == [4, 3, 0, 1, 2]
    assert padded_window_indices(1, 100, 5) == [4, 0, 1, 2, 3]
    assert padded_window_indices(99, 100, 5) == [97, 98, 99, 96, 95]
    assert padded_window_indices(98, 100, 5) == [96, 97, 98, 99, 95]
    assert padded_window_indices(0, 100, 5, 'reflection') == [2, 1, 0, 1, 2]
    assert padded_window_indices(99, 100, 5, 'replicate') == [97, 98, 99, 99, 99]
    assert padded_window_indices(50, 100, 7) == list(range(47, 54))
    assert padded_window_indices(1, 10, 3, 'reflection', interval=2) == [1, 1, 3]
    with pytest.raises(ValueError, match='too short'):
        padded_window_indices(0, 3, 5)
    with pytest.raises(ValueError, match='padding must be one of'):
        padded_window_indices(0, 10, 5, 'circle')


def test_val_split_is_reds4_with_reflection_circle(reds):
    ds = REDSDataset(data_root=str(reds), split='val')
    assert len(ds) == 4 * N
    info = ds.get_data_info(0)
    assert info['key'] == '000/00000000'
    assert [osp.basename(p) for p in info['lq_paths']] == [f'{i:08d}.png' for i in (4, 3, 0, 1, 2)]
    assert info['gt_paths'] == [osp.join(str(reds), 'train_sharp', '000', '00000000.png')]
    assert info['lq_paths'][0].startswith(osp.join(str(reds), 'train_sharp_bicubic', 'X4', '000'))
    assert (info['ref_index'], info['scale'], info['num_frames']) == (2, 4, 5)
    last = ds.get_data_info(N - 1)
    assert [osp.basename(p)[:8] for p in last['lq_paths']] == [f'{i:08d}' for i in (5, 6, 7, 4, 3)]
    assert [ds.get_data_info(i)['key'] for i in range(0, 4 * N, N)] == [f'{c}/00000000' for c in
                                                                        ('000', '011', '015', '020')]


def test_train_split_excludes_reds4_and_random_window(reds):
    np.random.seed(0)
    ds = REDSDataset(data_root=str(reds), split='train', num_frames=3, interval_list=[1, 2])
    assert len(ds) == 2 * N
    assert sorted({ds.get_data_info(i)['clip'] for i in range(len(ds))}) == ['001', '002']
    for i in range(len(ds)):
        info = ds.get_data_info(i)
        idx = [int(osp.basename(p)[:8]) for p in info['lq_paths']]
        step = info['interval']
        assert step in (1, 2)
        c = info['frame_index']
        assert idx == [c - step, c, c + step] and 0 <= idx[0] and idx[-1] < N  # inside the clip, no padding
        assert info['key'] == f"{info['clip']}/{c:08d}"
        assert info['gt_paths'][0].endswith(f'{c:08d}.png')
    fixed = REDSDataset(data_root=str(reds), split='train', num_frames=3, random_window=False)
    assert [osp.basename(p)[:8] for p in fixed.get_data_info(0)['lq_paths']] == ['00000002', '00000000',
                                                                                 '00000001']


def test_loading_gives_centre_gt_and_matching_lr(reds):
    ds = DATASETS.build(dict(type='REDSDataset', data_root=str(reds), split='val',
                             pipeline=[LoadFramesFromFiles()]))
    out = ds[N + 3]  # clip 011, frame 3
    assert out['key'] == '011/00000003'
    assert len(out['lq']) == 5 and out['lq'][0].shape == (3, 4, 3) and out['gt'][0].shape == (12, 16, 3)
    ci = CLIPS.index('011')
    np.testing.assert_allclose([f[0, 0, 0] * 255 for f in out['lq']], [10 * ci + i for i in (1, 2, 3, 4, 5)],
                               atol=1e-4)
    np.testing.assert_allclose(out['gt'][0][0, 0] * 255, [10 * ci + 3, 10 * ci + 3, 7], atol=1e-4)


def test_errors(reds, tmp_path):
    with pytest.raises(FileNotFoundError, match=r"data_root .*nowhere.* does not exist.*train_sharp/<clip>"):
        REDSDataset(data_root=str(tmp_path / 'nowhere'))
    with pytest.raises(FileNotFoundError, match=r"lq_folder .*X2.* does not exist.*REDS layout"):
        REDSDataset(data_root=str(reds), lq_folder='train_sharp_bicubic/X2')
    with pytest.raises(ValueError, match='positive odd int'):
        REDSDataset(data_root=str(reds), num_frames=4)
    with pytest.raises(ValueError, match="split must be 'train' or 'val'"):
        REDSDataset(data_root=str(reds), split='test')
    with pytest.raises(ValueError, match=r'too few frames \(8\).*needs >= 9'):
        REDSDataset(data_root=str(reds), split='val', num_frames=9)
    with pytest.raises(FileNotFoundError, match=r"val clips \['099'\]"):
        REDSDataset(data_root=str(reds), split='val', val_clips=('000', '099'))


def test_missing_frame_and_size_mismatch(reds):
    import os
    os.remove(reds / 'train_sharp_bicubic' / 'X4' / '002' / '00000005.png')
    with pytest.raises(FileNotFoundError, match=r"clip '002' has 8 GT frames.*00000005.png"):
        REDSDataset(data_root=str(reds), split='train')
    ds = REDSDataset(data_root=str(reds), split='val', lazy_init=True)
    ds.full_init()
    _write(str(reds / 'train_sharp_bicubic' / 'X4' / '015' / '00000000.png'), 1, 3, 5)
    for f in range(N):
        _write(str(reds / 'train_sharp_bicubic' / 'X4' / '015' / f'{f:08d}.png'), 1, 3, 5)
    with pytest.raises(ValueError, match=r'LQ/GT size mismatch.*5x3 \(WxH\).*16x12.*20x12'):
        ds.get_data_info(2 * N)
    os.remove(reds / 'train_sharp' / '020' / '00000001.png')
    with pytest.raises(FileNotFoundError, match=r"frame .*020.*00000001.png.* is missing"):
        ds.get_data_info(3 * N + 1)
