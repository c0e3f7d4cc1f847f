"""Tests of FileFlow: .flo files located by sample key and frame indices."""
import os

import cv2
import numpy as np
import pytest
import torch

from vidtoolbox.models.flow import FileFlow
from vidtoolbox.registry import MODELS


def write(root, key, src, dst, flow):
    path = os.path.join(root, key, f'flow_{src:02d}_{dst:02d}.flo')
    os.makedirs(os.path.dirname(path), exist_ok=True)
    assert cv2.writeOpticalFlow(path, flow)
    return path


def test_reads_per_sample_and_resizes(tmp_path):
    rng = np.random.default_rng(0)
    flows = {k: rng.normal(size=(6, 10, 2)).astype(np.float32) for k in ('clip_a', 'clip_b')}
    for k, f in flows.items():
        write(tmp_path, k, 0, 2, f)
    src = MODELS.build(dict(type='FileFlow', root=str(tmp_path), pattern='{key}/flow_{src:02d}_{dst:02d}.flo'))
    ctx = dict(lq=torch.rand(2, 3, 3, 6, 10), data_samples=dict(key=['clip_a', 'clip_b']))
    out = src.flow_from_context(ctx, 0, -1)  # -1 normalised to 2 with the clip's T = 3
    assert out.shape == (2, 2, 6, 10)
    assert np.array_equal(out[0].permute(1, 2, 0).numpy(), flows['clip_a'])
    assert np.array_equal(out[1].permute(1, 2, 0).numpy(), flows['clip_b'])
    const = np.ones((6, 10, 2), np.float32) * np.array([2.0, 3.0], np.float32)
    write(tmp_path, 'clip_c', 0, 1, const)
    small = src.flow_from_context(dict(key='clip_c'), 0, 1, size=(3, 5))
    assert torch.allclose(small[0, 0], torch.full((3, 5), 1.0)) and torch.allclose(small[0, 1], torch.full((3, 5), 1.5))


def test_ref_index_field(tmp_path):
    write(tmp_path, 'k', 1, 0, np.zeros((4, 4, 2), np.float32))
    src = FileFlow(str(tmp_path), pattern='{key}/flow_{ref_index:02d}_{dst:02d}.flo')
    out = src.flow_from_context(dict(key=['k'], ref_index=torch.tensor([1])), 1, 0)
    assert out.shape == (1, 2, 4, 4)
    with pytest.raises(KeyError, match='uses ref_index'):
        src.flow_from_context(dict(key=['k']), 1, 0)


def test_errors(tmp_path):
    with pytest.raises(ValueError, match=r"unknown fields \['frame'\]"):
        FileFlow(str(tmp_path), pattern='{key}/{frame}.flo')
    with pytest.raises(ValueError, match='not a valid format string'):
        FileFlow(str(tmp_path), pattern='{key')
    src = FileFlow(str(tmp_path))
    with pytest.raises(FileNotFoundError) as info:
        src.flow_from_context(dict(key=['missing']), 0, 1)
    assert 'missing' in str(info.value) and 'flow_0_1.flo' in str(info.value)
    with pytest.raises(KeyError, match="no sample 'key'"):
        src.flow_from_context(dict(lq=torch.rand(1, 3, 3, 4, 4)), 0, 1)
    bad = tmp_path / 'bad'
    bad.mkdir()
    (bad / 'flow_0_1.flo').write_bytes(b'garbage')
    with pytest.raises(ValueError, match='not a readable .flo'):
        src.flow_from_context(dict(key='bad'), 0, 1)
    write(tmp_path, 'x', 0, 1, np.zeros((4, 4, 2), np.float32))
    os.rename(tmp_path / 'x' / 'flow_00_01.flo', tmp_path / 'x' / 'flow_0_1.flo')
    write(tmp_path, 'y', 0, 1, np.zeros((5, 4, 2), np.float32))
    os.rename(tmp_path / 'y' / 'flow_00_01.flo', tmp_path / 'y' / 'flow_0_1.flo')
    with pytest.raises(ValueError, match='different sizes'):
        src.flow_from_context(dict(key=['x', 'y']), 0, 1)
    assert src.flow_from_context(dict(key=['x', 'y']), 0, 1, size=(4, 4)).shape == (2, 2, 4, 4)
    with pytest.raises(RuntimeError, match='flow_from_context'):
        src(torch.rand(1, 3, 8, 8), torch.rand(1, 3, 8, 8))
