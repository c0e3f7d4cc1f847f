"""LoadRefFlows: precomputed flow(ref, t) read by sample key and frame position, then cropped/flipped with the
frames."""
import os
import os.path as osp

import cv2
import numpy as np
import pytest

from vidtoolbox.datasets.transforms import Flip, LoadRefFlows, PackVideoInputs, PairedRandomCrop
from vidtoolbox.models.flow import FileFlow
from vidtoolbox.utils.errors import DatasetNotFoundError

T, REF, H, W = 5, 2, 6, 8


def _flow(t):
    """A field whose values name the frame and the pixel: dx = 100·t + col, dy = row."""
    y, x = np.mgrid[0:H, 0:W].astype(np.float32)
    return np.stack([100.0 * t + x, y], 2)


@pytest.fixture
def flow_root(tmp_path):
    for t in range(T):
        if t != REF:
            path = tmp_path / 'clip' / '007' / f'flow_{REF}_{t}.flo'
            os.makedirs(path.parent, exist_ok=True)
            assert cv2.writeOpticalFlow(str(path), _flow(t))
    return str(tmp_path)


def _results(scale=4):
    return dict(key='clip/007', ref_index=REF, scale=scale, lq=[np.zeros((H, W, 3), np.float32)] * T,
                gt=[np.zeros((H * scale, W * scale, 3), np.float32)])


def test_reads_the_files_with_fileflows_paths(flow_root):
    r = LoadRefFlows(flow_root)(_results())
    flows = r['ref_flows']
    assert len(flows) == T and not flows[REF].any() and flows[REF].shape == (H, W, 2)
    for t in range(T):
        if t != REF:
            np.testing.assert_array_equal(flows[t], _flow(t))
            # the same file FileFlow (the flow source) reads for this sample and pair
            np.testing.assert_array_equal(flows[t], FileFlow(flow_root).read('clip/007', REF, t))


def test_then_cropped_and_flipped_with_the_lr_frames(flow_root):
    np.random.seed(0)
    r = LoadRefFlows(flow_root)(_results())
    r = PairedRandomCrop(8)(r)
    Y, X, _, _ = r['crop_bbox_gt']
    y, x = Y // 4, X // 4
    r = Flip('horizontal', prob=1.0)(r)
    f = r['ref_flows'][4]
    # cropped with the LR window, mirrored, dx negated
    expected = _flow(4)[y:y + 2, x:x + 2][:, ::-1] * np.array([-1.0, 1.0], np.float32)
    np.testing.assert_array_equal(f, expected)
    packed = PackVideoInputs()(r)
    assert tuple(packed['data_samples']['ref_flows'].shape) == (T, 2, 2, 2)


def test_errors(flow_root, tmp_path):
    with pytest.raises(DatasetNotFoundError, match=r"no flow file .*flow_2_0\.flo.* tools/precompute_flow\.py"):
        LoadRefFlows(str(tmp_path / 'nowhere'))(_results())
    with pytest.raises(ValueError, match='drawn with temporal interval 2'):
        LoadRefFlows(flow_root)(dict(_results(), interval=2))
    r = _results()
    r['ref_flows'] = []
    with pytest.raises(KeyError, match='already carries ref_flows'):
        LoadRefFlows(flow_root)(r)
    with pytest.raises(ValueError, match=r'holds a 6x8 flow; expected the LR or GT frame size of the sample '
                                         r'\(LR 3x4, GT 12x16\)'):
        LoadRefFlows(flow_root)(dict(_results(), lq=[np.zeros((3, 4, 3), np.float32)] * T,
                                     gt=[np.zeros((12, 16, 3), np.float32)]))
    with pytest.raises(ValueError, match=r'ref_index must be an int in \[0, 5\)'):
        LoadRefFlows(flow_root)(dict(_results(), ref_index=7))
    with pytest.raises(KeyError, match="results has no 'key'"):
        LoadRefFlows(flow_root)(dict(lq=[], ref_index=0))
    with pytest.raises(ValueError, match='unknown fields'):
        LoadRefFlows(flow_root, pattern='{clip}/{src}.flo')
    bad = osp.join(flow_root, 'clip', '007', f'flow_{REF}_0.flo')
    with open(bad, 'wb') as fh:
        fh.write(b'not a flow file')
    with pytest.raises(ValueError, match='is not a readable .flo file'):
        LoadRefFlows(flow_root)(_results())
