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


def _frame_ids(paths):
    return [int(osp.basename(p)[:8]) for p in paths]


def test_sequence_mode_val_tiles_whole_clips(reds):
    """gt_mode='all': consecutive windows with every GT frame; num_frames >= clip length gives whole clips."""
    whole = REDSDataset(data_root=str(reds), split='val', gt_mode='all', num_frames=100)
    assert len(whole) == 4
    info = whole.get_data_info(1)
    assert info['key'] == '011/00000000' and info['num_frames'] == N and info['ref_index'] == N // 2
    assert _frame_ids(info['lq_paths']) == _frame_ids(info['gt_paths']) == list(range(N))
    assert info['gt_paths'][3] == osp.join(str(reds), 'train_sharp', '011', '00000003.png')
    tiled = REDSDataset(data_root=str(reds), split='val', gt_mode='all', num_frames=3)
    assert len(tiled) == 4 * 3  # 8 frames -> windows 0-2, 3-5, 6-7
    assert [_frame_ids(tiled.get_data_info(i)['gt_paths']) for i in range(3)] == [[0, 1, 2], [3, 4, 5], [6, 7]]
    assert [tiled.get_data_info(i)['key'] for i in range(3)] == ['000/00000000', '000/00000003', '000/00000006']
    out = DATASETS.build(dict(type='REDSDataset', data_root=str(reds), split='val', gt_mode='all', num_frames=100,
                              pipeline=[LoadFramesFromFiles()]))[2]  # clip 015
    ci = CLIPS.index('015')
    assert len(out['lq']) == len(out['gt']) == N
    np.testing.assert_allclose([f[0, 0, 1] * 255 for f in out['gt']], [10 * ci + i for i in range(N)], atol=1e-4)
    np.testing.assert_allclose([f[0, 0, 1] * 255 for f in out['lq']], [10 * ci + i for i in range(N)], atol=1e-4)


def test_sequence_mode_train_random_start(reds):
    np.random.seed(0)
    ds = REDSDataset(data_root=str(reds), split='train', gt_mode='all', num_frames=6, interval_list=[1])
    starts = set()
    for _ in range(10):
        for i in range(len(ds)):
            info = ds.get_data_info(i)
            ids = _frame_ids(info['lq_paths'])
            assert ids == _frame_ids(info['gt_paths']) and len(ids) == 6
            assert ids == list(range(ids[0], ids[0] + 6)) and ids[-1] < N  # consecutive, inside the clip
            assert info['key'] == f"{info['clip']}/{ids[0]:08d}" and info['ref_index'] == 3
            starts.add(ids[0])
    assert starts == {0, 1, 2}  # every valid start is drawn
    even = REDSDataset(data_root=str(reds), split='train', gt_mode='all', num_frames=4, interval_list=[2])
    ids = _frame_ids(even.get_data_info(0)['lq_paths'])
    assert ids == [ids[0] + 2 * k for k in range(4)] and ids[-1] < N
    with pytest.raises(ValueError, match=r'too few frames \(8\).*needs >= 9'):
        REDSDataset(data_root=str(reds), split='train', gt_mode='all', num_frames=9)
    with pytest.raises(ValueError, match="gt_mode must be 'center'"):
        REDSDataset(data_root=str(reds), gt_mode='every')
    with pytest.raises(ValueError, match=r"gt_mode='center' num_frames must be a positive odd int"):
        REDSDataset(data_root=str(reds), num_frames=4)
