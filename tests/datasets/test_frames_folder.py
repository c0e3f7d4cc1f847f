"""FramesFolderDataset (sr / prediction / interpolation) on tiny folders built in tmp_path."""
import os
import os.path as osp

import cv2
import numpy as np
import pytest

from vidtoolbox.datasets.frames_folder import FramesFolderDataset, natural_sort_key
from vidtoolbox.datasets.transforms import LoadFramesFromFiles
from vidtoolbox.registry import DATASETS


def _write(path, value, h, w):
    os.makedirs(osp.dirname(path), exist_ok=True)
    assert cv2.imwrite(path, np.full((h, w, 3), value, np.uint8))


@pytest.fixture
def clips(tmp_path):
    """clipA: 6 frames f1..f6 (png, named so that lexical order is wrong: f10 style), clipB: 4 jpg, clip10: 5."""
    names = {'clipA': [f'f{i}.png' for i in (1, 2, 3, 4, 5, 10)], 'clipB': [f'{i:03d}.jpg' for i in range(4)],
             'clip10': [f'img{i}.png' for i in range(5)]}
    for c, (clip, files) in enumerate(names.items()):
        for i, name in enumerate(files):
            _write(str(tmp_path / 'gt' / clip / name), 40 * c + 5 * i, 8, 8)
            _write(str(tmp_path / 'lq' / clip / name), 40 * c + 5 * i, 4, 4)
    (tmp_path / 'gt' / 'clipA' / 'notes.txt').write_text('not a frame')
    return tmp_path


def _stems(paths):
    return [osp.splitext(osp.basename(p))[0] for p in paths]


def test_natural_sort():
    assert sorted(['f10.png', 'f2.png', 'f1.png'], key=natural_sort_key) == ['f1.png', 'f2.png', 'f10.png']
    assert sorted(['clip10', 'clipB', 'clip2'], key=natural_sort_key) == ['clip2', 'clip10', 'clipB']


def test_prediction_windows(clips):
    # clip10: 5 frames -> 1 window; clipA: 6 -> 2; clipB: 4 < 5 -> error unless skipped
    with pytest.raises(ValueError, match=r"clipB.* has 4 usable frames .* at least 5"):
        FramesFolderDataset(data_root=str(clips / 'gt'), mode='prediction', num_context=2, num_future=3,
                            clips=['clipB'])
    ds = FramesFolderDataset(data_root=str(clips / 'gt'), mode='prediction', num_context=2, num_future=3,
                             skip_short_clips=True)
    infos = [ds.get_data_info(i) for i in range(len(ds))]
    assert [i['key'] for i in infos] == ['clip10/img1', 'clipA/f2', 'clipA/f3']
    assert _stems(infos[1]['lq_paths']) == ['f1', 'f2'] and _stems(infos[1]['gt_paths']) == ['f3', 'f4', 'f5']
    assert _stems(infos[2]['gt_paths']) == ['f4', 'f5', 'f10']
    assert all((i['ref_index'], i['scale'], i['num_frames']) == (1, 1, 2) for i in infos)
    strided = FramesFolderDataset(data_root=str(clips / 'gt'), mode='prediction', num_context=1, num_future=1,
                                  stride=2, frame_step=2, clips=['clipA'])
    # frames f1 f3 f5 -> windows start at 0 (f1->f3); start 2 would need 2 more frames
    assert [(_stems(strided.get_data_info(i)['lq_paths']), _stems(strided.get_data_info(i)['gt_paths']))
            for i in range(len(strided))] == [(['f1'], ['f3'])]


def test_interpolation_windows(clips):
    ds = FramesFolderDataset(data_root=str(clips / 'gt'), mode='interpolation', num_context=2, stride=2,
                             clips=['clipA'])
    infos = [ds.get_data_info(i) for i in range(len(ds))]
    assert [(_stems(i['lq_paths']), _stems(i['gt_paths'])) for i in infos] == [
        (['f1', 'f3'], ['f2']), (['f3', 'f5'], ['f4'])]
    assert infos[0]['key'] == 'clipA/f2' and infos[0]['ref_index'] == 0 and infos[0]['scale'] == 1


def test_sr_mode_and_loading(clips):
    ds = DATASETS.build(dict(type='FramesFolderDataset', data_root=str(clips / 'gt'), mode='sr', lq_root='../lq',
                             scale=2, num_frames=3, clips=['clipB'], pipeline=[LoadFramesFromFiles()]))
    assert len(ds) == 4
    info = ds.get_data_info(0)
    assert _stems(info['lq_paths']) == ['002', '000', '001']  # reflection_circle at the clip start
    assert osp.normpath(osp.dirname(info['lq_paths'][0])) == osp.normpath(str(clips / 'lq' / 'clipB'))
    assert _stems(info['gt_paths']) == ['000'] and info['ref_index'] == 1 and info['scale'] == 2
    out = ds[3]
    assert out['lq'][0].shape == (4, 4, 3) and out['gt'][0].shape == (8, 8, 3)
    # clipB is the second clip written (c = 1) -> frame i has value 40 + 5 i (jpeg: approximately)
    np.testing.assert_allclose([f[2, 2, 0] * 255 for f in out['lq']], [50, 55, 45], atol=2)


def test_splits(clips):
    root = str(clips / 'gt')
    kw = dict(data_root=root, mode='prediction', num_context=1, num_future=1)
    val = FramesFolderDataset(split='val', val_clips=['clipA'], **kw)
    train = FramesFolderDataset(split='train', val_clips=['clipA'], **kw)
    assert {val.get_data_info(i)['clip'] for i in range(len(val))} == {'clipA'}
    assert {train.get_data_info(i)['clip'] for i in range(len(train))} == {'clip10', 'clipB'}
    # fraction: the last round(0.34 * 3) = 1 clip in natural order (clipB) is held out
    fval = FramesFolderDataset(split='val', val_fraction=0.34, **kw)
    assert {fval.get_data_info(i)['clip'] for i in range(len(fval))} == {'clipB'}
    assert len(FramesFolderDataset(split='all', **kw)) == 4 + 5 + 3


def test_errors(clips, tmp_path):
    root = str(clips / 'gt')
    with pytest.raises(FileNotFoundError, match=r"data_root .*nope.* is not a folder"):
        FramesFolderDataset(data_root=str(tmp_path / 'nope'), mode='prediction')
    with pytest.raises(ValueError, match='mode "sr" needs lq_root'):
        FramesFolderDataset(data_root=root, mode='sr')
    with pytest.raises(ValueError, match='mode must be one of'):
        FramesFolderDataset(data_root=root, mode='denoise')
    with pytest.raises(ValueError, match="split='train' needs val_clips"):
        FramesFolderDataset(data_root=root, mode='prediction', split='train')
    with pytest.raises(ValueError, match='num_context must be even'):
        FramesFolderDataset(data_root=root, mode='interpolation', num_context=3)
    with pytest.raises(FileNotFoundError, match=r"clips \['clipZ'\] not found"):
        FramesFolderDataset(data_root=root, mode='prediction', clips=['clipZ'])
    os.remove(clips / 'lq' / 'clipA' / 'f3.png')
    with pytest.raises(FileNotFoundError, match=r"1 LQ frames of clip 'clipA' are missing"):
        FramesFolderDataset(data_root=root, mode='sr', lq_root=str(clips / 'lq'), scale=2, clips=['clipA'])
    ds = FramesFolderDataset(data_root=root, mode='sr', lq_root=str(clips / 'lq'), scale=4, clips=['clip10'])
    with pytest.raises(ValueError, match=r'LQ/GT size mismatch.*4x4 \(WxH\).*8x8.*16x16'):
        ds.get_data_info(0)


def test_single_folder_of_frames(clips):
    ds = FramesFolderDataset(data_root=str(clips / 'gt' / 'clip10'), mode='interpolation', num_context=2)
    assert len(ds) == 3 and ds.get_data_info(0)['key'] == 'clip10/img1'
