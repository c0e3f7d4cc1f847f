"""Vimeo-90K septuplet / triplet datasets on tiny trees built in tmp_path."""
import os
import os.path as osp

import cv2
import numpy as np
import pytest

from vidtoolbox.datasets.transforms import LoadFramesFromFiles
from vidtoolbox.datasets.vimeo90k import Vimeo90KSeptupletDataset, Vimeo90KTripletDataset
from vidtoolbox.registry import DATASETS

KEYS = ('00001/0001', '00001/0002', '00002/0001')


def _write(path, value, h, w):
    os.makedirs(osp.dirname(path), exist_ok=True)
    assert cv2.imwrite(path, np.full((h, w, 3), value, np.uint8))


@pytest.fixture
def sep(tmp_path):
    for s, key in enumerate(KEYS):
        for i in range(1, 8):
            _write(str(tmp_path / 'sequences' / key / f'im{i}.png'), 10 * s + i, 8, 12)
            _write(str(tmp_path / 'BIx4' / key / f'im{i}.png'), 10 * s + i, 2, 3)
    (tmp_path / 'sep_trainlist.txt').write_text('00001/0001\n00001/0002\n\n')
    (tmp_path / 'sep_testlist.txt').write_text('00002/0001\n')
    return tmp_path


@pytest.fixture
def tri(tmp_path):
    for s, key in enumerate(KEYS):
        for i in range(1, 4):
            _write(str(tmp_path / 'sequences' / key / f'im{i}.png'), 10 * s + i, 8, 12)
    (tmp_path / 'tri_trainlist.txt').write_text('\n'.join(KEYS[:2]) + '\n')
    (tmp_path / 'tri_testlist.txt').write_text(KEYS[2] + '\n')
    return tmp_path


def _names(paths):
    return [osp.basename(p) for p in paths]


def test_septuplet_sr(sep):
    ds = Vimeo90KSeptupletDataset(data_root=str(sep), split='train', lq_folder='BIx4')
    assert len(ds) == 2
    info = ds.get_data_info(1)
    assert info['key'] == '00001/0002'
    assert _names(info['lq_paths']) == [f'im{i}.png' for i in range(1, 8)]
    assert info['lq_paths'][0] == osp.join(str(sep), 'BIx4', '00001/0002', 'im1.png')
    assert info['gt_paths'] == [osp.join(str(sep), 'sequences', '00001/0002', 'im4.png')]
    assert (info['ref_index'], info['scale'], info['num_frames']) == (3, 4, 7)
    five = Vimeo90KSeptupletDataset(data_root=str(sep), split='test', lq_folder='BIx4', num_frames=5)
    assert len(five) == 1 and five.get_data_info(0)['key'] == '00002/0001'
    assert _names(five.get_data_info(0)['lq_paths']) == [f'im{i}.png' for i in range(2, 7)]
    assert five.get_data_info(0)['ref_index'] == 2


def test_septuplet_loading(sep):
    ds = DATASETS.build(dict(type='Vimeo90KSeptupletDataset', data_root=str(sep), split='test', lq_folder='BIx4',
                             num_frames=5, pipeline=[LoadFramesFromFiles()]))
    out = ds[0]
    assert out['lq'][0].shape == (2, 3, 3) and out['gt'][0].shape == (8, 12, 3)
    np.testing.assert_allclose([f[0, 0, 0] * 255 for f in out['lq']], [22, 23, 24, 25, 26], atol=1e-4)
    np.testing.assert_allclose(out['gt'][0][0, 0, 0] * 255, 24, atol=1e-4)


def test_septuplet_interpolation(sep):
    ds = Vimeo90KSeptupletDataset(data_root=str(sep), mode='interpolation')
    info = ds.get_data_info(0)
    assert _names(info['lq_paths']) == ['im3.png', 'im5.png']
    assert all(osp.dirname(p).startswith(osp.join(str(sep), 'sequences')) for p in info['lq_paths'])
    assert _names(info['gt_paths']) == ['im4.png']
    assert (info['ref_index'], info['scale'], info['num_frames']) == (0, 1, 2)
    six = Vimeo90KSeptupletDataset(data_root=str(sep), mode='interpolation', num_frames=6).get_data_info(0)
    assert _names(six['lq_paths']) == ['im1.png', 'im2.png', 'im3.png', 'im5.png', 'im6.png', 'im7.png']
    assert six['ref_index'] == 2


def test_triplet(tri):
    ds = Vimeo90KTripletDataset(data_root=str(tri), split='train')
    assert len(ds) == 2
    info = ds.get_data_info(0)
    assert _names(info['lq_paths']) == ['im1.png', 'im3.png'] and _names(info['gt_paths']) == ['im2.png']
    assert (info['key'], info['ref_index'], info['scale'], info['num_frames']) == ('00001/0001', 0, 1, 2)
    test = Vimeo90KTripletDataset(data_root=str(tri), split='test', pipeline=[LoadFramesFromFiles()])
    out = test[0]
    np.testing.assert_allclose([out['lq'][0][0, 0, 0] * 255, out['lq'][1][0, 0, 0] * 255,
                                out['gt'][0][0, 0, 0] * 255], [21, 23, 22], atol=1e-4)


def test_errors(sep, tmp_path):
    with pytest.raises(FileNotFoundError, match=r'data_root .* does not exist.*sequences/<00001>/<0001>/im1.png'):
        Vimeo90KSeptupletDataset(data_root=str(tmp_path / 'missing'), lq_folder='BIx4')
    with pytest.raises(ValueError, match='mode "sr" needs lq_folder'):
        Vimeo90KSeptupletDataset(data_root=str(sep))
    with pytest.raises(FileNotFoundError, match=r"lq_folder .*BIx2.* does not exist"):
        Vimeo90KSeptupletDataset(data_root=str(sep), lq_folder='BIx2')
    with pytest.raises(ValueError, match='num_frames must be 1, 3, 5 or 7'):
        Vimeo90KSeptupletDataset(data_root=str(sep), lq_folder='BIx4', num_frames=4)
    with pytest.raises(ValueError, match='num_frames .* must be 2, 4 or 6'):
        Vimeo90KSeptupletDataset(data_root=str(sep), mode='interpolation', num_frames=3)
    with pytest.raises(ValueError, match='scale 1'):
        Vimeo90KSeptupletDataset(data_root=str(sep), mode='interpolation', scale=4)
    with pytest.raises(ValueError, match="split must be one of \\['train', 'test'\\]"):
        Vimeo90KSeptupletDataset(data_root=str(sep), split='val', lq_folder='BIx4')
    with pytest.raises(FileNotFoundError, match=r'list file .*tri_trainlist.txt.* does not exist'):
        Vimeo90KTripletDataset(data_root=str(sep))
    (sep / 'bad.txt').write_text('00001-0001\n')
    with pytest.raises(ValueError, match=r"line 1 of .*bad.txt.* is '00001-0001'"):
        Vimeo90KSeptupletDataset(data_root=str(sep), lq_folder='BIx4', ann_file='bad.txt')


def test_missing_frame_and_size_mismatch(sep):
    ds = Vimeo90KSeptupletDataset(data_root=str(sep), split='train', lq_folder='BIx4')
    os.remove(sep / 'BIx4' / '00001/0002' / 'im6.png')
    with pytest.raises(FileNotFoundError, match=r'frame .*00001/0002.*im6.png.* is missing'):
        ds.get_data_info(1)
    for i in range(1, 8):
        _write(str(sep / 'BIx4' / '00001/0001' / f'im{i}.png'), 1, 2, 4)
    with pytest.raises(ValueError, match=r'LQ/GT size mismatch.*4x2 \(WxH\).*12x8.*16x8'):
        ds.get_data_info(0)
