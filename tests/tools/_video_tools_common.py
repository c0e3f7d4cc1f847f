"""Helpers shared by the predict / interpolate tool tests: tiny inputs, tiny checkpoints, subprocess runs."""
import os
import os.path as osp
import subprocess
import sys

import numpy as np
import torch

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def run_tool(args, timeout=300):
    env = dict(os.environ, OMP_NUM_THREADS='1')
    return subprocess.run([sys.executable] + args, cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout)


def moving_frames(n, h=32, w=48, seed=0):
    """n frames of a smooth random texture translating by 1 px per frame to the right."""
    rng = np.random.default_rng(seed)
    import cv2
    tex = cv2.GaussianBlur(rng.random((h + 8, w + n + 8, 3)).astype(np.float32), (0, 0), 1.5)
    return [np.ascontiguousarray(tex[4:4 + h, n - i:n - i + w]) for i in range(n)]


def write_video(path, frames, fps):
    from vidtoolbox.apis.video_io import FrameWriter
    with FrameWriter(str(path), fps=fps) as w:
        for f in frames:
            w.write(f)


def write_folder(folder, frames):
    import cv2
    os.makedirs(folder, exist_ok=True)
    for i, f in enumerate(frames):  # names that sort wrongly as strings: natural order is required
        cv2.imwrite(osp.join(folder, f'frame{i}.png'), np.rint(f[..., ::-1] * 255).astype(np.uint8))


def read_video(path):
    import imageio_ffmpeg
    gen = imageio_ffmpeg.read_frames(str(path))
    meta = next(gen)
    w, h = meta['size']
    frames = [np.frombuffer(b, np.uint8).reshape(h, w, 3) for b in gen]
    return meta, frames


def tiny_checkpoint(tmp_path, config, model_over):
    """A config inheriting ``config`` with ``model_over`` and a checkpoint of its (untrained) model."""
    from mmengine.config import Config
    from mmengine.registry import DefaultScope

    from vidtoolbox.registry import MODELS
    cfg_path = osp.join(str(tmp_path), 'tiny_' + osp.basename(config))
    with open(cfg_path, 'w') as f:
        f.write(f"_base_ = [{osp.join(ROOT, config)!r}]\nmodel = {model_over!r}\n")
    cfg = Config.fromfile(cfg_path)
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('vidtoolbox'):
        model = MODELS.build(cfg.model)
    ckpt = osp.join(str(tmp_path), 'tiny.pth')
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, ckpt)
    return cfg_path, ckpt, model


def leftovers(folder):
    """Temporary '.partial' outputs left in ``folder``."""
    return [n for n in os.listdir(folder) if '.partial' in n]


def load_tool(name):
    """``tools/<name>.py`` as a module (to call its ``main(argv)`` in-process, much faster than a subprocess)."""
    import importlib.util
    spec = importlib.util.spec_from_file_location(f'vidtoolbox_tool_{name}', osp.join(ROOT, 'tools', f'{name}.py'))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod
