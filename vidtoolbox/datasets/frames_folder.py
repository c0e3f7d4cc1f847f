"""A plain folder of clips, and the frame-window helpers shared by the real-data datasets.

Layout read by :class:`FramesFolderDataset`::

    data_root/<clip>/<frame>.png|.jpg|.jpeg      # frames of a clip, sorted naturally (frame2 < frame10)
    lq_root/<clip>/<frame>.<same name>           # only in mode 'sr': the low-resolution frames

A folder that holds images but no sub-folders is read as one clip (named after the folder).

The helpers :func:`padded_window_indices`, :func:`natural_sort_key`, :func:`list_frame_files` and
:func:`verify_frame_sample` are used by :mod:`~vidtoolbox.datasets.reds` and :mod:`~vidtoolbox.datasets.vimeo90k` too.
"""
import os
import os.path as osp
import re
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

from vidtoolbox.registry import DATASETS

from .base import BaseVideoDataset

__all__ = ['FramesFolderDataset', 'padded_window_indices', 'natural_sort_key', 'list_frame_files',
           'verify_frame_sample', 'PADDING_MODES', 'IMAGE_EXTENSIONS']

#: Temporal padding modes of :func:`padded_window_indices` (the names used by EDVR / BasicSR / MMagic).
PADDING_MODES = ('replicate', 'reflection', 'reflection_circle')

#: Image file extensions read as frames (dataset folders and the tools' frame-folder inputs), case-insensitive.
IMAGE_EXTENSIONS = ('.png', '.jpg', '.jpeg', '.bmp', '.tif', '.tiff')


def padded_window_indices(center: int, length: int, num_frames: int, padding: str = 'reflection_circle',
                          interval: int = 1) -> List[int]:
    """Frame indices of a window of ``num_frames`` frames centred on ``center``, padded at the clip ends.

    The window is ``center + k·interval`` for ``k = -num_frames//2 … num_frames//2``; an index ``i`` outside
    ``[0, length-1]`` (``last = length - 1``, ``h = num_frames // 2``, ``c = center``) is replaced by:

    - ``'replicate'``: the nearest end frame, ``0`` or ``last``;
    - ``'reflection'``: mirrored about the end frame, ``-i`` or ``2·last - i``;
    - ``'reflection_circle'``: mirrored about the window, ``c + h·interval - i`` (i < 0) or
      ``c - h·interval - (i - last)`` (i > last); this is the EDVR/BasicSR/MMagic test-time padding.

    ``'reflection_circle'`` is the mode the EDVR-style evaluation uses.

    Example: ``padded_window_indices(0, 100, 5)`` → ``[4, 3, 0, 1, 2]``;
    ``padded_window_indices(99, 100, 5)`` → ``[97, 98, 99, 96, 95]``.

    Args:
        center (int): index of the centre frame, in ``[0, length-1]``.
        length (int): number of frames in the clip.
        num_frames (int): odd window length.
        padding (str): one of :data:`PADDING_MODES`.
        interval (int): temporal step between window frames (>= 1).

    Returns:
        list[int]: ``num_frames`` indices, all in ``[0, length-1]``.

    Raises:
        ValueError: bad arguments, or a clip too short for the padding to land inside it.
    """
    if padding not in PADDING_MODES:
        raise ValueError(f'padding must be one of {PADDING_MODES}, got {padding!r}')
    if not isinstance(num_frames, int) or num_frames < 1 or num_frames % 2 == 0:
        raise ValueError(f'num_frames must be a positive odd int, got {num_frames!r}')
    if not isinstance(interval, int) or interval < 1:
        raise ValueError(f'interval must be a positive int, got {interval!r}')
    if not isinstance(length, int) or length < 1:
        raise ValueError(f'length (frames in the clip) must be a positive int, got {length!r}')
    if not 0 <= center < length:
        raise ValueError(f'center must be in [0, {length - 1}] for a clip of {length} frames, got {center}')
    last = length - 1
    half = num_frames // 2
    out = []
    for k in range(-half, half + 1):
        i = center + k * interval
        if i < 0:
            j = {'replicate': 0, 'reflection': -i, 'reflection_circle': center + half * interval - i}[padding]
        elif i > last:
            j = {'replicate': last, 'reflection': 2 * last - i,
                 'reflection_circle': center - half * interval - (i - last)}[padding]
        else:
            j = i
        if not 0 <= j <= last:
            raise ValueError(f'clip of {length} frames is too short for a {num_frames}-frame window '
                             f'(interval {interval}) with padding {padding!r} at centre {center}: padded index {j} '
                             'falls outside the clip; use padding="replicate" or more frames')
        out.append(j)
    return out


def natural_sort_key(name: str) -> list:
    """Sort key that orders digit runs numerically: ``'f2.png' < 'f10.png'``."""
    return [(0, int(t), '') if t.isdigit() else (1, 0, t.lower()) for t in re.split(r'(\d+)', name) if t != '']


def list_frame_files(folder: str, extensions: Sequence[str] = IMAGE_EXTENSIONS) -> List[str]:
    """File names (not paths) of the images in ``folder``, naturally sorted; extension match is case-insensitive."""
    exts = tuple(e.lower() for e in extensions)
    names = [n for n in os.listdir(folder) if n.lower().endswith(exts) and osp.isfile(osp.join(folder, n))]
    return sorted(names, key=natural_sort_key)


def _image_size(path: str) -> Tuple[int, int]:
    """(width, height) of an image file read from its header only (no decoding)."""
    from PIL import Image
    try:
        with Image.open(path) as im:
            return im.size
    except Exception as err:  # unreadable / not an image
        raise OSError(f'cannot read the image header of {path!r}: {err}') from err


def verify_frame_sample(lq_paths: Sequence[str], gt_paths: Sequence[str], scale: int,
                        check_sizes: bool = True, dataset: str = 'dataset') -> None:
    """Check that every frame of a sample exists and that the LQ/GT sizes agree.

    Args:
        lq_paths (Sequence[str]): T input frame paths (all must have one size ``h × w``).
        gt_paths (Sequence[str]): Tg target frame paths (all must have one size ``H × W``).
        scale (int): expected ratio, ``H == h·scale`` and ``W == w·scale``.
        check_sizes (bool): read image headers and compare sizes (existence is always checked).
        dataset (str): dataset name used in the messages.

    Raises:
        FileNotFoundError: a frame is missing (the message names it).
        ValueError: sizes differ inside the LQ or GT frames, or LQ size × scale ≠ GT size.
    """
    for p in list(lq_paths) + list(gt_paths):
        if not osp.isfile(p):
            raise FileNotFoundError(f'{dataset}: frame {p!r} is missing')
    if not check_sizes:
        return
    for role, paths in (('LQ', lq_paths), ('GT', gt_paths)):
        sizes = {p: _image_size(p) for p in paths}
        if len(set(sizes.values())) > 1:
            desc = ', '.join(f'{osp.basename(p)}: {w}x{h}' for p, (w, h) in sizes.items())
            raise ValueError(f'{dataset}: the {role} frames of one sample differ in size ({desc}) in '
                             f'{osp.dirname(paths[0])!r}')
    (w, h), (gw, gh) = _image_size(lq_paths[0]), _image_size(gt_paths[0])
    if (w * scale, h * scale) != (gw, gh):
        raise ValueError(f'{dataset}: LQ/GT size mismatch: LQ {lq_paths[0]!r} is {w}x{h} (WxH), GT {gt_paths[0]!r} '
                         f'is {gw}x{gh}; expected GT = LQ x scale {scale} = {w * scale}x{h * scale}')


def _check_positive_int(name: str, value, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f'{name} must be an int >= {minimum}, got {value!r}')
    return value


@DATASETS.register_module()
class FramesFolderDataset(BaseVideoDataset):
    """Clips stored as folders of frames, for super-resolution, prediction or interpolation.

    Each data-list entry (see ``docs/conventions.md``) holds ``lq_paths`` (T paths, network inputs), ``gt_paths``
    (Tg paths, targets), ``key`` (``'<clip>/<stem of the reference frame>'``), ``ref_index``, ``scale``,
    ``num_frames`` (= T), plus ``clip`` and ``frame_indices`` (positions in the naturally sorted frame list).
    Windows are enumerated deterministically (clips in natural order, windows by increasing start frame).

    Modes:

    - ``'sr'``: every frame (every ``frame_step``-th) is a centre; T = ``num_frames`` (odd) LQ frames from ``lq_root``
      around it, padded at the clip ends with ``padding`` (see :func:`padded_window_indices`); Tg = 1 GT centre frame
      from ``data_root``; ``ref_index = num_frames // 2``. ``lq_root/<clip>`` must hold the same file names.
    - ``'prediction'``: windows of ``num_context + num_future`` consecutive frames (spaced by ``frame_step``),
      starting every ``stride`` frames; T = ``num_context`` observed frames, Tg = ``num_future`` following frames
      (t+1 … t+M); ``ref_index = num_context - 1`` (the last observed frame); scale 1. KITTI/Cityscapes-style
      sequences (e.g. 2 or 4 context frames → 5 or 10 future frames).
    - ``'interpolation'``: windows of ``num_context + 1`` frames (``num_context`` even); the middle frame is the target
      (Tg = 1) and the others the inputs; ``ref_index = num_context // 2 - 1`` (the target lies between
      ``lq[ref_index]`` and ``lq[ref_index + 1]``); scale 1.

    Splits: ``split='all'`` uses every clip; ``'train'``/``'val'`` hold out the clips listed in ``val_clips``, or the
    last ``max(1, round(val_fraction · n))`` clips in natural order when ``val_fraction`` is given.

    Args:
        data_root (str): folder of clip folders (GT / full-rate frames).
        mode (str): ``'sr'``, ``'prediction'`` or ``'interpolation'``.
        lq_root (str, optional): folder of LQ clip folders (mode ``'sr'`` only, required there); relative paths are
            joined to ``data_root``.
        scale (int): GT/LQ size ratio in mode ``'sr'`` (other modes: 1).
        num_frames (int): odd window length in mode ``'sr'``.
        padding (str): temporal padding in mode ``'sr'`` (one of :data:`PADDING_MODES`).
        num_context (int): observed frames (prediction: >= 1; interpolation: even >= 2).
        num_future (int): predicted frames M (prediction).
        stride (int): step between window starts (prediction / interpolation) or centres (sr), in sampled frames.
        frame_step (int): temporal sub-sampling; only every ``frame_step``-th frame of a clip is used.
        split (str): ``'all'``, ``'train'`` or ``'val'``.
        val_clips (Sequence[str], optional): clip names held out as validation.
        val_fraction (float, optional): fraction of clips held out instead (in (0, 1)).
        clips (Sequence[str], optional): restrict to these clips (before the split).
        skip_short_clips (bool): skip clips too short for one window instead of raising.
        extensions (Sequence[str]): image extensions to read.
        check_sizes (bool): on every fetch, read the image headers and check LQ × scale == GT and equal sizes.
        **kwargs: passed to :class:`BaseVideoDataset` (``pipeline``, ``test_mode``, ``lazy_init``, ...).
    """

    MODES = ('sr', 'prediction', 'interpolation')

    def __init__(self, data_root: str, mode: str = 'sr', lq_root: Optional[str] = None, scale: int = 4,
                 num_frames: int = 5, padding: str = 'reflection_circle', num_context: int = 2, num_future: int = 1,
                 stride: int = 1, frame_step: int = 1, split: str = 'all', val_clips: Optional[Sequence[str]] = None,
                 val_fraction: Optional[float] = None, clips: Optional[Sequence[str]] = None,
                 skip_short_clips: bool = False, extensions: Sequence[str] = IMAGE_EXTENSIONS,
                 check_sizes: bool = True, pipeline: Sequence[Union[dict, Callable]] = (), **kwargs):
        if mode not in self.MODES:
            raise ValueError(f'FramesFolderDataset: mode must be one of {self.MODES}, got {mode!r}')
        if split not in ('all', 'train', 'val'):
            raise ValueError(f"FramesFolderDataset: split must be 'all', 'train' or 'val', got {split!r}")
        if val_clips is not None and val_fraction is not None:
            raise ValueError('FramesFolderDataset: give either val_clips or val_fraction, not both')
        if val_fraction is not None and not 0 < float(val_fraction) < 1:
            raise ValueError(f'FramesFolderDataset: val_fraction must be in (0, 1), got {val_fraction!r}')
        if split != 'all' and val_clips is None and val_fraction is None:
            raise ValueError(f'FramesFolderDataset: split={split!r} needs val_clips (a list of clip names) or '
                             'val_fraction (e.g. 0.1) to decide which clips are held out')
        if padding not in PADDING_MODES:
            raise ValueError(f'FramesFolderDataset: padding must be one of {PADDING_MODES}, got {padding!r}')
        self.mode = mode
        self.lq_root = lq_root
        self.scale = _check_positive_int('scale', scale) if mode == 'sr' else 1
        self.num_frames = _check_positive_int('num_frames', num_frames)
        if mode == 'sr' and num_frames % 2 == 0:
            raise ValueError(f'FramesFolderDataset: num_frames must be odd in mode "sr", got {num_frames}')
        self.padding = padding
        self.num_context = _check_positive_int('num_context', num_context)
        if mode == 'interpolation' and num_context % 2:
            raise ValueError(f'FramesFolderDataset: num_context must be even in mode "interpolation" (context '
                             f'frames on both sides of the target), got {num_context}')
        self.num_future = _check_positive_int('num_future', num_future)
        self.stride = _check_positive_int('stride', stride)
        self.frame_step = _check_positive_int('frame_step', frame_step)
        self.split = split
        self.val_clips = None if val_clips is None else [str(c) for c in val_clips]
        self.val_fraction = val_fraction
        self.clips = None if clips is None else [str(c) for c in clips]
        self.skip_short_clips = skip_short_clips
        self.extensions = tuple(extensions)
        self.check_sizes = check_sizes
        if mode == 'sr' and lq_root is None:
            raise ValueError('FramesFolderDataset: mode "sr" needs lq_root, a folder laid out like data_root '
                             '(<lq_root>/<clip>/<same frame names>) holding the low-resolution frames')
        t = num_frames if mode == 'sr' else num_context
        super().__init__(num_frames=t, scale=self.scale, data_root=data_root, pipeline=pipeline, **kwargs)

    # ------------------------------------------------------------------ discovery
    def _find_clips(self) -> Dict[str, str]:
        root = self.data_root
        if not root or not osp.isdir(root):
            raise FileNotFoundError(f'FramesFolderDataset: data_root {root!r} is not a folder; expected a folder of '
                                    'clip folders, <data_root>/<clip>/<frame>.png|.jpg')
        subdirs = sorted((d for d in os.listdir(root) if osp.isdir(osp.join(root, d))), key=natural_sort_key)
        if subdirs:
            found = {d: osp.join(root, d) for d in subdirs}
        elif list_frame_files(root, self.extensions):
            found = {osp.basename(osp.normpath(root)): root}
        else:
            raise FileNotFoundError(f'FramesFolderDataset: {root!r} holds no clip folders and no images '
                                    f'{self.extensions}; expected <data_root>/<clip>/<frame>.png|.jpg')
        if self.clips is not None:
            missing = [c for c in self.clips if c not in found]
            if missing:
                raise FileNotFoundError(f'FramesFolderDataset: clips {missing} not found in {root!r} '
                                        f'(found: {list(found)[:10]}{" ..." if len(found) > 10 else ""})')
            found = {c: found[c] for c in self.clips}
        names = list(found)
        if self.split != 'all':
            if self.val_clips is not None:
                missing = [c for c in self.val_clips if c not in found]
                if missing:
                    raise FileNotFoundError(f'FramesFolderDataset: val_clips {missing} not found in {root!r}')
                val = set(self.val_clips)
            else:
                n_val = max(1, int(round(self.val_fraction * len(names))))
                if n_val >= len(names):
                    raise ValueError(f'FramesFolderDataset: val_fraction {self.val_fraction} of {len(names)} clips '
                                     'leaves no training clip')
                val = set(names[len(names) - n_val:])
            names = [c for c in names if (c in val) == (self.split == 'val')]
            if not names:
                raise ValueError(f'FramesFolderDataset: split {self.split!r} of {root!r} is empty')
        return {c: found[c] for c in names}

    def _windows(self, length: int) -> List[Tuple[List[int], List[int], int]]:
        """(input indices, target indices, ref_index) for a clip of ``length`` sampled frames."""
        out = []
        if self.mode == 'sr':
            for c in range(0, length, self.stride):
                out.append((padded_window_indices(c, length, self.num_frames, self.padding), [c],
                            self.num_frames // 2))
        elif self.mode == 'prediction':
            span = self.num_context + self.num_future
            for s in range(0, length - span + 1, self.stride):
                out.append((list(range(s, s + self.num_context)), list(range(s + self.num_context, s + span)),
                            self.num_context - 1))
        else:
            half = self.num_context // 2
            for s in range(0, length - self.num_context, self.stride):
                ctx = list(range(s, s + self.num_context + 1))
                target = ctx.pop(half)
                out.append((ctx, [target], half - 1))
        return out

    def _min_frames(self) -> int:
        if self.mode == 'sr':
            return {'replicate': 1, 'reflection': self.num_frames // 2 + 1}.get(self.padding, self.num_frames)
        if self.mode == 'prediction':
            return self.num_context + self.num_future
        return self.num_context + 1

    def load_data_list(self) -> List[dict]:
        """Enumerate every window of every clip (see the class docstring)."""
        lq_base = None
        if self.mode == 'sr':
            lq_base = osp.join(self.data_root, self.lq_root)
            if not osp.isdir(lq_base):
                raise FileNotFoundError(f'FramesFolderDataset: lq_root {lq_base!r} is not a folder; expected '
                                        '<lq_root>/<clip>/<frame> with the same names as in data_root')
        data_list = []
        for clip, folder in self._find_clips().items():
            names = list_frame_files(folder, self.extensions)[::self.frame_step]
            if len(names) < self._min_frames():
                msg = (f'FramesFolderDataset: clip {folder!r} has {len(names)} usable frames (frame_step '
                       f'{self.frame_step}); mode {self.mode!r} needs at least {self._min_frames()}')
                if self.skip_short_clips:
                    continue
                raise ValueError(msg + ' (set skip_short_clips=True to skip such clips)')
            gt_paths = [osp.join(folder, n) for n in names]
            if lq_base is not None:
                lq_folder = osp.join(lq_base, clip) if folder != self.data_root else lq_base
                lq_paths = [osp.join(lq_folder, n) for n in names]
                missing = [p for p in lq_paths if not osp.isfile(p)]
                if missing:
                    raise FileNotFoundError(f'FramesFolderDataset: {len(missing)} LQ frames of clip {clip!r} are '
                                            f'missing, e.g. {missing[:3]}; lq_root must mirror data_root')
            else:
                lq_paths = gt_paths
            for inp, tgt, ref in self._windows(len(names)):
                ref_frame = tgt[0] if self.mode != 'prediction' else inp[ref]
                data_list.append(dict(
                    lq_paths=[lq_paths[i] for i in inp], gt_paths=[gt_paths[i] for i in tgt],
                    key=f'{clip}/{osp.splitext(names[ref_frame])[0]}', ref_index=ref, scale=self.scale,
                    num_frames=len(inp), clip=clip, frame_indices=inp + tgt))
        if not data_list:
            raise ValueError(f'FramesFolderDataset: no window found in {self.data_root!r} (mode {self.mode!r})')
        return data_list

    def get_data_info(self, idx: int) -> dict:
        """The ``idx``-th entry, after checking its files exist (and sizes, with ``check_sizes``)."""
        info = super().get_data_info(idx)
        verify_frame_sample(info['lq_paths'], info['gt_paths'], info['scale'], self.check_sizes,
                            type(self).__name__)
        return info

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(data_root={self.data_root!r}, mode={self.mode!r}, split={self.split!r}, '
                f'windows={len(self) if self._fully_initialized else "?"})')

