"""tools/visualize_offsets.py end to end on a tiny EDVR checkpoint made here, and its error messages."""
import importlib.util
import json
import os
import os.path as osp

import cv2
import numpy as np
import pytest
import torch

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TINY = osp.join(ROOT, 'tests', 'data', 'configs', 'tiny_edvr_builtin.py')


def load_tool():
    spec = importlib.util.spec_from_file_location('visualize_offsets', osp.join(ROOT, 'tools', 'visualize_offsets.py'))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


TOOL = load_tool()


def write_cfg(path, mid_channels=8):
    path.write_text(f"_base_ = [{TINY!r}]\nmodel = dict(generator=dict(mid_channels={mid_channels}))\n")
    return str(path)


@pytest.fixture(scope='module')
def tiny(tmp_path_factory):
    """A config and an untrained checkpoint of it (offset convs zero-initialised: every offset is exactly 0)."""
    from mmengine.registry import init_default_scope

    from vidtoolbox.apis.loading import load_config
    from vidtoolbox.registry import MODELS
    d = tmp_path_factory.mktemp('tiny')
    cfg = write_cfg(d / 'cfg.py')
    init_default_scope('vidtoolbox')
    torch.manual_seed(0)
    model = MODELS.build(load_config(cfg).model)
    ckpt = str(d / 'tiny.pth')
    torch.save(dict(state_dict=model.state_dict(), meta=dict(iter=0)), ckpt)
    other_cfg = write_cfg(d / 'other.py', mid_channels=16)
    return dict(cfg=cfg, ckpt=ckpt, other_cfg=other_cfg, dir=d)


def moving_frames(n, h=32, w=32, seed=0):
    rng = np.random.default_rng(seed)
    tex = cv2.GaussianBlur(rng.random((h + 8, w + n + 8, 3)).astype(np.float32), (0, 0), 1.5)
    return [np.ascontiguousarray(tex[4:4 + h, n - i:n - i + w]) for i in range(n)]


def write_folder(folder, frames):
    os.makedirs(folder, exist_ok=True)
    for i, f in enumerate(frames):
        cv2.imwrite(osp.join(folder, f'f{i}.png'), np.rint(f[..., ::-1] * 255).astype(np.uint8))
    return str(folder)


def no_partial_left(parent):
    return not [n for n in os.listdir(parent) if '.partial-' in n]


def test_builtin_clip_with_gt_flow(tiny, tmp_path, capsys):
    out = str(tmp_path / 'vis')
    assert TOOL.main([tiny['cfg'], tiny['ckpt'], '--input', 'builtin', '--out', out, '--gt-size', '64']) == 0
    assert 'wrote' in capsys.readouterr().out
    summary = json.load(open(osp.join(out, 'summary.json')))
    assert summary['flow'] == 'gt' and summary['frames'] == 5 and summary['lr_size'] == [16, 16]
    levels = summary['levels']
    assert list(levels) == ['pcd.l3', 'pcd.l2', 'pcd.l1', 'pcd.cascade']
    for st in levels.values():  # zero-initialised offset convs: offsets are exactly zero
        assert st['mean'] == 0.0 and st['max'] == 0.0 and st['diversity'] == 0.0
    assert 'within_1px' not in levels['pcd.cascade']
    # zero offsets are within 1 px exactly where the LR flow is shorter than 1 px: recompute that by hand from the
    # dataset's GT flows (area average over each 4x4 GT block, divided by 4)
    from vidtoolbox.datasets.synthetic import SyntheticMotionDataset
    info = SyntheticMotionDataset(num_clips=1, num_frames=5, gt_size=64, scale=4, split='val', seed=1).get_data_info(0)
    hits = []
    for t in (0, 1, 3, 4):
        f = info['ref_flows'][t].reshape(16, 4, 16, 4, 2).mean(axis=(1, 3)) / 4.0
        hits.append(np.hypot(f[..., 0], f[..., 1]) < 1.0)
    assert levels['pcd.l1']['within_1px'] == pytest.approx(float(np.mean(hits)), abs=1e-6)
    assert len(summary['records']) == 4 * 4  # 4 levels x 4 neighbours (the reference is left out)
    # one composite per level: 4 neighbour rows, 5 picture columns + the legend, every cell >= 256 px
    assert sorted(os.listdir(out)) == sorted([f'{lvl}.png' for lvl in levels] + ['summary.json'])
    for lvl in levels:
        img = cv2.imread(osp.join(out, f'{lvl}.png'))
        assert img.shape[0] >= 4 * 256 and img.shape[1] >= 5 * 256, (lvl, img.shape)
    assert no_partial_left(str(tmp_path))


def test_frames_folder_and_video(tiny, tmp_path):
    frames = moving_frames(7)
    folder = write_folder(tmp_path / 'clip', frames)
    out = str(tmp_path / 'vis_folder')
    assert TOOL.main([tiny['cfg'], tiny['ckpt'], '--input', folder, '--out', out, '--start', '2']) == 0
    summary = json.load(open(osp.join(out, 'summary.json')))
    assert summary['flow'] == 'dis' and summary['start'] == 2 and summary['lr_size'] == [32, 32]
    assert 'within_1px' in summary['levels']['pcd.l1']
    assert osp.isfile(osp.join(out, 'pcd.l1.png'))

    import imageio_ffmpeg
    video = str(tmp_path / 'clip.mp4')
    gen = imageio_ffmpeg.write_frames(video, (32, 32), fps=10, macro_block_size=1, ffmpeg_log_level='error')
    gen.send(None)
    for f in frames:
        gen.send(np.ascontiguousarray(np.rint(f * 255).astype(np.uint8)))
    gen.close()
    out2 = str(tmp_path / 'vis_video')
    assert TOOL.main([tiny['cfg'], tiny['ckpt'], '--input', video, '--out', out2, '--flow', 'none']) == 0
    summary = json.load(open(osp.join(out2, 'summary.json')))
    assert summary['flow'] == 'none' and 'within_1px' not in summary['levels']['pcd.l1']


@pytest.mark.parametrize('case', ['missing_input', 'few_frames', 'odd_size', 'frames_mismatch', 'no_ckpt',
                                  'wrong_ckpt', 'gt_flow_on_folder', 'exists'])
def test_errors_are_clear_and_leave_nothing(tiny, tmp_path, capsys, case):
    out = tmp_path / 'out'
    args = [tiny['cfg'], tiny['ckpt'], '--input', None, '--out', str(out)]
    folder = lambda *a: (lambda: write_folder(tmp_path / 'clip', moving_frames(*a)))  # noqa: E731
    expect = {
        'missing_input': ('does not exist', str(tmp_path / 'nope')),
        'few_frames': ('has 3 frame(s)', folder(3)),
        'odd_size': ('the model rejected the 5 input frames of 30x30', folder(5, 30, 30)),
        'frames_mismatch': ('3 frames do not match the model', folder(5)),
        'no_ckpt': ('checkpoint not found', 'builtin'),
        'wrong_ckpt': ('does not fit the VideoSR (EDVRNet) model: 83 shape mismatches', 'builtin'),
        'gt_flow_on_folder': ('flow "gt" needs the built-in clip', folder(5)),
        'exists': ('already exists', 'builtin'),
    }[case]
    args[3] = expect[1]() if callable(expect[1]) else expect[1]
    if case == 'frames_mismatch':
        args += ['--frames', '3']
    if case == 'no_ckpt':
        args[1] = str(tmp_path / 'missing.pth')
    if case == 'wrong_ckpt':
        args[0] = tiny['other_cfg']
    if case == 'gt_flow_on_folder':
        args += ['--flow', 'gt']
    if case == 'exists':
        out.mkdir()
        (out / 'keep.txt').write_text('x')
    assert TOOL.main(args) == 1
    err = capsys.readouterr().err
    assert err.startswith('error: ') and expect[0] in err, err
    if case == 'exists':
        assert os.listdir(out) == ['keep.txt']
    else:
        assert not out.exists()
    assert no_partial_left(str(tmp_path))
