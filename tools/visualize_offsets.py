"""Visualise the learned alignment offsets of a trained model on a short clip.

    python tools/visualize_offsets.py CONFIG CKPT --input CLIP [--out DIR] [--frames N] [--start S]
                                      [--flow auto|gt|dis|none] [--clip-index I] [--gt-size S] [--overwrite]

``CLIP`` is a folder of frames (natural sort order), a video file, or ``builtin`` (a held-out clip of the built-in
synthetic dataset, with exact ground-truth flow). ``N`` consecutive frames starting at ``S`` are the LR input of the
generator (default N: the generator's ``num_frames``). The output folder (default
``work_dirs/offset_vis/<clip name>``) receives:

* ``summary.json`` — per alignment level (``pcd.l3`` … ``pcd.cascade``) the offset statistics of
  :mod:`vidtoolbox.evaluation.offset_stats` (mean / max offset length, diversity, fraction within 1 px of the flow
  when a flow is available), and the same per record (level × neighbour frame);
* ``<level>/overview.png`` — one row per neighbour: frame, flow, mean offset, first offset, diversity;
* ``<level>/nbr<t>_flow.png``, ``nbr<t>_offset_mean.png`` — Middlebury colour coding on one colour scale;
* ``<level>/nbr<t>_offsets_g0.png`` — the N offsets of group 0, sorted by their mean l1 distance to the flow
  when there is one (the paper's Fig. 6);
* ``<level>/diversity.png`` — heatmaps of the pixelwise offset std, one panel per neighbour, one colour bar;
* ``color_wheel.png`` — the colour legend.

Flow (``--flow``): ``gt`` (built-in clips only), ``dis`` (OpenCV DIS on the LR frames), ``none``; ``auto`` = ``gt``
for ``builtin`` else ``dis``. Flows are ``flow(ref, nbr)`` resized to each level (``ops.resize_flow``).

Everything is written to a hidden temporary folder next to the destination and renamed at the end, so a failed
run leaves no partial output. Exit status 1 with ``error: ...`` on bad input.
"""
import argparse
import json
import os
import os.path as osp
import shutil
import sys
import tempfile

__all__ = ['parse_args', 'main', 'run']


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='Visualise learned alignment offsets of a trained model')
    p.add_argument('config', help='model config, e.g. configs/edvr/edvr_m_x4_reds.py')
    p.add_argument('checkpoint', help='checkpoint (.pth) trained with that config')
    p.add_argument('--input', required=True,
                   help='a folder of LR frames, a video file, or "builtin" (a held-out synthetic clip with GT flow)')
    p.add_argument('--out', help='output folder (default work_dirs/offset_vis/<input name>)')
    p.add_argument('--frames', type=int, help="number of consecutive frames (default: the generator's num_frames)")
    p.add_argument('--start', type=int, default=0, help='index of the first frame read (default 0)')
    p.add_argument('--flow', choices=['auto', 'gt', 'dis', 'none'], default='auto',
                   help='flow compared with the offsets (default: gt for builtin, else dis)')
    p.add_argument('--clip-index', type=int, default=0, help='built-in clip index (with --input builtin)')
    p.add_argument('--gt-size', type=int, default=128,
                   help='GT frame size of the built-in clip (LR = gt-size / scale; default 128)')
    p.add_argument('--overwrite', action='store_true', help='replace an existing output folder')
    return p.parse_args(argv)


# ----------------------------------------------------------------------------------------------------- input
def _read_builtin(T, scale, clip_index, gt_size):
    import numpy as np
    import torch

    from vidtoolbox.datasets.synthetic import SyntheticMotionDataset
    from vidtoolbox.utils.errors import UserInputError
    if clip_index < 0:
        raise UserInputError(f'--clip-index must be >= 0, got {clip_index}')
    if gt_size < 8 or gt_size % scale:
        raise UserInputError(f'--gt-size must be >= 8 and divisible by the model scale {scale}, got {gt_size}')
    ds = SyntheticMotionDataset(num_clips=clip_index + 1, num_frames=T, gt_size=gt_size, scale=scale, split='val',
                                seed=1, test_mode=True)
    info = ds.get_data_info(clip_index)
    frames = torch.from_numpy(np.stack(info['lq'], 0)).permute(0, 3, 1, 2).float()
    ref_flows = torch.from_numpy(np.stack(info['ref_flows'], 0)).permute(0, 3, 1, 2).float()
    return frames, ref_flows, int(info['ref_index']), info['key']


def _read_clip(path, T, start):
    import numpy as np
    import torch

    from vidtoolbox.apis.video_io import FrameReader
    from vidtoolbox.utils.errors import UserInputError
    if start < 0:
        raise UserInputError(f'--start must be >= 0, got {start}')
    reader = FrameReader(path)
    frames, seen = [], 0
    for frame in reader:
        seen += 1
        if seen > start:
            frames.append(frame)
        if len(frames) == T:
            break
    if len(frames) < T:
        raise UserInputError(f'input {path!r} has {seen} frame(s), so only {len(frames)} from --start {start}; '
                             f'{T} consecutive frames are needed (--frames / the model\'s num_frames)')
    return torch.from_numpy(np.stack(frames, 0)).permute(0, 3, 1, 2).float().contiguous()


def _dis_ref_flows(frames, ref_index):
    """``(1, T, 2, h, w)`` DIS flows ``flow(ref, t)`` on the LR frames ``(T, 3, h, w)``."""
    import torch

    from vidtoolbox.models.flow.dis import DISFlow
    dis = DISFlow()
    ref = frames[ref_index:ref_index + 1]
    flows = [torch.zeros(1, 2, *frames.shape[-2:]) if t == ref_index else dis.flow(ref, frames[t:t + 1])
             for t in range(frames.shape[0])]
    return torch.stack(flows, 1)


# ---------------------------------------------------------------------------------------------------- model
def _build_model(config, checkpoint):
    from mmengine.registry import init_default_scope
    from mmengine.runner import load_checkpoint

    from vidtoolbox.apis.runner import load_config
    from vidtoolbox.registry import MODELS
    from vidtoolbox.utils.errors import UserInputError
    if not osp.isfile(checkpoint):
        raise UserInputError(f'checkpoint not found: {checkpoint}')
    cfg = load_config(config)
    if 'model' not in cfg:
        raise UserInputError(f'config {config!r} has no "model" entry')
    init_default_scope(cfg.get('default_scope', 'vidtoolbox'))
    model = MODELS.build(cfg.model)
    try:  # torch's weights_only=True default; vidtoolbox registers MMEngine's own types as safe globals
        load_checkpoint(model, checkpoint, map_location='cpu', strict=True, logger='silent')
    except (RuntimeError, KeyError) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise UserInputError(f'checkpoint {checkpoint!r} does not fit the model of {config!r} ({first}); pass the '
                             'config the checkpoint was trained with') from err
    except Exception as err:  # noqa: BLE001 - unpickling / zip errors of a corrupt or foreign file
        raise UserInputError(f'cannot load checkpoint {checkpoint!r}: {type(err).__name__}: {err}') from err
    model.eval()
    return model


# ------------------------------------------------------------------------------------------------- outputs
def _write_png(path, rgb):
    import cv2
    import numpy as np
    os.makedirs(osp.dirname(path), exist_ok=True)
    if not cv2.imwrite(path, np.ascontiguousarray(rgb[..., ::-1])):
        raise OSError(f'could not write {path}')


def _write_level(level_dir, recs, frames, ref_flows):
    import numpy as np
    import torch

    from vidtoolbox.engine.hooks.offset_monitor import render_alignment_grid
    from vidtoolbox.evaluation.offset_stats import offset_diversity_map, split_offsets
    from vidtoolbox.ops.flow_warp import resize_flow
    from vidtoolbox.visualization import flow_to_color, make_grid, offsets_to_flow, save_heatmap_figure

    os.makedirs(level_dir, exist_ok=True)
    _write_png(osp.join(level_dir, 'overview.png'), render_alignment_grid(recs, frames[None], ref_flows))
    divs, titles = [], []
    for rec in recs:
        t = int(rec['nbr_index'])
        off = rec['offsets'][:1].float().cpu()
        h, w = off.shape[-2:]
        G = int(rec.get('deform_groups', 1))
        if off.shape[1] % (2 * G):
            G = 1
        flow = None
        if ref_flows is not None and not rec.get('residual', False):
            flow = resize_flow(ref_flows[:, t].float(), (h, w), mode='area')[0].numpy()
        per = split_offsets(off, G)[0, 0]  # (N, 2, H, W) of group 0, (dy, dx)
        per_np = per.numpy()
        mean_fl = offsets_to_flow(off, G, group=None)
        rad = float(np.hypot(per_np[:, 0], per_np[:, 1]).max())
        rad = max(rad, float(np.hypot(mean_fl[0], mean_fl[1]).max()))
        if flow is not None:
            rad = max(rad, float(np.hypot(flow[0], flow[1]).max()))
            _write_png(osp.join(level_dir, f'nbr{t}_flow.png'), flow_to_color(flow, max_rad=rad))
        _write_png(osp.join(level_dir, f'nbr{t}_offset_mean.png'), flow_to_color(mean_fl, max_rad=rad))
        order = list(range(per.shape[0]))
        labels = [f'n{n}' for n in order]
        if flow is not None:  # sort by mean l1 distance to the flow (closest first), as in the paper's Fig. 6
            fl_yx = torch.from_numpy(flow).flip(0)
            dist = [(per[n] - fl_yx).abs().sum(0).mean().item() for n in order]
            order = sorted(order, key=lambda n: dist[n])
            labels = [f'n{n} l1={dist[n]:.2f}' for n in order]
        cells = [flow_to_color(per[n].flip(0).numpy(), max_rad=rad) for n in order]
        k = max(1, -(-96 // max(h, w)))
        ncols = int(np.ceil(np.sqrt(len(cells))))
        _write_png(osp.join(level_dir, f'nbr{t}_offsets_g0.png'),
                   make_grid(cells, ncols=ncols, labels=labels, cell_size=(h * k, w * k)))
        divs.append(offset_diversity_map(off, G)[0].mean(0).numpy())
        titles.append(f'frame {t}: std (G={G}, N={per.shape[0]})')
    save_heatmap_figure(osp.join(level_dir, 'diversity.png'), divs, title=titles, vmin=0.0)


def run(args) -> str:
    """Do the work of :func:`main` (raises :class:`UserInputError` on bad input); returns the output folder."""
    import numpy as np
    import torch

    from vidtoolbox.engine.hooks.offset_monitor import AlignmentCapture
    from vidtoolbox.evaluation.offset_stats import record_offset_stats, summarize_alignments, within_key
    from vidtoolbox.ops.flow_warp import resize_flow
    from vidtoolbox.utils.errors import UserInputError
    from vidtoolbox.visualization import color_wheel_image

    builtin = args.input == 'builtin'
    if not builtin and not osp.exists(args.input):
        raise UserInputError(f'input {args.input!r} does not exist; expected a folder of frames, a video file or '
                             '"builtin"')
    name = 'builtin_val_%04d' % args.clip_index if builtin else osp.splitext(osp.basename(osp.normpath(args.input)))[0]
    out = osp.abspath(args.out or osp.join('work_dirs', 'offset_vis', name))
    if osp.exists(out) and not args.overwrite:
        raise UserInputError(f'output {out!r} already exists; choose another --out or pass --overwrite')
    flow_mode = args.flow if args.flow != 'auto' else ('gt' if builtin else 'dis')
    if flow_mode == 'gt' and not builtin:
        raise UserInputError('--flow gt needs --input builtin (only the built-in clips carry ground-truth flow); '
                             'use --flow dis or none')

    model = _build_model(args.config, args.checkpoint)
    gen = getattr(model, 'generator', model)
    T_model = getattr(gen, 'num_frames', None)
    T = args.frames if args.frames is not None else T_model
    if T is None:
        raise UserInputError('the generator does not declare num_frames; pass --frames N')
    if T < 1:
        raise UserInputError(f'--frames must be >= 1, got {T}')
    if T_model is not None and T != T_model:
        raise UserInputError(f'--frames {T} does not match the model, which takes num_frames={T_model} frames')

    ref_flows = None
    if builtin:
        scale = int(getattr(gen, 'scale', 4))
        frames, rf, ref_index, key = _read_builtin(T, scale, args.clip_index, args.gt_size)
        if flow_mode == 'gt':
            ref_flows = rf[None]
    else:
        frames = _read_clip(args.input, T, args.start)
        ref_index = int(getattr(gen, 'center_frame_idx', T // 2))
        key = name
    flow_note = flow_mode
    if flow_mode == 'dis':
        try:
            ref_flows = _dis_ref_flows(frames, ref_index)
        except ValueError as err:  # e.g. frames too small for DIS
            flow_note = f'none (DIS failed: {err})'
            ref_flows = None
    h, w = frames.shape[-2:]

    capture = AlignmentCapture(model)
    with capture, torch.no_grad():
        capture.active = True
        try:
            model(frames[None], mode='tensor') if hasattr(model, 'generator') else model(frames[None])
        except ValueError as err:
            raise UserInputError(f'the model rejected the {T} input frames of {w}x{h} (WxH) from {args.input!r}: '
                                 f'{err}') from err
    records = capture.records
    if not records:
        raise UserInputError(f'the generator of {args.config!r} reports no alignment offsets '
                             "(aux['alignments'] is empty); nothing to visualise")

    parent = osp.dirname(out)
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=f'.{osp.basename(out)}.partial-', dir=parent)
    try:
        levels = summarize_alignments(records, ref_flows, ref_index, exclude_reference=True)
        per_record = []
        by_level = {}
        for rec in records:
            if rec.get('nbr_index') == rec.get('ref_index'):
                continue
            flow = None
            if ref_flows is not None and not rec.get('residual', False):
                flow = resize_flow(ref_flows[:, int(rec['nbr_index'])], rec['offsets'].shape[-2:], mode='area')
            st = record_offset_stats(rec, flow)
            per_record.append(dict(name=rec.get('name'), nbr_index=rec.get('nbr_index'),
                                   ref_index=rec.get('ref_index'), stride=rec.get('stride'),
                                   residual=bool(rec.get('residual', False)),
                                   deform_groups=rec.get('deform_groups'), num_offsets=rec.get('num_offsets'),
                                   **st))
            by_level.setdefault(str(rec.get('name', 'align')), []).append(rec)
        summary = dict(config=args.config, checkpoint=args.checkpoint, input=args.input, key=key,
                       frames=T, start=0 if builtin else args.start, lr_size=[h, w], ref_index=ref_index,
                       flow=flow_note, within_key=within_key(1.0), levels=levels, records=per_record)
        with open(osp.join(tmp, 'summary.json'), 'w') as f:
            json.dump(summary, f, indent=2, default=float)
        _write_png(osp.join(tmp, 'color_wheel.png'), color_wheel_image(101))
        for lvl, recs in by_level.items():
            _write_level(osp.join(tmp, lvl), recs, frames, ref_flows)
        if osp.isdir(out):
            shutil.rmtree(out)
        elif osp.exists(out):
            os.remove(out)
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    for lvl, st in levels.items():
        extra = f'  within 1px {st[within_key(1.0)]:.3f}' if within_key(1.0) in st else ''
        print(f'{lvl:>14s}: mean |offset| {st["mean"]:.3f} px  max {st["max"]:.3f} px  '
              f'diversity {st["diversity"]:.3f} px{extra}')
    print(f'wrote {out}')
    return out


def main(argv=None) -> int:
    args = parse_args(argv)
    from vidtoolbox.utils.errors import UserInputError
    try:
        run(args)
    except (UserInputError, FileNotFoundError) as e:
        print(f'error: {e}', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
