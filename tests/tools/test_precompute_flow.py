"""tools/precompute_flow.py on a tiny REDS-like tree: the files hold the numbers DIS gives on the same frames inside
the training step (read back by LoadRefFlows without augmentation); bad input ends with one error line and nothing
written."""
import os
import os.path as osp

import cv2
import numpy as np
import pytest
import torch

import vidtoolbox.models  # noqa: F401
from vidtoolbox.datasets.reds import REDSDataset
from vidtoolbox.models.flow import DISFlow

CLIPS = ('001', '002')
N = 6  # frames per clip


@pytest.fixture(scope='module')
def reds(helpers, tmp_path_factory):
    root = tmp_path_factory.mktemp('reds')
    for ci, clip in enumerate(CLIPS):
        frames = helpers.moving_frames(N, 96, 128, seed=ci)
        for f, img in enumerate(frames):
            for folder, im in (('train_sharp', img), ('train_sharp_bicubic/X4', cv2.resize(img, (32, 24),
                                                                                          interpolation=cv2.INTER_AREA))):
                path = root / folder / clip / f'{f:08d}.png'
                os.makedirs(path.parent, exist_ok=True)
                assert cv2.imwrite(str(path), np.rint(im[..., ::-1] * 255).astype(np.uint8))
    return str(root)


def _opts(reds, out):
    return ['--cfg-options', f'train_dataloader.dataset.data_root={reds}',
            f'train_dataloader.dataset.pipeline.1.root={out}']


@pytest.fixture(scope='module')
def written(helpers, reds, tmp_path_factory):
    out = str(tmp_path_factory.mktemp('flows') / 'dis')
    code = helpers.load_tool('precompute_flow').main(['configs/edvr_m_ofl_flowfiles.py'] + _opts(reds, out))
    assert code == 0
    return out


def test_files_equal_dis_in_the_step_without_augmentation(reds, written):
    ds = REDSDataset(data_root=reds, split='train', random_window=False,
                     pipeline=[dict(type='LoadFramesFromFiles'), dict(type='LoadRefFlows', root=written),
                               dict(type='PackVideoInputs')])
    assert len(ds) == len(CLIPS) * N
    dis = DISFlow()
    for i in (0, 3, N + 5):
        s = ds[i]
        ctx = dict(lq=s['inputs'][None])
        ref = s['data_samples']['ref_index']
        flows = s['data_samples']['ref_flows']
        assert tuple(flows.shape) == (5, 2, 24, 32)
        for t in range(5):
            expected = torch.zeros(1, 2, 24, 32) if t == ref else dis.flow_from_context(ctx, ref, t)
            torch.testing.assert_close(flows[t][None], expected, atol=0, rtol=0)
        assert flows.abs().max() > 0.5  # the texture moves 1 px per frame


def test_one_file_per_sample_and_neighbour(reds, written):
    files = sorted(osp.relpath(osp.join(d, f), written) for d, _, fs in os.walk(written) for f in fs)
    assert len(files) == len(CLIPS) * N * 4
    assert 'flow_2_0.flo' in os.listdir(osp.join(written, '001', '00000003'))
    assert not any('.partial' in f for f in files)


def test_bad_inputs_write_nothing(helpers, reds, written, tmp_path, capsys):
    tool = helpers.load_tool('precompute_flow')
    before = sorted(os.listdir(written))
    assert tool.main(['configs/edvr_m_ofl_flowfiles.py'] + _opts(reds, written)) == 1
    assert 'exists; pass --overwrite' in capsys.readouterr().err
    assert sorted(os.listdir(written)) == before
    out = str(tmp_path / 'x')
    assert tool.main(['configs/edvr_m_ofl.py', '--cfg-options', f'train_dataloader.dataset.data_root={reds}']) == 1
    assert 'give the output folder (--out DIR)' in capsys.readouterr().err
    assert tool.main(['configs/edvr_m_ofl_flowfiles.py', '--out', out, '--cfg-options',
                      f'train_dataloader.dataset.data_root={reds}', 'train_dataloader.dataset.interval_list=[1,2]']) == 1
    assert 'draws temporal intervals [1, 2]' in capsys.readouterr().err
    assert tool.main(['configs/edvr_m_ofl_flowfiles.py', '--out', out, '--cfg-options',
                      f'train_dataloader.dataset.data_root={tmp_path / "no_reds"}']) == 1
    assert 'does not exist' in capsys.readouterr().err
    assert not osp.exists(out) and not [f for f in os.listdir(tmp_path) if '.partial' in f]
