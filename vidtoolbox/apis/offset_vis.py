"""Pictures and statistics of a trained model's learned alignment offsets on a short clip (what
``tools/visualize_offsets.py`` calls).

The clip is a folder of frames, a video file, or ``'builtin'`` (a held-out clip of the built-in synthetic dataset,
which carries the exact ground-truth flow). ``T`` consecutive frames are the LR input of the generator; its
alignment records (``aux['alignments']``) are captured and, per alignment level, the output folder receives

* ``<level>.png`` — one labelled composite (:func:`vidtoolbox.visualization.render_alignment_levels`): a row per
  neighbour frame with the reference and neighbour frames, the flow the offsets are compared with, the mean offset
  and the offset diversity, upscaled to >= 256 px a cell, with the colour wheel and its scale in pixels;
* ``summary.json`` — per level the offset statistics of :mod:`vidtoolbox.evaluation.offset_stats` (mean / max
  offset length, diversity, share within 1 px of the flow when a flow is available), and the same per record.

Flow (``flow``): ``'gt'`` (built-in clips only), ``'dis'`` (OpenCV DIS on the LR frames), ``'none'``; ``'auto'`` =
``'gt'`` for ``'builtin'`` else ``'dis'``. Flows are ``flow(ref, nbr)`` resized to each level. Everything is
written to a temporary folder renamed onto ``out`` when complete.
"""
import json
import os.path as osp
from typing import Optional

import numpy as np
import torch

from vidtoolbox.utils.atomic import AtomicPath
from vidtoolbox.utils.errors import UserInputError
from .loading import load_model

__all__ = ['visualize_offsets', 'read_builtin_clip', 'FLOW_MODES']

FLOW_MODES = ('auto', 'gt', 'dis', 'none')


def read_builtin_clip(num_frames: int, scale: int, clip_index: int = 0, gt_size: int = 128):
    """``(frames (T, 3, h, w), ref_flows (T, 2, H, W), ref_index, key)`` of held-out built-in clip ``clip_index``."""
    from vidtoolbox.datasets.synthetic import SyntheticMotionDataset
    if clip_index < 0:
        raise UserInputError(f'clip index must be >= 0, got {clip_index}')
    if gt_size < 8 or gt_size % scale:
        raise UserInputError(f'gt size must be >= 8 and divisible by the model scale {scale}, got {gt_size}')
    ds = SyntheticMotionDataset(num_clips=clip_index + 1, num_frames=num_frames, gt_size=gt_size, scale=scale,
                                split='val', seed=1, test_mode=True)
    info = ds.get_data_info(clip_index)
    frames = torch.from_numpy(np.stack(info['lq'], 0)).permute(0, 3, 1, 2).float()
    ref_flows = torch.from_numpy(np.stack(info['ref_flows'], 0)).permute(0, 3, 1, 2).float()
    return frames, ref_flows, int(info['ref_index']), info['key']


def _read_clip(path: str, num_frames: int, start: int) -> torch.Tensor:
    from .video_io import FrameReader
    if start < 0:
        raise UserInputError(f'start must be >= 0, got {start}')
    frames, seen = [], 0
    for frame in FrameReader(path):
        seen += 1
        if seen > start:
            frames.append(frame)
        if len(frames) == num_frames:
            break
    if len(frames) < num_frames:
        raise UserInputError(f'input {path!r} has {seen} frame(s), so only {len(frames)} from frame {start}; '
                             f'{num_frames} consecutive frames are needed (the model\'s num_frames)')
    return torch.from_numpy(np.stack(frames, 0)).permute(0, 3, 1, 2).float().contiguous()


def _dis_ref_flows(frames: torch.Tensor, ref_index: int) -> torch.Tensor:
    """``(T, 2, h, w)`` DIS flows ``flow(ref, t)`` on the LR frames ``(T, 3, h, w)``."""
    from vidtoolbox.models.flow.dis import DISFlow
    dis = DISFlow()
    ref = frames[ref_index:ref_index + 1]
    return torch.cat([torch.zeros(1, 2, *frames.shape[-2:]) if t == ref_index else dis.flow(ref, frames[t:t + 1])
                      for t in range(frames.shape[0])], 0)


def visualize_offsets(config: str, checkpoint: str, source: str, out: Optional[str] = None,
                      num_frames: Optional[int] = None, start: int = 0, flow: str = 'auto', clip_index: int = 0,
                      gt_size: int = 128, overwrite: bool = False) -> dict:
    """Write the offset pictures and statistics of a trained model (see the module docstring).

    Returns:
        dict with ``out`` (the folder), ``levels`` (per-level statistics) and ``flow`` (what the offsets were
        compared with).

    Raises:
        UserInputError: bad input (missing files, too few frames, a model without alignment offsets, ...);
            nothing is written then.
    """
    from vidtoolbox.engine.hooks.offset_monitor import AlignmentCapture
    from vidtoolbox.evaluation.offset_stats import record_offset_stats, summarize_alignments, within_key
    from vidtoolbox.ops.flow_warp import resize_flow
    from vidtoolbox.visualization.offset_vis import render_alignment_levels
    if flow not in FLOW_MODES:
        raise UserInputError(f'flow must be one of {FLOW_MODES}, got {flow!r}')
    builtin = source == 'builtin'
    if not builtin and not osp.exists(source):
        raise UserInputError(f'input {source!r} does not exist; expected a folder of frames, a video file or '
                             '"builtin"')
    name = 'builtin_val_%04d' % clip_index if builtin else osp.splitext(osp.basename(osp.normpath(source)))[0]
    out = osp.abspath(out or osp.join('work_dirs', 'offset_vis', name))
    if osp.exists(out) and not overwrite:
        raise UserInputError(f'output {out!r} already exists; choose another output folder or pass --overwrite')
    flow_mode = flow if flow != 'auto' else ('gt' if builtin else 'dis')
    if flow_mode == 'gt' and not builtin:
        raise UserInputError('flow "gt" needs the built-in clip (only the built-in clips carry ground-truth flow); '
                             'use "dis" or "none"')

    model = load_model(config, checkpoint, device='cpu')
    gen = getattr(model, 'generator', model)
    t_model = getattr(gen, 'num_frames', None)
    T = num_frames if num_frames is not None else t_model
    if T is None:
        raise UserInputError('the generator does not declare num_frames; give the number of frames')
    if T < 1:
        raise UserInputError(f'the number of frames must be >= 1, got {T}')
    if t_model is not None and T != t_model:
        raise UserInputError(f'{T} frames do not match the model, which takes num_frames={t_model} frames')
    ref_flows = None
    if builtin:
        frames, rf, ref_index, key = read_builtin_clip(T, int(getattr(gen, 'scale', 4)), clip_index, gt_size)
        if flow_mode == 'gt':
            ref_flows = rf[None]
    else:
        frames = _read_clip(source, T, start)
        ref_index, key = int(getattr(gen, 'center_frame_idx', T // 2)), name
    flow_note = flow_mode
    if flow_mode == 'dis':
        try:
            ref_flows = _dis_ref_flows(frames, ref_index)[None]
        except ValueError as err:  # e.g. frames too small for DIS
            flow_note, ref_flows = f'none (DIS failed: {err})', None
    h, w = frames.shape[-2:]

    capture = AlignmentCapture(model)
    with capture, torch.no_grad():
        capture.active = True
        try:
            model(frames[None], mode='tensor') if hasattr(model, 'generator') else model(frames[None])
        except ValueError as err:
            raise UserInputError(f'the model rejected the {T} input frames of {w}x{h} (WxH) from {source!r}: '
                                 f'{err}') from err
    records = capture.records
    if not records:
        raise UserInputError(f'the generator of {config!r} reports no alignment offsets (aux["alignments"] is '
                             'empty); nothing to visualise')

    levels = summarize_alignments(records, ref_flows, ref_index, exclude_reference=True)
    per_record = []
    for rec in records:
        if rec.get('nbr_index') == rec.get('ref_index'):
            continue
        fl = None
        if ref_flows is not None and not rec.get('residual', False):
            fl = resize_flow(ref_flows[:, int(rec['nbr_index'])], rec['offsets'].shape[-2:], mode='area')
        per_record.append(dict({k: rec.get(k) for k in ('name', 'nbr_index', 'ref_index', 'stride', 'residual',
                                                          'deform_groups', 'num_offsets')},
                               **record_offset_stats(rec, fl)))
    summary = dict(config=config, checkpoint=checkpoint, input=source, key=key, frames=T,
                   start=0 if builtin else start, lr_size=[h, w], ref_index=ref_index, flow=flow_note,
                   within_key=within_key(1.0), levels=levels, records=per_record)
    pictures = render_alignment_levels(records, frames[None], ref_flows)
    import cv2
    with AtomicPath(out, is_dir=True) as ap:
        with open(osp.join(ap.tmp, 'summary.json'), 'w') as f:
            json.dump(summary, f, indent=2, default=float)
        for lvl, rgb in pictures.items():
            path = osp.join(ap.tmp, f'{lvl}.png')
            if not cv2.imwrite(path, np.ascontiguousarray(rgb[..., ::-1])):
                raise OSError(f'could not write {path}')
    return dict(out=out, levels=levels, flow=flow_note)
