"""REDS (REalistic and Dynamic Scenes) for video super-resolution, laid out as EDVR / BasicSR / MMagic use it."""
import os
import os.path as osp
from typing import Callable, Dict, List, Optional, Sequence, Union

import numpy as np

from vidtoolbox.registry import DATASETS

from .base import BaseVideoDataset
from .frames_folder import PADDING_MODES, padded_window_indices, verify_frame_sample

__all__ = ['REDSDataset', 'REDS4_CLIPS']

#: The REDS4 clips: held out of training and used as the test set by EDVR and the papers built on it.
REDS4_CLIPS = ('000', '011', '015', '020')

_LAYOUT_HINT = (
    'The REDS layout is <data_root>/train_sharp/<clip>/<frame:08d>.png (GT, 1280x720) and '
    '<data_root>/train_sharp_bicubic/X4/<clip>/<frame:08d>.png (bicubic x4 LR, 320x180), 100 frames per clip '
    '(00000000.png ... 00000099.png). Get train_sharp.zip and train_sharp_bicubic.zip (and, for the field\'s 270 '
    'clips, val_sharp.zip / val_sharp_bicubic.zip with their clips 000-029 renamed 240-269) from '
    'https://seungjunnah.github.io/Datasets/reds.html and unzip them into data_root; other folder names can be '
    'given with gt_folder / lq_folder. Point a config at another root with --cfg-options '
    'train_dataloader.dataset.data_root=DIR val_dataloader.dataset.data_root=DIR '
    'test_dataloader.dataset.data_root=DIR. No REDS? The built-in dataset trains the same model offline: '
    '`make demo`, or python tools/train.py configs/demo/edvr_m_ofl_builtin.py')


@DATASETS.register_module()
class REDSDataset(BaseVideoDataset):
    """REDS ×4 video super-resolution: ``num_frames`` LR frames in, the centre GT frame (``gt_mode='center'``, EDVR
    and other sliding-window nets) or every GT frame (``gt_mode='all'``, recurrent nets such as BasicVSR) out.

    Layout (paths configurable with ``gt_folder`` / ``lq_folder``, relative to ``data_root``)::

        data_root/train_sharp/<clip>/<frame:08d>.png               # GT
        data_root/train_sharp_bicubic/X4/<clip>/<frame:08d>.png    # LR (GT / scale)

    Splits: ``'val'`` is REDS4 (clips ``000, 011, 015, 020``, ``val_clips``); ``'train'`` is every other clip found in
    ``gt_folder``. In the field's setting (EDVR, BasicSR, MMagic) REDS train (240 clips) and val (30 clips, renamed
    240–269) are merged into 270 clips, so 266 clips train; this class uses whatever clips are present.

    ``gt_mode='center'`` samples (one per frame of every clip, ``key = '<clip>/<frame:08d>'``):

    - ``'val'``: every frame of each clip is a centre (100 per REDS clip); the window of ``num_frames`` LR frames is
      padded at the clip ends with ``padding`` (default ``'reflection_circle'``, the EDVR/BasicSR/MMagic test-time
      padding, see :func:`~vidtoolbox.datasets.frames_folder.padded_window_indices`); deterministic.
    - ``'train'`` with ``random_window`` (the default for train): at every fetch an interval is drawn from
      ``interval_list`` and, when the window ``centre ± (num_frames//2)·interval`` leaves the clip, the centre is
      redrawn uniformly among the clip's frames until it fits (as EDVR/MMagic do); the stored entry (interval 1,
      padded) is only the default. With ``random_window=False`` train windows are built like val ones.

    ``gt_mode='all'`` samples (sequences of consecutive frames, LR and GT for every frame; ``key =
    '<clip>/<first frame:08d>'``): each clip is tiled by windows of ``num_frames`` frames (starts 0, T, 2T, ...;
    the last window holds the remaining frames and may be shorter; ``num_frames >=`` the clip length gives one
    sample per whole clip, e.g. ``num_frames=100`` for REDS4 evaluation as in the BasicVSR paper).

    - ``'val'`` (and ``'train'`` with ``random_window=False``): exactly those windows, deterministic.
    - ``'train'`` with ``random_window`` (BasicVSR training: 15 frames): at every fetch an interval is drawn from
      ``interval_list`` and the start frame uniformly among those whose window of ``num_frames`` frames
      (``start + k·interval``) fits in the clip; no padding, every sample has ``num_frames`` frames.

    Entries carry ``lq_paths`` (T LR paths), ``gt_paths`` (the centre GT path, or T GT paths in ``'all'`` mode),
    ``key``, ``ref_index`` (``T // 2``), ``scale``, ``num_frames``, ``clip``, ``frame_index`` (centre, or first
    frame in ``'all'`` mode), ``clip_length``, ``interval``.

    Args:
        data_root (str): REDS root folder.
        split (str): ``'train'`` or ``'val'``.
        gt_folder (str): GT clip folder, relative to ``data_root`` (or absolute).
        lq_folder (str): LR clip folder, relative to ``data_root`` (or absolute).
        num_frames (int): number of input frames: odd for ``gt_mode='center'`` (5 for EDVR, 7 for TDAN-style
            models); any for ``'all'`` (15 for BasicVSR training, 100 = whole REDS clips for testing).
        scale (int): GT/LR size ratio (4).
        interval_list (Sequence[int]): temporal intervals drawn from in train (``(1,)`` as in EDVR).
        random_window (bool, optional): random interval / centre redraw at fetch; default ``split == 'train'``.
        padding (str): temporal padding of the deterministic windows: ``'reflection_circle'`` (default),
            ``'reflection'`` or ``'replicate'``.
        val_clips (Sequence[str]): clips forming the val split (REDS4).
        clips (Sequence[str], optional): use exactly these clips instead of the split rule.
        filename_tmpl (str): frame file stem from its index (``'{:08d}'``).
        ext (str): frame file extension (``'.png'``).
        check_sizes (bool): on every fetch, read the image headers and check LR × scale == GT.
        gt_mode (str): ``'center'`` (default; the centre GT frame of each window) or ``'all'`` (every GT frame of
            a sequence, see above).
        **kwargs: passed to :class:`BaseVideoDataset` (``pipeline``, ``test_mode``, ``lazy_init``, ...).

    Raises:
        FileNotFoundError: missing ``data_root``, GT/LR folder, clip, or frame (the message gives the REDS layout).
        ValueError: bad arguments, a clip with too few frames for the window, or an LR/GT size mismatch (at fetch).
    """

    def __init__(self, data_root: str, split: str = 'train', gt_folder: str = 'train_sharp',
                 lq_folder: str = 'train_sharp_bicubic/X4', num_frames: int = 5, scale: int = 4,
                 interval_list: Sequence[int] = (1,), random_window: Optional[bool] = None,
                 padding: str = 'reflection_circle', val_clips: Sequence[str] = REDS4_CLIPS,
                 clips: Optional[Sequence[str]] = None, filename_tmpl: str = '{:08d}', ext: str = '.png',
                 check_sizes: bool = True, gt_mode: str = 'center',
                 pipeline: Sequence[Union[dict, Callable]] = (), **kwargs):
        if split not in ('train', 'val'):
            raise ValueError(f"REDSDataset: split must be 'train' or 'val', got {split!r}")
        if gt_mode not in ('center', 'all'):
            raise ValueError(f"REDSDataset: gt_mode must be 'center' (centre GT frame, EDVR) or 'all' (every GT "
                             f"frame, BasicVSR), got {gt_mode!r}")
        if isinstance(num_frames, bool) or not isinstance(num_frames, int) or num_frames < 1:
            raise ValueError(f'REDSDataset: num_frames must be a positive int, got {num_frames!r}')
        if gt_mode == 'center' and num_frames % 2 == 0:
            raise ValueError(f"REDSDataset: with gt_mode='center' num_frames must be a positive odd int (5 for "
                             f"EDVR), got {num_frames!r}")
        interval_list = list(interval_list)
        if not interval_list or any(isinstance(i, bool) or not isinstance(i, int) or i < 1 for i in interval_list):
            raise ValueError(f'REDSDataset: interval_list must be a non-empty list of positive ints, '
                             f'got {interval_list!r}')
        if padding not in PADDING_MODES:
            raise ValueError(f'REDSDataset: padding must be one of {PADDING_MODES}, got {padding!r}')
        self.split = split
        self.gt_folder = gt_folder
        self.lq_folder = lq_folder
        self.interval_list = interval_list
        self.random_window = (split == 'train') if random_window is None else bool(random_window)
        self.padding = padding
        self.val_clips = [str(c) for c in val_clips]
        self.clips = None if clips is None else [str(c) for c in clips]
        self.filename_tmpl = filename_tmpl
        self.ext = ext
        self.check_sizes = check_sizes
        self.gt_mode = gt_mode
        super().__init__(num_frames=num_frames, scale=scale, data_root=data_root, pipeline=pipeline, **kwargs)

    # ------------------------------------------------------------------ helpers
    def _abs(self, folder: str) -> str:
        return osp.join(self.data_root, folder)

    def _frame_path(self, root: str, clip: str, index: int) -> str:
        return osp.join(root, clip, self.filename_tmpl.format(index) + self.ext)

    def _select_clips(self, available: List[str]) -> List[str]:
        if self.clips is not None:
            missing = [c for c in self.clips if c not in available]
            if missing:
                raise FileNotFoundError(f'REDSDataset: clips {missing} not found in {self._abs(self.gt_folder)!r}. '
                                        + _LAYOUT_HINT)
            return list(self.clips)
        if self.split == 'val':
            missing = [c for c in self.val_clips if c not in available]
            if missing:
                raise FileNotFoundError(f'REDSDataset: val clips {missing} (REDS4 = {list(REDS4_CLIPS)}) not found in '
                                        f'{self._abs(self.gt_folder)!r}. ' + _LAYOUT_HINT)
            return list(self.val_clips)
        train = [c for c in available if c not in set(self.val_clips)]
        if not train:
            raise FileNotFoundError(f'REDSDataset: no training clip in {self._abs(self.gt_folder)!r} (found only '
                                    f'{available}, all held out as val). ' + _LAYOUT_HINT)
        return train

    def _clip_length(self, clip: str) -> int:
        """Number of frames of ``clip``, after checking GT and LR hold the same contiguous frames 0..N-1."""
        gt_dir, lq_dir = osp.join(self._abs(self.gt_folder), clip), osp.join(self._abs(self.lq_folder), clip)
        if not osp.isdir(lq_dir):
            raise FileNotFoundError(f'REDSDataset: LR clip folder {lq_dir!r} is missing (GT clip {gt_dir!r} exists). '
                                    + _LAYOUT_HINT)
        gt_names = {n for n in os.listdir(gt_dir) if n.endswith(self.ext)}
        n = len(gt_names)
        if n == 0:
            raise FileNotFoundError(f'REDSDataset: clip folder {gt_dir!r} holds no {self.ext} frames. ' + _LAYOUT_HINT)
        expected = [self.filename_tmpl.format(i) + self.ext for i in range(n)]
        for folder, names in ((gt_dir, gt_names), (lq_dir, {x for x in os.listdir(lq_dir) if x.endswith(self.ext)})):
            missing = [e for e in expected if e not in names]
            if missing:
                raise FileNotFoundError(f'REDSDataset: clip {clip!r} has {n} GT frames but {len(missing)} of '
                                        f'{expected[0]} ... {expected[-1]} are missing in {folder!r}, e.g. '
                                        f'{[osp.join(folder, m) for m in missing[:3]]}. ' + _LAYOUT_HINT)
        if self.gt_mode == 'all':
            needed = (self.num_frames - 1) * max(self.interval_list) + 1 if self.random_window else 1
        elif self.random_window:
            needed = (self.num_frames // 2) * max(self.interval_list) * 2 + 1
        else:
            needed = {'replicate': 1, 'reflection': self.num_frames // 2 + 1}.get(self.padding, self.num_frames)
        if n < needed:
            raise ValueError(f'REDSDataset: clip {gt_dir!r} has too few frames ({n}) for a {self.num_frames}-frame '
                             f'window (intervals {self.interval_list}, padding {self.padding!r}); needs >= {needed}')
        return n

    def _entry(self, clip: str, center: int, length: int, interval: int, indices: List[int]) -> dict:
        """``gt_mode='center'``: ``center`` is the GT frame; ``'all'``: ``center`` is the first frame (the key) and
        every frame of ``indices`` has its GT."""
        gt_root, lq_root = self._abs(self.gt_folder), self._abs(self.lq_folder)
        gt_frames = indices if self.gt_mode == 'all' else [center]
        return dict(lq_paths=[self._frame_path(lq_root, clip, i) for i in indices],
                    gt_paths=[self._frame_path(gt_root, clip, i) for i in gt_frames],
                    key=f'{clip}/{self.filename_tmpl.format(center)}', ref_index=len(indices) // 2,
                    scale=self.scale, num_frames=len(indices), clip=clip, frame_index=center,
                    clip_length=length, interval=interval)

    # ------------------------------------------------------------------ MMEngine API
    def load_data_list(self) -> List[dict]:
        """One entry per frame of every selected clip (see the class docstring)."""
        if not self.data_root or not osp.isdir(self.data_root):
            raise FileNotFoundError(f'REDSDataset: data_root {self.data_root!r} does not exist. ' + _LAYOUT_HINT)
        for name, folder in (('gt_folder', self.gt_folder), ('lq_folder', self.lq_folder)):
            if not osp.isdir(self._abs(folder)):
                raise FileNotFoundError(f'REDSDataset: {name} {self._abs(folder)!r} does not exist. ' + _LAYOUT_HINT)
        gt_root = self._abs(self.gt_folder)
        available = sorted(d for d in os.listdir(gt_root) if osp.isdir(osp.join(gt_root, d)))
        if not available:
            raise FileNotFoundError(f'REDSDataset: no clip folder in {gt_root!r}. ' + _LAYOUT_HINT)
        lengths: Dict[str, int] = {c: self._clip_length(c) for c in self._select_clips(available)}
        data_list = []
        pad = self.padding
        for clip, n in lengths.items():
            if self.gt_mode == 'all':
                for start in range(0, n, self.num_frames):
                    window = list(range(start, min(start + self.num_frames, n)))
                    data_list.append(self._entry(clip, start, n, 1, window))
                continue
            for c in range(n):
                data_list.append(self._entry(clip, c, n, 1, padded_window_indices(c, n, self.num_frames, pad)))
        return data_list

    def get_data_info(self, idx: int) -> dict:
        """Entry ``idx``; in train with ``random_window`` its window is redrawn (interval, centre or start), then
        checked."""
        info = super().get_data_info(idx)
        if self.random_window and self.gt_mode == 'all':
            n = info['clip_length']
            interval = int(np.random.choice(self.interval_list))
            start = int(np.random.randint(0, n - (self.num_frames - 1) * interval))
            indices = [start + k * interval for k in range(self.num_frames)]
            info.update(self._entry(info['clip'], start, n, interval, indices))
        elif self.random_window:
            n, half = info['clip_length'], self.num_frames // 2
            interval = int(np.random.choice(self.interval_list))
            center = info['frame_index']
            while center - half * interval < 0 or center + half * interval > n - 1:
                center = int(np.random.randint(0, n))
            indices = [center + k * interval for k in range(-half, half + 1)]
            new = self._entry(info['clip'], center, n, interval, indices)
            info.update(new)
        verify_frame_sample(info['lq_paths'], info['gt_paths'], info['scale'], self.check_sizes, 'REDSDataset')
        return info
