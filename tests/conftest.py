"""Helpers shared by the test suite, handed to tests through the ``helpers`` fixture (``helpers.run(...)``, ...).

* ``ROOT`` / ``CONFIGS`` / ``PLUGINS``: the repository, ``tests/data/configs`` and ``tests/data/plugins`` (a user's
  plugin package, importable by ``custom_imports`` because :func:`run` and :func:`load_tool` put it on the path).
* :func:`run`: a Python command in a subprocess (``[sys.executable] + args``) from the repository root, with the
  repository and the plugin folder on ``PYTHONPATH`` and one thread.
* :func:`run_shell`: a shell script (e.g. ``tools/slurm_train.sh``) with the same environment.
* :func:`load_tool`: ``tools/<name>.py`` as a module, to call its ``main(argv)`` in-process (much faster).
* tiny inputs: :func:`moving_frames`, :func:`write_video`, :func:`write_folder`, :func:`read_video`;
  :func:`tiny_checkpoint` (a config inheriting another one + a checkpoint of its untrained model);
  :func:`leftovers` (temporary ``.partial`` outputs left in a folder); :func:`latest_ckpt`;
  :func:`check_residual_sr` (an SR network's output is a residual on the bicubic reference and uses every frame).
"""
import importlib.util
import os
import os.path as osp
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest
import torch

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIGS = osp.join(ROOT, 'tests', 'data', 'configs')
PLUGINS = osp.join(ROOT, 'tests', 'data', 'plugins')


def run(args, env_extra=None, timeout=600, threads=1):
    """``python ARGS`` in a subprocess from the repository root (repo + plugin folder on ``PYTHONPATH``)."""
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    env['PYTHONPATH'] = os.pathsep.join(p for p in (ROOT, PLUGINS, os.environ.get('PYTHONPATH')) if p)
    env.update(env_extra or {})
    return subprocess.run([sys.executable] + list(args), cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout)


def run_shell(args, env_extra=None, timeout=600, threads=1):
    """A shell script (``args[0]``, relative to the repository) with the same environment as :func:`run`."""
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    env['PYTHONPATH'] = os.pathsep.join(p for p in (ROOT, PLUGINS, os.environ.get('PYTHONPATH')) if p)
    env.update(env_extra or {})
    return subprocess.run(['bash'] + list(args), cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


_TOOLS = {}


def load_tool(name, folder='tools'):
    """``<folder>/<name>.py`` of the repository (``tools/`` or ``benchmarks/``) as a module, loaded once per
    session."""
    key = (folder, name)
    if key not in _TOOLS:
        if PLUGINS not in sys.path:
            sys.path.append(PLUGINS)
        spec = importlib.util.spec_from_file_location(f'vidtoolbox_{folder}_{name}', osp.join(ROOT, folder, f'{name}.py'))
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        _TOOLS[key] = mod
    return _TOOLS[key]


def load_benchmark(name):
    """``benchmarks/<name>.py`` as a module, loaded once per session."""
    return load_tool(name, 'benchmarks')


def moving_frames(n, h=32, w=48, seed=0):
    """``n`` frames ``(h, w, 3)`` float32 in [0, 1] of a smooth random texture moving 1 px per frame to the right."""
    import cv2
    rng = np.random.default_rng(seed)
    tex = cv2.GaussianBlur(rng.random((h + 8, w + n + 8, 3)).astype(np.float32), (0, 0), 1.5)
    return [np.ascontiguousarray(tex[4:4 + h, n - i:n - i + w]) for i in range(n)]


def write_video(path, frames, fps):
    from vidtoolbox.apis.video_io import FrameWriter
    with FrameWriter(str(path), fps=fps) as w:
        for f in frames:
            w.write(f)
    return str(path)


def write_folder(folder, frames, pattern='frame{}.png'):
    """PNG frames named ``frame0.png, frame1.png, ...`` (names that sort wrongly as strings: natural order)."""
    import cv2
    os.makedirs(folder, exist_ok=True)
    for i, f in enumerate(frames):
        cv2.imwrite(osp.join(str(folder), pattern.format(i)), np.rint(f[..., ::-1] * 255).astype(np.uint8))
    return str(folder)


def read_video(path):
    """``(meta, [uint8 (H, W, 3) frames])`` of a video file."""
    import imageio_ffmpeg
    gen = imageio_ffmpeg.read_frames(str(path))
    meta = next(gen)
    w, h = meta['size']
    return meta, [np.frombuffer(b, np.uint8).reshape(h, w, 3) for b in gen]


def tiny_checkpoint(tmp_path, config, model_over, seed=0):
    """A config inheriting ``config`` (relative to the repo) with ``model = model_over`` and a checkpoint of its
    untrained model: ``(config path, checkpoint path, model)``."""
    from mmengine.config import Config
    from mmengine.registry import DefaultScope

    from vidtoolbox.registry import MODELS
    cfg_path = osp.join(str(tmp_path), 'tiny_' + osp.basename(config))
    with open(cfg_path, 'w') as f:
        f.write(f"_base_ = [{osp.join(ROOT, config)!r}]\nmodel = {model_over!r}\n")
    cfg = Config.fromfile(cfg_path)
    torch.manual_seed(seed)
    with DefaultScope.overwrite_default_scope('vidtoolbox'):
        model = MODELS.build(cfg.model)
    ckpt = osp.join(str(tmp_path), 'tiny.pth')
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, ckpt)
    return cfg_path, ckpt, model


def leftovers(folder):
    """Temporary ``.partial`` outputs left in ``folder``."""
    return [n for n in os.listdir(folder) if '.partial' in n]


def check_residual_sr(net, x, ref_index):
    """The SR networks' output is a learned residual on the bicubic ×scale reference frame: with the last conv
    zeroed it is exactly that bicubic frame; with the last conv restored it differs from it and depends on every
    input frame (a change in the first frame changes the output)."""
    import torch.nn.functional as F
    base = F.interpolate(x[:, ref_index], scale_factor=net.scale, mode='bicubic', align_corners=False)
    saved = [p.detach().clone() for p in net.conv_last.parameters()]
    with torch.no_grad():
        for p in net.conv_last.parameters():
            p.zero_()
        out = net(x)[0]
        assert torch.allclose(out, base, atol=1e-6), float((out - base).abs().max())
        for p, v in zip(net.conv_last.parameters(), saved):
            p.copy_(v)
        out = net(x)[0]
        assert (out - base).abs().mean() > 1e-4
        x2 = x.clone()
        x2[:, 0] = x2[:, 0].flip(-1)
        assert (net(x2)[0] - out).abs().max() > 1e-6


def latest_ckpt(work_dir):
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        return f.read().strip()


@pytest.fixture(scope='session')
def helpers():
    """The helpers of this module as one namespace (see the module docstring)."""
    return SimpleNamespace(ROOT=ROOT, CONFIGS=CONFIGS, PLUGINS=PLUGINS, run=run, run_shell=run_shell,
                           load_tool=load_tool, load_benchmark=load_benchmark, python=sys.executable,
                           moving_frames=moving_frames, write_video=write_video, write_folder=write_folder,
                           read_video=read_video, tiny_checkpoint=tiny_checkpoint, leftovers=leftovers,
                           latest_ckpt=latest_ckpt, check_residual_sr=check_residual_sr)
